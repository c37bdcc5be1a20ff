package ratelimit

import (
	"time"
)

// MaxUnixNano is the latest time GCRA and Memory accept (about year 2116),
// in Unix nanoseconds. With MaxWindow it keeps every theoretical arrival
// time inside int64.
const MaxUnixNano = 1 << 62

// Result is the outcome of one key's check.
type Result struct {
	// Allowed reports whether the request conforms to this key's limit. A
	// request is allowed when every key's Result is Allowed.
	Allowed bool
	// Limit is the key's limit, for RateLimit-* headers.
	Limit Limit
	// Remaining is how many more requests would conform right now.
	Remaining int64
	// RetryAfter is, when not Allowed, the exact time until a request would
	// conform; 0 when Allowed. Use RetryAfterSeconds for the header.
	RetryAfter time.Duration
	// ResetAfter is the time until the full burst is available again (the
	// counter is idle then, and Memory may sweep it).
	ResetAfter time.Duration
}

// GCRA is one step of the generic cell rate algorithm, pure: given the
// stored theoretical arrival time tat (Unix nanoseconds, 0 = idle), the
// current time now (Unix nanoseconds) and the limit, it reports the decision
// and the new TAT, which is tat unchanged when the request is denied.
//
// With T = l.Interval() and B = l.EffectiveBurst(), a request at now is
// allowed when max(tat, now) + T − now ≤ B·T, and then the new TAT is
// max(tat, now) + T.
//
// GCRA fails closed: an invalid limit, or a now outside 0..MaxUnixNano, is
// denied (RetryAfter 0) and tat is returned unchanged.
func GCRA(tat, now int64, l Limit) (newTAT int64, r Result) {
	t, w, ok := l.params()
	if !ok || now < 0 || now > MaxUnixNano {
		return tat, Result{Limit: l}
	}
	return gcra(tat, now, l, t, w)
}

// gcra is GCRA with the limit's interval t and burst window w = B·t already
// checked, and now in 0..MaxUnixNano. Nothing overflows: d ≥ 0 and, when
// allowed, newTAT ≤ now + w ≤ MaxUnixNano + MaxWindow < MaxInt64.
func gcra(tat, now int64, l Limit, t, w int64) (int64, Result) {
	base := max(tat, now)
	d := base - now // how far the counter runs ahead of now, ≥ 0
	if d > w-t {
		return tat, Result{
			Limit:      l,
			RetryAfter: time.Duration(d - (w - t)),
			ResetAfter: time.Duration(d),
		}
	}
	return base + t, Result{
		Allowed:    true,
		Limit:      l,
		Remaining:  (w - t - d) / t,
		ResetAfter: time.Duration(d + t),
	}
}

// RetryAfterSeconds is the ceiling of d in whole seconds, the value of a
// Retry-After header: at least 1 when d > 0, and 0 when d ≤ 0.
func RetryAfterSeconds(d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	s := int64(d / time.Second)
	if d%time.Second != 0 {
		s++
	}
	return s
}
