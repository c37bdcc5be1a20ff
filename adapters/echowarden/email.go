package echowarden

import (
	"github.com/labstack/echo/v4"

	"github.com/wardenkit/warden/adapters/internal/respond"
	"github.com/wardenkit/warden/core"
)

// CheckEmail checks an address a sign-up or login form was given
// (core.Engine.CheckEmail) and reports whether the handler may go on. When
// the address is refused it writes the middleware's denial (403 "Access
// denied", or 400 "Invalid e-mail address" for a malformed one; JSON when
// Accept asks for it) and returns false with the decision; the handler then
// returns nil. When the engine cannot decide, the fail policy answers.
//
//	if ok, _ := echowarden.CheckEmail(c, eng, c.FormValue("email")); !ok {
//		return nil
//	}
func CheckEmail(c echo.Context, eng *core.Engine, address string) (bool, core.Decision) {
	r := c.Request()
	d, _ := eng.CheckEmail(r.Context(), r, address)
	if d.Allowed {
		return true, d
	}
	respond.WriteDenial(c.Response(), r, d)
	return false, d
}
