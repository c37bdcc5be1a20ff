// Package respond writes the answers every warden adapter gives on its own:
// a denial (WriteDenial) and a locked-out login attempt (WriteLocked), as
// plain text or, when the Accept header asks for it (WantsJSON), as
// {"error":…,"status":…}.
//
// Every answer carries the same safety headers: Cache-Control: no-store (a
// denial must not be cached and served to someone else), Vary: Accept (the
// body depends on it), X-Content-Type-Options: nosniff, and Retry-After in
// whole seconds, rounded up, when the wait is known. A rate-limit denial adds
// the RateLimit-Policy and RateLimit headers of the IETF httpapi draft.
// Bodies never name the matched pattern or country.
//
// The functions are safe for concurrent use.
package respond

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/wardenkit/warden/core"
	"github.com/wardenkit/warden/core/ratelimit"
)

// LockedMessage is the body of the 429 answer to a locked-out login attempt.
const LockedMessage = "Too many login attempts"

// WriteDenial writes the answer to a denial: d.Status (403 when zero) and
// d.Message() (the reference's text: "Access denied", "Access denied from
// your region", "Too many requests", "Service unavailable"), with the safety
// headers, Retry-After when d.RetryAfter is known, and on a rate-limit denial
// RateLimit-Policy and RateLimit.
func WriteDenial(w http.ResponseWriter, r *http.Request, d core.Decision) {
	h := w.Header()
	setSafetyHeaders(h, d.RetryAfter)
	if policy, limit := core.RateLimitHeaders(d); policy != "" {
		h.Set("RateLimit-Policy", policy)
		h.Set("RateLimit", limit)
	}
	status := d.Status
	if status == 0 {
		status = http.StatusForbidden
	}
	writeBody(w, r, status, d.Message())
}

// WriteLocked writes the answer to a locked-out login attempt: 429
// LockedMessage with the safety headers, and Retry-After (le.RetryAfter) when
// the lock has an end; a lock that lasts until someone unlocks it has none.
func WriteLocked(w http.ResponseWriter, r *http.Request, le *core.LockedError) {
	var retryAfter time.Duration
	if le != nil && !le.Until.IsZero() {
		retryAfter = le.RetryAfter
	}
	setSafetyHeaders(w.Header(), retryAfter)
	writeBody(w, r, http.StatusTooManyRequests, LockedMessage)
}

// WantsJSON reports whether the request's Accept header prefers JSON over
// HTML and plain text (application/json or a +json type listed, text/html
// or text/plain not listed before it).
func WantsJSON(r *http.Request) bool {
	for _, v := range r.Header.Values("Accept") {
		for part := range strings.SplitSeq(v, ",") {
			mt, _, _ := strings.Cut(strings.TrimSpace(part), ";")
			mt = strings.ToLower(strings.TrimSpace(mt))
			switch {
			case mt == "text/html" || mt == "text/plain":
				return false
			case mt == "application/json" || strings.HasSuffix(mt, "+json"):
				return true
			}
		}
	}
	return false
}

// setSafetyHeaders sets the headers every answer of this package carries,
// and Retry-After when retryAfter > 0.
func setSafetyHeaders(h http.Header, retryAfter time.Duration) {
	h.Set("Cache-Control", "no-store")
	h.Set("Vary", "Accept")
	h.Set("X-Content-Type-Options", "nosniff")
	if retryAfter > 0 {
		h.Set("Retry-After", strconv.FormatInt(ratelimit.RetryAfterSeconds(retryAfter), 10))
	}
}

// writeBody writes status and msg, as JSON when r asks for it, else as text.
func writeBody(w http.ResponseWriter, r *http.Request, status int, msg string) {
	h := w.Header()
	if WantsJSON(r) {
		h.Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(`{"error":` + strconv.Quote(msg) + `,"status":` + strconv.Itoa(status) + "}\n"))
		return
	}
	h.Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(msg))
}
