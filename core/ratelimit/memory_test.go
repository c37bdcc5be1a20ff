package ratelimit_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/wardenkit/warden/core/ratelimit"
)

var now0 = time.Unix(0, t0).UTC()

func newMemory(t testing.TB, opts ...ratelimit.Option) *ratelimit.Memory {
	t.Helper()
	m, err := ratelimit.NewMemory(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

func ipKey(t testing.TB, rule int64, ip, limit string) ratelimit.Key {
	return ratelimit.Key{Rule: rule, IP: netip.MustParseAddr(ip), Limit: mustParse(t, limit)}
}

func allow(t testing.TB, m *ratelimit.Memory, now time.Time, keys ...ratelimit.Key) []ratelimit.Result {
	t.Helper()
	rs, err := m.Allow(now, keys, nil)
	if err != nil {
		t.Fatalf("Allow: %v", err)
	}
	if len(rs) != len(keys) {
		t.Fatalf("Allow returned %d results for %d keys", len(rs), len(keys))
	}
	return rs
}

func allAllowed(rs []ratelimit.Result) bool {
	for _, r := range rs {
		if !r.Allowed {
			return false
		}
	}
	return true
}

// TestDeniedRequestAsItStands: a request denied by one rule consumes from
// none (the suite checks that), and Memory reports the conforming keys as
// they stand, this request not made, and stores no new key for it.
func TestDeniedRequestAsItStands(t *testing.T) {
	m := newMemory(t)
	exhausted := ipKey(t, 1, "192.0.2.1", "1/m")
	fresh := ratelimit.Key{Rule: 2, IP: netip.MustParseAddr("192.0.2.1"), Limit: mustParse(t, "10/m")}
	allow(t, m, now0, exhausted)
	allow(t, m, now0, fresh)
	for _, order := range [][]ratelimit.Key{{exhausted, fresh}, {fresh, exhausted}} {
		for _, r := range allow(t, m, now0.Add(time.Second), order...) {
			switch r.Limit {
			case exhausted.Limit:
				if r.Allowed || r.RetryAfter != time.Minute-time.Second {
					t.Fatalf("exhausted key: %+v", r)
				}
			case fresh.Limit:
				if !r.Allowed || r.Remaining != 9 || r.ResetAfter != 5*time.Second {
					t.Fatalf("conforming key: %+v, want 9 remaining and a reset in 5s, as it stands", r)
				}
			}
		}
	}
	newKey := ipKey(t, 3, "192.0.2.1", "10/m")
	if rs := allow(t, m, now0.Add(time.Second), exhausted, newKey); rs[0].Allowed || !rs[1].Allowed || rs[1].Remaining != 10 || rs[1].ResetAfter != 0 {
		t.Fatalf("denied request with a new key: %+v", rs)
	}
	if m.Len() != 2 {
		t.Fatalf("Len %d: the denied request stored the new key", m.Len())
	}
}

// TestDuplicateKeys: the same key twice in one call counts twice, and
// all-or-nothing still holds.
func TestDuplicateKeys(t *testing.T) {
	m := newMemory(t)
	k := ipKey(t, 1, "192.0.2.9", "3/m")
	if rs := allow(t, m, now0, k, k); !allAllowed(rs) || rs[1].Remaining != 1 {
		t.Fatalf("first pair: %+v", rs)
	}
	if rs := allow(t, m, now0, k, k); allAllowed(rs) {
		t.Fatalf("second pair allowed with one left: %+v", rs)
	}
	if r := allow(t, m, now0, k)[0]; !r.Allowed || r.Remaining != 0 {
		t.Fatalf("denied pair consumed: %+v", r)
	}
}

func TestAllowRejectsBadInput(t *testing.T) {
	m := newMemory(t)
	good := ipKey(t, 1, "192.0.2.1", "5/s")
	tests := []struct {
		name string
		now  time.Time
		keys []ratelimit.Key
	}{
		{"invalid_limit", now0, []ratelimit.Key{{Rule: 1, Limit: ratelimit.Limit{N: 0, Period: time.Second}}}},
		{"invalid_limit_second_key", now0, []ratelimit.Key{good, {Rule: 2, Limit: ratelimit.Limit{N: 5, Period: 7 * time.Second}}}},
		{"value_too_long", now0, []ratelimit.Key{{Rule: 1, Value: strings.Repeat("x", ratelimit.MaxValueLen+1), Limit: good.Limit}}},
		{"zero_time", time.Time{}, []ratelimit.Key{good}},
		{"before_1970", time.Date(1969, 12, 31, 0, 0, 0, 0, time.UTC), []ratelimit.Key{good, good}},
		{"year_3000", time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC), []ratelimit.Key{good}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dst := make([]ratelimit.Result, 0, 4)
			rs, err := m.Allow(tc.now, tc.keys, dst)
			if !errors.Is(err, ratelimit.ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
			if len(rs) != 0 {
				t.Fatalf("results appended on error: %+v", rs)
			}
		})
	}
	if m.Len() != 0 {
		t.Fatalf("Len %d after refused calls", m.Len())
	}
	// A value of exactly MaxValueLen is fine.
	k := ratelimit.Key{Rule: 1, Value: strings.Repeat("x", ratelimit.MaxValueLen), Limit: good.Limit}
	allow(t, m, now0, k)
}

// TestSweep removes idle counters and never a live one.
func TestSweep(t *testing.T) {
	m := newMemory(t, ratelimit.WithShards(4))
	minute := ipKey(t, 1, "192.0.2.1", "1/m")
	hour := ipKey(t, 2, "192.0.2.1", "1/h")
	burst := ipKey(t, 3, "192.0.2.1", "10/s") // one of 10 used: idle after 100 ms
	allow(t, m, now0, minute, hour, burst)

	if n := m.Sweep(now0); n != 0 {
		t.Fatalf("Sweep at once removed %d", n)
	}
	if n := m.Sweep(now0.Add(100*time.Millisecond - 1)); n != 0 {
		t.Fatalf("Sweep removed %d live counters", n)
	}
	if n := m.Sweep(now0.Add(100 * time.Millisecond)); n != 1 {
		t.Fatalf("Sweep at 100ms removed %d, want 1", n)
	}
	if n := m.Sweep(now0.Add(time.Minute - 1)); n != 0 || m.Len() != 2 {
		t.Fatalf("Sweep before the minute removed %d, Len %d", n, m.Len())
	}
	// The live minute counter is still enforced.
	if r := allow(t, m, now0.Add(time.Minute-1), minute)[0]; r.Allowed {
		t.Fatal("minute counter was reset")
	}
	if n := m.Sweep(now0.Add(time.Minute)); n != 1 || m.Len() != 1 {
		t.Fatalf("Sweep at the minute removed %d, Len %d", n, m.Len())
	}
	if n := m.Sweep(now0.Add(time.Hour)); n != 1 || m.Len() != 0 {
		t.Fatalf("Sweep at the hour removed %d, Len %d", n, m.Len())
	}
	if st := m.Stats(); st.Swept != 3 || st.Keys != 0 || st.Overflows != 0 {
		t.Fatalf("Stats %+v", st)
	}
	if n := m.Sweep(time.Time{}); n != 0 {
		t.Fatalf("Sweep(zero time) removed %d", n)
	}
}

// TestSweepNeverChangesDecisions runs the same random traffic against a
// Memory that is swept often and one that is never swept: every Result must
// be the same.
func TestSweepNeverChangesDecisions(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	swept := newMemory(t, ratelimit.WithShards(8))
	kept := newMemory(t, ratelimit.WithShards(8))
	limits := []ratelimit.Limit{mustParse(t, "3/s"), mustParse(t, "10/s;burst=2"), mustParse(t, "1/m;burst=3"), mustParse(t, "100/m")}
	var keys []ratelimit.Key
	for i := range 40 {
		keys = append(keys, ratelimit.Key{
			Rule:  int64(i % 4),
			IP:    netip.AddrFrom4([4]byte{10, 0, 0, byte(i)}),
			Limit: limits[i%4],
		})
	}
	now := now0
	var a, b []ratelimit.Result
	for step := range 20000 {
		now = now.Add(time.Duration(rng.Int64N(int64(40 * time.Millisecond))))
		n := 1 + rng.IntN(3)
		req := make([]ratelimit.Key, n)
		for i := range req {
			req[i] = keys[rng.IntN(len(keys))]
		}
		var err error
		if a, err = swept.Allow(now, req, a[:0]); err != nil {
			t.Fatal(err)
		}
		if b, err = kept.Allow(now, req, b[:0]); err != nil {
			t.Fatal(err)
		}
		for i := range a {
			if a[i] != b[i] {
				t.Fatalf("step %d key %d: swept %+v, kept %+v", step, i, a[i], b[i])
			}
		}
		if rng.IntN(10) == 0 {
			swept.Sweep(now)
		}
	}
	if swept.Stats().Swept == 0 {
		t.Fatal("test did not sweep anything")
	}
}

// TestOverflow: at the cap a new key is refused with ErrFull, counted, and
// no live counter is evicted or reset.
func TestOverflow(t *testing.T) {
	m := newMemory(t, ratelimit.WithShards(1), ratelimit.WithMaxKeys(3))
	var live []ratelimit.Key
	for i := range 3 {
		k := ipKey(t, 1, fmt.Sprintf("192.0.2.%d", i+1), "3/m")
		live = append(live, k)
		allow(t, m, now0, k)
	}
	later := now0.Add(time.Second)
	attacker := ipKey(t, 1, "198.51.100.66", "3/m")
	dst := make([]ratelimit.Result, 0, 2)
	rs, err := m.Allow(later, []ratelimit.Key{attacker}, dst)
	if !errors.Is(err, ratelimit.ErrFull) || len(rs) != 0 {
		t.Fatalf("new key at the cap: %v, %+v", err, rs)
	}
	if st := m.Stats(); st.Overflows != 1 || st.Keys != 3 {
		t.Fatalf("Stats %+v", st)
	}
	for _, k := range live {
		if r := allow(t, m, later, k)[0]; !r.Allowed || r.Remaining != 1 {
			t.Fatalf("live counter %v was evicted or reset: %+v", k.IP, r)
		}
	}
	// Two keys, one new: the existing one does not consume either.
	other := ipKey(t, 2, "192.0.2.1", "3/m")
	if _, err := m.Allow(later, []ratelimit.Key{live[0], other}, nil); !errors.Is(err, ratelimit.ErrFull) {
		t.Fatalf("err %v, want ErrFull", err)
	}
	if r := allow(t, m, later, live[0])[0]; !r.Allowed || r.Remaining != 0 {
		t.Fatalf("refused call consumed: %+v", r)
	}
	// Denials need no room: a denied request with a new key is a value.
	rs = allow(t, m, later, live[0], attacker)
	if rs[0].Allowed || !rs[1].Allowed || m.Stats().Overflows != 2 {
		t.Fatalf("denied request with a new key: %+v %+v", rs, m.Stats())
	}
	// Once counters are idle, the new key takes the place of one of them.
	if r := allow(t, m, now0.Add(time.Minute), attacker)[0]; !r.Allowed {
		t.Fatalf("new key after the counters went idle: %+v", r)
	}
	if st := m.Stats(); st.Swept != 1 || st.Keys != 3 {
		t.Fatalf("Stats after the eviction %+v", st)
	}
}

func TestOptions(t *testing.T) {
	bad := []struct {
		name string
		opts []ratelimit.Option
	}{
		{"shards_zero", []ratelimit.Option{ratelimit.WithShards(0)}},
		{"shards_not_pow2", []ratelimit.Option{ratelimit.WithShards(48)}},
		{"shards_too_many", []ratelimit.Option{ratelimit.WithShards(1 << 17)}},
		{"max_keys_zero", []ratelimit.Option{ratelimit.WithMaxKeys(0)}},
		{"max_keys_below_shards", []ratelimit.Option{ratelimit.WithShards(64), ratelimit.WithMaxKeys(63)}},
		{"sweep_zero", []ratelimit.Option{ratelimit.WithSweepInterval(0)}},
		{"nil_clock", []ratelimit.Option{ratelimit.WithClock(nil)}},
		{"nil_option", []ratelimit.Option{nil}},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			m, err := ratelimit.NewMemory(tc.opts...)
			if !errors.Is(err, ratelimit.ErrInvalid) || m != nil {
				t.Fatalf("got %v, %v; want ErrInvalid", m, err)
			}
		})
	}
	m := newMemory(t, ratelimit.WithShards(1), ratelimit.WithMaxKeys(1), ratelimit.WithSweepInterval(time.Second))
	allow(t, m, now0, ipKey(t, 1, "192.0.2.1", "1/s"))
}

// TestStartClose runs the sweeper on synctest's fake clock.
func TestStartClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m, err := ratelimit.NewMemory(ratelimit.WithSweepInterval(10 * time.Second))
		if err != nil {
			t.Fatal(err)
		}
		allow(t, m, time.Now(), ipKey(t, 1, "192.0.2.1", "1/s"), ipKey(t, 2, "192.0.2.1", "1/m"))
		if err := m.Start(t.Context()); err != nil {
			t.Fatal(err)
		}
		if err := m.Start(t.Context()); err == nil {
			t.Fatal("second Start succeeded")
		}
		time.Sleep(10*time.Second + time.Millisecond)
		synctest.Wait()
		if m.Len() != 1 {
			t.Fatalf("after one sweep Len %d, want 1", m.Len())
		}
		time.Sleep(60 * time.Second)
		synctest.Wait()
		if m.Len() != 0 {
			t.Fatalf("after the minute Len %d, want 0", m.Len())
		}
		if err := m.Close(); err != nil {
			t.Fatal(err)
		}
		if err := m.Close(); err != nil {
			t.Fatal(err)
		}
		if err := m.Start(t.Context()); !errors.Is(err, ratelimit.ErrClosed) {
			t.Fatalf("Start after Close: %v", err)
		}
		// Still usable without the sweeper.
		allow(t, m, time.Now(), ipKey(t, 1, "192.0.2.1", "1/s"))
	})
}

// TestSweeperStopsWithContext: the sweeper ends with its context; synctest
// fails the test if the goroutine is left behind.
func TestSweeperStopsWithContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m, err := ratelimit.NewMemory(ratelimit.WithSweepInterval(time.Second))
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		if err := m.Start(ctx); err != nil {
			t.Fatal(err)
		}
		time.Sleep(3 * time.Second)
		cancel()
		synctest.Wait()
		m.Close()
	})
}

// fixedClock is a settable clock for the sweeper.
type fixedClock struct{ t atomic.Int64 }

func (c *fixedClock) Now() time.Time { return time.Unix(0, c.t.Load()) }

// TestSweeperUsesClock: the sweeper reads WithClock, not the system clock,
// so a test clock in the past never removes live counters.
func TestSweeperUsesClock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clk := &fixedClock{}
		clk.t.Store(t0)
		m, err := ratelimit.NewMemory(ratelimit.WithSweepInterval(time.Second), ratelimit.WithClock(clk))
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		allow(t, m, clk.Now(), ipKey(t, 1, "192.0.2.1", "1/m"))
		if err := m.Start(t.Context()); err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Minute) // the bubble's clock moves; clk does not
		synctest.Wait()
		if m.Len() != 1 {
			t.Fatal("sweeper removed a live counter")
		}
		clk.t.Store(t0 + int64(time.Minute))
		time.Sleep(time.Second)
		synctest.Wait()
		if m.Len() != 0 {
			t.Fatal("sweeper did not remove the idle counter")
		}
	})
}

// TestRace mixes Allow, Sweep, Stats and Len; run with -race.
func TestRace(t *testing.T) {
	m := newMemory(t, ratelimit.WithShards(4), ratelimit.WithMaxKeys(64))
	limits := []ratelimit.Limit{mustParse(t, "5/s"), mustParse(t, "2/s;burst=4")}
	var clock atomic.Int64
	clock.Store(t0)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(g), 9))
			var dst []ratelimit.Result
			for range 2000 {
				now := time.Unix(0, clock.Add(int64(rng.IntN(int(time.Millisecond)))))
				keys := make([]ratelimit.Key, 1+rng.IntN(3))
				for i := range keys {
					keys[i] = ratelimit.Key{Rule: int64(rng.IntN(2)), IP: netip.AddrFrom4([4]byte{10, 0, byte(rng.IntN(4)), byte(rng.IntN(40))}), Limit: limits[rng.IntN(2)]}
				}
				var err error
				if dst, err = m.Allow(now, keys, dst[:0]); err != nil && !errors.Is(err, ratelimit.ErrFull) {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Go(func() {
		for range 200 {
			m.Sweep(time.Unix(0, clock.Load()))
			_ = m.Stats()
			_ = m.Len()
		}
	})
	wg.Wait()
	if st := m.Stats(); st.Keys > 64 || st.Keys != m.Len() {
		t.Fatalf("Stats %+v, Len %d", st, m.Len())
	}
}

// TestAllowAllocs: checking existing keys allocates nothing.
func TestAllowAllocs(t *testing.T) {
	m := newMemory(t)
	one := []ratelimit.Key{ipKey(t, 1, "2001:db8:1:2::", "1000000000/s")}
	three := []ratelimit.Key{
		ipKey(t, 1, "192.0.2.1", "1000000000/s"),
		{Rule: 2, IP: netip.MustParseAddr("192.0.2.1"), Value: "user-1234", Limit: mustParse(t, "1000000000/m")},
		{Rule: 3, Value: "api-key-abcdef", Limit: mustParse(t, "1000000000/h")},
	}
	denied := []ratelimit.Key{ipKey(t, 4, "192.0.2.1", "1/d")}
	dst := make([]ratelimit.Result, 0, 3)
	for _, keys := range [][]ratelimit.Key{one, three, denied} {
		if _, err := m.Allow(now0, keys, dst); err != nil {
			t.Fatal(err)
		}
	}
	for name, keys := range map[string][]ratelimit.Key{"one": one, "three": three, "denied": denied} {
		allocs := testing.AllocsPerRun(1000, func() {
			if _, err := m.Allow(now0, keys, dst[:0]); err != nil {
				t.Fatal(err)
			}
		})
		if allocs > 0 {
			t.Errorf("%s: %v allocs per Allow, want 0", name, allocs)
		}
	}
}
