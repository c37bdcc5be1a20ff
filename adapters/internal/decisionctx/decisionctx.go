// Package decisionctx carries a warden decision in a request's context for
// the framework adapters, in one allocation for the decision and the request
// copy that carries it.
//
// Its functions are safe for concurrent use; a decision, once attached, is
// never modified.
package decisionctx

import (
	"context"
	"net/http"

	"github.com/wardenkit/warden/core"
)

type key struct{}

// decisionCtx holds the decision beside its parent context: one allocation,
// where context.WithValue plus a boxed Decision would take two.
type decisionCtx struct {
	context.Context
	d core.Decision
}

func (c *decisionCtx) Value(k any) any {
	if k == (key{}) {
		return &c.d
	}
	return c.Context.Value(k)
}

// Decide asks eng about req (with the fail policy applied) using the
// request's own context, and returns the decision and a shallow copy of
// req.HTTP carrying it in its context, as WithContext would, in one
// allocation: the copy and the context share it (WithContext is inlined, so
// its own copy stays on the stack; TestDecideAllocs watches this).
func Decide(eng *core.Engine, req core.Request) (*http.Request, *core.Decision) {
	h := new(holder)
	h.ctx.Context = req.HTTP.Context()
	h.ctx.d, _ = eng.Check(h.ctx.Context, req)
	h.req = *req.HTTP.WithContext(&h.ctx)
	return &h.req, &h.ctx.d
}

type holder struct {
	req http.Request
	ctx decisionCtx
}

// From returns the decision attached to ctx by Decide.
func From(ctx context.Context) (core.Decision, bool) {
	if ctx == nil {
		return core.Decision{}, false
	}
	if d, ok := ctx.Value(key{}).(*core.Decision); ok {
		return *d, true
	}
	return core.Decision{}, false
}
