package redisstore

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// guard runs the calls of one Store under deadlines that hold whatever the
// client's options, and tells a dead Redis from a slow one for the breakers.
//
// go-redis bounds a call by its context's deadline on the socket only when
// the client was built with ContextTimeoutEnabled. Without it (the default of
// redis.NewClient), a Redis that accepts connections and never answers holds
// a call for the client's ReadTimeout: 5 s by default, for ever with -1. So
// every call runs in a goroutine other than its caller's, and the caller
// returns at its deadline. The call's context ends then, which stops at once
// a call still waiting for a pooled connection or dialling; a call already on
// the socket runs on, abandoned, until the client's own timeouts end it.
// Every call holds one of the slots (WithMaxInFlight) until it returns,
// abandoned or not, so its goroutines stay bounded; a call that finds none
// free waits for one within its deadline.
//
// Any reply, a value or a Redis error, even one that comes after its caller
// left, shows that the server is alive.
type guard struct {
	slots     chan struct{}
	silence   time.Duration
	base      time.Time    // heard is measured from base, on the monotonic clock
	running   atomic.Int64 // calls holding a slot
	abandoned atomic.Int64 // of those, calls whose context ended first
	heard     atomic.Int64 // ns since base: the last reply, or the end of an idle spell
	replied   atomic.Int64 // ns since base: the last reply
}

// outcome is what a finished or abandoned call says about the server.
type outcome int

const (
	replied   outcome = iota // a value or a Redis error: the server is alive
	cancelled                // the caller's context ended: says nothing
	slow                     // a deadline or timeout while the server answers: load, not an outage
	dead                     // a connection error, or a deadline after silence: the breaker counts it
)

func newGuard(maxInFlight int, silence time.Duration) *guard {
	return &guard{slots: make(chan struct{}, maxInFlight), silence: silence, base: time.Now()}
}

func (g *guard) now() int64 { return int64(time.Since(g.base)) }

// hear notes a sign of life at t: the server replied, or calls begin after
// an idle spell (the silence that matters starts with the first unanswered
// call, not with the last reply before a quiet night).
func (g *guard) hear(t int64) {
	for {
		h := g.heard.Load()
		if h >= t || g.heard.CompareAndSwap(h, t) {
			return
		}
	}
}

// isReply reports whether err came from the server: nil or a Redis error.
func isReply(err error) bool {
	var rerr redis.Error
	return err == nil || errors.As(err, &rerr)
}

// judge says what err, returned by a call or made at its deadline, tells
// about the server. parent is the caller's context.
func (g *guard) judge(parent context.Context, err error) outcome {
	switch {
	case isReply(err):
		return replied
	case parent.Err() != nil:
		return cancelled
	}
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, redis.ErrPoolTimeout) || (errors.As(err, &ne) && ne.Timeout()) {
		if time.Duration(g.now()-g.heard.Load()) < g.silence {
			return slow
		}
	}
	return dead
}

// acquire takes a slot, waiting for one until ctx ends.
func (g *guard) acquire(ctx context.Context) bool {
	select {
	case g.slots <- struct{}{}:
		return true
	default:
	}
	select {
	case g.slots <- struct{}{}:
		return true
	case <-ctx.Done():
		return false
	}
}

// begin notes a call about to be sent; it holds a slot. The call is
// counted as abandoned from the moment ctx ends (and onAbandon, if not nil,
// runs then) until end.
func (g *guard) begin(ctx context.Context, onAbandon func()) *inflight {
	if g.running.Add(1) == 1 {
		g.hear(g.now())
	}
	c := &inflight{}
	c.stop = context.AfterFunc(ctx, func() {
		g.abandoned.Add(1)
		if !c.state.CompareAndSwap(callRunning, callAbandoned) {
			g.abandoned.Add(-1)
			return
		}
		if onAbandon != nil {
			onAbandon()
		}
	})
	return c
}

// inflight is a call between guard.begin and guard.end.
type inflight struct {
	stop  func() bool
	state atomic.Int32
}

// Call states: a call's context and its return race to settle who
// accounts for it.
const (
	callRunning int32 = iota
	callAbandoned
	callFinished
)

// end notes that c returned; replied tells whether the server answered. It
// frees c's slot and reports whether c had been abandoned.
func (g *guard) end(c *inflight, replied bool) (abandoned bool) {
	c.stop()
	if !c.state.CompareAndSwap(callRunning, callFinished) {
		g.abandoned.Add(-1)
		abandoned = true
	}
	if replied {
		now := g.now()
		g.hear(now)
		g.replied.Store(now) // a late writer may store an older time: by a hair
	}
	g.running.Add(-1)
	<-g.slots
	return abandoned
}

// errAbandoned stands for "no result by the deadline" until report names
// it; errNoProgress for "no reply from Redis at all for the patience".
var (
	errAbandoned  = errors.New("abandoned")
	errNoProgress = errors.New("no progress")
)

// do runs fn with a context that ends after d (or with ctx), in a
// goroutine of its own, and returns its error, or at the deadline an error
// wrapping context.DeadlineExceeded. It reports the outcome to b and counts
// in st. The caller has already asked b.allow(). fn must not touch memory
// its caller reuses after do returns: an abandoned fn runs on.
func (g *guard) do(ctx context.Context, d time.Duration, b *breaker, st *counters, fn func(context.Context) error) error {
	cctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	if !g.acquire(cctx) {
		return g.report(ctx, d, d, errAbandoned, b, st)
	}
	st.calls.Add(1)
	st.roundTrips.Add(1)
	c := g.begin(cctx, nil)
	done := make(chan error, 1)
	go func() {
		err := fn(cctx)
		g.end(c, isReply(err))
		done <- err
	}()
	var err error
	select {
	case err = <-done:
	case <-cctx.Done():
		select {
		case err = <-done:
		default:
			err = errAbandoned
		}
	}
	return g.report(ctx, d, d, err, b, st)
}

// report turns errAbandoned into the caller's error (its context's, or a
// deadline after d) and errNoProgress into a deadline after patience,
// judges err, counts it in st and tells b.
func (g *guard) report(ctx context.Context, d, patience time.Duration, err error, b *breaker, st *counters) error {
	switch {
	case errors.Is(err, errNoProgress):
		err = fmt.Errorf("no reply from Redis for %s: %w", patience, context.DeadlineExceeded)
	case errors.Is(err, errAbandoned):
		if err = ctx.Err(); err == nil {
			err = fmt.Errorf("no reply within %s: %w", d, context.DeadlineExceeded)
		}
	}
	o := g.judge(ctx, err)
	if err != nil {
		st.errors.Add(1)
		if o != cancelled && errors.Is(err, context.DeadlineExceeded) {
			st.deadlines.Add(1)
		}
	}
	if o == dead {
		st.dead.Add(1)
	}
	if b.done(o) {
		st.trips.Add(1)
	}
	return err
}
