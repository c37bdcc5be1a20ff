package ginwarden

import (
	"github.com/gin-gonic/gin"

	"github.com/wardenkit/warden/adapters/internal/respond"
	"github.com/wardenkit/warden/core"
)

// CheckEmail checks an address a sign-up or login form was given
// (core.Engine.CheckEmail) and reports whether the handler may go on. When
// the address is refused it writes the middleware's denial (403 "Access
// denied", or 400 "Invalid e-mail address" for a malformed one; JSON when
// Accept asks for it), aborts the chain and returns false with the
// decision. When the engine cannot decide, the fail policy answers.
//
//	if ok, _ := ginwarden.CheckEmail(c, eng, c.PostForm("email")); !ok {
//		return
//	}
func CheckEmail(c *gin.Context, eng *core.Engine, address string) (bool, core.Decision) {
	d, _ := eng.CheckEmail(c.Request.Context(), c.Request, address)
	if d.Allowed {
		return true, d
	}
	respond.WriteDenial(c.Writer, c.Request, d)
	c.Abort()
	return false, d
}
