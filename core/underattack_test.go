package core_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"runtime"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/wardenkit/warden/core"
	"github.com/wardenkit/warden/core/memstore"
	"github.com/wardenkit/warden/core/ratelimit"
	"github.com/wardenkit/warden/core/rule"
)

// slowStore takes a while for every event batch, as a busy database does,
// and black-holes (blocks until the caller gives up) while hole is set.
type slowStore struct {
	core.Store
	delay time.Duration
	hole  bool
}

func (s *slowStore) AppendEvents(ctx context.Context, evs []core.Event) error {
	if s.hole {
		<-ctx.Done()
		return ctx.Err()
	}
	select {
	case <-time.After(s.delay):
	case <-ctx.Done():
		return ctx.Err()
	}
	return s.Store.AppendEvents(ctx, evs)
}

// A blocked client varying its path must not bury the events that matter:
// its denials fold into a few rows per second, and the LOCKOUT of a
// concurrent brute force is stored.
func TestEventFloodFoldsAndKeepsCriticalEvents(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clock := newClock()
		mem := memstore.New(memstore.WithNow(clock.Now))
		st := &slowStore{Store: mem, delay: 50 * time.Millisecond}
		eng, err := core.New(st, core.WithClock(clock), core.WithEventQueue(1000, 100*time.Millisecond), quiet)
		if err != nil {
			t.Fatal(err)
		}
		if err := eng.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		if _, err := eng.Rules().BlockedIPs().Put(context.Background(), rule.BlockedIP{Network: "6.6.6.6"}); err != nil {
			t.Fatal(err)
		}
		lo := eng.Lockout()
		const seconds, perSecond = 10, 5000
		for s := range seconds {
			for i := range perSecond {
				r := request("6.6.6.6", fmt.Sprintf("/probe/%d/%d", s, i))
				if d, _ := eng.Check(context.Background(), core.Request{HTTP: r}); d.Allowed {
					t.Fatal("blocked client allowed")
				}
				if s == 5 && i < 5 { // the brute force that locks at the 5th failure
					tk, err := lo.Begin(context.Background(), core.Attempt{Username: "victim", HTTP: request("198.51.100.9", "/login")})
					if err != nil {
						t.Fatal(err)
					}
					_ = lo.Fail(context.Background(), tk)
				}
				clock.Add(time.Second / perSecond)
			}
			time.Sleep(10 * time.Millisecond) // the writer works while the flood goes on
		}
		if err := eng.Close(context.Background()); err != nil {
			t.Logf("Close: %v", err) // ordinary denials may be dropped; the checks below are what matter
		}
		evs, err := mem.Events(context.Background(), core.EventQuery{IP: "6.6.6.6", Limit: 10000})
		if err != nil {
			t.Fatal(err)
		}
		perSec := map[int64]int{}
		var counted int64
		for _, ev := range evs {
			perSec[ev.CreatedAt.Unix()]++
			counted += ev.Count
		}
		for sec, n := range perSec {
			if n > 20 {
				t.Errorf("second %d: %d rows for one client; want at most 20", sec, n)
			}
		}
		if counted == 0 {
			t.Fatal("no denial of the flood stored")
		}
		lockouts, err := mem.Events(context.Background(), core.EventQuery{Action: core.ActionLockout})
		if err != nil || len(lockouts) != 1 {
			t.Fatalf("LOCKOUT events stored: %d, %v; want 1", len(lockouts), err)
		}
		s := eng.Stats()
		t.Logf("flood: %d rows for %d denials (stored counts), folded %d, dropped %d", len(evs), counted, s.EventsFolded, s.EventsDropped)
		if s.EventsFolded == 0 {
			t.Fatal("nothing folded")
		}
	})
}

// Close must return by its deadline against a store that never answers,
// say how many events were lost, and leave no goroutine behind (synctest
// fails the test if one is left).
func TestCloseHonoursItsDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := &slowStore{Store: memstore.New()}
		eng := startEngine(t, st, core.WithEventQueue(100, time.Minute))
		st.hole = true
		for i := range 7 {
			eng.RecordEvent(core.Event{Action: core.ActionAdmin, IP: "192.0.2.1", Path: fmt.Sprint("/", i)})
		}
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		start := time.Now()
		err := eng.Close(ctx)
		if took := time.Since(start); took > 250*time.Millisecond {
			t.Fatalf("Close took %v with a 200ms deadline", took)
		}
		if err == nil || !(errors.Is(err, context.DeadlineExceeded) || errors.Is(err, core.ErrEventsLost)) {
			t.Fatalf("Close = %v; want an error naming the lost events", err)
		}
		if want := "7 events not written"; !strings.Contains(err.Error(), want) {
			t.Fatalf("Close = %v; want %q", err, want)
		}
		synctest.Wait()
	})
}

// ~1M failed logins, 50 usernames per /64 over 20,000 /64s of one IPv6 /48,
// must not fill the counters for everyone: afterwards 100 fresh users from
// other addresses are all let through, memory stays bounded, and the
// attacking /48 is locked.
func TestLoginFloodDoesNotDenyOthers(t *testing.T) {
	nets, perNet := 20_000, 50
	if raceOn || testing.Short() {
		nets = 2_000
	}
	e := newLoginEnv(t)
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	checked := 0
	for n := range nets {
		ip := netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0xab, 0xcd, byte(n >> 8), byte(n), 15: 1})
		for u := range perNet {
			tk, err := e.lo.Begin(e.ctx(), core.Attempt{Username: fmt.Sprintf("user%d", n*perNet+u), IP: ip})
			if err != nil {
				continue
			}
			checked++
			_ = e.lo.Fail(e.ctx(), tk)
		}
	}
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	growth := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	t.Logf("%d attempts, %d reached the password check, heap growth %d MB, %d counter keys",
		nets*perNet, checked, growth>>20, e.counter.Len())
	if growth > 100<<20 {
		t.Errorf("heap grew by %d MB; want under 100 MB", growth>>20)
	}
	refused := 0
	for i := range 100 {
		ip := netip.AddrFrom4([4]byte{198, 51, byte(100 + i/50), byte(i)})
		if i%2 == 1 {
			ip = netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0xff, 0xff, 0, byte(i), 15: 1})
		}
		tk, err := e.lo.Begin(e.ctx(), core.Attempt{Username: fmt.Sprintf("fresh%d", i), IP: ip})
		if err != nil {
			refused++
			continue
		}
		_ = e.lo.Fail(e.ctx(), tk)
	}
	if refused != 0 {
		t.Fatalf("%d of 100 fresh users from other addresses refused after the flood", refused)
	}
	attacker := netip.MustParseAddr("2001:db8:abcd:ffff::1")
	if _, err := e.lo.Begin(e.ctx(), core.Attempt{Username: "one-more", IP: attacker}); !errors.Is(err, core.ErrLocked) {
		t.Fatalf("a new username from the attacking /48: %v; want locked", err)
	}
}

// An unlock right after the failure that locked must work: the lockout
// record may still be queued.
func TestUnlockRightAfterLockout(t *testing.T) {
	for run := range 5 {
		e := newLoginEnv(t)
		for range 5 {
			e.fail("alice", "203.0.113.7")
		}
		n, err := e.lo.Unlock(e.ctx(), core.UnlockRequest{Username: "alice", By: "ops"})
		if err != nil || n != 1 {
			t.Fatalf("run %d: Unlock = %d, %v; want 1 record released", run, n, err)
		}
		e.succeed("alice", "203.0.113.7", "1")
	}
}

// One client sending a new X-API-Key with every request must not fill the
// limiter and switch limits off for everyone: afterwards a fresh client is
// limited exactly.
func TestRateLimiterFillDoesNotSwitchLimitsOff(t *testing.T) {
	const maxKeys = 20_000
	m, err := ratelimit.NewMemory(ratelimit.WithMaxKeys(maxKeys), ratelimit.WithShards(16))
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, core.WithLimiter(core.MemoryLimiter(m)))
	e.settings(func(s *core.Settings) { s.AutoBlockIPThreshold = 0 }) // the flooding client must stay unblocked to flood
	rateRule(e, rule.RateLimitRule{Name: "api", PathPattern: "/api/*", Rate: "100/m", KeyBy: "header:X-API-Key"})
	rateRule(e, rule.RateLimitRule{Name: "login", PathPattern: "/login", Method: "POST", Rate: "5/m"})
	for i := range maxKeys + maxKeys/20 { // 5% more unique keys than the limiter holds
		key := fmt.Sprintf("k%d", i)
		e.check("203.0.113.7", "/api/x", "", func(r *http.Request) { r.Header.Set("X-API-Key", key) })
	}
	t.Logf("limiter holds %d keys after the flood", m.Len())
	if n := e.eng.Stats().RateValueOverflow; n != int64(maxKeys+maxKeys/20-1000) {
		t.Fatalf("Stats.RateValueOverflow = %d; want every value past the first 1,000", n)
	}
	allowed := 0
	for range 50 {
		if d := e.check("198.51.100.1", "/login", "", method("POST")); d.Allowed {
			allowed++
		}
	}
	if allowed != 5 {
		t.Fatalf("a fresh IP got %d of 50 POST /login through a 5/m rule after the flood; want exactly 5", allowed)
	}
}

// A release is applied once: a lock taken after an unlock is not lifted by a
// later rebuild of the engine (an unrelated rule change).
func TestReleaseIsAppliedOnce(t *testing.T) {
	e := newLoginEnv(t)
	ip := "203.0.113.7"
	for range 5 {
		e.fail("alice", ip)
	}
	if n, err := e.lo.Unlock(e.ctx(), core.UnlockRequest{Username: "alice", By: "ops"}); err != nil || n != 1 {
		t.Fatalf("Unlock = %d, %v", n, err)
	}
	put(e.env, e.eng.Rules().BlockedIPs(), rule.BlockedIP{Network: "192.0.2.1"}) // a rebuild
	e.clock.Add(10 * time.Minute)
	for range 5 {
		e.fail("alice", ip)
	}
	e.locked("alice", ip)
	put(e.env, e.eng.Rules().BlockedIPs(), rule.BlockedIP{Network: "192.0.2.2"}) // another rebuild
	if err := e.eng.Reload(e.ctx()); err != nil {
		t.Fatal(err)
	}
	e.locked("alice", ip) // still locked: the old release must not apply again
}

// One network holds at most its cap of tracked usernames, whatever its
// addresses do, and a network's overflow lock can be listed and unlocked by
// the network, which other processes learn of through the store.
func TestSourceCapsPerNetworkAndNetworkUnlock(t *testing.T) {
	e := newLoginEnv(t)
	for n := range 500 {
		ip := netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0xab, 0xcd, byte(n >> 8), byte(n), 15: 1})
		for u := range 10 {
			tk, err := e.lo.Begin(e.ctx(), core.Attempt{Username: fmt.Sprintf("u%d-%d", n, u), IP: ip})
			if err != nil {
				continue
			}
			_ = e.lo.Fail(e.ctx(), tk)
		}
	}
	st := e.lo.Stats()
	if st.TrackedNames > 2*200 || st.SourceOverflow == 0 {
		t.Fatalf("tracked %d usernames for one /48 (cap 200 per network, each also per address), %d overflows", st.TrackedNames, st.SourceOverflow)
	}
	locked, err := e.lo.ListLocked(e.ctx(), 0)
	if err != nil {
		t.Fatal(err)
	}
	var network string
	for _, r := range locked {
		if r.Scope == core.LockoutBySource {
			network = r.IP
		}
	}
	if network != "2001:db8:abcd::/48" {
		t.Fatalf("source lock on %q; want the /48 (locked: %+v)", network, locked)
	}
	n, err := e.lo.Unlock(e.ctx(), core.UnlockRequest{IP: network, By: "ops"})
	if err != nil || n < 1 {
		t.Fatalf("Unlock(%s) = %d, %v; want the source record released", network, n, err)
	}
	if _, err := e.lo.Begin(e.ctx(), core.Attempt{Username: "new-name", IP: netip.MustParseAddr("2001:db8:abcd:ffff::1")}); err != nil {
		t.Fatalf("after the network unlock: %v", err)
	}
}

// Close with a context that is cancelled (no deadline), as a signal handler
// cancels it, returns and leaves no goroutine behind.
func TestCloseOnCancelWithoutDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := &slowStore{Store: memstore.New()}
		eng := startEngine(t, st, core.WithEventQueue(100, time.Minute))
		st.hole = true
		eng.RecordEvent(core.Event{Action: core.ActionAdmin, IP: "192.0.2.1"})
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(100*time.Millisecond, cancel)
		if err := eng.Close(ctx); !errors.Is(err, context.Canceled) {
			t.Fatalf("Close = %v; want context.Canceled and the lost events named", err)
		}
		synctest.Wait()
	})
}

// With the store down and the backlog over the queue, ordinary events are
// dropped before critical ones.
func TestBacklogKeepsCriticalEvents(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := newPicky()
		eng := startEngine(t, st, core.WithEventQueue(20, 10*time.Millisecond))
		st.fail.Store(true)
		eng.RecordEvent(core.Event{Action: core.ActionLockout, IP: "192.0.2.9", Details: "the one that matters"})
		for round := range 5 {
			for i := range 15 {
				eng.RecordEvent(core.Event{Action: core.ActionIPBlock, IP: fmt.Sprintf("192.0.2.%d", i), Path: fmt.Sprint("/", round, "/", i)})
			}
			time.Sleep(15 * time.Millisecond)
			synctest.Wait()
		}
		st.fail.Store(false)
		time.Sleep(15 * time.Millisecond)
		synctest.Wait()
		if err := eng.Close(context.Background()); err != nil {
			t.Logf("Close: %v", err)
		}
		evs, err := st.failingStore.Store.Events(context.Background(), core.EventQuery{Action: core.ActionLockout})
		if err != nil || len(evs) != 1 {
			t.Fatalf("LOCKOUT stored %d times, %v; want once (dropped %d ordinary events)", len(evs), err, eng.Stats().EventsDropped)
		}
	})
}
