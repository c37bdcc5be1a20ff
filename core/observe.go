package core

import (
	"context"
	"errors"
)

// CheckObserver watches every Check, for metrics (package metrics has one).
// Its methods run on the request path in any number of goroutines: they must
// be safe for concurrent use, fast, and must not block.
type CheckObserver interface {
	// Begin is called as Check starts; its result is passed to End.
	Begin() int64
	// End is called with the decision Check returns (after the fail policy).
	End(begin int64, d Decision)
}

// WithCheckObserver tells o about every Check (not CheckEmail).
func WithCheckObserver(o CheckObserver) Option {
	return func(cfg *config) error {
		if o == nil {
			return errors.New("WithCheckObserver: nil observer")
		}
		cfg.observer = o
		return nil
	}
}

// observedCheck is Check with the observer told of its start and decision.
// It writes Check's results in place: a Decision is large, and each copy
// shows in the cost of an observed Check.
func (e *Engine) observedCheck(ctx context.Context, req Request, d *Decision, err *error) {
	o := e.cfg.observer
	begin := o.Begin()
	*d, *err = e.evaluate(ctx, req)
	if *err != nil {
		*d = e.failPolicy(*d, *err)
	}
	o.End(begin, *d)
}
