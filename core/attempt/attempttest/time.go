package attempttest

import (
	"time"

	"github.com/wardenkit/warden/core/attempt"
)

// A reservation without an outcome turns into a failure made at its
// reservation time plus the timeout. Status shows it without storing it; the
// next step stores it, and reports LockedNow when it locks the key. Without a
// timeout a reservation stays.
func testReservationTimeout(h *tester) {
	k := limit(addr("192.0.2.20"), 1)
	tok, _ := h.mustReserve(t0, pol, k)
	h.expect("Status 1 ns before the timeout", h.status(at(timeout-1), pol, k)[0], attempt.State{Reserved: 1, Until: at(timeout)})
	for range 2 {
		h.expect("Status at the timeout", h.status(at(timeout), pol, k)[0], locked(1, at(timeout)))
	}
	st := h.mustRefuse(at(2*time.Minute), pol, k)
	want := locked(1, at(timeout))
	want.LockedNow = true
	h.expect("the Reserve that finds it timed out", st[0], want)
	want.LockedNow = false
	h.expect("its late Fail", h.fail(at(3*time.Minute), pol, tok, k)[0], want)

	noTimeout := attempt.Policy{Cooloff: time.Hour}
	k2 := limit(addr("192.0.2.21"), 2)
	tok, _ = h.mustReserve(t0, noTimeout, k2)
	h.expect("no timeout, two days later", h.status(at(48*time.Hour), noTimeout, k2)[0], attempt.State{Reserved: 1})
	h.expect("no timeout, its Fail", h.fail(at(48*time.Hour), noTimeout, tok, k2)[0], attempt.State{Failures: 1})
}

// A late outcome replaces the timeout: a late Fail counts once, as made at
// the timeout, and a late Release takes back the failure the reservation
// timed out into.
func testLateOutcome(h *tester) {
	expiry := attempt.Policy{Cooloff: 15 * time.Minute, AttemptExpiry: true, ReservationTimeout: timeout}
	k := limit(addr("192.0.2.22"), 3)
	tok, _ := h.mustReserve(t0, expiry, k)
	h.expect("late Fail", h.fail(at(10*time.Minute), expiry, tok, k)[0], attempt.State{Failures: 1})
	gone := at(timeout + expiry.Cooloff) // counted as made at the timeout
	h.expect("1 ns before it expires", h.status(gone.Add(-1), expiry, k)[0], attempt.State{Failures: 1})
	h.expect("when it expires", h.status(gone, expiry, k)[0], attempt.State{})

	k2 := limit(addr("192.0.2.23"), 3)
	tok, _ = h.mustReserve(t0, pol, k2)
	_, st := h.mustReserve(at(2*time.Minute), pol, k2)
	h.expect("another Reserve stores the timeout", st[0], attempt.State{Failures: 1, Reserved: 1})
	h.expect("Fail after the timeout was stored", h.fail(at(150*time.Second), pol, tok, k2)[0], attempt.State{Failures: 1, Reserved: 1})

	k3 := limit(addr("192.0.2.24"), 3)
	tok, _ = h.mustReserve(t0, pol, k3)
	tok2, _ := h.mustReserve(at(2*time.Minute), pol, k3)
	h.expect("Release after the timeout was stored", h.release(at(150*time.Second), pol, tok, k3)[0], attempt.State{Reserved: 1})
	h.expect("the other attempt fails", h.fail(at(170*time.Second), pol, tok2, k3)[0], attempt.State{Failures: 1})
}

// With AttemptExpiry each failure below the limit expires Cooloff after it
// was made; a lock does not expire that way.
func testAttemptExpiry(h *tester) {
	expiry := attempt.Policy{Cooloff: 15 * time.Minute, AttemptExpiry: true, ReservationTimeout: timeout}
	k := limit(addr("192.0.2.25"), 3)
	h.failAt(t0, expiry, k)
	h.failAt(at(10*time.Minute), expiry, k)
	for _, c := range []struct {
		at   time.Duration
		want int
	}{{15*time.Minute - 1, 2}, {15 * time.Minute, 1}, {25*time.Minute - 1, 1}, {25 * time.Minute, 0}} {
		h.expect("failures at +"+c.at.String(), h.status(at(c.at), expiry, k)[0], attempt.State{Failures: c.want})
	}

	k2 := limit(addr("192.0.2.26"), 2)
	h.failAt(t0, expiry, k2)
	h.failAt(at(10*time.Minute), expiry, k2)
	h.expect("locked after the first failure would have expired", h.status(at(20*time.Minute), expiry, k2)[0], locked(2, at(10*time.Minute)))
	h.expect("at the end of the lock", h.status(at(25*time.Minute), expiry, k2)[0], attempt.State{})
}

// Without AttemptExpiry failures below the limit expire together,
// max(Cooloff, 24 h) after the latest.
func testWindow(h *tester) {
	k := limit(addr("192.0.2.27"), 5)
	h.failAt(t0, pol, k)
	h.failAt(at(10*time.Minute), pol, k)
	day := at(10*time.Minute + 24*time.Hour)
	h.expect("1 ns before 24 h after the latest", h.status(day.Add(-1), pol, k)[0], attempt.State{Failures: 2})
	h.expect("24 h after the latest", h.status(day, pol, k)[0], attempt.State{})

	long := attempt.Policy{Cooloff: 30 * time.Hour, ReservationTimeout: timeout}
	h.expect("30 h cool-off, 24 h after", h.status(day, long, k)[0], attempt.State{Failures: 2})
	end := at(10*time.Minute + 30*time.Hour)
	h.expect("30 h cool-off, 1 ns before 30 h after", h.status(end.Add(-1), long, k)[0], attempt.State{Failures: 2})
	h.expect("30 h cool-off, 30 h after", h.status(end, long, k)[0], attempt.State{})
}

// Status reports and stores nothing: what it finds expired is still there
// at an earlier time, and the step after it is the one that locks.
func testStatusChangesNothing(h *tester) {
	k := addr("192.0.2.28")
	h.failAt(t0, pol, k)
	h.expect("Status after the window", h.status(at(25*time.Hour), pol, k)[0], attempt.State{})
	h.expect("Status before it", h.status(at(time.Hour), pol, k)[0], attempt.State{Failures: 1})

	k2 := limit(addr("192.0.2.29"), 1)
	h.failAt(t0, pol, k2)
	h.expect("Status after the lock", h.status(at(16*time.Minute), pol, k2)[0], attempt.State{})
	h.expect("Status during it", h.status(at(10*time.Minute), pol, k2)[0], locked(1, t0))

	k3 := limit(addr("192.0.2.30"), 1)
	h.mustReserve(t0, pol, k3)
	for range 3 {
		h.expect("Status of a timed-out reservation", h.status(at(2*time.Minute), pol, k3)[0], locked(1, at(timeout)))
	}
	want := locked(1, at(timeout))
	want.LockedNow = true
	h.expect("the step after Status", h.mustRefuse(at(2*time.Minute), pol, k3)[0], want)

	h.expect("Status of an unknown key", h.status(t0, pol, addr("192.0.2.31"))[0], attempt.State{})
}
