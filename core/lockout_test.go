package core_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/wardenkit/warden/core"
	"github.com/wardenkit/warden/core/attempt"
	"github.com/wardenkit/warden/core/memstore"
	"github.com/wardenkit/warden/core/rule"
	"github.com/wardenkit/warden/internal/textutil"
)

// loginEnv is an engine with a visible in-memory attempt counter.
type loginEnv struct {
	*env
	lo      *core.Lockout
	counter *attempt.Memory
}

func newLoginEnv(t *testing.T, opts ...core.Option) *loginEnv {
	t.Helper()
	m, err := attempt.NewMemory(0)
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, append([]core.Option{core.WithAttemptCounter(m)}, opts...)...)
	return &loginEnv{env: e, lo: e.eng.Lockout(), counter: m}
}

func try(user, ip string) core.Attempt {
	return core.Attempt{Username: user, IP: netip.MustParseAddr(ip)}
}

// begin starts an attempt that must be allowed.
func (e *loginEnv) begin(user, ip string) *core.Ticket {
	e.t.Helper()
	tk, err := e.lo.Begin(e.ctx(), try(user, ip))
	if err != nil {
		e.t.Fatalf("Begin(%q, %s): %v", user, ip, err)
	}
	return tk
}

// fail makes one failed attempt that must be allowed to reach the check.
func (e *loginEnv) fail(user, ip string) {
	e.t.Helper()
	if err := e.lo.Fail(e.ctx(), e.begin(user, ip)); err != nil {
		e.t.Fatalf("Fail: %v", err)
	}
}

// locked asserts that an attempt is refused and returns the refusal.
func (e *loginEnv) locked(user, ip string) *core.LockedError {
	e.t.Helper()
	tk, err := e.lo.Begin(e.ctx(), try(user, ip))
	var le *core.LockedError
	if !errors.As(err, &le) || !errors.Is(err, core.ErrLocked) || tk != nil {
		e.t.Fatalf("Begin(%q, %s) = %v, %v; want a *LockedError", user, ip, tk, err)
	}
	return le
}

func (e *loginEnv) succeed(user, ip, userID string) core.LoginVerdict {
	e.t.Helper()
	v, err := e.lo.Succeed(e.ctx(), e.begin(user, ip), core.Success{UserID: userID})
	if err != nil {
		e.t.Fatalf("Succeed: %v", err)
	}
	return v
}

// waitRecords waits, inside a synctest bubble, until the event writer is
// idle, and checks that n lockout records were stored.
func (e *loginEnv) waitRecords(n int64) {
	e.t.Helper()
	synctest.Wait()
	if got := e.lo.Stats().RecordsWritten; got != n {
		e.t.Fatalf("%d lockout records stored, want %d", got, n)
	}
}

func countEvents(evs []core.Event, a core.Action) (n int64) {
	for _, ev := range evs {
		if ev.Action == a {
			n += ev.Count
		}
	}
	return n
}

// lockouts closes the engine (flushing events and lockout records) and
// returns the LOCKOUT events and the stored lockout records.
func (e *loginEnv) lockouts() ([]core.Event, []core.LockoutRecord) {
	e.t.Helper()
	evs := e.events()
	var out []core.Event
	for _, ev := range evs {
		if ev.Action == core.ActionLockout {
			out = append(out, ev)
		}
	}
	recs, err := e.store.Lockouts(e.ctx(), core.LockoutQuery{})
	if err != nil {
		e.t.Fatal(err)
	}
	return out, recs
}

// Reference §5.7, the 100x smoke test, at the core level.
func TestLockoutSmoke(t *testing.T) {
	t.Run("no_whitelist_locks_at_the_5th_failure", func(t *testing.T) {
		e := newLoginEnv(t)
		for range 4 {
			e.fail("alice", "203.0.113.7")
		}
		e.fail("alice", "203.0.113.7") // the 5th failure locks
		le := e.locked("alice", "203.0.113.7")
		if want := e.clock.Now().Add(15 * time.Minute); !le.Until.Equal(want) || le.RetryAfter != 15*time.Minute {
			t.Fatalf("LockedError = %+v; want until %v, retry after 15m", le, want)
		}
		// The correct password is refused too: Begin never lets it through.
		for range 10 {
			e.locked("alice", "203.0.113.7")
		}
		// Another address for the same user is not locked (username+IP key).
		e.succeed("alice", "198.51.100.1", "1")
		evs, recs := e.lockouts()
		if len(evs) != 1 || evs[0].Count != 1 {
			t.Fatalf("LOCKOUT events = %+v; want exactly one", evs)
		}
		ev := evs[0]
		if ev.IP != "203.0.113.7" || ev.UserEmail != "alice" || ev.Severity != core.SeverityHigh || !strings.Contains(ev.Details, "5 failed attempts") {
			t.Fatalf("LOCKOUT event = %+v", ev)
		}
		if len(recs) != 1 || recs[0].Username != "alice" || recs[0].IP != "203.0.113.7" || recs[0].Scope != core.LockoutByUserAndIP ||
			recs[0].Failures != 5 || recs[0].Limit != 5 || !recs[0].Until.Equal(recs[0].LockedAt.Add(15*time.Minute)) {
			t.Fatalf("lockout records = %+v", recs)
		}
		if st := e.lo.Stats(); st.Lockouts != 1 || st.Refused != 11 || st.RecordsWritten != 1 {
			t.Fatalf("stats = %+v", st)
		}
	})

	lookup := core.WithUserLookup(func(_ context.Context, name string) (string, bool) {
		switch strings.ToLower(name) {
		case "boss", "boss@example.com": // username, then e-mail
			return "42", true
		}
		return "", false
	})
	bypassCases := []struct {
		name, user, ip string
		policy         core.WhitelistPolicy
		setup          func(*loginEnv)
	}{
		{"whitelisted_ip", "anyone", "203.0.113.7", core.WhitelistStandard, func(e *loginEnv) {
			put(e.env, e.eng.Rules().WhitelistedIPs(), rule.WhitelistedIP{Network: "203.0.113.7"})
		}},
		{"whitelisted_network", "anyone", "10.1.2.3", core.WhitelistStandard, func(e *loginEnv) {
			put(e.env, e.eng.Rules().WhitelistedIPs(), rule.WhitelistedIP{Network: "10.0.0.0/8"})
		}},
		{"opt_in_user_ip_block_exemption", "boss", "203.0.113.7", core.WhitelistBypass, func(e *loginEnv) {
			put(e.env, e.eng.Rules().WhitelistedUsers(), rule.WhitelistedUser{UserID: "42", Exemption: rule.ExemptIPBlock})
		}},
		{"opt_in_user_by_email", "Boss@Example.com", "203.0.113.7", core.WhitelistBypass, func(e *loginEnv) {
			put(e.env, e.eng.Rules().WhitelistedUsers(), rule.WhitelistedUser{UserID: "42", Exemption: rule.ExemptRateLimit})
		}},
	}
	for _, c := range bypassCases {
		t.Run("bypass_"+c.name, func(t *testing.T) {
			e := newLoginEnv(t, lookup, core.WithWhitelistPolicy(c.policy))
			c.setup(e)
			for range 100 {
				tk := e.begin(c.user, c.ip)
				if !tk.Bypassed() {
					t.Fatal("whitelisted attempt not bypassed")
				}
				if err := e.lo.Fail(e.ctx(), tk); err != nil {
					t.Fatal(err)
				}
			}
			if n := e.counter.Len(); n != 0 {
				t.Fatalf("bypassed failures were recorded: %d counter keys", n)
			}
			if v := e.succeed(c.user, c.ip, "42"); v != core.LoginAllow {
				t.Fatalf("correct password after 100 failures: %v", v)
			}
			evs, recs := e.lockouts()
			if len(evs) != 0 || len(recs) != 0 {
				t.Fatalf("whitelisted failures made lockouts: %+v %+v", evs, recs)
			}
		})
	}
	// The attacker chooses the username: by default a user exemption other
	// than "all" does not touch login protection, and "all" only raises the
	// limit to 10 × L.
	for _, ex := range []rule.Exemption{rule.ExemptIPBlock, rule.ExemptGeoBlock, rule.ExemptRateLimit} {
		t.Run("user_exemption_"+string(ex)+"_is_no_licence_to_guess", func(t *testing.T) {
			e := newLoginEnv(t, lookup)
			put(e.env, e.eng.Rules().WhitelistedUsers(), rule.WhitelistedUser{UserID: "42", Exemption: ex})
			for range 5 {
				e.fail("boss", "203.0.113.7")
			}
			e.locked("boss", "203.0.113.7")
		})
	}
	t.Run("user_exemption_all_raises_the_limit", func(t *testing.T) {
		e := newLoginEnv(t, lookup)
		put(e.env, e.eng.Rules().WhitelistedUsers(), rule.WhitelistedUser{UserID: "42", Exemption: rule.ExemptAll})
		checked := 0
		for range 200 {
			tk, err := e.lo.Begin(e.ctx(), try("boss", "203.0.113.7"))
			if err != nil {
				continue
			}
			checked++
			if tk.Bypassed() {
				t.Fatal("a user exemption bypassed the lockout")
			}
			if err := e.lo.Fail(e.ctx(), tk); err != nil {
				t.Fatal(err)
			}
		}
		if checked != 50 {
			t.Fatalf("%d of 200 guesses reached the password check; want 10 × 5 = 50", checked)
		}
	})

	t.Run("expired_whitelist_does_not_bypass", func(t *testing.T) {
		e := newLoginEnv(t, lookup)
		put(e.env, e.eng.Rules().WhitelistedUsers(), rule.WhitelistedUser{UserID: "42", ExpiresAt: e.clock.Now().Add(time.Minute)})
		e.clock.Add(2 * time.Minute)
		for range 5 {
			e.fail("boss", "203.0.113.7")
		}
		e.locked("boss", "203.0.113.7")
	})
	t.Run("disabled_whitelist_does_not_bypass", func(t *testing.T) {
		e := newLoginEnv(t, lookup)
		put(e.env, e.eng.Rules().WhitelistedUsers(), rule.WhitelistedUser{UserID: "42", Disabled: true})
		for range 5 {
			e.fail("boss", "203.0.113.7")
		}
		e.locked("boss", "203.0.113.7")
	})
	t.Run("no_lookup_username_is_the_user_id", func(t *testing.T) {
		e := newLoginEnv(t, core.WithWhitelistPolicy(core.WhitelistBypass))
		put(e.env, e.eng.Rules().WhitelistedUsers(), rule.WhitelistedUser{UserID: "admin@example.com"})
		for range 20 {
			e.fail(" Admin@Example.com ", "203.0.113.7")
		}
		if e.counter.Len() != 0 {
			t.Fatal("failures recorded")
		}
	})
}

func TestLockoutWhitelistRaisesLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newLoginEnv(t, core.WithWhitelistPolicy(core.WhitelistRaisesLimit),
			core.WithUserLookup(func(_ context.Context, name string) (string, bool) { return "id-" + name, true }))
		put(e.env, e.eng.Rules().WhitelistedUsers(), rule.WhitelistedUser{UserID: "id-boss", Exemption: rule.ExemptAll})
		for i := range 49 {
			tk := e.begin("boss", "203.0.113.7")
			if tk.Bypassed() {
				t.Fatalf("attempt %d bypassed under WhitelistRaisesLimit", i)
			}
			if err := e.lo.Fail(e.ctx(), tk); err != nil {
				t.Fatal(err)
			}
		}
		if e.counter.Len() == 0 {
			t.Fatal("failures of a whitelisted user not recorded")
		}
		e.fail("boss", "203.0.113.7") // the 50th: 10 × 5
		e.locked("boss", "203.0.113.7")
		// A user who is not whitelisted keeps the normal limit.
		for range 5 {
			e.fail("carol", "198.51.100.1")
		}
		e.locked("carol", "198.51.100.1")
		e.waitRecords(2)
		locked, err := e.lo.ListLocked(e.ctx(), 0)
		if err != nil || len(locked) != 2 {
			t.Fatalf("Locked = %+v, %v; want boss and carol", locked, err)
		}
		_, recs := e.lockouts()
		if len(recs) != 2 || recs[1].Username != "uid:id-boss" || recs[1].Limit != 50 {
			t.Fatalf("records = %+v; want boss locked at limit 50", recs)
		}
	})
}

func TestLockoutSettingsApplyToExistingCounters(t *testing.T) {
	const ip = "203.0.113.7"
	t.Run("lowered_limit_locks_at_once", func(t *testing.T) {
		e := newLoginEnv(t)
		for range 3 {
			e.fail("alice", ip)
		}
		e.settings(func(s *core.Settings) { s.MaxLoginAttempts = 3 })
		le := e.locked("alice", ip)
		// Locked as of the 3rd failure, which happened at the same instant.
		if !le.Until.Equal(e.clock.Now().Add(15 * time.Minute)) {
			t.Fatalf("until %v", le.Until)
		}
		e.locked("alice", ip)
		evs, recs := e.lockouts()
		if countEvents(evs, core.ActionLockout) != 1 || len(recs) != 1 {
			t.Fatalf("lowered limit: %d LOCKOUT events, %d records; want 1 and 1", countEvents(evs, core.ActionLockout), len(recs))
		}
	})
	t.Run("raised_limit_unlocks_at_once", func(t *testing.T) {
		e := newLoginEnv(t)
		for range 5 {
			e.fail("alice", ip)
		}
		e.locked("alice", ip)
		e.settings(func(s *core.Settings) { s.MaxLoginAttempts = 7 })
		e.fail("alice", ip) // 6th
		e.fail("alice", ip) // 7th locks again
		e.locked("alice", ip)
		evs, _ := e.lockouts()
		if countEvents(evs, core.ActionLockout) != 2 {
			t.Fatalf("LOCKOUT events = %d; want 2 (two distinct lockouts)", countEvents(evs, core.ActionLockout))
		}
	})
	t.Run("shorter_cooloff_ends_the_lock", func(t *testing.T) {
		e := newLoginEnv(t)
		for range 5 {
			e.fail("alice", ip)
		}
		e.clock.Add(10 * time.Minute)
		if le := e.locked("alice", ip); le.RetryAfter != 5*time.Minute {
			t.Fatalf("retry after %v, want 5m", le.RetryAfter)
		}
		e.settings(func(s *core.Settings) { s.LockoutCooloffMinutes = 5 })
		e.succeed("alice", ip, "1")
	})
	t.Run("longer_cooloff_extends_the_lock", func(t *testing.T) {
		e := newLoginEnv(t)
		for range 5 {
			e.fail("alice", ip)
		}
		e.clock.Add(16 * time.Minute)
		e.settings(func(s *core.Settings) { s.LockoutCooloffMinutes = 60 })
		if le := e.locked("alice", ip); le.RetryAfter != 44*time.Minute {
			t.Fatalf("retry after %v, want 44m", le.RetryAfter)
		}
	})
	t.Run("cooloff_zero_locks_until_unlocked", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			e := newLoginEnv(t)
			e.settings(func(s *core.Settings) { s.LockoutCooloffMinutes = 0 })
			for range 5 {
				e.fail("alice", ip)
			}
			e.clock.Add(30 * 24 * time.Hour)
			le := e.locked("alice", ip)
			if !le.Until.IsZero() || le.RetryAfter != time.Hour {
				t.Fatalf("permanent lock = %+v; want zero Until, 1h hint", le)
			}
			e.waitRecords(1)
			n, err := e.lo.Unlock(e.ctx(), core.UnlockRequest{Username: "ALICE", By: "ops"})
			if err != nil || n != 1 {
				t.Fatalf("Unlock = %d, %v", n, err)
			}
			e.succeed("alice", ip, "1")
		})
	})
	t.Run("lock_ends_and_counter_starts_afresh", func(t *testing.T) {
		e := newLoginEnv(t)
		for range 5 {
			e.fail("alice", ip)
		}
		e.clock.Add(15 * time.Minute)
		for range 4 {
			e.fail("alice", ip)
		}
		e.fail("alice", ip)
		e.locked("alice", ip)
	})
	t.Run("failures_below_the_limit_expire_after_24h", func(t *testing.T) {
		e := newLoginEnv(t)
		for range 4 {
			e.fail("alice", ip)
			e.clock.Add(5 * time.Hour) // a slow attacker: still within 24 h of the last
		}
		e.fail("alice", ip)
		e.locked("alice", ip)
		e2 := newLoginEnv(t)
		for range 4 {
			e2.fail("bob", ip)
		}
		e2.clock.Add(24 * time.Hour)
		for range 4 {
			e2.fail("bob", ip)
		}
		e2.begin("bob", ip)
	})
	t.Run("attempt_expiry_expires_each_failure", func(t *testing.T) {
		e := newLoginEnv(t)
		e.settings(func(s *core.Settings) { s.AttemptExpiry = true })
		for range 4 {
			e.fail("alice", ip)
			e.clock.Add(5 * time.Minute)
		}
		// Failures at 0, 5, 10, 15 min; now 20 min: the first two expired.
		e.fail("alice", ip)
		e.fail("alice", ip)
		e.begin("alice", ip) // 4 failures + this reservation: no lock yet
	})
}

func TestLockoutReservationTimeout(t *testing.T) {
	const ip = "203.0.113.7"
	e := newLoginEnv(t)
	for range 5 {
		e.begin("alice", ip) // the handler never reports
	}
	le := e.locked("alice", ip) // full of reservations
	if le.RetryAfter != time.Minute {
		t.Fatalf("retry after %v, want 1m (the oldest reservation times out)", le.RetryAfter)
	}
	e.clock.Add(59 * time.Second)
	e.locked("alice", ip)
	e.clock.Add(time.Second)
	// The five reservations are failures now, made at +60 s: locked.
	le = e.locked("alice", ip)
	if le.RetryAfter != 15*time.Minute {
		t.Fatalf("retry after %v, want 15m from the timeout", le.RetryAfter)
	}
	evs, recs := e.lockouts()
	if countEvents(evs, core.ActionLockout) != 1 || len(recs) != 1 {
		t.Fatalf("%d LOCKOUT events, %d records; want 1 and 1", countEvents(evs, core.ActionLockout), len(recs))
	}

	t.Run("late_fail_is_not_counted_twice", func(t *testing.T) {
		e := newLoginEnv(t, core.WithLockoutKeys(core.LockoutByIP))
		e.settings(func(s *core.Settings) { s.MaxLoginAttempts = 1 }) // IP limit 10
		t1 := e.begin("alice", ip)
		e.clock.Add(61 * time.Second)
		for range 8 {
			e.fail("x", ip) // the first of these times t1 out into a failure: 9 in all
		}
		if err := e.lo.Fail(e.ctx(), t1); err != nil {
			t.Fatal(err)
		}
		e.begin("y", ip) // 9 failures, not 10
	})
	t.Run("late_fail_of_an_untouched_reservation_counts_once", func(t *testing.T) {
		e := newLoginEnv(t)
		e.settings(func(s *core.Settings) { s.MaxLoginAttempts = 2 })
		t1 := e.begin("alice", ip)
		e.clock.Add(61 * time.Second)
		if err := e.lo.Fail(e.ctx(), t1); err != nil {
			t.Fatal(err)
		}
		e.fail("alice", ip) // the second failure locks
		e.locked("alice", ip)
	})
	t.Run("late_success_takes_the_failure_back", func(t *testing.T) {
		e := newLoginEnv(t, core.WithLockoutKeys(core.LockoutByIP))
		e.settings(func(s *core.Settings) { s.MaxLoginAttempts = 1 }) // IP limit 10
		tk := e.begin("alice", ip)
		for range 9 {
			e.fail("x", ip)
		}
		e.clock.Add(61 * time.Second)
		if _, err := e.lo.Succeed(e.ctx(), tk, core.Success{UserID: "1"}); err != nil {
			t.Fatal(err)
		}
		e.fail("y", ip) // 10th failure: the late success did not count
		e.locked("z", ip)
	})
}

func TestLockoutSuccessKeepsIPFailures(t *testing.T) {
	const ip = "203.0.113.7"
	e := newLoginEnv(t)
	// Password spraying: one failure each on 49 accounts from one address.
	for i := range 49 {
		e.fail(fmt.Sprintf("user%d", i), ip)
	}
	// The attacker owns one valid account and logs in with it.
	e.succeed("mallory", ip, "666")
	e.fail("user49", ip) // the 50th failure from the address: 10 × 5
	le := e.locked("somebody-else", ip)
	if le.RetryAfter != 15*time.Minute {
		t.Fatalf("retry after %v", le.RetryAfter)
	}
	evs, recs := e.lockouts()
	if countEvents(evs, core.ActionLockout) != 1 || len(recs) != 1 || recs[0].Scope != core.LockoutByIP || recs[0].Username != "" || recs[0].Limit != 50 {
		t.Fatalf("events %+v, records %+v; want one IP lockout at 50", evs, recs)
	}

	t.Run("success_clears_the_username_key", func(t *testing.T) {
		e := newLoginEnv(t)
		for range 4 {
			e.fail("alice", ip)
		}
		e.succeed("alice", ip, "1")
		for range 4 {
			e.fail("alice", ip)
		}
		e.begin("alice", ip)
	})
}

func TestLockoutUnlock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newLoginEnv(t, core.WithLockoutKeys(core.LockoutByUserAndIP, core.LockoutByIP, core.LockoutByUser))
		for i := range 5 {
			e.fail("alice", fmt.Sprintf("198.51.100.%d", i+1)) // username key locks at 5
		}
		e.locked("alice", "192.0.2.200")
		for range 5 {
			e.fail("bob", "203.0.113.7") // bob's pair and bob's username
		}
		for i := range 45 {
			e.fail(fmt.Sprintf("spray%d", i), "203.0.113.7") // the address reaches 50
		}
		e.locked("anyone", "203.0.113.7")

		e.waitRecords(4) // records are written in the background
		locked, err := e.lo.ListLocked(e.ctx(), 0)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, r := range locked {
			got = append(got, fmt.Sprintf("%s:%s:%s", r.Scope, r.Username, r.IP))
		}
		want := []string{"ip::203.0.113.7", "user:bob:", "user_ip:bob:203.0.113.7", "user:alice:"}
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Fatalf("Locked = %v, want %v", got, want)
		}

		if _, err := e.lo.Unlock(e.ctx(), core.UnlockRequest{}); !errors.Is(err, core.ErrInvalid) {
			t.Fatalf("empty unlock: %v", err)
		}
		if _, err := e.lo.Unlock(e.ctx(), core.UnlockRequest{IP: "not an ip"}); !errors.Is(err, core.ErrInvalid) {
			t.Fatalf("bad ip: %v", err)
		}
		n, err := e.lo.Unlock(e.ctx(), core.UnlockRequest{Username: "Alice", By: "admin"})
		if err != nil || n != 1 {
			t.Fatalf("Unlock(alice) = %d, %v", n, err)
		}
		e.begin("alice", "192.0.2.200")
		// Unlocking the address lifts the address key and bob's pair, not bob's
		// username key.
		n, err = e.lo.Unlock(e.ctx(), core.UnlockRequest{IP: "203.0.113.7"})
		if err != nil || n != 2 {
			t.Fatalf("Unlock(ip) = %d, %v; want 2 records", n, err)
		}
		e.begin("anyone", "203.0.113.7")
		e.locked("bob", "192.0.2.1")
		n, err = e.lo.Unlock(e.ctx(), core.UnlockRequest{Username: "bob"})
		if err != nil || n != 1 {
			t.Fatalf("Unlock(bob) = %d, %v", n, err)
		}
		e.begin("bob", "192.0.2.1")
		if l, _ := e.lo.ListLocked(e.ctx(), 0); len(l) != 0 {
			t.Fatalf("still locked: %+v", l)
		}
		recs, _ := e.lo.Records(e.ctx(), core.LockoutQuery{Username: "ALICE"})
		if len(recs) != 1 || recs[0].ReleasedBy != "admin" || recs[0].ReleasedAt.IsZero() {
			t.Fatalf("alice's record = %+v", recs)
		}
	})
}

func TestLockoutKeysAndAddresses(t *testing.T) {
	cases := []struct {
		name   string
		a, b   string // failures from a lock out b
		sameIP bool
	}{
		{"ipv6_rotation_same_64", "2001:db8:1:2::1", "2001:db8:1:2:ffff::9", true},
		{"ipv6_other_64", "2001:db8:1:2::1", "2001:db8:1:3::1", false},
		{"nat64_is_its_ipv4", "64:ff9b::cb00:7107", "203.0.113.7", true},
		{"ipv4_mapped_is_ipv4", "::ffff:203.0.113.7", "203.0.113.7", true},
		{"ipv4_neighbour", "203.0.113.7", "203.0.113.8", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newLoginEnv(t)
			for range 5 {
				e.fail("alice", c.a)
			}
			_, err := e.lo.Begin(e.ctx(), try("alice", c.b))
			if locked := errors.Is(err, core.ErrLocked); locked != c.sameIP {
				t.Fatalf("from %s after 5 failures from %s: %v; want locked=%v", c.b, c.a, err, c.sameIP)
			}
		})
	}
	t.Run("client_ip_from_the_request_via_trusted_proxy", func(t *testing.T) {
		e := newLoginEnv(t, core.WithTrustedProxies(netip.MustParsePrefix("10.0.0.0/8")))
		req := func() *http.Request {
			r := httptest.NewRequest(http.MethodPost, "http://example.com/login", nil)
			r.RemoteAddr = "10.0.0.1:5555"
			r.Header.Set("X-Forwarded-For", "1.2.3.4, 203.0.113.7")
			return r
		}
		for range 5 {
			tk, err := e.lo.Begin(e.ctx(), core.Attempt{Username: "alice", HTTP: req()})
			if err != nil {
				t.Fatal(err)
			}
			if tk.IP() != netip.MustParseAddr("203.0.113.7") {
				t.Fatalf("client IP %v, want the right-most untrusted", tk.IP())
			}
			_ = e.lo.Fail(e.ctx(), tk)
		}
		e.locked("alice", "203.0.113.7")
		evs, _ := e.lockouts()
		if len(evs) != 1 || evs[0].Path != "/login" || evs[0].Method != http.MethodPost {
			t.Fatalf("event = %+v", evs)
		}
	})
	t.Run("no_address_keys_on_the_username", func(t *testing.T) {
		e := newLoginEnv(t)
		for range 5 {
			if err := e.lo.Fail(e.ctx(), mustBegin(t, e.lo, core.Attempt{Username: "alice"})); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := e.lo.Begin(e.ctx(), core.Attempt{Username: "alice"}); !errors.Is(err, core.ErrLocked) {
			t.Fatalf("5 failures without address: %v", err)
		}
		mustBegin(t, e.lo, core.Attempt{Username: "bob"}) // no shared address bucket
		evs, _ := e.lockouts()
		if len(evs) != 1 || evs[0].IP != "" {
			t.Fatalf("event = %+v; want IP empty, not \"unknown\"", evs)
		}
	})
}

func mustBegin(t *testing.T, lo *core.Lockout, a core.Attempt) *core.Ticket {
	t.Helper()
	tk, err := lo.Begin(context.Background(), a)
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

func TestNormalizeUsername(t *testing.T) {
	huge := strings.Repeat("A", 10<<20)
	cases := []struct {
		name, in, want string
	}{
		{"empty", "", ""},
		{"blank", " \t\r\n ", ""},
		{"trim_and_lower", "  Alice@Example.COM ", "alice@example.com"},
		{"unicode_fold_and_accents", "ÉLODIE", "elodie"},
		{"accent", "ádmin", "admin"},
		{"dotted_capital_i", "ADMİN", "admin"},
		{"full_width", "ａｄｍｉｎ", "admin"},
		{"zero_width_space", "adm\u200bin", "admin"},
		{"soft_hyphen_and_joiner", "ad\u00admi\u200dn", "admin"},
		{"nul_removed", "al\x00ice", "alice"},
		{"controls_removed", "al\x1bice\x7f", "alice"},
		{"invalid_utf8_replaced", "a\xffb", "a\ufffdb"},
		{"huge_cut_to_150", huge, strings.Repeat("a", 150)},
		{"cut_on_runes", strings.Repeat("漢", 200), strings.Repeat("漢", 150)},
		{"leading_space_then_huge", strings.Repeat(" ", 1000) + huge, strings.Repeat("a", 150)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := core.NormalizeUsername(c.in); got != c.want {
				t.Fatalf("NormalizeUsername = %q (%d bytes), want %q", textutil.Truncate(got, 40), len(got), textutil.Truncate(c.want, 40))
			}
		})
	}
}

func TestLockoutBadUsernames(t *testing.T) {
	e := newLoginEnv(t)
	bad := []string{"", strings.Repeat("x", 1<<20), "\x00\x01\xfe\xff", strings.Repeat("\xff", 5000)}
	for _, u := range bad {
		tk, err := e.lo.Begin(e.ctx(), try(u, "203.0.113.7"))
		if err != nil {
			t.Fatalf("Begin(%d bytes): %v", len(u), err)
		}
		if n := len([]rune(tk.Username())); n > core.MaxUsernameLen {
			t.Fatalf("username kept %d runes", n)
		}
		if err := e.lo.Fail(e.ctx(), tk); err != nil {
			t.Fatal(err)
		}
	}
	// Differently cased and padded names are one account.
	for _, u := range []string{"Alice", " alice", "ALICE ", "alice", "aLiCe"} {
		e.fail(u, "198.51.100.1")
	}
	e.locked("alice", "198.51.100.1")
	// A 1 MiB username that locks is stored cut (reference B12).
	for range 5 {
		e.fail(strings.Repeat("y", 1<<20), "198.51.100.2")
	}
	evs, recs := e.lockouts()
	for _, ev := range evs {
		if len(ev.UserEmail) > rule.MaxEmailLen {
			t.Fatalf("event username %d bytes", len(ev.UserEmail))
		}
	}
	if len(recs) != 2 || len(recs[0].Username) != core.MaxUsernameLen {
		t.Fatalf("records = %d; newest username %d bytes", len(recs), len(recs[0].Username))
	}
}

func TestLockoutTicketUse(t *testing.T) {
	e := newLoginEnv(t)
	tk := e.begin("alice", "203.0.113.7")
	if err := e.lo.Fail(e.ctx(), tk); err != nil {
		t.Fatal(err)
	}
	if err := e.lo.Fail(e.ctx(), tk); !errors.Is(err, core.ErrTicketUsed) {
		t.Fatalf("second Fail: %v", err)
	}
	if _, err := e.lo.Succeed(e.ctx(), tk, core.Success{UserID: "1"}); !errors.Is(err, core.ErrTicketUsed) {
		t.Fatalf("Succeed after Fail: %v", err)
	}
	if err := e.lo.Fail(e.ctx(), nil); !errors.Is(err, core.ErrInvalid) {
		t.Fatalf("Fail(nil): %v", err)
	}
	// A cancelled request still reports its failure.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for range 5 {
		tk := e.begin("bob", "203.0.113.7")
		cancel()
		if err := e.lo.Fail(ctx, tk); err != nil {
			t.Fatalf("Fail with a cancelled context: %v", err)
		}
	}
	e.locked("bob", "203.0.113.7")
}

// flakyCounter fails every call while down is set.
type flakyCounter struct {
	attempt.Counter
	down atomic.Bool
}

var errCounterDown = errors.New("counter down")

func (f *flakyCounter) Reserve(ctx context.Context, now time.Time, p attempt.Policy, tok uint64, k []attempt.Key) (bool, []attempt.State, error) {
	if f.down.Load() {
		return false, nil, errCounterDown
	}
	return f.Counter.Reserve(ctx, now, p, tok, k)
}

func (f *flakyCounter) Fail(ctx context.Context, now time.Time, p attempt.Policy, tok uint64, k []attempt.Key) ([]attempt.State, error) {
	if f.down.Load() {
		return nil, errCounterDown
	}
	return f.Counter.Fail(ctx, now, p, tok, k)
}

func TestLockoutCounterErrorFollowsFailPolicy(t *testing.T) {
	newFlaky := func(t *testing.T, opts ...core.Option) (*loginEnv, *flakyCounter) {
		m, _ := attempt.NewMemory(0)
		f := &flakyCounter{Counter: m}
		e := newEnv(t, append([]core.Option{core.WithAttemptCounter(f)}, opts...)...)
		f.down.Store(true)
		return &loginEnv{env: e, lo: e.eng.Lockout(), counter: m}, f
	}
	t.Run("closed_by_default", func(t *testing.T) {
		e, _ := newFlaky(t)
		_, err := e.lo.Begin(e.ctx(), try("alice", "203.0.113.7"))
		if !errors.Is(err, errCounterDown) || errors.Is(err, core.ErrLocked) {
			t.Fatalf("Begin with the counter down: %v; want the counter's error, not a lockout", err)
		}
		if st := e.lo.Stats(); st.CounterErrors != 1 {
			t.Fatalf("stats = %+v", st)
		}
		if e.eng.Stats().FailPolicyTrips != 1 {
			t.Fatalf("engine trips = %d", e.eng.Stats().FailPolicyTrips)
		}
	})
	t.Run("open", func(t *testing.T) {
		e, _ := newFlaky(t, core.WithLockoutFailPolicy(core.FailOpen))
		for range 10 {
			tk := e.begin("alice", "203.0.113.7")
			if err := e.lo.Fail(e.ctx(), tk); err != nil {
				t.Fatal(err)
			}
		}
		if st := e.lo.Stats(); st.CounterErrors != 10 {
			t.Fatalf("stats = %+v", st)
		}
	})
	t.Run("engine_policy_is_the_default", func(t *testing.T) {
		e, _ := newFlaky(t, core.WithFailPolicy(core.FailOpen))
		e.begin("alice", "203.0.113.7")
	})
	t.Run("fallback_still_locks", func(t *testing.T) {
		e, f := newFlaky(t, core.WithLockoutFailPolicy(core.FailFallback))
		for range 5 {
			e.fail("alice", "203.0.113.7")
		}
		e.locked("alice", "203.0.113.7")
		if e.counter.Len() != 0 {
			t.Fatal("the primary counter was written while down")
		}
		f.down.Store(false)
		e.begin("alice", "203.0.113.7") // the primary never saw the failures
	})
	t.Run("fail_error_is_returned", func(t *testing.T) {
		e, f := newFlaky(t)
		f.down.Store(false)
		tk := e.begin("alice", "203.0.113.7")
		f.down.Store(true)
		if err := e.lo.Fail(e.ctx(), tk); !errors.Is(err, errCounterDown) {
			t.Fatalf("Fail: %v", err)
		}
	})
}

// 1,000 concurrent failed attempts on one account: exactly the limit reach
// the password check.
func TestLockoutConcurrentAttempts(t *testing.T) {
	cases := []struct {
		name  string
		opts  []core.Option
		ip    func(i int) string
		limit int
	}{
		{"one_address", nil, func(int) string { return "203.0.113.7" }, 5},
		{"distributed_username_key", []core.Option{core.WithLockoutKeys(core.LockoutByUser, core.LockoutByUserAndIP, core.LockoutByIP)},
			func(i int) string { return fmt.Sprintf("10.%d.%d.1", i/250, i%250) }, 5},
		{"spraying_address_key", nil, func(int) string { return "198.51.100.9" }, 50},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newLoginEnv(t, c.opts...)
			// All 1,000 arrive before any password check has failed: only
			// the reservations stand between them and the check.
			var mu sync.Mutex
			var tickets []*core.Ticket
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := range 1000 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					user := "alice"
					if c.limit == 50 {
						user = fmt.Sprintf("user%d", i)
					}
					tk, err := e.lo.Begin(context.Background(), try(user, c.ip(i)))
					if err != nil {
						if !errors.Is(err, core.ErrLocked) {
							t.Error(err)
						}
						return
					}
					mu.Lock()
					tickets = append(tickets, tk)
					mu.Unlock()
				}()
			}
			close(start)
			wg.Wait()
			if n := len(tickets); n != c.limit {
				t.Fatalf("%d attempts reached the password check; want exactly %d", n, c.limit)
			}
			for _, tk := range tickets {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if err := e.lo.Fail(context.Background(), tk); err != nil {
						t.Error(err)
					}
				}()
			}
			wg.Wait()
			// Once the failures are in, the account stays locked.
			if _, err := e.lo.Begin(context.Background(), try("alice", c.ip(0))); !errors.Is(err, core.ErrLocked) {
				t.Fatalf("after the limit: %v", err)
			}
			evs, _ := e.lockouts()
			if n := countEvents(evs, core.ActionLockout); n != 1 {
				t.Fatalf("%d LOCKOUT events; want 1", n)
			}
		})
	}
}

func TestLockoutOptions(t *testing.T) {
	bad := map[string]core.Option{
		"nil_counter":    core.WithAttemptCounter(nil),
		"no_keys":        core.WithLockoutKeys(),
		"unknown_key":    core.WithLockoutKeys("email"),
		"duplicate_key":  core.WithLockoutKeys(core.LockoutByIP, core.LockoutByIP),
		"unknown_policy": core.WithWhitelistPolicy(7),
		"nil_lookup":     core.WithUserLookup(nil),
		"nil_hook":       core.WithLoginHook(nil),
		"bad_fail":       core.WithLockoutFailPolicy(9),
	}
	for name, o := range bad {
		if _, err := core.New(memstore.New(), o, quiet); err == nil {
			t.Errorf("%s: New accepted it", name)
		}
	}
}

// ListLocked right after the failure that locked lists the lock: its record
// may still be queued, and is stored first.
func TestListLockedRightAfterLockout(t *testing.T) {
	for run := range 5 {
		e := newLoginEnv(t)
		for range 5 {
			e.fail("carol", "203.0.113.9")
		}
		locked, err := e.lo.ListLocked(e.ctx(), 0)
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, r := range locked {
			found = found || r.Username == "carol"
		}
		if !found {
			t.Fatalf("run %d: ListLocked right after the lock = %+v; want carol", run, locked)
		}
	}
}
