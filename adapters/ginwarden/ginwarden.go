package ginwarden

import (
	"errors"

	"github.com/gin-gonic/gin"

	"github.com/wardenkit/warden/adapters/internal/decisionctx"
	"github.com/wardenkit/warden/adapters/internal/options"
	"github.com/wardenkit/warden/adapters/internal/respond"
	"github.com/wardenkit/warden/core"
)

type config struct {
	user func(*gin.Context) string
	deny func(*gin.Context, core.Decision)
	skip func(*gin.Context) bool
}

// Option configures the middleware.
type Option func(*config) error

// WithUser tells the middleware how to find the authenticated user's ID ("" for
// anonymous requests), for user exemptions. It runs on every checked request.
func WithUser(f func(*gin.Context) string) Option {
	return func(c *config) error {
		if f == nil {
			return errors.New("WithUser: nil function")
		}
		c.user = f
		return nil
	}
}

// WithDenyHandler replaces the default denial response (the text or JSON
// answer described in the package documentation, on c.Writer). f must write
// the response; the middleware aborts the chain after it returns, whatever f
// does.
func WithDenyHandler(f func(*gin.Context, core.Decision)) Option {
	return func(c *config) error {
		if f == nil {
			return errors.New("WithDenyHandler: nil handler")
		}
		c.deny = f
		return nil
	}
}

// WithSkipper lets requests for which f returns true pass without any check
// (and without a decision for DecisionFrom).
func WithSkipper(f func(*gin.Context) bool) Option {
	return func(c *config) error {
		if f == nil {
			return errors.New("WithSkipper: nil function")
		}
		c.skip = f
		return nil
	}
}

// Middleware returns the Gin middleware deciding every request with eng: an
// allowed request goes on with the decision in its context, a denied one gets
// the deny handler and the chain is aborted.
//
//	r.Use(auth, ginwarden.Middleware(eng, ginwarden.WithUser(userID)))
//
// A nil engine, a nil option or an option that returns an error (such as
// WithUser(nil)) is a programmer error: Middleware panics with an error
// naming it ("ginwarden: Middleware: nil engine"), at start-up, as
// net/http.Handle does. Nothing a request carries makes the middleware panic.
func Middleware(eng *core.Engine, opts ...Option) gin.HandlerFunc {
	if eng == nil {
		panic(errors.New("ginwarden: Middleware: nil engine"))
	}
	cfg := config{deny: writeDenial}
	options.Apply("ginwarden: Middleware", &cfg, opts)
	return func(c *gin.Context) {
		if cfg.skip != nil && cfg.skip(c) {
			return
		}
		req := core.Request{HTTP: c.Request, Route: c.FullPath()}
		if cfg.user != nil {
			req.UserID = cfg.user(c)
		}
		var d *core.Decision
		c.Request, d = decisionctx.Decide(eng, req)
		if !d.Allowed {
			cfg.deny(c, *d)
			c.Abort()
		}
	}
}

func writeDenial(c *gin.Context, d core.Decision) { respond.WriteDenial(c.Writer, c.Request, d) }

// DecisionFrom returns the decision the middleware made for c's request; false
// when the middleware did not run or skipped the request.
func DecisionFrom(c *gin.Context) (core.Decision, bool) {
	if c == nil || c.Request == nil {
		return core.Decision{}, false
	}
	return decisionctx.From(c.Request.Context())
}
