// Package storetest is the conformance suite every core.Store passes. A
// store's tests call Run with a function that returns a new, empty store.
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) core.Store { return memstore.New() })
//	}
package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/wardenkit/warden/core"
	"github.com/wardenkit/warden/core/rule"
)

// Run runs every conformance test against stores made by newStore. Each
// subtest gets a new, empty store.
func Run(t *testing.T, newStore func(t *testing.T) core.Store) {
	t.Run("Tables", func(t *testing.T) { testTables(t, newStore) })
	t.Run("Upsert", func(t *testing.T) { testUpsert(t, newStore(t)) })
	t.Run("Normalize", func(t *testing.T) { testNormalize(t, newStore(t)) })
	t.Run("List", func(t *testing.T) { testList(t, newStore(t)) })
	t.Run("Version", func(t *testing.T) { testVersion(t, newStore(t)) })
	t.Run("Settings", func(t *testing.T) { testSettings(t, newStore(t)) })
	t.Run("SettingsConflict", func(t *testing.T) { testSettingsConflict(t, newStore(t)) })
	t.Run("Events", func(t *testing.T) { testEvents(t, newStore(t)) })
	t.Run("CountEvents", func(t *testing.T) { testCountEvents(t, newStore(t)) })
	t.Run("ActiveCounter", func(t *testing.T) { testActiveCounter(t, newStore(t)) })
	t.Run("Hits", func(t *testing.T) { testHits(t, newStore(t)) })
	t.Run("Concurrent", func(t *testing.T) { testConcurrent(t, newStore(t)) })
	t.Run("Times", func(t *testing.T) { testTimes(t, newStore(t)) })
	t.Run("Login", func(t *testing.T) { runLogin(t, newStore) })
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

// crud checks Put, Get, List and Delete of one kind with two sample rows.
func crud[T rule.Rule](t *testing.T, tbl core.Table[T], a, b T) {
	t.Helper()
	c := ctx(t)
	pa, err := tbl.Put(c, a)
	if err != nil {
		t.Fatalf("Put(%v): %v", a, err)
	}
	if pa.GetMeta().ID == 0 || pa.GetMeta().CreatedAt.IsZero() || pa.GetMeta().UpdatedAt.IsZero() {
		t.Fatalf("Put returned no ID or times: %+v", pa.GetMeta())
	}
	pb, err := tbl.Put(c, b)
	if err != nil {
		t.Fatalf("Put(%v): %v", b, err)
	}
	if pb.GetMeta().ID == pa.GetMeta().ID {
		t.Fatalf("two keys got one ID %d", pa.GetMeta().ID)
	}
	got, err := tbl.Get(c, pa.Key())
	if err != nil {
		t.Fatalf("Get(%q): %v", pa.Key(), err)
	}
	if got.Key() != pa.Key() || got.GetMeta().ID != pa.GetMeta().ID {
		t.Fatalf("Get(%q) = %+v, want %+v", pa.Key(), got, pa)
	}
	list, err := tbl.List(c, core.Query{})
	if err != nil || len(list) != 2 {
		t.Fatalf("List = %d rows, %v; want 2", len(list), err)
	}
	if err := tbl.Delete(c, pa.Key()); err != nil {
		t.Fatalf("Delete(%q): %v", pa.Key(), err)
	}
	if _, err := tbl.Get(c, pa.Key()); !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("Get after Delete: %v, want ErrNotFound", err)
	}
	if err := tbl.Delete(c, pa.Key()); !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("second Delete: %v, want ErrNotFound", err)
	}
	if list, _ := tbl.List(c, core.Query{}); len(list) != 1 || list[0].Key() != pb.Key() {
		t.Fatalf("List after Delete = %+v, want only %q", list, pb.Key())
	}
}

func testTables(t *testing.T, newStore func(t *testing.T) core.Store) {
	exp := time.Date(2031, 1, 2, 3, 4, 5, 0, time.UTC)
	t.Run("BlockedIP", func(t *testing.T) {
		s := newStore(t)
		crud(t, s.BlockedIPs(), rule.BlockedIP{Network: "203.0.113.9", Reason: "scanner", ExpiresAt: exp},
			rule.BlockedIP{Network: "2001:db8::/48", AutoBlocked: true, BlockCount: 3, CountryCode: "fr", ReportOnly: true})
		got, err := s.BlockedIPs().Get(ctx(t), "2001:db8::/48")
		if err != nil {
			t.Fatal(err)
		}
		if !got.AutoBlocked || got.BlockCount != 3 || got.CountryCode != "FR" || !got.ReportOnly || got.Disabled {
			t.Fatalf("fields not kept: %+v", got)
		}
	})
	t.Run("WhitelistedIP", func(t *testing.T) {
		s := newStore(t)
		crud(t, s.WhitelistedIPs(), rule.WhitelistedIP{Network: "10.0.0.2", Description: "office", CreatedBy: "ops"},
			rule.WhitelistedIP{Network: "10.1.0.0/16"})
	})
	t.Run("BlockedCountry", func(t *testing.T) {
		s := newStore(t)
		crud(t, s.BlockedCountries(), rule.BlockedCountry{Code: "cn", Reason: "x"}, rule.BlockedCountry{Code: "RU", AttackCount: 7, AutoBlocked: true})
		got, err := s.BlockedCountries().Get(ctx(t), "RU")
		if err != nil || got.AttackCount != 7 || !got.AutoBlocked || got.Name == "" {
			t.Fatalf("Get(RU) = %+v, %v", got, err)
		}
	})
	t.Run("AllowedCountry", func(t *testing.T) {
		s := newStore(t)
		crud(t, s.AllowedCountries(), rule.AllowedCountry{Code: "US"}, rule.AllowedCountry{Code: "de", Name: "Germany"})
	})
	t.Run("BlockedUserAgent", func(t *testing.T) {
		s := newStore(t)
		crud(t, s.BlockedUserAgents(), rule.BlockedUserAgent{Pattern: "BadBot"},
			rule.BlockedUserAgent{Pattern: `curl/\d+`, Match: rule.UARegex, Category: "attack", Description: "curl"})
		got, err := s.BlockedUserAgents().Get(ctx(t), `curl/\d+`)
		if err != nil || got.Match != rule.UARegex || got.Category != "attack" || got.Description != "curl" {
			t.Fatalf("Get = %+v, %v", got, err)
		}
	})
	t.Run("WhitelistedUser", func(t *testing.T) {
		s := newStore(t)
		crud(t, s.WhitelistedUsers(), rule.WhitelistedUser{UserID: "42", Exemption: rule.ExemptIPBlock, ExpiresAt: exp},
			rule.WhitelistedUser{UserID: "alice@example.com"})
		got, err := s.WhitelistedUsers().Get(ctx(t), "alice@example.com")
		if err != nil || got.Exemption != rule.ExemptAll || !got.ExpiresAt.IsZero() {
			t.Fatalf("Get = %+v, %v", got, err)
		}
	})
	t.Run("BlockedEmail", func(t *testing.T) {
		s := newStore(t)
		crud(t, s.BlockedEmails(), rule.BlockedEmail{Email: " Spam@Example.com "}, rule.BlockedEmail{Email: "x@y.org", ReportOnly: true})
		if got, err := s.BlockedEmails().Get(ctx(t), "x@y.org"); err != nil || !got.ReportOnly {
			t.Fatalf("Get = %+v, %v; want report_only kept", got, err)
		}
	})
	t.Run("BlockedDomain", func(t *testing.T) {
		s := newStore(t)
		crud(t, s.BlockedDomains(), rule.BlockedDomain{Domain: "Mailinator.com"}, rule.BlockedDomain{Domain: "spam.example", Type: "spam", ReportOnly: true})
		if got, err := s.BlockedDomains().Get(ctx(t), "spam.example"); err != nil || !got.ReportOnly || got.Type != "spam" {
			t.Fatalf("Get = %+v, %v; want type and report_only kept", got, err)
		}
		if got, err := s.BlockedDomains().Put(ctx(t), rule.BlockedDomain{Domain: "BÜCHER.example"}); err != nil || got.Domain != "xn--bcher-kva.example" {
			t.Fatalf("Put(IDN) = %+v, %v; want the punycode key", got, err)
		}
	})
	t.Run("RateLimitRule", func(t *testing.T) {
		s := newStore(t)
		crud(t, s.RateLimitRules(), rule.RateLimitRule{Name: "login", PathPattern: "/login", Method: "post", Rate: "5/m"},
			rule.RateLimitRule{Name: "api", PathPattern: "/api/*", Rate: "100/s", Burst: 20, KeyBy: "header:X-API-Key"})
		got, err := s.RateLimitRules().Get(ctx(t), "ALL /api/*")
		if err != nil || got.Burst != 20 || got.KeyBy != "header:X-API-Key" || got.Rate != "100/s" {
			t.Fatalf("Get = %+v, %v", got, err)
		}
	})
}

func testUpsert(t *testing.T, s core.Store) {
	c := ctx(t)
	first, err := s.BlockedIPs().Put(c, rule.BlockedIP{Network: "198.51.100.7", Reason: "one"})
	if err != nil {
		t.Fatal(err)
	}
	off := first
	off.Disabled = true
	if _, err := s.BlockedIPs().Put(c, off); err != nil {
		t.Fatal(err)
	}
	if l, _ := s.BlockedIPs().List(c, core.Query{ActiveOnly: true}); len(l) != 0 {
		t.Fatalf("disabled row listed as active: %+v", l)
	}
	// Re-blocking an address whose row is inactive reactivates that row.
	again, err := s.BlockedIPs().Put(c, rule.BlockedIP{Network: "198.51.100.7", Reason: "two"})
	if err != nil {
		t.Fatalf("re-block of a disabled row: %v", err)
	}
	if again.ID != first.ID || again.Disabled || again.Reason != "two" {
		t.Fatalf("re-block = %+v; want ID %d, active, reason two", again, first.ID)
	}
	if !again.CreatedAt.Equal(first.CreatedAt) {
		t.Fatalf("CreatedAt changed on update: %v -> %v", first.CreatedAt, again.CreatedAt)
	}
	if l, _ := s.BlockedIPs().List(c, core.Query{}); len(l) != 1 {
		t.Fatalf("upsert made %d rows", len(l))
	}
	// AutoBlocks (a network's auto-block history) grows and no write lowers it.
	again.AutoBlocks = 3
	if got, err := s.BlockedIPs().Put(c, again); err != nil || got.AutoBlocks != 3 {
		t.Fatalf("auto_blocks raised to 3: %d, %v", got.AutoBlocks, err)
	}
	if got, err := s.BlockedIPs().Put(c, rule.BlockedIP{Network: "198.51.100.7", Reason: "manual"}); err != nil || got.AutoBlocks != 3 {
		t.Fatalf("a write without auto_blocks: %d, %v; want 3 kept", got.AutoBlocks, err)
	}
	if got, _ := s.BlockedIPs().Get(c, "198.51.100.7"); got.AutoBlocks != 3 || got.Reason != "manual" {
		t.Fatalf("stored %+v; want auto_blocks 3, reason manual", got)
	}
}

func testNormalize(t *testing.T, s core.Store) {
	c := ctx(t)
	got, err := s.BlockedIPs().Put(c, rule.BlockedIP{Network: "::ffff:192.0.2.1"})
	if err != nil || got.Network != "192.0.2.1" {
		t.Fatalf("mapped address stored as %q (%v), want 192.0.2.1", got.Network, err)
	}
	bad := []rule.BlockedIP{{Network: "192.0.2.1/24"}, {Network: "not-an-ip"}, {Network: ""}, {Network: "fe80::1%eth0"}, {Network: "1.2.3.4", Reason: "a\x00b"}}
	for _, b := range bad {
		if _, err := s.BlockedIPs().Put(c, b); !errors.Is(err, core.ErrInvalid) {
			t.Errorf("Put(%q) = %v, want ErrInvalid", b.Network, err)
		}
	}
	if _, err := s.WhitelistedIPs().Put(c, rule.WhitelistedIP{Network: "0.0.0.0/0"}); !errors.Is(err, core.ErrInvalid) {
		t.Errorf("whitelisting 0.0.0.0/0 without force: %v, want ErrInvalid", err)
	}
	if _, err := s.WhitelistedIPs().Put(c, rule.WhitelistedIP{Network: "0.0.0.0/0", Force: true}); err != nil {
		t.Errorf("forced whitelist: %v", err)
	}
	if _, err := s.BlockedUserAgents().Put(c, rule.BlockedUserAgent{Pattern: "(", Match: rule.UARegex}); !errors.Is(err, core.ErrInvalid) {
		t.Errorf("bad regex: %v, want ErrInvalid", err)
	}
	if _, err := s.BlockedCountries().Put(c, rule.BlockedCountry{Code: "ZZ"}); !errors.Is(err, core.ErrInvalid) {
		t.Errorf("country ZZ: %v, want ErrInvalid", err)
	}
	if l, _ := s.BlockedIPs().List(c, core.Query{}); len(l) != 1 {
		t.Fatalf("refused rows were stored: %+v", l)
	}
}

func testList(t *testing.T, s core.Store) {
	c := ctx(t)
	for i := range 10 {
		if _, err := s.BlockedIPs().Put(c, rule.BlockedIP{Network: fmt.Sprintf("192.0.2.%d", i), Disabled: i%3 == 0}); err != nil {
			t.Fatal(err)
		}
	}
	all, _ := s.BlockedIPs().List(c, core.Query{})
	if len(all) != 10 {
		t.Fatalf("List = %d rows, want 10", len(all))
	}
	for i := 1; i < len(all); i++ {
		if all[i].ID <= all[i-1].ID {
			t.Fatalf("List not ordered by ID: %d after %d", all[i].ID, all[i-1].ID)
		}
	}
	active, _ := s.BlockedIPs().List(c, core.Query{ActiveOnly: true})
	if len(active) != 6 {
		t.Fatalf("ActiveOnly = %d rows, want 6", len(active))
	}
	page, _ := s.BlockedIPs().List(c, core.Query{AfterID: all[3].ID, Limit: 4})
	if len(page) != 4 || page[0].ID != all[4].ID {
		t.Fatalf("page = %+v, want 4 rows from ID %d", page, all[4].ID)
	}
}

func testVersion(t *testing.T, s core.Store) {
	c := ctx(t)
	v0, err := s.Version(c)
	if err != nil {
		t.Fatal(err)
	}
	step := func(what string, f func() error) {
		t.Helper()
		before, _ := s.Version(c)
		if err := f(); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		after, _ := s.Version(c)
		if after <= before {
			t.Fatalf("%s did not bump the version (%d -> %d)", what, before, after)
		}
	}
	step("Put", func() error { _, err := s.BlockedIPs().Put(c, rule.BlockedIP{Network: "192.0.2.1"}); return err })
	step("update", func() error {
		_, err := s.BlockedIPs().Put(c, rule.BlockedIP{Network: "192.0.2.1", Reason: "x"})
		return err
	})
	step("Delete", func() error { return s.BlockedIPs().Delete(c, "192.0.2.1") })
	step("PutSettings", func() error { _, err := s.PutSettings(c, core.DefaultSettings()); return err })
	step("UA Put", func() error { _, err := s.BlockedUserAgents().Put(c, rule.BlockedUserAgent{Pattern: "x"}); return err })
	before, _ := s.Version(c)
	_, _ = s.BlockedIPs().Put(c, rule.BlockedIP{Network: "bad/99"})
	_ = s.AppendEvents(c, []core.Event{{Action: core.ActionIPBlock, IP: "192.0.2.1", Path: "/"}})
	if after, _ := s.Version(c); after != before {
		t.Fatalf("a refused write or an event bumped the version (%d -> %d)", before, after)
	}
	if v0 < 0 {
		t.Fatalf("negative version %d", v0)
	}
}

func testEvents(t *testing.T, s core.Store) {
	c := ctx(t)
	base := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	var evs []core.Event
	for i := range 30 {
		a := core.ActionIPBlock
		if i%3 == 0 {
			a = core.ActionUserAgentBlock
		}
		evs = append(evs, core.Event{
			CreatedAt: base.Add(time.Duration(i) * time.Minute), IP: fmt.Sprintf("192.0.2.%d", i%5), CountryCode: "FR",
			Action: a, Path: "/x", Method: "GET", UserAgent: "ua", Count: int64(1 + i%2),
		})
	}
	if err := s.AppendEvents(c, evs); err != nil {
		t.Fatal(err)
	}
	got, err := s.Events(c, core.EventQuery{Limit: 5})
	if err != nil || len(got) != 5 {
		t.Fatalf("Events = %d, %v", len(got), err)
	}
	if !got[0].CreatedAt.Equal(base.Add(29*time.Minute)) || got[0].ID == 0 {
		t.Fatalf("newest first: got %+v", got[0])
	}
	if got[0].Severity != core.SeverityHigh {
		t.Fatalf("default severity of IP_BLOCK = %q, want high", got[0].Severity)
	}
	next, _ := s.Events(c, core.EventQuery{Limit: 5, BeforeID: got[4].ID})
	if len(next) != 5 || next[0].ID >= got[4].ID {
		t.Fatalf("keyset page wrong: %+v", next)
	}
	ua, _ := s.Events(c, core.EventQuery{Action: core.ActionUserAgentBlock, Limit: 100})
	if len(ua) != 10 {
		t.Fatalf("by action = %d, want 10", len(ua))
	}
	byIP, _ := s.Events(c, core.EventQuery{IP: "192.0.2.1", Since: base.Add(10 * time.Minute), Until: base.Add(20 * time.Minute), Limit: 100})
	if len(byIP) != 2 {
		t.Fatalf("by ip and time = %d, want 2 (minutes 11 and 16)", len(byIP))
	}
	counts, err := s.CountEvents(c, core.CountQuery{GroupBy: core.GroupByIP, Since: base, Min: 9})
	if err != nil {
		t.Fatal(err)
	}
	// Each IP has 6 events whose counts alternate 1,2 per i: sums 9.
	if len(counts) != 5 || counts[0].Count != 9 {
		t.Fatalf("CountEvents by ip = %+v, want 5 groups of 9", counts)
	}
	acts, _ := s.CountEvents(c, core.CountQuery{GroupBy: core.GroupByAction, Actions: []core.Action{core.ActionUserAgentBlock}})
	if len(acts) != 1 || acts[0].Key != string(core.ActionUserAgentBlock) || acts[0].Count != 15 {
		t.Fatalf("CountEvents by action = %+v, want USER_AGENT_BLOCK 15", acts)
	}
	n, err := s.DeleteEventsBefore(c, base.Add(10*time.Minute), 4)
	if err != nil || n != 4 {
		t.Fatalf("DeleteEventsBefore batch 4 = %d, %v", n, err)
	}
	n, _ = s.DeleteEventsBefore(c, base.Add(10*time.Minute), 100)
	if n != 6 {
		t.Fatalf("second DeleteEventsBefore = %d, want 6", n)
	}
	left, _ := s.Events(c, core.EventQuery{Limit: 1000})
	if len(left) != 20 {
		t.Fatalf("left = %d events, want 20", len(left))
	}
}

func testHits(t *testing.T, s core.Store) {
	c := ctx(t)
	a, _ := s.BlockedUserAgents().Put(c, rule.BlockedUserAgent{Pattern: "a"})
	b, _ := s.BlockedUserAgents().Put(c, rule.BlockedUserAgent{Pattern: "b", HitCount: 10})
	if err := s.AddHits(c, core.HitUserAgent, map[int64]int64{a.ID: 5, b.ID: 90, 999999: 1}); err != nil {
		t.Fatal(err)
	}
	if err := s.AddHits(c, core.HitUserAgent, map[int64]int64{a.ID: 1}); err != nil {
		t.Fatal(err)
	}
	ga, _ := s.BlockedUserAgents().Get(c, "a")
	gb, _ := s.BlockedUserAgents().Get(c, "b")
	if ga.HitCount != 6 || gb.HitCount != 100 {
		t.Fatalf("hit counts = %d, %d; want 6, 100", ga.HitCount, gb.HitCount)
	}
	r, _ := s.RateLimitRules().Put(c, rule.RateLimitRule{Name: "x", PathPattern: "/x", Rate: "1/s"})
	ip, _ := s.BlockedIPs().Put(c, rule.BlockedIP{Network: "192.0.2.1"})
	if err := s.AddHits(c, core.HitRateLimit, map[int64]int64{r.ID: 3}); err != nil {
		t.Fatal(err)
	}
	if err := s.AddHits(c, core.HitBlockedIP, map[int64]int64{ip.ID: 2}); err != nil {
		t.Fatal(err)
	}
	if g, _ := s.RateLimitRules().Get(c, r.Key()); g.HitCount != 3 {
		t.Fatalf("rate limit hits = %d, want 3", g.HitCount)
	}
	if g, _ := s.BlockedIPs().Get(c, "192.0.2.1"); g.BlockCount != 2 {
		t.Fatalf("blocked ip count = %d, want 2", g.BlockCount)
	}
	// A re-Put (an admin edit, an app re-adding its rules at start) keeps the counters.
	if _, err := s.BlockedUserAgents().Put(c, rule.BlockedUserAgent{Pattern: "a", Description: "edited"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.BlockedIPs().Put(c, rule.BlockedIP{Network: "192.0.2.1", Reason: "edited"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RateLimitRules().Put(c, rule.RateLimitRule{Name: "x2", PathPattern: "/x", Rate: "2/s"}); err != nil {
		t.Fatal(err)
	}
	ga, _ = s.BlockedUserAgents().Get(c, "a")
	gi, _ := s.BlockedIPs().Get(c, "192.0.2.1")
	gr, _ := s.RateLimitRules().Get(c, r.Key())
	if ga.HitCount != 6 || ga.Description != "edited" || gi.BlockCount != 2 || gi.Reason != "edited" || gr.HitCount != 3 || gr.Rate != "2/s" {
		t.Fatalf("re-Put lost counters or edits: ua %d %q, ip %d %q, rule %d %q", ga.HitCount, ga.Description, gi.BlockCount, gi.Reason, gr.HitCount, gr.Rate)
	}
}

func testConcurrent(t *testing.T, s core.Store) {
	c := ctx(t)
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for i := range 20 {
		wg.Add(2)
		go func() {
			defer wg.Done()
			_, err := s.BlockedIPs().Put(c, rule.BlockedIP{Network: fmt.Sprintf("192.0.2.%d", i)})
			errs <- err
		}()
		go func() {
			defer wg.Done()
			_, err := s.BlockedIPs().Put(c, rule.BlockedIP{Network: "198.51.100.1", Reason: fmt.Sprint(i)})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if l, _ := s.BlockedIPs().List(c, core.Query{}); len(l) != 21 {
		t.Fatalf("concurrent puts made %d rows, want 21", len(l))
	}
}

func testTimes(t *testing.T, s core.Store) {
	c := ctx(t)
	loc := time.FixedZone("X", 5*3600)
	exp := time.Date(2031, 6, 1, 10, 0, 0, 0, loc)
	if _, err := s.BlockedIPs().Put(c, rule.BlockedIP{Network: "192.0.2.1", ExpiresAt: exp}); err != nil {
		t.Fatal(err)
	}
	got, _ := s.BlockedIPs().Get(c, "192.0.2.1")
	if !got.ExpiresAt.Equal(exp) || got.ExpiresAt.Location() != time.UTC {
		t.Fatalf("ExpiresAt = %v, want %v in UTC", got.ExpiresAt, exp.UTC())
	}
	if got.CreatedAt.Location() != time.UTC {
		t.Fatalf("CreatedAt not UTC: %v", got.CreatedAt)
	}
}
