package echowarden_test

import (
	"net/http"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/wardenkit/warden/adapters/echowarden"
	"github.com/wardenkit/warden/adapters/internal/adaptertest"
	"github.com/wardenkit/warden/core"
)

func TestConformance(t *testing.T) {
	adaptertest.Run(t, func(t testing.TB, eng *core.Engine, userHeader string) http.Handler {
		mw, err := echowarden.Middleware(eng, echowarden.WithUser(func(c echo.Context) string { return c.Request().Header.Get(userHeader) }))
		if err != nil {
			t.Fatal(err)
		}
		e := echo.New()
		e.Use(mw)
		e.Any("/*", func(c echo.Context) error {
			d, ok := echowarden.DecisionFrom(c)
			adaptertest.Hello(c.Response(), d, ok)
			return nil
		})
		return e
	})
}
