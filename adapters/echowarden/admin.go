package echowarden

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"
)

// MountAdmin serves h, the handler of package admin (or any handler that
// expects its mount prefix stripped), on g's path and every path below it,
// for every method, with g's prefix stripped as http.StripPrefix would:
//
//	h, err := admin.New(eng, admin.WithBasicAuth("admin", password), admin.WithStore(store))
//	echowarden.MountAdmin(e.Group("/admin"), h)
//
// The group's middleware (echowarden.Middleware among it) runs first.
func MountAdmin(g *echo.Group, h http.Handler) {
	serve := func(c echo.Context) error {
		r := *c.Request() // a shallow copy, as http.StripPrefix makes
		u := *r.URL
		u.Path, u.RawPath = "", "" // the group's own path
		if strings.HasSuffix(c.Path(), "*") {
			rest := c.Param("*")
			if p, err := url.PathUnescape(rest); err == nil {
				rest = p
			}
			u.Path = "/" + rest
		}
		r.URL = &u
		h.ServeHTTP(c.Response(), &r)
		return nil
	}
	g.Any("", serve)
	g.Any("/*", serve)
}
