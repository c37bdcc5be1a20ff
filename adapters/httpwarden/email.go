package httpwarden

import (
	"net/http"

	"github.com/wardenkit/warden/adapters/internal/respond"
	"github.com/wardenkit/warden/core"
)

// CheckEmail checks an address a sign-up or login form was given
// (core.Engine.CheckEmail) and reports whether the handler may go on. When
// the address is refused it writes the middleware's denial to w (403 "Access
// denied", or 400 "Invalid e-mail address" for a malformed one; JSON when
// Accept asks for it) and returns false with the decision. When the engine
// cannot decide, the fail policy answers.
//
//	if ok, _ := httpwarden.CheckEmail(w, r, eng, r.PostFormValue("email")); !ok {
//		return
//	}
func CheckEmail(w http.ResponseWriter, r *http.Request, eng *core.Engine, address string) (bool, core.Decision) {
	d, _ := eng.CheckEmail(r.Context(), r, address)
	if d.Allowed {
		return true, d
	}
	respond.WriteDenial(w, r, d)
	return false, d
}
