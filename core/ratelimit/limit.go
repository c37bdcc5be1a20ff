package ratelimit

import (
	"math/bits"
	"strconv"
	"strings"
	"time"
)

// Bounds of a valid Limit.
const (
	// MaxN is the largest N (and the largest Burst).
	MaxN = 1_000_000_000
	// MaxWindow bounds Burst × Interval, the time a full burst takes to
	// refill, so that no arithmetic on theoretical arrival times overflows.
	MaxWindow = 100 * 365 * 24 * time.Hour
)

const day = 24 * time.Hour

// Limit is N requests per Period with a burst of Burst (Burst 0 means N).
//
// Period is one of time.Second, time.Minute, time.Hour and 24h, the units of
// the text form. N and Burst are at most MaxN, and Burst × Interval() is at
// most MaxWindow.
//
// Limit is comparable and part of Key, so a rule whose limit changes gets
// fresh counters.
type Limit struct {
	N      int64
	Period time.Duration
	Burst  int64
}

// Parse reads the text form "N/u" or "N/u;burst=B", where N and B are decimal
// integers from 1 to 1e9 written with digits only, and u is s, m, h or d
// (second, minute, hour, day). No spaces, signs or other parameters are
// accepted. Examples: "10/s", "100/m;burst=20", "1000/d".
//
// Errors read `ratelimit: Parse "input": problem` and wrap ErrInvalid.
func Parse(s string) (Limit, error) {
	fail := func(problem string) (Limit, error) {
		return Limit{}, &opError{kind: ErrInvalid, op: "Parse", input: s, quoted: true, problem: problem}
	}
	if s == "" {
		return fail("empty")
	}
	if len(s) > 64 {
		return fail("too long")
	}
	rate, param, hasParam := strings.Cut(s, ";")
	num, unit, ok := strings.Cut(rate, "/")
	if !ok {
		return fail(`want "N/unit", e.g. "100/m"`)
	}
	n, ok := parseCount(num)
	if !ok {
		return fail("N must be a decimal number from 1 to 1000000000")
	}
	var l Limit
	l.N = n
	switch unit {
	case "s":
		l.Period = time.Second
	case "m":
		l.Period = time.Minute
	case "h":
		l.Period = time.Hour
	case "d":
		l.Period = day
	default:
		return fail("unit must be s, m, h or d")
	}
	if hasParam {
		v, ok := strings.CutPrefix(param, "burst=")
		if !ok {
			return fail(`want ";burst=B" after the rate`)
		}
		b, ok := parseCount(v)
		if !ok {
			return fail("burst must be a decimal number from 1 to 1000000000")
		}
		l.Burst = b
	}
	if p := l.problem(); p != "" {
		return fail(p)
	}
	return l, nil
}

// parseCount reads 1 to 10 decimal digits and reports whether the value is
// in 1..MaxN.
func parseCount(s string) (int64, bool) {
	if len(s) == 0 || len(s) > 10 {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, n >= 1 && n <= MaxN
}

// Validate reports whether l can be used: N in 1..MaxN, Period one of 1s, 1m,
// 1h and 24h, Burst in 0..MaxN, and Burst × Interval() at most MaxWindow.
// Errors wrap ErrInvalid.
func (l Limit) Validate() error {
	if p := l.problem(); p != "" {
		return &opError{kind: ErrInvalid, op: "Limit.Validate", input: l.String(), quoted: true, problem: p}
	}
	return nil
}

func (l Limit) problem() string {
	if l.N < 1 || l.N > MaxN {
		return "N must be from 1 to 1000000000"
	}
	switch l.Period {
	case time.Second, time.Minute, time.Hour, day:
	default:
		return "period must be 1s, 1m, 1h or 24h"
	}
	if l.Burst < 0 || l.Burst > MaxN {
		return "burst must be from 1 to 1000000000 (0 means N)"
	}
	if _, _, ok := l.params(); !ok {
		return "burst × interval exceeds 100 years"
	}
	return ""
}

// params returns the emission interval t and the burst window B·t in
// nanoseconds, or ok false when l is not valid. It is the hot-path form of
// Validate: a few comparisons, one division and one multiplication.
func (l Limit) params() (t, window int64, ok bool) {
	n, b, p := l.N, l.Burst, int64(l.Period)
	if n < 1 || n > MaxN || b < 0 || b > MaxN {
		return 0, 0, false
	}
	if p != int64(time.Second) && p != int64(time.Minute) && p != int64(time.Hour) && p != int64(day) {
		return 0, 0, false
	}
	t = p / n
	if p%n != 0 {
		t++
	}
	if b == 0 {
		b = n
	}
	hi, lo := bits.Mul64(uint64(b), uint64(t))
	if hi != 0 || lo > uint64(MaxWindow) {
		return 0, 0, false
	}
	return t, int64(lo), true
}

// EffectiveBurst is B: Burst, or N when Burst is 0.
func (l Limit) EffectiveBurst() int64 {
	if l.Burst == 0 {
		return l.N
	}
	return l.Burst
}

// Interval is the emission interval Period/N, the time one request's worth of
// allowance takes to come back. Arithmetic is in whole nanoseconds on Period
// and N (never on a float rate), so the interval is exact whenever N divides
// Period in nanoseconds: every "N/s" with N dividing 1e9, "100/m", "1000/d",
// and so on. Otherwise it is rounded up, which makes the limit stricter,
// never looser, by less than 1 ns per request: under one part in 10⁴ for
// any rate up to 100000/s. Interval is 0 for an invalid Limit.
func (l Limit) Interval() time.Duration {
	t, _, ok := l.params()
	if !ok {
		return 0
	}
	return time.Duration(t)
}

// String returns the text form read by Parse: "N/u", plus ";burst=B" when
// Burst is not 0. Parse(l.String()) returns l for every valid l. An invalid
// Limit prints in the same shape with its period as a Go duration.
func (l Limit) String() string {
	var buf [48]byte
	b := strconv.AppendInt(buf[:0], l.N, 10)
	b = append(b, '/')
	switch l.Period {
	case time.Second:
		b = append(b, 's')
	case time.Minute:
		b = append(b, 'm')
	case time.Hour:
		b = append(b, 'h')
	case day:
		b = append(b, 'd')
	default:
		b = append(b, l.Period.String()...)
	}
	if l.Burst != 0 {
		b = append(b, ";burst="...)
		b = strconv.AppendInt(b, l.Burst, 10)
	}
	return string(b)
}

func quote(s string) string { return strconv.Quote(s) }
