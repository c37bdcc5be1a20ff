// Package attempttest is the conformance suite every attempt.Counter passes.
// A counter's tests call Run with a function that returns a new, empty
// counter:
//
//	func TestConformance(t *testing.T) {
//		attempttest.Run(t, func(t *testing.T) attempt.Counter {
//			m, err := attempt.NewMemory(0)
//			if err != nil {
//				t.Fatal(err)
//			}
//			return m
//		})
//	}
//
// The suite checks the contract written on attempt.Counter, with the memory
// counter's results as the reference: every call gets an explicit now, so
// nothing sleeps and every time is checked to the nanosecond. Arguments out
// of range must fail with an error wrapping attempt.ErrInvalid. The suite
// does not check what the contract leaves to the implementation: a cap on
// keys (ErrFull), and a key given twice in one call.
package attempttest

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/wardenkit/warden/core/attempt"
)

// Option changes what the suite expects of a counter.
type Option func(*config)

type config struct {
	compensated bool
}

// AllOrNoneByCompensation declares that Reserve over keys in different
// places (hash slots of a Redis Cluster) is all or none by compensation
// rather than atomically: a refusal in a later place drops the reservations
// made in earlier ones, and meanwhile concurrent attempts may see them and be
// refused when they would have fit (redisstore.Attempts on Cluster). The
// suite then checks that concurrent attempts whose keys come in different
// orders reserve no more than the limit and leave no key reserved without
// the other, instead of exactly the limit.
func AllOrNoneByCompensation() Option { return func(c *config) { c.compensated = true } }

// Run runs every conformance test against counters made by newCounter. Each
// subtest gets a new, empty counter.
func Run(t *testing.T, newCounter func(t *testing.T) attempt.Counter, opts ...Option) {
	var cfg config
	for _, o := range opts {
		o(&cfg)
	}
	tests := []struct {
		name string
		f    func(*tester)
	}{
		{"ReserveUpToLimit", testReserveUpToLimit},
		{"RefusedChangesNothing", testRefusedChangesNothing},
		{"FailLocksOnce", testFailLocksOnce},
		{"ReleaseResetsOnSuccessKeysOnly", testRelease},
		{"ReleaseUnlocksResetKeys", testReleaseUnlocks},
		{"ReservationTimeout", testReservationTimeout},
		{"LateOutcome", testLateOutcome},
		{"CooloffEndsLock", testCooloffEndsLock},
		{"CooloffZeroUntilReset", testCooloffZero},
		{"AttemptExpiry", testAttemptExpiry},
		{"Window", testWindow},
		{"LimitsJudgedAtEachCall", testLimitChanges},
		{"AllOrNone", testAllOrNone},
		{"ConcurrentReserve", testConcurrentReserve},
		{"ConcurrentAllOrNone", testConcurrentAllOrNone},
		{"StatusChangesNothing", testStatusChangesNothing},
		{"InvalidArguments", testInvalid},
		{"NoKeys", testNoKeys},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			t.Cleanup(cancel)
			tc.f(&tester{T: t, c: newCounter(t), ctx: ctx, compensated: cfg.compensated})
		})
	}
}

// t0 is the suite's start time; steps are added to it.
var t0 = time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)

const timeout = attempt.ReservationTimeout

// pol is the Lockout's default policy: a 15-minute cool-off.
var pol = attempt.Policy{Cooloff: 15 * time.Minute, ReservationTimeout: timeout}

// at is t0 plus d.
func at(d time.Duration) time.Time { return t0.Add(d) }

// tester is one subtest's counter. Its calls fail the test on an error.
type tester struct {
	*testing.T
	c           attempt.Counter
	ctx         context.Context
	tok         uint64 // the last token handed out
	compensated bool   // AllOrNoneByCompensation
}

func (h *tester) token() uint64 { h.tok++; return h.tok }

func (h *tester) reserve(now time.Time, p attempt.Policy, tok uint64, keys ...attempt.Key) (bool, []attempt.State) {
	h.Helper()
	ok, st, err := h.c.Reserve(h.ctx, now, p, tok, keys)
	if err != nil {
		h.Fatalf("Reserve(%v, token %d): %v", now.Sub(t0), tok, err)
	}
	h.count("Reserve", st, keys)
	return ok, st
}

// mustReserve reserves a new token and fails the test when it is refused.
func (h *tester) mustReserve(now time.Time, p attempt.Policy, keys ...attempt.Key) (uint64, []attempt.State) {
	h.Helper()
	tok := h.token()
	ok, st := h.reserve(now, p, tok, keys...)
	if !ok {
		h.Fatalf("Reserve(+%v, token %d) refused: %s", now.Sub(t0), tok, show(st))
	}
	return tok, st
}

// mustRefuse makes a Reserve with a new token that must be refused.
func (h *tester) mustRefuse(now time.Time, p attempt.Policy, keys ...attempt.Key) []attempt.State {
	h.Helper()
	tok := h.token()
	ok, st := h.reserve(now, p, tok, keys...)
	if ok {
		h.Fatalf("Reserve(+%v, token %d) reserved, want refused: %s", now.Sub(t0), tok, show(st))
	}
	return st
}

func (h *tester) fail(now time.Time, p attempt.Policy, tok uint64, keys ...attempt.Key) []attempt.State {
	h.Helper()
	st, err := h.c.Fail(h.ctx, now, p, tok, keys)
	if err != nil {
		h.Fatalf("Fail(+%v, token %d): %v", now.Sub(t0), tok, err)
	}
	h.count("Fail", st, keys)
	return st
}

func (h *tester) release(now time.Time, p attempt.Policy, tok uint64, keys ...attempt.Key) []attempt.State {
	h.Helper()
	st, err := h.c.Release(h.ctx, now, p, tok, keys)
	if err != nil {
		h.Fatalf("Release(+%v, token %d): %v", now.Sub(t0), tok, err)
	}
	h.count("Release", st, keys)
	return st
}

func (h *tester) status(now time.Time, p attempt.Policy, keys ...attempt.Key) []attempt.State {
	h.Helper()
	st, err := h.c.Status(h.ctx, now, p, keys)
	if err != nil {
		h.Fatalf("Status(+%v): %v", now.Sub(t0), err)
	}
	h.count("Status", st, keys)
	for i, s := range st {
		if s.LockedNow {
			h.Fatalf("Status(+%v) key %d: LockedNow set; Status never sets it", now.Sub(t0), i)
		}
	}
	return st
}

// failAt makes one attempt that fails at now on keys.
func (h *tester) failAt(now time.Time, p attempt.Policy, keys ...attempt.Key) []attempt.State {
	h.Helper()
	tok, _ := h.mustReserve(now, p, keys...)
	return h.fail(now, p, tok, keys...)
}

func (h *tester) count(op string, st []attempt.State, keys []attempt.Key) {
	h.Helper()
	if len(st) != len(keys) {
		h.Fatalf("%s returned %d states for %d keys", op, len(st), len(keys))
	}
}

// expect fails the test unless got is want (times compared with Equal).
func (h *tester) expect(what string, got, want attempt.State) {
	h.Helper()
	if !same(got, want) {
		h.Fatalf("%s:\n got  %s\n want %s", what, fmtState(got), fmtState(want))
	}
}

func same(a, b attempt.State) bool {
	return a.Failures == b.Failures && a.Reserved == b.Reserved && a.Locked == b.Locked && a.LockedNow == b.LockedNow &&
		a.LockedAt.Equal(b.LockedAt) && a.Until.Equal(b.Until)
}

// fmtState prints a state with its times relative to t0.
func fmtState(s attempt.State) string {
	rel := func(x time.Time) string {
		if x.IsZero() {
			return "-"
		}
		return "+" + x.Sub(t0).String()
	}
	return fmt.Sprintf("{Failures:%d Reserved:%d Locked:%v LockedAt:%s Until:%s LockedNow:%v}",
		s.Failures, s.Reserved, s.Locked, rel(s.LockedAt), rel(s.Until), s.LockedNow)
}

func show(st []attempt.State) string {
	out := make([]string, len(st))
	for i, s := range st {
		out[i] = fmtState(s)
	}
	return strings.Join(out, " ")
}

// locked is the state of a key locked at lockedAt under pol.
func locked(failures int, lockedAt time.Time) attempt.State {
	return attempt.State{Failures: failures, Locked: true, LockedAt: lockedAt, Until: lockedAt.Add(pol.Cooloff)}
}

// Keys as core.Lockout builds them: username and address, address alone,
// username alone (usernames hashed), and one without a hash tag.
func userIP(user string) attempt.Key {
	return attempt.Key{Key: "ui:{192.0.2.1}:" + user, Limit: 5, ResetOnSuccess: true}
}
func addr(ip string) attempt.Key { return attempt.Key{Key: "ip:{" + ip + "}", Limit: 10} }
func user(name string) attempt.Key {
	return attempt.Key{Key: "u:{" + name + "}", Limit: 5, ResetOnSuccess: true}
}

func limit(k attempt.Key, n int) attempt.Key { k.Limit = n; return k }
