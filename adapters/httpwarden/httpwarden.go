package httpwarden

import (
	"errors"
	"net/http"
	"strings"

	"github.com/wardenkit/warden/adapters/internal/decisionctx"
	"github.com/wardenkit/warden/adapters/internal/options"
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

// Middleware returns the net/http middleware deciding every request with eng:
// an allowed request goes on to next with the decision in its context, a
// denied one gets the deny handler instead.
//
//	h := httpwarden.Middleware(eng, httpwarden.WithUser(userID))(app)
//	http.ListenAndServe(":8080", authenticate(h))
//
// A nil engine, a nil option, an option that returns an error (such as
// WithUser(nil)) and wrapping a nil handler are programmer errors: they panic
// with an error naming them ("httpwarden: Middleware: nil engine"), at
// start-up, as net/http.Handle does. Nothing a request carries makes the
// middleware panic.
func Middleware(eng *core.Engine, opts ...Option) func(http.Handler) http.Handler {
	if eng == nil {
		panic(errors.New("httpwarden: Middleware: nil engine"))
	}
	cfg := config{deny: WriteDenial}
	options.Apply("httpwarden: Middleware", &cfg, opts)
	return func(next http.Handler) http.Handler {
		if next == nil {
			panic(errors.New("httpwarden: Middleware: nil handler"))
		}
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
	}
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
