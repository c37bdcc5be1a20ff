// Package limitertest is the conformance suite every rate limiter passes
// (core.Limiter: ratelimit.Memory through core.MemoryLimiter,
// redisstore.Limiter). A limiter's tests call Run with a function that
// returns a new limiter with no counters:
//
//	func TestConformance(t *testing.T) {
//		limitertest.Run(t, func(t *testing.T) limitertest.Limiter { return newLimiter(t) })
//	}
//
// A limiter that decides on a clock of its own and ignores the now argument
// (redisstore.Limiter reads the Redis server's) passes OwnClock. The suite
// then uses limits whose interval is minutes, so that the time the test
// takes changes no result beyond a bound it measures, and waits for real
// time only where the rate itself is tested, as long as the limiter's
// RetryAfter says (well under a second in all).
//
// The suite checks what core.Limiter promises: a burst from idle, the
// sustained rate, all or nothing across the keys of a call, counters kept
// apart by rule, address, value and limit, and exact counts under
// concurrent calls. It does not check what the interface leaves to the
// implementation: invalid limits, a cap on keys, a key given twice in one
// call, and the Remaining of a conforming key in a denied call (ratelimit.Memory
// reports it as if the request was not made, redisstore.Limiter as if it
// was; the suite only requires that nothing was consumed).
package limitertest

import (
	"context"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/wardenkit/warden/core/ratelimit"
)

// Limiter is core.Limiter. It is repeated here because core imports
// ratelimit, and a package beside ratelimit must not import core.
type Limiter interface {
	Allow(ctx context.Context, now time.Time, keys []ratelimit.Key, dst []ratelimit.Result) ([]ratelimit.Result, error)
}

// Option changes how the suite drives a limiter.
type Option func(*config)

type config struct {
	ownClock bool
}

// OwnClock declares that the limiter ignores the now argument and reads a
// clock of its own (redisstore.Limiter: the Redis server's). The suite then
// passes time.Now(), waits with time.Sleep where time must pass, and checks
// durations within the time it measured the test to take.
func OwnClock() Option { return func(c *config) { c.ownClock = true } }

// Run runs every conformance test against limiters made by newLimiter. Each
// subtest gets a new limiter with no counters.
func Run(t *testing.T, newLimiter func(t *testing.T) Limiter, opts ...Option) {
	var cfg config
	for _, o := range opts {
		o(&cfg)
	}
	tests := []struct {
		name string
		f    func(*tester)
	}{
		{"BurstThenDenial", testBurst},
		{"SustainedRate", testSustained},
		{"AllOrNothing", testAllOrNothing},
		{"KeysIsolated", testIsolated},
		{"RemainingAndResetAfter", testRemaining},
		{"ConcurrentBurst", testConcurrentBurst},
		{"ConcurrentAllOrNothing", testConcurrentAllOrNothing},
		{"AppendsToDst", testAppends},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			t.Cleanup(cancel)
			h := &tester{T: t, l: newLimiter(t), ctx: ctx, own: cfg.ownClock, now: t0, start: time.Now()}
			tc.f(h)
		})
	}
}

// t0 is the time of the first call when the limiter honours now.
var t0 = time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)

// tester is one subtest's limiter and clock. Its calls fail the test on an
// error.
type tester struct {
	*testing.T
	l     Limiter
	ctx   context.Context
	own   bool      // the limiter reads its own clock
	now   time.Time // the time passed to Allow, when the limiter honours it
	start time.Time // when the subtest began, by the real clock
}

// clock is the now passed to Allow.
func (h *tester) clock() time.Time {
	if h.own {
		return time.Now()
	}
	return h.now
}

// advance lets d pass on the limiter's clock. On its own clock that is a
// sleep of d and 1 ms more, for the rounding of a clock in microseconds and
// for the drift between the Go runtime's monotonic clock and a server's
// wall clock.
func (h *tester) advance(d time.Duration) {
	if h.own {
		time.Sleep(d + time.Millisecond)
		return
	}
	h.now = h.now.Add(d)
}

// slack is how far the limiter's clock may have moved since the subtest
// began: 0 when it honours now, else the real time elapsed plus 1 ms for the
// rounding of a clock in microseconds.
func (h *tester) slack() time.Duration {
	if !h.own {
		return 0
	}
	return time.Since(h.start) + time.Millisecond
}

func (h *tester) allow(keys ...ratelimit.Key) []ratelimit.Result {
	h.Helper()
	rs, err := h.l.Allow(h.ctx, h.clock(), keys, nil)
	if err != nil {
		h.Fatalf("Allow: %v", err)
	}
	if len(rs) != len(keys) {
		h.Fatalf("Allow returned %d results for %d keys", len(rs), len(keys))
	}
	for i, r := range rs {
		if r.Limit != keys[i].Limit {
			h.Fatalf("result %d has limit %v, want the key's %v", i, r.Limit, keys[i].Limit)
		}
		if r.Remaining < 0 || r.RetryAfter < 0 || r.ResetAfter < 0 || (r.Allowed && r.RetryAfter != 0) || (!r.Allowed && r.Remaining != 0) {
			h.Fatalf("result %d is not sane: %+v", i, r)
		}
	}
	return rs
}

// duration checks a duration that is want when the limiter honours now, and
// less by at most the slack when it reads its own clock.
func (h *tester) duration(what string, got, want time.Duration) {
	h.Helper()
	if s := h.slack(); got > want || got < want-s {
		h.Fatalf("%s = %v, want %v (less by at most %v)", what, got, want, s)
	}
}

// remaining checks a Remaining that is want, or more by the intervals of
// iv that may have passed on the limiter's own clock.
func (h *tester) remaining(what string, got, want int64, iv time.Duration) {
	h.Helper()
	if extra := int64(h.slack() / iv); got < want || got > want+extra {
		h.Fatalf("%s: Remaining = %d, want %d (more by at most %d)", what, got, want, extra)
	}
}

func (h *tester) allowed(what string, r ratelimit.Result) {
	h.Helper()
	if !r.Allowed {
		h.Fatalf("%s: denied, want allowed: %+v", what, r)
	}
}

func (h *tester) denied(what string, r ratelimit.Result) {
	h.Helper()
	if r.Allowed {
		h.Fatalf("%s: allowed, want denied: %+v", what, r)
	}
}

// Limits whose interval is minutes, so that a test run changes nothing on a
// limiter's own clock.
var (
	tenPerHour = ratelimit.Limit{N: 10, Period: time.Hour}             // 6 min
	burst5     = ratelimit.Limit{N: 100, Period: time.Hour, Burst: 5}  // 36 s
	onePerDay  = ratelimit.Limit{N: 1, Period: 24 * time.Hour}         // 24 h
	onePerHour = ratelimit.Limit{N: 1, Period: time.Hour}              // 1 h
	fivePerH   = ratelimit.Limit{N: 5, Period: time.Hour}              // 12 min
	fiftyPerH  = ratelimit.Limit{N: 50, Period: time.Hour}             // 72 s
	fourPerH   = ratelimit.Limit{N: 4, Period: time.Hour}              // 15 min
	burst20    = ratelimit.Limit{N: 100, Period: time.Hour, Burst: 20} // 36 s
	tenPerSec  = ratelimit.Limit{N: 10, Period: time.Second, Burst: 2} // 100 ms
	twentyPerS = ratelimit.Limit{N: 20, Period: time.Second, Burst: 1} // 50 ms
	ip1        = netip.MustParseAddr("192.0.2.1")
	ip2        = netip.MustParseAddr("192.0.2.2")
	ip6        = netip.MustParseAddr("2001:db8::")
)

func ipKey(rule int64, ip netip.Addr, l ratelimit.Limit) ratelimit.Key {
	return ratelimit.Key{Rule: rule, IP: ip, Limit: l}
}

func label(format string, args ...any) string { return fmt.Sprintf(format, args...) }
