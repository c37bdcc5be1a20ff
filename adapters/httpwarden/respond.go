package httpwarden

import (
	"net/http"

	"github.com/wardenkit/warden/adapters/internal/respond"
	"github.com/wardenkit/warden/core"
)

// The answers below are the ones every warden adapter gives (ginwarden and
// echowarden write the same bytes); they are exported here for deny and
// locked handlers that want to fall back to them.

// WriteDenial writes the default response for a denial: the reference's
// text, or JSON when Accept asks for it (WantsJSON), with Cache-Control:
// no-store, Vary: Accept, X-Content-Type-Options: nosniff, Retry-After when
// known, and on a rate-limit denial the RateLimit-Policy and RateLimit
// headers of the IETF httpapi draft.
func WriteDenial(w http.ResponseWriter, r *http.Request, d core.Decision) {
	respond.WriteDenial(w, r, d)
}

// WriteLocked writes LoginGuard's default answer to a locked-out attempt:
// 429 "Too many login attempts", or {"error":"Too many login attempts",
// "status":429} when Accept asks for JSON (WantsJSON), with Cache-Control:
// no-store, Vary: Accept, X-Content-Type-Options: nosniff, and Retry-After
// (le.RetryAfter in whole seconds, rounded up) when the lock has an end; a
// lock that lasts until someone unlocks it has none.
func WriteLocked(w http.ResponseWriter, r *http.Request, le *core.LockedError) {
	respond.WriteLocked(w, r, le)
}

// WantsJSON reports whether the request's Accept header prefers JSON over
// HTML and plain text (application/json or a +json type listed, text/html
// or text/plain not listed before it).
func WantsJSON(r *http.Request) bool { return respond.WantsJSON(r) }
