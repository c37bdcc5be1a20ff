package core

import (
	"context"
	"sync"
	"time"
)

// rebuilder coalesces snapshot rebuilds: one running, one pending, and at
// most one start per rebuildInterval, so a burst of writes costs a few full
// reads, not one each.
type rebuilder struct {
	e     *Engine
	kickc chan struct{}

	mu        sync.Mutex
	requested uint64        // generation asked for
	completed uint64        // generation whose rebuild finished
	lastErr   error         // result of the last finished rebuild
	done      chan struct{} // closed and replaced at each finish
	force     bool

	count, errors int64
	errText       string
}

func newRebuilder(e *Engine) *rebuilder {
	return &rebuilder{e: e, kickc: make(chan struct{}, 1), done: make(chan struct{})}
}

// kick asks for a rebuild without waiting.
func (r *rebuilder) kick() {
	r.mu.Lock()
	r.requested++
	r.mu.Unlock()
	select {
	case r.kickc <- struct{}{}:
	default:
	}
}

// request asks for a rebuild that starts after this call and waits for it.
// force rebuilds even when the store version has not moved.
func (r *rebuilder) request(ctx context.Context, force bool) error {
	r.mu.Lock()
	r.requested++
	gen := r.requested
	r.force = r.force || force
	r.mu.Unlock()
	select {
	case r.kickc <- struct{}{}:
	default:
	}
	for {
		r.mu.Lock()
		if r.completed >= gen {
			err := r.lastErr
			r.mu.Unlock()
			return err
		}
		done := r.done
		r.mu.Unlock()
		select {
		case <-done:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (r *rebuilder) run(ctx context.Context) {
	var last time.Time
	for {
		select {
		case <-ctx.Done():
			r.finish(r.pending(), ctx.Err())
			return
		case <-r.kickc:
		}
		if wait := r.e.cfg.rebuildInterval - time.Since(last); wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				r.finish(r.pending(), ctx.Err())
				return
			case <-t.C:
			}
		}
		last = time.Now()
		r.mu.Lock()
		gen, force := r.requested, r.force
		r.force = false
		r.mu.Unlock()
		r.finish(gen, r.once(ctx, force))
	}
}

func (r *rebuilder) once(ctx context.Context, force bool) error {
	e := r.e
	if cur := e.snap.Load(); cur != nil && !force {
		v, err := e.store.Version(ctx)
		if err != nil {
			return err
		}
		if v == cur.Version {
			return nil
		}
	}
	s, err := loadSnapshot(ctx, e.store, e.clock.Now(), e.cfg.emailProviderRules)
	if err != nil {
		e.log.Warn("warden: rebuild failed; keeping the previous snapshot", "error", err)
		return err
	}
	e.install(s)
	e.lockout.applyReleases(ctx)
	return nil
}

func (r *rebuilder) finish(gen uint64, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		r.errors++
		r.errText = err.Error()
	} else {
		r.count++
	}
	if gen > r.completed {
		r.completed = gen
	}
	r.lastErr = err
	close(r.done)
	r.done = make(chan struct{})
}

func (r *rebuilder) pending() uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.requested
}

func (r *rebuilder) noteError(err error) {
	r.mu.Lock()
	r.errors++
	r.errText = err.Error()
	r.mu.Unlock()
}

func (r *rebuilder) stats() (count, errs int64, last string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.count, r.errors, r.errText
}
