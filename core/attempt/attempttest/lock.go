package attempttest

import (
	"fmt"
	"time"

	"github.com/wardenkit/warden/core/attempt"
)

// A key takes reservations up to its limit, then refuses; a full key says
// when its oldest reservation times out; a released reservation makes room.
func testReserveUpToLimit(h *tester) {
	k := limit(addr("192.0.2.10"), 3)
	var toks []uint64
	for i := range 3 {
		tok, st := h.mustReserve(at(time.Duration(i)*time.Second), pol, k)
		toks = append(toks, tok)
		want := attempt.State{Reserved: i + 1}
		if i == 2 {
			want.Until = at(timeout) // full of reservations: until the oldest times out
		}
		h.expect(fmt.Sprintf("reservation %d", i+1), st[0], want)
	}
	st := h.mustRefuse(at(3*time.Second), pol, k)
	h.expect("Reserve beyond the limit", st[0], attempt.State{Reserved: 3, Until: at(timeout)})

	st = h.release(at(4*time.Second), pol, toks[0], k)
	h.expect("after releasing the oldest", st[0], attempt.State{Reserved: 2})
	_, st = h.mustReserve(at(5*time.Second), pol, k)
	h.expect("Reserve after a release", st[0], attempt.State{Reserved: 3, Until: at(time.Second + timeout)})
}

// A refused attempt changes nothing: it is not counted, and it does not
// extend a lock.
func testRefusedChangesNothing(h *tester) {
	k := limit(userIP("alice"), 2)
	h.failAt(t0, pol, k)
	st := h.failAt(at(time.Minute), pol, k)
	lockedNow := locked(2, at(time.Minute))
	lockedNow.LockedNow = true
	h.expect("the failure at the limit", st[0], lockedNow)

	before := h.status(at(10*time.Minute), pol, k)
	for i := range 10 {
		st := h.mustRefuse(at(10*time.Minute+time.Duration(i)*time.Second), pol, k)
		h.expect("a refused attempt", st[0], locked(2, at(time.Minute)))
	}
	h.expect("Status after 10 refused attempts", h.status(at(10*time.Minute), pol, k)[0], before[0])

	h.mustRefuse(at(16*time.Minute-1), pol, k)
	_, st = h.mustReserve(at(16*time.Minute), pol, k)
	h.expect("Reserve when the lock ends", st[0], attempt.State{Reserved: 1})
}

// Fail locks the key at its limit; exactly one step reports LockedNow, and
// LockedAt is the time of the failure that reached the limit. The Fail of an
// unknown token, or of a token that failed already, records nothing.
func testFailLocksOnce(h *tester) {
	k := limit(addr("192.0.2.11"), 3)
	var toks []uint64
	for range 3 {
		tok, _ := h.mustReserve(t0, pol, k)
		toks = append(toks, tok)
	}
	h.mustRefuse(t0, pol, k)
	st := h.fail(at(time.Second), pol, toks[0], k)
	h.expect("1st failure", st[0], attempt.State{Failures: 1, Reserved: 2, Until: at(timeout)})
	st = h.fail(at(2*time.Second), pol, toks[1], k)
	h.expect("2nd failure", st[0], attempt.State{Failures: 2, Reserved: 1, Until: at(timeout)})
	st = h.fail(at(3*time.Second), pol, toks[2], k)
	want := locked(3, at(3*time.Second))
	want.LockedNow = true
	h.expect("3rd failure, at the limit", st[0], want)

	want.LockedNow = false
	h.expect("Fail of an unknown token", h.fail(at(4*time.Second), pol, 9999, k)[0], want)
	h.expect("second Fail of a token", h.fail(at(5*time.Second), pol, toks[2], k)[0], want)
	h.expect("Status", h.status(at(6*time.Second), pol, k)[0], want)
	h.expect("a refused Reserve", h.mustRefuse(at(7*time.Second), pol, k)[0], want)

	// One Fail over two keys locks only the key at its limit.
	ui, ip := limit(userIP("bob"), 2), addr("192.0.2.12")
	h.failAt(t0, pol, ui, ip)
	st = h.failAt(at(time.Second), pol, ui, ip)
	want = locked(2, at(time.Second))
	want.LockedNow = true
	h.expect("key at its limit", st[0], want)
	h.expect("key below its limit", st[1], attempt.State{Failures: 2})
}

// Release drops the token's reservation and clears the failures of
// ResetOnSuccess keys; other keys keep theirs, and other reservations stay.
func testRelease(h *tester) {
	ui, ip := userIP("carol"), addr("192.0.2.13")
	h.failAt(t0, pol, ui, ip)
	h.failAt(at(time.Second), pol, ui, ip)
	a, _ := h.mustReserve(at(time.Minute), pol, ui, ip)
	h.mustReserve(at(time.Minute), pol, ui, ip)
	st := h.release(at(90*time.Second), pol, a, ui, ip)
	h.expect("ResetOnSuccess key", st[0], attempt.State{Reserved: 1})
	h.expect("other key", st[1], attempt.State{Failures: 2, Reserved: 1})
	st = h.status(at(2*time.Minute-1), pol, ui, ip)
	h.expect("ResetOnSuccess key, later", st[0], attempt.State{Reserved: 1})
	h.expect("other key, later", st[1], attempt.State{Failures: 2, Reserved: 1})
}

// Release of a reservation made before the key locked (the limit was
// lowered since) lifts the lock of a ResetOnSuccess key only.
func testReleaseUnlocks(h *tester) {
	u, ip := user("dave"), limit(addr("192.0.2.14"), 5)
	a, _ := h.mustReserve(t0, pol, u, ip)
	h.failAt(at(time.Second), pol, u, ip)
	h.failAt(at(time.Second), pol, u, ip)
	u2, ip2 := limit(u, 2), limit(ip, 2)
	st := h.mustRefuse(at(2*time.Second), pol, u2, ip2)
	want := locked(2, at(time.Second))
	want.Reserved, want.LockedNow = 1, true
	h.expect("Reserve that finds the lowered limit reached", st[0], want)
	h.expect("Reserve that finds the lowered limit reached (2nd key)", st[1], want)

	st = h.release(at(3*time.Second), pol, a, u2, ip2)
	h.expect("ResetOnSuccess key after Release", st[0], attempt.State{})
	h.expect("other key after Release", st[1], locked(2, at(time.Second)))
	h.mustReserve(at(4*time.Second), pol, u2)
}

// The lock ends Cooloff after the failure that reached the limit; the key
// then starts afresh.
func testCooloffEndsLock(h *tester) {
	k := limit(addr("192.0.2.15"), 2)
	h.failAt(t0, pol, k)
	h.failAt(at(time.Minute), pol, k)
	end := at(time.Minute + pol.Cooloff)
	h.expect("1 ns before the end", h.mustRefuse(end.Add(-1), pol, k)[0], locked(2, at(time.Minute)))
	h.expect("Status at the end", h.status(end, pol, k)[0], attempt.State{})
	_, st := h.mustReserve(end, pol, k)
	h.expect("Reserve at the end", st[0], attempt.State{Reserved: 1})
	h.expect("a failure after the lock", h.failAt(end, pol, k)[0], attempt.State{Failures: 1, Reserved: 1, Until: end.Add(timeout)})
}

// Cool-off 0 locks until Reset, however long; a cool-off set later ends the
// lock.
func testCooloffZero(h *tester) {
	perm := attempt.Policy{ReservationTimeout: timeout}
	k, k2 := limit(userIP("erin"), 1), limit(addr("192.0.2.16"), 1)
	st := h.failAt(t0, perm, k, k2)
	want := attempt.State{Failures: 1, Locked: true, LockedAt: t0, LockedNow: true}
	h.expect("lock without end", st[0], want)
	want.LockedNow = false
	year := at(365 * 24 * time.Hour)
	h.expect("a year later", h.mustRefuse(year, perm, k)[0], want)
	h.expect("Status a year later", h.status(year, perm, k)[0], want)

	if err := h.c.Reset(h.ctx, []string{k.Key, "u:{never-used}"}); err != nil {
		h.Fatalf("Reset: %v", err)
	}
	h.expect("Status after Reset", h.status(year, perm, k)[0], attempt.State{})
	_, st = h.mustReserve(year, perm, k)
	h.expect("Reserve after Reset", st[0], attempt.State{Reserved: 1, Until: year.Add(timeout)})
	h.expect("the other key after Reset", h.status(year, perm, k2)[0], want)

	_, st = h.mustReserve(year, pol, k2)
	h.expect("the other key under a 15 min cool-off", st[0], attempt.State{Reserved: 1, Until: year.Add(timeout)})
}

// A lowered or raised limit applies to the stored failures at the next
// call; a lock a lowered limit would have ended by now is not made.
func testLimitChanges(h *tester) {
	k := addr("192.0.2.17")
	h.failAt(t0, pol, k)
	h.failAt(at(30*time.Second), pol, k)
	low := limit(k, 2)
	want := locked(2, at(30*time.Second))
	h.expect("Status with the limit lowered to 2", h.status(at(time.Minute), pol, low)[0], want)
	st := h.mustRefuse(at(time.Minute), pol, low)
	want.LockedNow = true
	h.expect("Reserve with the limit lowered to 2", st[0], want)
	want.LockedNow = false
	h.expect("next Reserve", h.mustRefuse(at(2*time.Minute), pol, low)[0], want)

	_, st = h.mustReserve(at(3*time.Minute), pol, k)
	h.expect("Reserve with the limit raised back to 10", st[0], attempt.State{Failures: 2, Reserved: 1})

	k2 := addr("192.0.2.18")
	h.failAt(t0, pol, k2)
	h.failAt(at(time.Minute), pol, k2)
	_, st = h.mustReserve(at(time.Minute+pol.Cooloff), pol, limit(k2, 2))
	h.expect("limit lowered after the lock would have ended", st[0], attempt.State{Reserved: 1})
}

// Reserve is all or none: a locked or full key refuses the attempt on every
// key, and the others are untouched. States come one per key, in order.
func testAllOrNone(h *tester) {
	a, b, c := limit(userIP("frank"), 2), addr("192.0.2.19"), limit(user("frank"), 1)
	h.failAt(t0, pol, a)
	h.failAt(t0, pol, a)
	st := h.mustRefuse(at(time.Second), pol, b, a)
	h.expect("untouched key", st[0], attempt.State{})
	h.expect("locked key", st[1], locked(2, t0))
	h.expect("Status of the untouched key", h.status(at(time.Second), pol, b)[0], attempt.State{})

	h.mustReserve(t0, pol, c)
	st = h.mustRefuse(at(time.Second), pol, b, c)
	h.expect("untouched key (2)", st[0], attempt.State{})
	h.expect("key full of reservations", st[1], attempt.State{Reserved: 1, Until: at(timeout)})

	d := user("grace")
	h.failAt(t0, pol, d)
	tok, st := h.mustReserve(at(time.Second), pol, b, d, a2(a))
	h.expect("1st key", st[0], attempt.State{Reserved: 1})
	h.expect("2nd key", st[1], attempt.State{Failures: 1, Reserved: 1})
	h.expect("3rd key", st[2], attempt.State{Reserved: 1})
	st = h.fail(at(2*time.Second), pol, tok, b, d, a2(a))
	h.expect("1st key after Fail", st[0], attempt.State{Failures: 1})
	h.expect("2nd key after Fail", st[1], attempt.State{Failures: 2})
	h.expect("3rd key after Fail", st[2], attempt.State{Failures: 1})
}

// a2 is another key of a's kind.
func a2(a attempt.Key) attempt.Key { a.Key += "-2"; return a }
