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
		e := echo.New()
		e.Use(echowarden.Middleware(eng, echowarden.WithUser(func(c echo.Context) string { return c.Request().Header.Get(userHeader) })))
		e.Any("/*", func(c echo.Context) error {
			d, ok := echowarden.DecisionFrom(c)
			adaptertest.Hello(c.Response(), d, ok)
			return nil
		})
		return e
	})
}
