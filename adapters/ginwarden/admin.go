package ginwarden

import (
	"net/http"

	"github.com/gin-gonic/gin"
)

// MountAdmin serves h, the handler of package admin (or any handler that
// expects its mount prefix stripped), on g's path and every path below it,
// for every method, with g's prefix stripped as http.StripPrefix would:
//
//	h, err := admin.New(eng, admin.WithBasicAuth("admin", password), admin.WithStore(store))
//	ginwarden.MountAdmin(r.Group("/admin"), h)
//
// The group's middleware (ginwarden.Middleware among it) runs first.
func MountAdmin(g *gin.RouterGroup, h http.Handler) {
	serve := func(c *gin.Context) {
		r := *c.Request // a shallow copy, as http.StripPrefix makes
		u := *r.URL
		u.Path, u.RawPath = c.Param("path"), "" // "" on the group's own path
		r.URL = &u
		h.ServeHTTP(c.Writer, &r)
	}
	g.Any("", serve)
	g.Any("/*path", serve)
}
