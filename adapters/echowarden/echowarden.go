package echowarden

import (
	"errors"

	"github.com/labstack/echo/v4"

	"github.com/wardenkit/warden/adapters/internal/decisionctx"
	"github.com/wardenkit/warden/adapters/internal/options"
	"github.com/wardenkit/warden/adapters/internal/respond"
	"github.com/wardenkit/warden/core"
)

type config struct {
	user func(echo.Context) string
	deny func(echo.Context, core.Decision) error
	skip func(echo.Context) bool
}

// Option configures the middleware.
type Option func(*config) error

// WithUser tells the middleware how to find the authenticated user's ID ("" for
// anonymous requests), for user exemptions. It runs on every checked request.
func WithUser(f func(echo.Context) string) Option {
	return func(c *config) error {
		if f == nil {
			return errors.New("WithUser: nil function")
		}
		c.user = f
		return nil
	}
}

// WithDenyHandler replaces the default denial response (the text or JSON
// answer described in the package documentation, on c.Response()). f must write the response or return an error for Echo's
// HTTPErrorHandler; the next handler is never called for a denied request.
func WithDenyHandler(f func(echo.Context, core.Decision) error) Option {
	return func(c *config) error {
		if f == nil {
			return errors.New("WithDenyHandler: nil handler")
		}
		c.deny = f
		return nil
	}
}

// WithSkipper lets requests for which f returns true pass without any check
// (and without a decision for DecisionFrom). A middleware.Skipper fits.
func WithSkipper(f func(echo.Context) bool) Option {
	return func(c *config) error {
		if f == nil {
			return errors.New("WithSkipper: nil function")
		}
		c.skip = f
		return nil
	}
}

// Middleware returns the Echo middleware deciding every request with eng: an
// allowed request goes on to next with the decision in its context, a denied
// one gets the deny handler instead.
//
//	e.Use(auth, echowarden.Middleware(eng, echowarden.WithUser(userID)))
//
// A nil engine, a nil option or an option that returns an error (such as
// WithUser(nil)) is a programmer error: Middleware panics with an error
// naming it ("echowarden: Middleware: nil engine"), at start-up, as
// net/http.Handle does. Nothing a request carries makes the middleware panic.
func Middleware(eng *core.Engine, opts ...Option) echo.MiddlewareFunc {
	if eng == nil {
		panic(errors.New("echowarden: Middleware: nil engine"))
	}
	cfg := config{deny: writeDenial}
	options.Apply("echowarden: Middleware", &cfg, opts)
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if cfg.skip != nil && cfg.skip(c) {
				return next(c)
			}
			req := core.Request{HTTP: c.Request(), Route: c.Path()}
			if cfg.user != nil {
				req.UserID = cfg.user(c)
			}
			r, d := decisionctx.Decide(eng, req)
			c.SetRequest(r)
			if !d.Allowed {
				return cfg.deny(c, *d)
			}
			return next(c)
		}
	}
}

func writeDenial(c echo.Context, d core.Decision) error {
	respond.WriteDenial(c.Response(), c.Request(), d)
	return nil
}

// DecisionFrom returns the decision the middleware made for c's request; false
// when the middleware did not run or skipped the request.
func DecisionFrom(c echo.Context) (core.Decision, bool) {
	if c == nil || c.Request() == nil {
		return core.Decision{}, false
	}
	return decisionctx.From(c.Request().Context())
}
