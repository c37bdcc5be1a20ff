package httpwarden

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/wardenkit/warden/core"
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
			req := core.Request{HTTP: r}
			if cfg.user != nil {
				req.UserID = cfg.user(r)
			}
			dc := &decisionCtx{Context: r.Context()}
			dc.d = eng.Decide(r.Context(), req)
			r = r.WithContext(dc)
			if !dc.d.Allowed {
				cfg.deny(w, r, dc.d)
				return
			}
			next.ServeHTTP(w, r)
		})
	}, nil
}

type decisionKey struct{}

// decisionCtx carries the decision in one allocation (a context.WithValue
// plus a boxed Decision would take two).
type decisionCtx struct {
	context.Context
	d core.Decision
}

func (c *decisionCtx) Value(key any) any {
	if key == (decisionKey{}) {
		return &c.d
	}
	return c.Context.Value(key)
}

// DecisionFrom returns the decision the middleware made for r.
func DecisionFrom(r *http.Request) (core.Decision, bool) {
	if d, ok := r.Context().Value(decisionKey{}).(*core.Decision); ok {
		return *d, true
	}
	return core.Decision{}, false
}

// WriteDenial writes the default response for a denial: the reference's
// text, or JSON when Accept asks for it, with the safety headers and
// Retry-After when known. Other adapters use it too.
func WriteDenial(w http.ResponseWriter, r *http.Request, d core.Decision) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Vary", "Accept")
	h.Set("X-Content-Type-Options", "nosniff")
	if d.RetryAfter > 0 {
		secs := int64((d.RetryAfter + 999_999_999) / 1_000_000_000)
		h.Set("Retry-After", strconv.FormatInt(secs, 10))
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
