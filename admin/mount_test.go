package admin_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/labstack/echo/v4"

	"github.com/wardenkit/warden/adapters/echowarden"
	"github.com/wardenkit/warden/adapters/ginwarden"
	"github.com/wardenkit/warden/admin"
)

// mounted returns e with its admin mounted by a framework under prefix.
func mounted(t *testing.T, framework, prefix string) *env {
	t.Helper()
	e := newEnvAt(t, prefix)
	h, err := admin.New(e.eng, admin.WithAuthorizer(testAuth), admin.WithStore(e.store), admin.WithClock(e.clock))
	if err != nil {
		t.Fatal(err)
	}
	switch framework {
	case "gin":
		gin.SetMode(gin.ReleaseMode)
		r := gin.New()
		ginwarden.MountAdmin(r.Group(prefix), h)
		e.h = r
	case "echo":
		ec := echo.New()
		echowarden.MountAdmin(ec.Group(prefix), h)
		e.h = ec
	}
	return e
}

func TestMountAdminInGinAndEcho(t *testing.T) {
	for _, fw := range []string{"gin", "echo"} {
		for _, prefix := range []string{"/admin", "/x/y/admin"} {
			t.Run(fw+prefix, func(t *testing.T) {
				e := mounted(t, fw, prefix)
				w := e.get("")
				wantStatus(t, w, http.StatusMovedPermanently)
				if loc := w.Header().Get("Location"); loc != "admin/" {
					t.Errorf("Location = %q", loc)
				}
				wantStatus(t, e.get("/"), http.StatusOK)
				w = e.post("/rules/blocked-ips/new", url.Values{"network": {"203.0.113.7"}, "active": {"on"}})
				wantStatus(t, w, http.StatusSeeOther)
				if loc := resolve(t, prefix+"/rules/blocked-ips/new", w.Header().Get("Location")); !strings.HasPrefix(loc, prefix+"/rules/blocked-ips?") {
					t.Errorf("redirect to %s", loc)
				}
				if d := e.check("203.0.113.7"); d.Allowed {
					t.Error("the block through the mounted admin does not deny")
				}
				page := e.get("/rules/blocked-ips")
				wantStatus(t, page, http.StatusOK)
				checkLinksStayInside(t, prefix, "/rules/blocked-ips", page.Body.String())
				code, m := e.api("GET", "/rules/blocked-ips", "")
				if rules, _ := m["rules"].([]any); code != 200 || len(rules) != 1 {
					t.Errorf("API through %s: %d %v", fw, code, m)
				}
				wantStatus(t, e.get("/static/admin.css"), http.StatusOK)
				if w := e.do(http.MethodGet, "/", nil, map[string]string{"X-Test-User": ""}); w.Code != http.StatusUnauthorized {
					t.Errorf("unauthorised through %s: %d", fw, w.Code)
				}
			})
		}
	}
}
