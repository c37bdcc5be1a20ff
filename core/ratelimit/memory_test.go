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

// TestConcurrentBurst: 100 goroutines hit one fresh key at the same instant;
// exactly B get through.
func TestConcurrentBurst(t *testing.T) {
	for _, limit := range []string{"10/m", "100/m;burst=20", "1/s", "50/h;burst=99", "1000/d"} {
		t.Run(limit, func(t *testing.T) {
			m := newMemory(t)
			k := ipKey(t, 1, "203.0.113.7", limit)
			var allowed atomic.Int64
			var wg sync.WaitGroup
			start := make(chan struct{})
			for range 100 {
				wg.Go(func() {
					<-start
					rs, err := m.Allow(now0, []ratelimit.Key{k}, nil)
					if err != nil {
						t.Error(err)
						return
					}
					if rs[0].Allowed {
						allowed.Add(1)
					}
				})
			}
			close(start)
			wg.Wait()
			if want := min(k.Limit.EffectiveBurst(), 100); allowed.Load() != want {
				t.Fatalf("%d allowed, want %d", allowed.Load(), want)
			}
		})
	}
}

// TestConcurrentAllOrNothing: 100 goroutines send requests matching two
// rules; the stricter admits 5, and the other consumes exactly those 5.
func TestConcurrentAllOrNothing(t *testing.T) {
	m := newMemory(t)
	strict := ipKey(t, 1, "198.51.100.1", "5/m")
	loose := ratelimit.Key{Rule: 2, Value: "user-42", Limit: mustParse(t, "50/m")}
	var allowed atomic.Int64
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range 100 {
		keys := []ratelimit.Key{strict, loose}
		if i%2 == 1 {
			keys[0], keys[1] = keys[1], keys[0] // lock order must not depend on key order
		}
		wg.Go(func() {
			<-start
			rs, err := m.Allow(now0, keys, nil)
			if err != nil {
				t.Error(err)
				return
			}
			if allAllowed(rs) {
				allowed.Add(1)
			}
		})
	}
	close(start)
	wg.Wait()
	if allowed.Load() != 5 {
		t.Fatalf("%d allowed, want 5", allowed.Load())
	}
	if r := allow(t, m, now0, loose)[0]; !r.Allowed || r.Remaining != 50-5-1 {
		t.Fatalf("loose key consumed by denied requests: %+v", r)
	}
}

// TestAllOrNothing: a request denied by one rule consumes from none.
func TestAllOrNothing(t *testing.T) {
	m := newMemory(t)
	exhausted := ipKey(t, 1, "192.0.2.1", "1/m")
	fresh := ratelimit.Key{Rule: 2, IP: netip.MustParseAddr("192.0.2.1"), Limit: mustParse(t, "10/m")}
	allow(t, m, now0, exhausted)

	for _, order := range [][]ratelimit.Key{{exhausted, fresh}, {fresh, exhausted}} {
		rs := allow(t, m, now0, order...)
		if allAllowed(rs) {
			t.Fatal("request allowed past an exhausted rule")
		}
		for _, r := range rs {
			switch r.Limit {
			case exhausted.Limit:
				if r.Allowed || r.RetryAfter != time.Minute {
					t.Fatalf("exhausted key: %+v", r)
				}
			case fresh.Limit:
				// Conforming, and reported as untouched.
				if !r.Allowed || r.Remaining != 10 || r.ResetAfter != 0 {
					t.Fatalf("fresh key: %+v", r)
				}
			}
		}
	}
	if m.Len() != 1 {
		t.Fatalf("Len %d: the denied request stored the fresh key", m.Len())
	}
	if r := allow(t, m, now0, fresh)[0]; !r.Allowed || r.Remaining != 9 {
		t.Fatalf("fresh key was consumed by denied requests: %+v", r)
	}
	// Once the strict rule conforms again, both consume.
	rs := allow(t, m, now0.Add(time.Minute), exhausted, fresh)
	if !allAllowed(rs) || rs[1].Remaining != 9 {
		t.Fatalf("after a minute: %+v", rs)
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

func TestAllowAppends(t *testing.T) {
	m := newMemory(t)
	dst := make([]ratelimit.Result, 1, 8)
	dst[0].Remaining = -7
	keys := []ratelimit.Key{ipKey(t, 1, "192.0.2.1", "5/s"), ipKey(t, 2, "192.0.2.1", "6/s"), ipKey(t, 3, "192.0.2.1", "7/s")}
	rs, err := m.Allow(now0, keys, dst)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 4 || rs[0].Remaining != -7 || rs[1].Remaining != 4 || rs[2].Remaining != 5 || rs[3].Remaining != 6 {
		t.Fatalf("got %+v", rs)
	}
	if rs, err := m.Allow(now0, nil, dst[:1]); err != nil || len(rs) != 1 {
		t.Fatalf("no keys: %v %v", rs, err)
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
	// Once counters are idle, the new key gets a slot by an inline sweep.
	if r := allow(t, m, now0.Add(time.Minute), attacker)[0]; !r.Allowed {
		t.Fatalf("new key after the counters went idle: %+v", r)
	}
	if st := m.Stats(); st.Swept != 3 || st.Keys != 1 {
		t.Fatalf("Stats after the inline sweep %+v", st)
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
