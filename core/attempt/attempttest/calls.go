package attempttest

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wardenkit/warden/core/attempt"
)

// Many attempts at once on one key: exactly the limit are reserved, and
// when they all fail exactly one step reports the lock.
func testConcurrentReserve(h *tester) {
	const n, lim = 100, 5
	k := limit(userIP("heidi"), lim)
	var ok atomic.Int64
	concurrently(n, func(i int) {
		tok := uint64(1000 + i)
		got, _, err := h.c.Reserve(h.ctx, t0, pol, tok, []attempt.Key{k})
		if err != nil {
			h.Error(err)
			return
		}
		if got {
			ok.Add(1)
		}
	})
	if ok.Load() != lim {
		h.Fatalf("%d of %d concurrent attempts reserved; want exactly the limit, %d", ok.Load(), n, lim)
	}
	h.expect("Status after the concurrent attempts", h.status(t0, pol, k)[0], attempt.State{Reserved: lim, Until: at(timeout)})

	var locks atomic.Int64
	concurrently(n, func(i int) { // the reserved tokens and 95 unknown ones
		st, err := h.c.Fail(h.ctx, at(time.Second), pol, uint64(1000+i), []attempt.Key{k})
		if err != nil {
			h.Error(err)
			return
		}
		if st[0].LockedNow {
			locks.Add(1)
		}
	})
	if locks.Load() != 1 {
		h.Fatalf("%d concurrent Fails reported LockedNow; want exactly 1", locks.Load())
	}
	h.expect("Status after the concurrent Fails", h.status(at(time.Second), pol, k)[0], locked(lim, at(time.Second)))
}

// Many attempts at once on two keys: the lower limit is reserved, each
// attempt on both keys or on neither. When the keys come in either order, a
// counter that is all or none by compensation may reserve fewer.
func testConcurrentAllOrNone(h *tester) {
	for _, mixed := range []bool{false, true} {
		a, b := limit(userIP("ivan"), 3), addr("192.0.2.40")
		if mixed {
			a, b = limit(userIP("judy"), 3), addr("192.0.2.41")
		}
		var ok atomic.Int64
		concurrently(100, func(i int) {
			keys := []attempt.Key{b, a}
			if mixed && i%2 == 1 {
				keys[0], keys[1] = a, b
			}
			got, _, err := h.c.Reserve(h.ctx, t0, pol, uint64(1000+i), keys)
			if err != nil {
				h.Error(err)
				return
			}
			if got {
				ok.Add(1)
			}
		})
		n, lo := int(ok.Load()), a.Limit
		if mixed && h.compensated {
			lo = 0
		}
		if n < lo || n > a.Limit {
			h.Fatalf("keys in mixed order %v: %d of 100 concurrent attempts reserved; want %d to %d", mixed, n, lo, a.Limit)
		}
		st := h.status(t0, pol, a, b)
		if st[0].Reserved != n || st[1].Reserved != n {
			h.Fatalf("keys in mixed order %v: %d attempts reserved, but the keys hold %d and %d reservations", mixed, n, st[0].Reserved, st[1].Reserved)
		}
	}
}

// concurrently runs f(0) … f(n-1) in n goroutines released together.
func concurrently(n int, f func(i int)) {
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			f(i)
		})
	}
	close(start)
	wg.Wait()
}

// Arguments out of range fail the call with attempt.ErrInvalid, whatever
// the step, and change nothing, not even on the valid keys of the call. A
// cancelled context fails with its error.
func testInvalid(h *tester) {
	good := addr("192.0.2.41")
	cases := []struct {
		name string
		now  time.Time
		p    attempt.Policy
		bad  attempt.Key
	}{
		{"empty_key", t0, pol, attempt.Key{Limit: 1}},
		{"zero_limit", t0, pol, attempt.Key{Key: "k"}},
		{"negative_limit", t0, pol, attempt.Key{Key: "k", Limit: -1}},
		{"key_over_256_bytes", t0, pol, attempt.Key{Key: strings.Repeat("k", 257), Limit: 1}},
		{"time_before_1970", time.Unix(-1, 0), pol, good},
		{"zero_time", time.Time{}, pol, good},
		{"year_2300", time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC), pol, good},
		{"negative_cooloff", t0, attempt.Policy{Cooloff: -1, ReservationTimeout: timeout}, good},
		{"negative_reservation_timeout", t0, attempt.Policy{Cooloff: time.Minute, ReservationTimeout: -1}, good},
	}
	for _, c := range cases {
		keys := []attempt.Key{good, c.bad}
		ok, _, err := h.c.Reserve(h.ctx, c.now, c.p, 1, keys)
		if ok {
			h.Errorf("%s: Reserve reserved", c.name)
		}
		h.invalid(c.name+": Reserve", err)
		_, err = h.c.Fail(h.ctx, c.now, c.p, 1, keys)
		h.invalid(c.name+": Fail", err)
		_, err = h.c.Release(h.ctx, c.now, c.p, 1, keys)
		h.invalid(c.name+": Release", err)
		_, err = h.c.Status(h.ctx, c.now, c.p, keys)
		h.invalid(c.name+": Status", err)
	}
	h.expect("the valid key after the refused calls", h.status(t0, pol, good)[0], attempt.State{})
	_, st := h.mustReserve(t0, pol, attempt.Key{Key: strings.Repeat("k", 256), Limit: 1})
	h.expect("a key of 256 bytes", st[0], attempt.State{Reserved: 1, Until: at(timeout)})

	ctx, cancel := context.WithCancel(h.ctx)
	cancel()
	k := []attempt.Key{good}
	if _, _, err := h.c.Reserve(ctx, t0, pol, 1, k); !errors.Is(err, context.Canceled) {
		h.Errorf("Reserve with a cancelled context: %v", err)
	}
	if _, err := h.c.Status(ctx, t0, pol, k); !errors.Is(err, context.Canceled) {
		h.Errorf("Status with a cancelled context: %v", err)
	}
	if err := h.c.Reset(ctx, []string{good.Key}); !errors.Is(err, context.Canceled) {
		h.Errorf("Reset with a cancelled context: %v", err)
	}
	h.expect("the key after cancelled calls", h.status(t0, pol, good)[0], attempt.State{})
}

func (h *tester) invalid(what string, err error) {
	h.Helper()
	if !errors.Is(err, attempt.ErrInvalid) {
		h.Errorf("%s: %v, want an error wrapping attempt.ErrInvalid", what, err)
	}
}

// A call without keys succeeds and returns no states; a Reserve without keys
// is reserved (there is nothing to refuse it).
func testNoKeys(h *tester) {
	if ok, st, err := h.c.Reserve(h.ctx, t0, pol, 1, nil); !ok || len(st) != 0 || err != nil {
		h.Errorf("Reserve without keys = %v, %v, %v; want true, no states, nil", ok, st, err)
	}
	if st, err := h.c.Fail(h.ctx, t0, pol, 1, nil); len(st) != 0 || err != nil {
		h.Errorf("Fail without keys = %v, %v", st, err)
	}
	if st, err := h.c.Release(h.ctx, t0, pol, 1, []attempt.Key{}); len(st) != 0 || err != nil {
		h.Errorf("Release without keys = %v, %v", st, err)
	}
	if st, err := h.c.Status(h.ctx, t0, pol, nil); len(st) != 0 || err != nil {
		h.Errorf("Status without keys = %v, %v", st, err)
	}
	if err := h.c.Reset(h.ctx, nil); err != nil {
		h.Errorf("Reset without keys: %v", err)
	}
}
