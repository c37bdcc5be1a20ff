package ratelimit_test

import (
	"math"
	"math/rand/v2"
	"sort"
	"testing"
	"time"

	"github.com/wardenkit/warden/core/ratelimit"
)

// t0 is a fixed clock: 2030-01-01T00:00:00Z in Unix nanoseconds.
var t0 = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()

func mustParse(t testing.TB, s string) ratelimit.Limit {
	t.Helper()
	l, err := ratelimit.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestGCRAIdleBurst(t *testing.T) {
	tests := []struct {
		name      string
		limit     string
		burst     int64
		retryNext time.Duration // RetryAfter of the first denied request
		header    int64         // its Retry-After header
	}{
		{"burst_defaults_to_n", "100/m", 100, 600 * time.Millisecond, 1},
		{"explicit_burst", "100/m;burst=20", 20, 600 * time.Millisecond, 1},
		{"burst_above_n", "1/s;burst=5", 5, time.Second, 1},
		{"burst_one", "10/h;burst=1", 1, 6 * time.Minute, 360},
		{"per_day", "1000/d", 1000, 86400 * time.Second / 1000, 87},
		{"odd_interval", "3/s", 3, 333333334, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := mustParse(t, tc.limit)
			var tat int64
			for i := int64(0); i < tc.burst; i++ {
				var r ratelimit.Result
				tat, r = ratelimit.GCRA(tat, t0, l)
				if !r.Allowed {
					t.Fatalf("request %d of the burst denied: %+v", i+1, r)
				}
				if r.Remaining != tc.burst-1-i {
					t.Fatalf("request %d: Remaining %d, want %d", i+1, r.Remaining, tc.burst-1-i)
				}
				if r.RetryAfter != 0 {
					t.Fatalf("allowed with RetryAfter %v", r.RetryAfter)
				}
				if want := time.Duration(i+1) * l.Interval(); r.ResetAfter != want {
					t.Fatalf("request %d: ResetAfter %v, want %v", i+1, r.ResetAfter, want)
				}
			}
			newTAT, r := ratelimit.GCRA(tat, t0, l)
			if r.Allowed {
				t.Fatalf("request %d allowed: %+v", tc.burst+1, r)
			}
			if newTAT != tat {
				t.Fatalf("denied request moved TAT from %d to %d", tat, newTAT)
			}
			if r.RetryAfter != tc.retryNext || r.Remaining != 0 {
				t.Fatalf("denied: RetryAfter %v Remaining %d, want %v and 0", r.RetryAfter, r.Remaining, tc.retryNext)
			}
			if got := ratelimit.RetryAfterSeconds(r.RetryAfter); got != tc.header {
				t.Fatalf("Retry-After %d, want %d", got, tc.header)
			}
			if r.Limit != l {
				t.Fatalf("Result.Limit %+v, want %+v", r.Limit, l)
			}
			// RetryAfter is exact: 1 ns early is denied, on time is allowed.
			if _, r := ratelimit.GCRA(tat, t0+int64(r.RetryAfter)-1, l); r.Allowed {
				t.Fatal("allowed 1 ns before RetryAfter")
			}
			if _, r := ratelimit.GCRA(tat, t0+int64(r.RetryAfter), l); !r.Allowed {
				t.Fatal("denied at RetryAfter")
			}
		})
	}
}

// TestGCRARetryAfterMidWindow: after partial refill, RetryAfter is still the
// exact wait for the next conforming request.
func TestGCRARetryAfterMidWindow(t *testing.T) {
	l := mustParse(t, "10/s;burst=2") // T = 100 ms
	tat, _ := ratelimit.GCRA(0, t0, l)
	tat, _ = ratelimit.GCRA(tat, t0, l) // tat = t0+200ms
	now := t0 + int64(30*time.Millisecond)
	_, r := ratelimit.GCRA(tat, now, l)
	if r.Allowed || r.RetryAfter != 70*time.Millisecond || r.ResetAfter != 170*time.Millisecond {
		t.Fatalf("got %+v", r)
	}
}

func TestGCRAFailsClosed(t *testing.T) {
	good := ratelimit.Limit{N: 1, Period: time.Second}
	tests := []struct {
		name string
		l    ratelimit.Limit
		now  int64
	}{
		{"zero_limit", ratelimit.Limit{}, t0},
		{"odd_period", ratelimit.Limit{N: 1, Period: 3 * time.Second}, t0},
		{"negative_burst", ratelimit.Limit{N: 1, Period: time.Second, Burst: -5}, t0},
		{"negative_now", good, -1},
		{"now_past_max", good, ratelimit.MaxUnixNano + 1},
		{"now_maxint", good, math.MaxInt64},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tat, r := ratelimit.GCRA(42, tc.now, tc.l)
			if r.Allowed || tat != 42 {
				t.Fatalf("got tat %d, %+v; want denied and unchanged", tat, r)
			}
		})
	}
	// The extremes of the valid range do not overflow.
	w := ratelimit.Limit{N: 1, Period: 24 * time.Hour, Burst: 36500}
	tat, r := ratelimit.GCRA(0, ratelimit.MaxUnixNano, w)
	if !r.Allowed || tat != ratelimit.MaxUnixNano+int64(24*time.Hour) {
		t.Fatalf("at MaxUnixNano: %d %+v", tat, r)
	}
	if _, r := ratelimit.GCRA(math.MaxInt64, 0, w); r.Allowed || r.RetryAfter <= 0 {
		t.Fatalf("garbage TAT: %+v", r)
	}
}

func TestRetryAfterSeconds(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want int64
	}{
		{-time.Second, 0},
		{0, 0},
		{1, 1},
		{600 * time.Millisecond, 1},
		{time.Second, 1},
		{time.Second + 1, 2},
		{59*time.Second + 999*time.Millisecond, 60},
		{time.Hour, 3600},
		{math.MaxInt64, math.MaxInt64/int64(time.Second) + 1},
	}
	for _, tc := range tests {
		if got := ratelimit.RetryAfterSeconds(tc.d); got != tc.want {
			t.Errorf("RetryAfterSeconds(%d) = %d, want %d", tc.d, got, tc.want)
		}
	}
}

// TestGCRASustainedRate: a client asking much faster than the limit gets N
// per Period once its burst is spent, and B+N−1 in the first Period.
func TestGCRASustainedRate(t *testing.T) {
	tests := []struct {
		limit string
		step  time.Duration // the client's request spacing
	}{
		{"10/s", time.Millisecond},
		{"100/m;burst=5", 10 * time.Millisecond},
		{"7/s", time.Millisecond},
		{"3/s;burst=10", 100 * time.Microsecond},
		{"60/h", 100 * time.Millisecond},
		{"1000/d", time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.limit, func(t *testing.T) {
			l := mustParse(t, tc.limit)
			const periods = 12
			perPeriod := make([]int64, periods)
			var tat int64
			for now := t0; now < t0+periods*int64(l.Period); now += int64(tc.step) {
				var r ratelimit.Result
				if tat, r = ratelimit.GCRA(tat, now, l); r.Allowed {
					perPeriod[(now-t0)/int64(l.Period)]++
				}
			}
			b := l.EffectiveBurst()
			if perPeriod[0] != b+l.N-1 {
				t.Errorf("first period admitted %d, want B+N−1 = %d", perPeriod[0], b+l.N-1)
			}
			for i, n := range perPeriod[1:] {
				// N per period; a limit whose interval is rounded up
				// may shift one request across a period boundary.
				if n != l.N && !(l.Period%time.Duration(l.N) != 0 && (n == l.N-1 || n == l.N+1)) {
					t.Errorf("period %d admitted %d, want %d", i+1, n, l.N)
				}
			}
			var total int64
			for _, n := range perPeriod[1:] {
				total += n
			}
			if want := (periods - 1) * l.N; total < want-1 || total > want {
				t.Errorf("periods 1..%d admitted %d, want %d (−1 at most)", periods-1, total, want)
			}
		})
	}
}

// TestGCRAConformingClientNeverDenied: a client sending exactly one request
// per interval, from idle or after a full burst, is never denied.
func TestGCRAConformingClientNeverDenied(t *testing.T) {
	for _, s := range []string{"10/s", "7/m", "1/s;burst=1", "1000/d", "5/h;burst=2"} {
		l := mustParse(t, s)
		var tat int64
		for i := int64(0); i < 10000; i++ {
			var r ratelimit.Result
			if tat, r = ratelimit.GCRA(tat, t0+i*int64(l.Interval()), l); !r.Allowed {
				t.Fatalf("%s: request %d denied", s, i)
			}
		}
	}
}

// TestGCRAWindowBound simulates many random arrival patterns and checks that
// no half-open window of length Period admits more than B+N−1 requests, and
// that the bound is reached (it is the right bound, not a loose one).
func TestGCRAWindowBound(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	limits := []string{
		"1/s", "2/s", "3/s", "7/s", "10/s", "100/s", "1/m", "60/m", "13/m;burst=1", "5/s;burst=20",
		"20/s;burst=3", "1/h;burst=4", "1000/d", "999/s", "7/d;burst=2",
	}
	patterns := []struct {
		name string
		gen  func(l ratelimit.Limit, n int) []int64
	}{
		{"uniform", func(l ratelimit.Limit, n int) []int64 {
			span := 5 * int64(l.Period)
			out := make([]int64, n)
			for i := range out {
				out[i] = t0 + rng.Int64N(span)
			}
			return out
		}},
		{"bursts", func(l ratelimit.Limit, n int) []int64 {
			var out []int64
			now := t0
			for len(out) < n {
				k := 1 + rng.IntN(int(2*l.EffectiveBurst()+2))
				for range k {
					out = append(out, now)
				}
				now += rng.Int64N(int64(l.Period))
			}
			return out
		}},
		{"near_interval", func(l ratelimit.Limit, n int) []int64 {
			out := make([]int64, n)
			now := t0
			iv := int64(l.Interval())
			for i := range out {
				out[i] = now
				now += iv + rng.Int64N(3) - 1 // T−1, T or T+1
			}
			return out
		}},
		{"dense", func(l ratelimit.Limit, n int) []int64 {
			out := make([]int64, n)
			now := t0
			step := max(int64(l.Interval())/7, 1)
			for i := range out {
				out[i] = now
				now += rng.Int64N(step) + 1
			}
			return out
		}},
	}
	for _, s := range limits {
		l := mustParse(t, s)
		bound := l.EffectiveBurst() + l.N - 1
		for _, p := range patterns {
			for run := 0; run < 20; run++ {
				arr := p.gen(l, 3000)
				sort.Slice(arr, func(i, j int) bool { return arr[i] < arr[j] })
				var admitted []int64
				var tat int64
				for _, now := range arr {
					var r ratelimit.Result
					if tat, r = ratelimit.GCRA(tat, now, l); r.Allowed {
						admitted = append(admitted, now)
					}
				}
				// The busiest window starts at an admitted request.
				j := 0
				for i, a := range admitted {
					for j < len(admitted) && admitted[j] < a+int64(l.Period) {
						j++
					}
					if n := int64(j - i); n > bound {
						t.Fatalf("%s %s run %d: %d admitted in [%d, +%v), bound %d", s, p.name, run, n, a-t0, l.Period, bound)
					}
				}
			}
		}
	}

	// Tightness: a full burst then one request per interval reaches B+N−1.
	for _, s := range []string{"10/s", "100/m;burst=20", "1/s;burst=3"} {
		l := mustParse(t, s)
		var tat int64
		n := int64(0)
		for now := t0; now < t0+int64(l.Period); now += int64(time.Millisecond) {
			for {
				var r ratelimit.Result
				if tat, r = ratelimit.GCRA(tat, now, l); !r.Allowed {
					break
				}
				n++
			}
		}
		if want := l.EffectiveBurst() + l.N - 1; n != want {
			t.Errorf("%s: greedy client got %d in one period, want %d", s, n, want)
		}
	}
}
