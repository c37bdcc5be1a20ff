package core_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/wardenkit/warden/core"
	"github.com/wardenkit/warden/core/memstore"
	"github.com/wardenkit/warden/core/rule"
	"github.com/wardenkit/warden/core/tally"
)

// abEngine is a started engine on a memstore inside a synctest bubble, with
// settings changed by set; it is closed when the bubble's test ends.
func abEngine(t *testing.T, set func(*core.Settings), opts ...core.Option) (*core.Engine, *memstore.Store) {
	t.Helper()
	st := memstore.New()
	s := core.DefaultSettings()
	if set != nil {
		set(&s)
	}
	if _, err := st.PutSettings(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	opts = append([]core.Option{core.WithCountryLookup(geoTable), core.WithRebuildInterval(time.Millisecond), quiet}, opts...)
	eng, err := core.New(st, opts...)
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = eng.Close(context.Background()) })
	return eng, st
}

// settle lets the AutoBlocker flush and the engine rebuild.
func settle() { time.Sleep(time.Second); synctest.Wait() }

func lockouts(eng *core.Engine, ip string, n int) {
	for range n {
		eng.RecordEvent(core.Event{Action: core.ActionLockout, IP: ip, UserEmail: "victim"})
	}
}

func blockedRow(t *testing.T, st *memstore.Store, key string) (rule.BlockedIP, bool) {
	t.Helper()
	r, err := st.BlockedIPs().Get(context.Background(), key)
	if errors.Is(err, core.ErrNotFound) {
		return r, false
	}
	if err != nil {
		t.Fatal(err)
	}
	return r, true
}

func denied(eng *core.Engine, ip string) bool {
	d, err := eng.Check(context.Background(), core.Request{HTTP: request(ip, "/")})
	return err == nil && !d.Allowed
}

func abEvents(t *testing.T, st *memstore.Store, a core.Action) []core.Event {
	t.Helper()
	evs, err := st.Events(context.Background(), core.EventQuery{Action: a, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

// Ten denials drawn by an attack tool block its address at once, with the
// count, window and duration named; nine do not.
func TestAutoBlockIPLive(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		eng, st := abEngine(t, nil)
		if _, err := eng.Rules().BlockedUserAgents().Put(context.Background(), rule.BlockedUserAgent{Pattern: "sqlmap"}); err != nil {
			t.Fatal(err)
		}
		settle()
		for range 9 {
			eng.Check(context.Background(), core.Request{HTTP: request("2.2.2.2", "/", ua("sqlmap/1.7"))})
		}
		settle()
		if _, ok := blockedRow(t, st, "2.2.2.2"); ok || denied(eng, "2.2.2.2") {
			t.Fatal("blocked after 9 events; the threshold is 10")
		}
		start := time.Now()
		eng.Check(context.Background(), core.Request{HTTP: request("2.2.2.2", "/", ua("sqlmap/1.7"))})
		settle()
		if !denied(eng, "2.2.2.2") {
			t.Fatal("a normal request from the attacker still passes after the 10th event")
		}
		row, _ := blockedRow(t, st, "2.2.2.2")
		if d := row.ExpiresAt.Sub(start); !row.AutoBlocked || row.AutoBlocks != 1 || d < 24*time.Hour || d > 24*time.Hour+time.Second {
			t.Fatalf("stored row %+v", row)
		}
		if !strings.Contains(row.Reason, "10 weighted events in 1h") {
			t.Fatalf("reason %q", row.Reason)
		}
		_ = eng.Close(context.Background())
		evs := abEvents(t, st, core.ActionAutoBlockIP)
		if len(evs) != 1 || evs[0].IP != "2.2.2.2" || !strings.Contains(evs[0].Details, "10 weighted events in 1h") ||
			!strings.Contains(evs[0].Details, "for 24h0m0s") {
			t.Fatalf("AUTO_BLOCK_IP events: %+v", evs)
		}
		if st := eng.Stats().AutoBlock; st.IPsBlocked != 1 {
			t.Fatalf("stats %+v", st)
		}
	})
}

// Weights decide what counts: by default a blocked e-mail or a suspicious
// login counts nothing, a LOCKOUT one; a weight of 5 makes two events
// enough.
func TestAutoBlockWeights(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		eng, st := abEngine(t, nil)
		for range 20 {
			eng.RecordEvent(core.Event{Action: core.ActionEmailBlock, IP: "3.3.3.3"})
			eng.RecordEvent(core.Event{Action: core.ActionSuspiciousLogin, IP: "3.3.3.3"})
			eng.RecordEvent(core.Event{Action: core.ActionAdmin, IP: "3.3.3.3"})
		}
		settle()
		if _, ok := blockedRow(t, st, "3.3.3.3"); ok {
			t.Fatal("events of weight 0 blocked an address")
		}
		s, _ := eng.Settings(context.Background())
		s.AutoBlockWeights = "lockout=5"
		if _, err := eng.PutSettings(context.Background(), s); err != nil {
			t.Fatal(err)
		}
		settle()
		lockouts(eng, "3.3.3.3", 2)
		settle()
		if _, ok := blockedRow(t, st, "3.3.3.3"); !ok {
			t.Fatal("two LOCKOUT events of weight 5 did not reach the threshold of 10")
		}
		// One folded row of count 10 counts 10 times.
		eng.RecordEvent(core.Event{Action: core.ActionLockout, IP: "3.3.3.4", Count: 2})
		settle()
		if _, ok := blockedRow(t, st, "3.3.3.4"); !ok {
			t.Fatal("an event of count 2 and weight 5 did not count 10")
		}
	})
}

// Whitelisted networks and users are never blocked, allowed countries
// never flagged.
func TestAutoBlockExemptions(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		eng, st := abEngine(t, func(s *core.Settings) { s.AutoBlockCountryThreshold = 5 })
		ctx := context.Background()
		if _, err := eng.Rules().WhitelistedIPs().Put(ctx, rule.WhitelistedIP{Network: "3.3.0.0/16"}); err != nil {
			t.Fatal(err)
		}
		if _, err := eng.Rules().WhitelistedUsers().Put(ctx, rule.WhitelistedUser{UserID: "ops", Exemption: rule.ExemptAll}); err != nil {
			t.Fatal(err)
		}
		if _, err := eng.Rules().AllowedCountries().Put(ctx, rule.AllowedCountry{Code: "CN"}); err != nil {
			t.Fatal(err)
		}
		settle()
		lockouts(eng, "3.3.3.3", 30)
		for range 30 {
			eng.RecordEvent(core.Event{Action: core.ActionLockout, IP: "2.9.9.9", UserEmail: "ops"})
			eng.RecordEvent(core.Event{Action: core.ActionLockout, IP: "1.1.1.1", CountryCode: "CN", UserEmail: "x"})
		}
		settle()
		lockouts(eng, "10.0.0.5", 30)  // a reverse proxy not listed as trusted
		lockouts(eng, "127.0.0.1", 30) // or the machine itself
		settle()
		for _, ip := range []string{"3.3.3.3", "10.0.0.5", "127.0.0.1"} {
			if _, ok := blockedRow(t, st, ip); ok {
				t.Errorf("%s blocked", ip)
			}
		}
		// The username of a failed login is the attacker's to choose: typing
		// a whitelisted user's name must not shield the address.
		if _, ok := blockedRow(t, st, "2.9.9.9"); !ok {
			t.Error("brute force against a whitelisted username was never blocked")
		}
		if _, ok := blockedRow(t, st, "1.1.1.1"); !ok {
			t.Error("1.1.1.1 (not exempt, in an allowed country) not blocked")
		}
		if rows, _ := st.BlockedCountries().List(ctx, core.Query{}); len(rows) != 0 {
			t.Errorf("an allowed country was flagged: %+v", rows)
		}
	})
}

// An IPv6 attacker rotating addresses inside its /64 is one count, and the
// block covers the /64.
func TestAutoBlockIPv6Rotation(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		eng, st := abEngine(t, nil)
		for i := range 10 {
			eng.RecordEvent(core.Event{Action: core.ActionRateLimit, IP: fmt.Sprintf("2001:db8:1:2::%x", i+1)})
		}
		settle()
		if _, ok := blockedRow(t, st, "2001:db8:1:2::/64"); !ok {
			t.Fatal("the /64 was not blocked")
		}
		if !denied(eng, "2001:db8:1:2:ffff::1") || denied(eng, "2001:db8:1:3::1") {
			t.Fatal("the block does not cover exactly the /64")
		}
	})
}

// A repeat offender's next block doubles, up to the cap; re-blocking
// reactivates the inactive row the cleanup or an admin left.
func TestAutoBlockEscalation(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		eng, st := abEngine(t, func(s *core.Settings) { s.AutoBlockMaxDurationHours = 72 })
		ctx := context.Background()
		want := []time.Duration{24 * time.Hour, 48 * time.Hour, 72 * time.Hour, 72 * time.Hour}
		for i, d := range want {
			start := time.Now()
			lockouts(eng, "2.3.4.5", 10)
			settle()
			row, ok := blockedRow(t, st, "2.3.4.5")
			if !ok || row.Disabled || row.AutoBlocks != int64(i+1) {
				t.Fatalf("block %d: row %+v", i+1, row)
			}
			if got := row.ExpiresAt.Sub(start); got < d || got > d+2*time.Second {
				t.Fatalf("block %d lasts %v, want %v", i+1, got, d)
			}
			// An admin lifts it by disabling the row; the history stays.
			row.Disabled = true
			if _, err := eng.Rules().BlockedIPs().Put(ctx, row); err != nil {
				t.Fatal(err)
			}
			settle()
			time.Sleep(time.Hour) // a group is judged once per window
		}
		// An admin re-blocking by hand does not wipe the history.
		if _, err := eng.Rules().BlockedIPs().Put(ctx, rule.BlockedIP{Network: "2.3.4.5", Reason: "manual"}); err != nil {
			t.Fatal(err)
		}
		if row, _ := blockedRow(t, st, "2.3.4.5"); row.AutoBlocks != 4 {
			t.Fatalf("a manual write lowered auto_blocks to %d", row.AutoBlocks)
		}
	})
}

// Dry run (and global report-only) records WOULD_BLOCK and blocks nothing.
func TestAutoBlockDryRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		eng, st := abEngine(t, func(s *core.Settings) { s.AutoBlockDryRun = true })
		lockouts(eng, "2.2.2.9", 12)
		settle()
		if _, ok := blockedRow(t, st, "2.2.2.9"); ok {
			t.Fatal("a dry run blocked")
		}
		_ = eng.Close(context.Background())
		var would []core.Event
		for _, ev := range abEvents(t, st, core.ActionWouldBlock) {
			if strings.HasPrefix(ev.Details, "AUTO_BLOCK_IP: ") {
				would = append(would, ev)
			}
		}
		if len(would) != 1 || would[0].IP != "2.2.2.9" || !strings.Contains(would[0].Details, "would block for 24h") {
			t.Fatalf("WOULD_BLOCK events %+v", would)
		}
		if len(abEvents(t, st, core.ActionAutoBlockIP)) != 0 {
			t.Fatal("AUTO_BLOCK_IP recorded in a dry run")
		}
	})
}

// Countries: in review mode (the default) an inactive row keeps the attack
// count; enabled, the country is blocked with an AUTO_BLOCK_COUNTRY event.
func TestAutoBlockCountry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		eng, st := abEngine(t, func(s *core.Settings) { s.AutoBlockCountryThreshold = 5; s.AutoBlockIPThreshold = 0 })
		ctx := context.Background()
		for range 6 {
			eng.RecordEvent(core.Event{Action: core.ActionRateLimit, IP: "2.0.0.1", CountryCode: "RU"})
		}
		settle()
		row, err := st.BlockedCountries().Get(ctx, "RU")
		if err != nil || !row.Disabled || row.AttackCount != 6 || denied(eng, "2.0.0.1") {
			t.Fatalf("review mode: row %+v, %v", row, err)
		}
		s, _ := eng.Settings(ctx)
		s.AutoBlockCountryEnabled = true
		if _, err := eng.PutSettings(ctx, s); err != nil {
			t.Fatal(err)
		}
		settle()
		eng.RecordEvent(core.Event{Action: core.ActionRateLimit, IP: "2.0.0.1", CountryCode: "RU"})
		settle()
		if row, _ = st.BlockedCountries().Get(ctx, "RU"); row.Disabled || !row.AutoBlocked || !denied(eng, "2.0.0.7") {
			t.Fatalf("enabled: row %+v, request allowed: %v", row, !denied(eng, "2.0.0.7"))
		}
		if _, ok := blockedRow(t, st, "2.0.0.1"); ok {
			t.Fatal("an IP was blocked with its threshold at 0")
		}
		_ = eng.Close(ctx)
		if evs := abEvents(t, st, core.ActionAutoBlockCountry); len(evs) != 1 || evs[0].CountryCode != "RU" {
			t.Fatalf("AUTO_BLOCK_COUNTRY events %+v", evs)
		}
	})
}

// The sweep blocks from stored events (a restart emptied the live counts)
// and takes the larger of the stored and the live count, never their sum.
func TestSweepAutoBlocks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		eng, st := abEngine(t, nil, core.WithEventQueue(1000, time.Minute)) // live events stay queued for the test
		ctx := context.Background()
		now := time.Now()
		at := func(i int) time.Time { return now.Add(-time.Duration(i) * time.Minute) }
		var evs []core.Event
		for i := range 12 {
			evs = append(evs, core.Event{CreatedAt: at(i), Action: core.ActionRateLimit, IP: "2.5.5.5", Count: 1})
		}
		evs = append(evs, core.Event{CreatedAt: now.Add(-2 * time.Hour), Action: core.ActionRateLimit, IP: "2.6.6.6", Count: 50}) // out of the window
		for i := range 6 {
			evs = append(evs, core.Event{CreatedAt: at(i), Action: core.ActionLockout, IP: "2.7.7.7", Count: 1})
		}
		if err := st.AppendEvents(ctx, evs); err != nil {
			t.Fatal(err)
		}
		eng.RecordEvent(core.Event{Action: core.ActionSuspiciousLogin, IP: "2.5.5.5", Count: 3}) // weight 0
		lockouts(eng, "2.5.5.5", 5)                                                              // live 5, stored 12: 12, not 17
		lockouts(eng, "2.7.7.7", 6)                                                              // live 6, stored 6: 6, not 12
		settle()
		got, err := eng.SweepAutoBlocks(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if got.IPs != 1 {
			t.Fatalf("sweep blocked %d groups, want 1", got.IPs)
		}
		for ip, want := range map[string]bool{"2.5.5.5": true, "2.6.6.6": false, "2.7.7.7": false} {
			if _, ok := blockedRow(t, st, ip); ok != want {
				t.Errorf("%s blocked = %v, want %v", ip, ok, want)
			}
		}
		if row, _ := blockedRow(t, st, "2.5.5.5"); !strings.Contains(row.Reason, " 12 weighted events") {
			t.Fatalf("reason %q: want the stored count 12, the larger, not the sum 17", row.Reason)
		}
		// An admin lifts the block; the same stored events never block it again.
		row, _ := blockedRow(t, st, "2.5.5.5")
		row.Disabled = true
		if _, err := eng.Rules().BlockedIPs().Put(ctx, row); err != nil {
			t.Fatal(err)
		}
		for range 3 {
			time.Sleep(5 * time.Minute)
			if _, err := eng.SweepAutoBlocks(ctx); err != nil {
				t.Fatal(err)
			}
			if row, _ := blockedRow(t, st, "2.5.5.5"); !row.Disabled {
				t.Fatalf("a later sweep blocked 2.5.5.5 again from the same events: %+v", row)
			}
		}
		if row, _ := blockedRow(t, st, "2.5.5.5"); !row.Disabled || row.AutoBlocks != 1 {
			t.Fatalf("after the admin lifted it: %+v", row)
		}
	})
}

// A dry run reports a group once per window, however many sweeps and
// flushes see it; the hook sees what the log records.
func TestAutoBlockDryRunOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var hooked []core.Event
		eng, st := abEngine(t, func(s *core.Settings) { s.ReportOnly = true },
			core.WithAutoBlockHook(func(ev core.Event) { hooked = append(hooked, ev) }))
		lockouts(eng, "2.2.3.3", 10)
		settle()
		for range 4 {
			lockouts(eng, "2.2.3.3", 10)
			settle()
			if _, err := eng.SweepAutoBlocks(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
		_ = eng.Close(context.Background())
		n := 0
		for _, ev := range abEvents(t, st, core.ActionWouldBlock) {
			if strings.HasPrefix(ev.Details, "AUTO_BLOCK_IP: ") {
				n++
			}
		}
		if n != 1 || len(hooked) != 1 || hooked[0].Action != core.ActionWouldBlock {
			t.Fatalf("%d WOULD_BLOCK events, hook saw %+v; want one each", n, hooked)
		}
		if _, ok := blockedRow(t, st, "2.2.3.3"); ok {
			t.Fatal("report-only blocked")
		}
	})
}

// Two replicas sharing a counter judge a group once: one block, one event,
// however their flushes interleave.
func TestAutoBlockTwoReplicasOneBlock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := memstore.New()
		bus := core.NewLocalBus()
		shared, _ := tally.NewMemory(0)
		var engs []*core.Engine
		for range 2 {
			eng, err := core.New(st, core.WithBus(bus), core.WithTallyCounter(shared), core.WithRebuildInterval(time.Millisecond), quiet)
			if err != nil {
				t.Fatal(err)
			}
			if err := eng.Start(context.Background()); err != nil {
				t.Fatal(err)
			}
			engs = append(engs, eng)
		}
		for round := range 3 { // each replica crosses the threshold on its own in the same flush
			for _, eng := range engs {
				lockouts(eng, "2.4.4.4", 10+round)
			}
			settle()
		}
		for _, eng := range engs {
			_ = eng.Close(context.Background())
		}
		if evs := abEvents(t, st, core.ActionAutoBlockIP); len(evs) != 1 {
			t.Fatalf("%d AUTO_BLOCK_IP events, want 1", len(evs))
		}
		if row, _ := blockedRow(t, st, "2.4.4.4"); row.AutoBlocks != 1 {
			t.Fatalf("auto_blocks %d, want 1", row.AutoBlocks)
		}
	})
}

// An admin's own row, switched off or report-only, is the admin's decision:
// the AutoBlocker leaves it alone. Review mode updates a flagged country's
// count at most every five minutes.
func TestAutoBlockRespectsAdminRows(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		eng, st := abEngine(t, func(s *core.Settings) { s.AutoBlockCountryThreshold = 5 })
		ctx := context.Background()
		for _, r := range []rule.BlockedIP{{Network: "2.1.1.1", Disabled: true, Reason: "let through"}, {Network: "2.1.1.2", ReportOnly: true}} {
			if _, err := eng.Rules().BlockedIPs().Put(ctx, r); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := eng.Rules().BlockedCountries().Put(ctx, rule.BlockedCountry{Code: "US", Disabled: true, Reason: "reviewed: fine"}); err != nil {
			t.Fatal(err)
		}
		settle()
		for _, ip := range []string{"2.1.1.1", "2.1.1.2"} {
			lockouts(eng, ip, 20)
		}
		for range 20 {
			eng.RecordEvent(core.Event{Action: core.ActionLockout, IP: "3.9.9.9", CountryCode: "US"})
			eng.RecordEvent(core.Event{Action: core.ActionLockout, IP: "2.0.9.9", CountryCode: "RU"})
		}
		settle()
		for ip, reason := range map[string]string{"2.1.1.1": "let through", "2.1.1.2": ""} {
			if row, _ := blockedRow(t, st, ip); row.AutoBlocked || row.Reason != reason {
				t.Errorf("%s: the admin's row was changed: %+v", ip, row)
			}
		}
		if us, _ := st.BlockedCountries().Get(ctx, "US"); us.AutoBlocked || us.Reason != "reviewed: fine" {
			t.Errorf("US: the admin's row was changed: %+v", us)
		}
		ru, _ := st.BlockedCountries().Get(ctx, "RU")
		for range 20 {
			eng.RecordEvent(core.Event{Action: core.ActionLockout, IP: "2.0.9.9", CountryCode: "RU"})
		}
		settle()
		if again, _ := st.BlockedCountries().Get(ctx, "RU"); again.AttackCount != ru.AttackCount {
			t.Fatalf("RU's count rewritten within five minutes: %d -> %d", ru.AttackCount, again.AttackCount)
		}
		time.Sleep(reviewEvery)
		eng.RecordEvent(core.Event{Action: core.ActionLockout, IP: "2.0.9.9", CountryCode: "RU"})
		settle()
		if again, _ := st.BlockedCountries().Get(ctx, "RU"); again.AttackCount != 41 || !again.Disabled {
			t.Fatalf("RU after five minutes: %+v; want count 41, still inactive", again)
		}
		if n := eng.Stats().AutoBlock.CountriesFlagged; n != 2 {
			t.Fatalf("countries flagged %d times, want 2", n)
		}
	})
}

const reviewEvery = 5 * time.Minute

func TestAutoBlockSettingsValidation(t *testing.T) {
	for name, c := range map[string]struct {
		set   func(*core.Settings)
		field string
	}{
		"unknown_action":      {func(s *core.Settings) { s.AutoBlockWeights = "BOGUS=1" }, "auto_block_weights"},
		"never_counts":        {func(s *core.Settings) { s.AutoBlockWeights = "AUTO_BLOCK_IP=1" }, "auto_block_weights"},
		"negative":            {func(s *core.Settings) { s.AutoBlockWeights = "LOCKOUT=-1" }, "auto_block_weights"},
		"twice":               {func(s *core.Settings) { s.AutoBlockWeights = "LOCKOUT=1,lockout=2" }, "auto_block_weights"},
		"window_vs_retention": {func(s *core.Settings) { s.RetentionDays = 1; s.AutoBlockCountryWindowHours = 48 }, "auto_block_country_window_hours"},
		"cap_below_duration":  {func(s *core.Settings) { s.AutoBlockMaxDurationHours = 10 }, "auto_block_max_duration_hours"},
	} {
		s := core.DefaultSettings()
		c.set(&s)
		var ve *rule.ValidationError
		if err := s.Validate(); !errors.As(err, &ve) || ve.Field != c.field {
			t.Errorf("%s: %v, want an error on %s", name, err, c.field)
		}
	}
	s := core.DefaultSettings()
	s.AutoBlockWeights = " rate_limit = 2 , LOCKOUT=0,USER_AGENT_BLOCK=1"
	n, err := core.NormalizeSettings(s)
	if err != nil || n.AutoBlockWeights != "RATE_LIMIT=2,USER_AGENT_BLOCK=1" {
		t.Fatalf("canonical weights %q, %v", n.AutoBlockWeights, err)
	}
	s = core.DefaultSettings()
	s.RetentionDays = 0 // keep forever: any window
	s.AutoBlockCountryWindowHours = 24 * 365
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
}
