package httpwarden

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/wardenkit/warden/adapters/internal/decisionctx"
	"github.com/wardenkit/warden/core"
	"github.com/wardenkit/warden/core/ratelimit"
)

type config struct {
	user func(*http.Request) string
	deny func(http.ResponseWriter, *http.Request, core.Decision)
	skip func(*http.Request) bool
}

// Option configures the middleware.
type Option func(*config) error

// WithUser tells the middleware how to find the authenticated user's ID ("" for
// anonymous requests), for user exemptions.
func WithUser(f func(*http.Request) string) Option {
	return func(c *config) error {
		if f == nil {
			return errors.New("WithUser: nil function")
		}
		c.user = f
		return nil
	}
}

// WithDenyHandler replaces the default denial response (WriteDenial).
func WithDenyHandler(f func(http.ResponseWriter, *http.Request, core.Decision)) Option {
	return func(c *config) error {
		if f == nil {
			return errors.New("WithDenyHandler: nil handler")
		}
		c.deny = f
		return nil
	}
}

// WithSkipper lets requests for which f returns true pass without any check.
func WithSkipper(f func(*http.Request) bool) Option {
	return func(c *config) error {
		if f == nil {
			return errors.New("WithSkipper: nil function")
		}
		c.skip = f
		return nil
	}
}

// Middleware returns the net/http middleware deciding every request with eng.
func Middleware(eng *core.Engine, opts ...Option) (func(http.Handler) http.Handler, error) {
	if eng == nil {
		return nil, errors.New("httpwarden: Middleware: nil engine")
	}
	cfg := config{deny: WriteDenial}
	for _, o := range opts {
		if err := o(&cfg); err != nil {
			return nil, errors.New("httpwarden: Middleware: " + err.Error())
		}
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if cfg.skip != nil && cfg.skip(r) {
				next.ServeHTTP(w, r)
				return
			}
			req := core.Request{HTTP: r, Route: patternPath(r.Pattern)}
			if cfg.user != nil {
				req.UserID = cfg.user(r)
			}
			r, d := decisionctx.Decide(eng, req)
			if !d.Allowed {
				cfg.deny(w, r, *d)
				return
			}
			next.ServeHTTP(w, r)
		})
	}, nil
}

// patternPath is the path part of a ServeMux pattern: "GET example.com/users/{id}"
// gives "/users/{id}". The pattern is set when the middleware runs inside the
// mux's handler; around the mux it is empty and rules match the cleaned path.
func patternPath(p string) string {
	if p == "" {
		return ""
	}
	if _, rest, ok := strings.Cut(p, " "); ok { // method
		p = strings.TrimLeft(rest, " \t")
	}
	if i := strings.IndexByte(p, '/'); i > 0 { // host
		p = p[i:]
	}
	if p == "" || p[0] != '/' {
		return ""
	}
	return p
}

// DecisionFrom returns the decision the middleware (of any warden adapter)
// made for r.
func DecisionFrom(r *http.Request) (core.Decision, bool) { return decisionctx.From(r.Context()) }

// WriteDenial writes the default response for a denial: the reference's
// text, or JSON when Accept asks for it, with the safety headers and
// Retry-After when known, and on a rate-limit denial the RateLimit-Policy and
// RateLimit headers of the IETF httpapi draft. Other adapters use it too.
func WriteDenial(w http.ResponseWriter, r *http.Request, d core.Decision) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Vary", "Accept")
	h.Set("X-Content-Type-Options", "nosniff")
	if d.RetryAfter > 0 {
		h.Set("Retry-After", strconv.FormatInt(ratelimit.RetryAfterSeconds(d.RetryAfter), 10))
	}
	if policy, limit := core.RateLimitHeaders(d); policy != "" {
		h.Set("RateLimit-Policy", policy)
		h.Set("RateLimit", limit)
	}
	status := d.Status
	if status == 0 {
		status = http.StatusForbidden
	}
	msg := d.Message()
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

// WantsJSON reports whether the request's Accept header prefers JSON over
// HTML and plain text (application/json or a +json type listed, text/html
// not listed before it).
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
