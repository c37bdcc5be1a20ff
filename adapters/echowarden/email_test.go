package echowarden_test

import (
	"net/http"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/wardenkit/warden/adapters/echowarden"
	"github.com/wardenkit/warden/adapters/internal/adaptertest"
	"github.com/wardenkit/warden/core"
)

func TestCheckEmail(t *testing.T) {
	adaptertest.RunEmail(t, func(t testing.TB, eng *core.Engine) http.Handler {
		e := echo.New()
		e.POST("/signup", func(c echo.Context) error {
			if ok, _ := echowarden.CheckEmail(c, eng, c.FormValue("email")); !ok {
				return nil
			}
			return c.String(http.StatusOK, adaptertest.Welcome)
		})
		return e
	})
}
