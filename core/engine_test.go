package core_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/wardenkit/warden/core"
	"github.com/wardenkit/warden/core/memstore"
	"github.com/wardenkit/warden/core/rule"
)

const browserUA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36"

func wantDeny(t *testing.T, d core.Decision, action core.Action, body string) {
	t.Helper()
	if d.Allowed || d.Action != action || d.Status != http.StatusForbidden || d.Message() != body {
		t.Fatalf("decision = %+v (%q); want 403 %s %q", d, d.Message(), action, body)
	}
}

func wantAllow(t *testing.T, d core.Decision) {
	t.Helper()
	if !d.Allowed || d.Status != 0 {
		t.Fatalf("decision = %+v; want allowed", d)
	}
}

// Reference §2.10, row by row.
func TestReferenceDecisionTable(t *testing.T) {
	t.Run("01_exempt_paths_answer_without_store", func(t *testing.T) {
		st := &failingStore{Store: memstore.New()}
		st.fail.Store(true)
		eng, err := core.New(st, core.WithStartWithoutStore(), quiet)
		if err != nil {
			t.Fatal(err)
		}
		// Not started, store down: exempt paths still answer, touching nothing.
		for _, p := range []string{"/health/", "/health", "/ready/", "/ready", "/favicon.ico"} {
			d, err := eng.Check(context.Background(), core.Request{HTTP: request("6.6.6.6", p)})
			if err != nil || !d.Allowed || d.Reason != "exempt_path" {
				t.Fatalf("%s: %+v, %v", p, d, err)
			}
		}
		if n := st.calls.Load(); n != 0 {
			t.Fatalf("exempt paths touched the store (%d calls)", n)
		}
		if err := eng.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		defer eng.Close(context.Background())
		// A non-exempt path while the store is down: the fail policy (503).
		d, _ := eng.Check(context.Background(), core.Request{HTTP: request("6.6.6.6", "/")})
		if d.Allowed || d.Status != http.StatusServiceUnavailable {
			t.Fatalf("store down, no snapshot: %+v, want 503", d)
		}
		if eng.Stats().FailPolicyTrips != 1 {
			t.Fatalf("trips = %d, want 1", eng.Stats().FailPolicyTrips)
		}
	})
	t.Run("02_custom_exempt_paths_replace_defaults", func(t *testing.T) {
		e := newEnv(t, core.WithExemptPaths("/custom/"))
		put(e, e.eng.Rules().BlockedIPs(), rule.BlockedIP{Network: "6.6.6.6"})
		wantDeny(t, e.check("6.6.6.6", "/health/", ""), core.ActionIPBlock, "Access denied")
		wantAllow(t, e.check("6.6.6.6", "/custom/", ""))
	})
	t.Run("03_blocked_ip", func(t *testing.T) {
		e := newEnv(t)
		put(e, e.eng.Rules().BlockedIPs(), rule.BlockedIP{Network: "6.6.6.6"})
		wantDeny(t, e.check("6.6.6.6", "/", ""), core.ActionIPBlock, "Access denied")
		evs := e.events()
		if len(evs) != 1 || evs[0].Action != core.ActionIPBlock || evs[0].Severity != core.SeverityHigh || evs[0].IP != "6.6.6.6" {
			t.Fatalf("events = %+v; want one IP_BLOCK (high)", evs)
		}
	})
	t.Run("04_expired_block_passes", func(t *testing.T) {
		e := newEnv(t)
		put(e, e.eng.Rules().BlockedIPs(), rule.BlockedIP{Network: "6.6.6.6", ExpiresAt: e.clock.Now().Add(-time.Second)})
		wantAllow(t, e.check("6.6.6.6", "/", ""))
	})
	t.Run("05_ip_blocking_disabled", func(t *testing.T) {
		e := newEnv(t)
		put(e, e.eng.Rules().BlockedIPs(), rule.BlockedIP{Network: "6.6.6.6"})
		e.settings(func(s *core.Settings) { s.IPBlockingEnabled = false })
		wantAllow(t, e.check("6.6.6.6", "/", ""))
	})
	t.Run("06_inactive_whitelist_does_not_bypass", func(t *testing.T) {
		e := newEnv(t)
		put(e, e.eng.Rules().WhitelistedIPs(), rule.WhitelistedIP{Network: "10.0.0.2", Disabled: true})
		put(e, e.eng.Rules().BlockedIPs(), rule.BlockedIP{Network: "10.0.0.2"})
		wantDeny(t, e.check("10.0.0.2", "/", ""), core.ActionIPBlock, "Access denied")
	})
	t.Run("07_active_whitelist_bypasses", func(t *testing.T) {
		e := newEnv(t)
		put(e, e.eng.Rules().WhitelistedIPs(), rule.WhitelistedIP{Network: "10.0.0.2"})
		put(e, e.eng.Rules().BlockedIPs(), rule.BlockedIP{Network: "10.0.0.2"})
		put(e, e.eng.Rules().BlockedUserAgents(), rule.BlockedUserAgent{Pattern: "badbot"})
		d := e.check("10.0.0.2", "/", "", ua("BadBot"))
		wantAllow(t, d)
		if d.Reason != "whitelisted_ip" {
			t.Fatalf("reason = %q", d.Reason)
		}
		if evs := e.events(); len(evs) != 0 {
			t.Fatalf("whitelisted request logged %+v", evs)
		}
	})
	t.Run("13_ua_contains", func(t *testing.T) {
		e := newEnv(t)
		put(e, e.eng.Rules().BlockedUserAgents(), rule.BlockedUserAgent{Pattern: "BadBot"})
		wantDeny(t, e.check("3.3.3.3", "/", "", ua("BadBot/1.0")), core.ActionUserAgentBlock, "Access denied")
		evs := e.events()
		if len(evs) != 1 || evs[0].Action != core.ActionUserAgentBlock || evs[0].Severity != core.SeverityLow {
			t.Fatalf("events = %+v; want one USER_AGENT_BLOCK (low)", evs)
		}
	})
	t.Run("14_ua_exact_case_insensitive", func(t *testing.T) {
		e := newEnv(t)
		put(e, e.eng.Rules().BlockedUserAgents(), rule.BlockedUserAgent{Pattern: "evilbot/2.0", Match: rule.UAExact})
		wantDeny(t, e.check("3.3.3.3", "/", "", ua("EvilBot/2.0")), core.ActionUserAgentBlock, "Access denied")
		wantAllow(t, e.check("3.3.3.3", "/", "", ua("EvilBot/2.0 extra")))
	})
	t.Run("15_ua_regex", func(t *testing.T) {
		e := newEnv(t)
		put(e, e.eng.Rules().BlockedUserAgents(), rule.BlockedUserAgent{Pattern: `curl/\d+`, Match: rule.UARegex})
		wantDeny(t, e.check("3.3.3.3", "/", "", ua("curl/7.68")), core.ActionUserAgentBlock, "Access denied")
		wantDeny(t, e.check("3.3.3.3", "/", "", ua("CURL/8")), core.ActionUserAgentBlock, "Access denied")
		wantAllow(t, e.check("3.3.3.3", "/", "", ua("curl/x")))
	})
	t.Run("16_empty_ua_passes", func(t *testing.T) {
		e := newEnv(t)
		put(e, e.eng.Rules().BlockedUserAgents(), rule.BlockedUserAgent{Pattern: "a"})
		put(e, e.eng.Rules().BlockedUserAgents(), rule.BlockedUserAgent{Pattern: ".*", Match: rule.UARegex})
		wantAllow(t, e.check("3.3.3.3", "/", "", ua("")))
	})
	t.Run("17_blocked_country", func(t *testing.T) {
		e := newEnv(t)
		put(e, e.eng.Rules().BlockedCountries(), rule.BlockedCountry{Code: "CN"})
		d := e.check("1.2.3.4", "/", "")
		wantDeny(t, d, core.ActionCountryBlock, "Access denied from your region")
		if d.Country != "CN" {
			t.Fatalf("country = %q", d.Country)
		}
		wantAllow(t, e.check("3.3.3.3", "/", ""))
		evs := e.events()
		if len(evs) != 1 || evs[0].Action != core.ActionCountryBlock || evs[0].Severity != core.SeverityMedium || evs[0].CountryCode != "CN" {
			t.Fatalf("events = %+v; want one COUNTRY_BLOCK (medium) CN", evs)
		}
	})
	t.Run("18_country_blocking_disabled", func(t *testing.T) {
		e := newEnv(t)
		put(e, e.eng.Rules().BlockedCountries(), rule.BlockedCountry{Code: "CN"})
		e.settings(func(s *core.Settings) { s.CountryBlockingEnabled = false })
		wantAllow(t, e.check("1.2.3.4", "/", ""))
	})
	t.Run("19_allow_list_mode", func(t *testing.T) {
		e := newEnv(t)
		put(e, e.eng.Rules().AllowedCountries(), rule.AllowedCountry{Code: "US"})
		e.settings(func(s *core.Settings) { s.CountryAllowListMode = true })
		wantAllow(t, e.check("3.3.3.3", "/", ""))
		wantDeny(t, e.check("2.2.2.2", "/", ""), core.ActionCountryWhitelistBlock, "Access denied from your region")
		// Unknown country: denied in allow-list mode (allowed in block mode).
		wantDeny(t, e.check("9.9.9.9", "/", ""), core.ActionCountryWhitelistBlock, "Access denied from your region")
		// Private addresses use InternalCountry: allowed by default.
		wantAllow(t, e.check("192.168.1.1", "/", ""))
		evs := e.events()
		if len(evs) != 2 || evs[0].Action != core.ActionCountryWhitelistBlock {
			t.Fatalf("events = %+v", evs)
		}
	})
	t.Run("ua_beats_country", func(t *testing.T) {
		e := newEnv(t)
		put(e, e.eng.Rules().BlockedCountries(), rule.BlockedCountry{Code: "CN"})
		put(e, e.eng.Rules().BlockedUserAgents(), rule.BlockedUserAgent{Pattern: "badbot"})
		wantDeny(t, e.check("1.2.3.4", "/", "", ua("BadBot")), core.ActionUserAgentBlock, "Access denied")
	})
	t.Run("unknown_country_in_block_mode_passes", func(t *testing.T) {
		e := newEnv(t)
		put(e, e.eng.Rules().BlockedCountries(), rule.BlockedCountry{Code: "CN"})
		wantAllow(t, e.check("9.9.9.9", "/", ""))
	})
}

// Reference §2.3 exemption matrix (rows 8-12 of §2.10).
func TestExemptionMatrix(t *testing.T) {
	type probe struct {
		name   string
		ip, ua string
		action core.Action // "" = allowed
	}
	probes := []probe{
		{"blocked_ip", "6.6.6.6", browserUA, core.ActionIPBlock},
		{"blocked_ua", "3.3.3.3", "BadBot/1", core.ActionUserAgentBlock},
		{"blocked_country", "1.2.3.4", browserUA, core.ActionCountryBlock},
	}
	cases := []struct {
		name      string
		user      string
		exemption rule.WhitelistedUser
		allowed   map[string]bool // probe name -> allowed
	}{
		{"none_anonymous", "", rule.WhitelistedUser{UserID: "u1"}, map[string]bool{}},
		{"none_other_user", "u2", rule.WhitelistedUser{UserID: "u1"}, map[string]bool{}},
		{"all", "u1", rule.WhitelistedUser{UserID: "u1", Exemption: rule.ExemptAll}, map[string]bool{"blocked_ip": true, "blocked_ua": true, "blocked_country": true}},
		{"ip_block", "u1", rule.WhitelistedUser{UserID: "u1", Exemption: rule.ExemptIPBlock}, map[string]bool{"blocked_ip": true}},
		{"geo_block", "u1", rule.WhitelistedUser{UserID: "u1", Exemption: rule.ExemptGeoBlock}, map[string]bool{"blocked_country": true}},
		{"rate_limit", "u1", rule.WhitelistedUser{UserID: "u1", Exemption: rule.ExemptRateLimit}, map[string]bool{}},
		{"all_inactive", "u1", rule.WhitelistedUser{UserID: "u1", Disabled: true}, map[string]bool{}},
		{"all_expired", "u1", rule.WhitelistedUser{UserID: "u1", ExpiresAt: newClock().Now().Add(-time.Minute)}, map[string]bool{}},
		{"all_not_yet_expired", "u1", rule.WhitelistedUser{UserID: "u1", ExpiresAt: newClock().Now().Add(time.Minute)}, map[string]bool{"blocked_ip": true, "blocked_ua": true, "blocked_country": true}},
		{"user_id_exact_match", "U1", rule.WhitelistedUser{UserID: "u1"}, map[string]bool{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			put(e, e.eng.Rules().BlockedIPs(), rule.BlockedIP{Network: "6.6.6.6"})
			put(e, e.eng.Rules().BlockedUserAgents(), rule.BlockedUserAgent{Pattern: "badbot"})
			put(e, e.eng.Rules().BlockedCountries(), rule.BlockedCountry{Code: "CN"})
			put(e, e.eng.Rules().WhitelistedUsers(), c.exemption)
			for _, p := range probes {
				d := e.check(p.ip, "/", c.user, ua(p.ua))
				if c.allowed[p.name] {
					if !d.Allowed {
						t.Errorf("%s: denied %+v, want allowed", p.name, d)
					}
				} else if d.Allowed || d.Action != p.action {
					t.Errorf("%s: %+v, want %s", p.name, d, p.action)
				}
			}
		})
	}
}

func TestNetworksAndIPv6(t *testing.T) {
	e := newEnv(t)
	put(e, e.eng.Rules().BlockedIPs(), rule.BlockedIP{Network: "203.0.113.0/24"})
	put(e, e.eng.Rules().BlockedIPs(), rule.BlockedIP{Network: "2001:db8:1::/48"})
	put(e, e.eng.Rules().BlockedIPs(), rule.BlockedIP{Network: "::ffff:198.51.100.9"})
	put(e, e.eng.Rules().WhitelistedIPs(), rule.WhitelistedIP{Network: "203.0.113.128/25"})
	cases := []struct {
		name    string
		ip      string
		blocked bool
	}{
		{"inside_v4_network", "203.0.113.5", true},
		{"outside_v4_network", "203.0.114.5", false},
		{"whitelisted_subnet_inside_block", "203.0.113.200", false},
		{"ipv6_rotation_same_48", "2001:db8:1:ffff::1234", true},
		{"ipv6_outside", "2001:db8:2::1", false},
		{"mapped_rule_matches_v4_client", "198.51.100.9", true},
		{"mapped_client_matches_v4_rule", "::ffff:203.0.113.7", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := e.check(c.ip, "/", "")
			if d.Allowed == c.blocked {
				t.Fatalf("%s: %+v, blocked want %v", c.ip, d, c.blocked)
			}
		})
	}
}

func TestExpiryAtDecisionTime(t *testing.T) {
	e := newEnv(t)
	now := e.clock.Now()
	net := put(e, e.eng.Rules().BlockedIPs(), rule.BlockedIP{Network: "203.0.113.0/24", ExpiresAt: now.Add(2 * time.Hour)})
	host := put(e, e.eng.Rules().BlockedIPs(), rule.BlockedIP{Network: "203.0.113.9", ExpiresAt: now.Add(time.Hour)})
	put(e, e.eng.Rules().BlockedIPs(), rule.BlockedIP{Network: "198.51.100.1", ExpiresAt: now.Add(time.Hour)})

	if d := e.check("203.0.113.9", "/", ""); d.Allowed || d.RuleID != host.ID {
		t.Fatalf("before expiry: %+v, want the host rule %d", d, host.ID)
	}
	e.clock.Add(time.Hour) // exactly at expiry: still blocked
	if d := e.check("198.51.100.1", "/", ""); d.Allowed {
		t.Fatalf("at the expiry instant: %+v, want blocked", d)
	}
	e.clock.Add(time.Second) // the host rule has expired; the network around it has not
	if d := e.check("198.51.100.1", "/", ""); !d.Allowed {
		t.Fatalf("after expiry: %+v, want allowed (no rebuild needed)", d)
	}
	if d := e.check("203.0.113.9", "/", ""); d.Allowed || d.RuleID != net.ID {
		t.Fatalf("expired host inside active network: %+v, want the network rule %d", d, net.ID)
	}
	e.clock.Add(2 * time.Hour)
	wantAllow(t, e.check("203.0.113.9", "/", ""))
}

func TestRuntimeWritesEnforcedWithoutRestart(t *testing.T) {
	e := newEnv(t)
	wantAllow(t, e.check("6.6.6.6", "/", ""))
	b := put(e, e.eng.Rules().BlockedIPs(), rule.BlockedIP{Network: "6.6.6.0/24"})
	wantDeny(t, e.check("6.6.6.6", "/", ""), core.ActionIPBlock, "Access denied")
	b.Disabled = true
	put(e, e.eng.Rules().BlockedIPs(), b)
	wantAllow(t, e.check("6.6.6.6", "/", ""))
	put(e, e.eng.Rules().BlockedIPs(), rule.BlockedIP{Network: "6.6.6.0/24"})
	wantDeny(t, e.check("6.6.6.6", "/", ""), core.ActionIPBlock, "Access denied")
	if err := e.eng.Rules().BlockedIPs().Delete(e.ctx(), "6.6.6.0/24"); err != nil {
		t.Fatal(err)
	}
	wantAllow(t, e.check("6.6.6.6", "/", ""))

	// A write made behind the engine's back (another replica) is picked up by Reload.
	if _, err := e.store.BlockedIPs().Put(e.ctx(), rule.BlockedIP{Network: "7.7.7.7"}); err != nil {
		t.Fatal(err)
	}
	if err := e.eng.Reload(e.ctx()); err != nil {
		t.Fatal(err)
	}
	wantDeny(t, e.check("7.7.7.7", "/", ""), core.ActionIPBlock, "Access denied")
}

func TestTwoEnginesShareABus(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := memstore.New()
		bus := core.NewLocalBus()
		a, _ := core.New(st, core.WithBus(bus), quiet)
		b, _ := core.New(st, core.WithBus(bus), quiet)
		for _, e := range []*core.Engine{a, b} {
			if err := e.Start(context.Background()); err != nil {
				t.Fatal(err)
			}
			defer e.Close(context.Background())
		}
		if _, err := a.Rules().BlockedIPs().Put(context.Background(), rule.BlockedIP{Network: "6.6.6.6"}); err != nil {
			t.Fatal(err)
		}
		// B rebuilds at most one rebuild interval (100 ms) after the bus
		// message, far within the poll interval (30 s).
		time.Sleep(100 * time.Millisecond)
		synctest.Wait()
		if d, _ := b.Check(context.Background(), core.Request{HTTP: request("6.6.6.6", "/")}); d.Allowed {
			t.Fatal("engine B did not enforce A's write within one rebuild interval")
		}
	})
}

func TestReportOnly(t *testing.T) {
	t.Run("per_rule", func(t *testing.T) {
		e := newEnv(t)
		ro := put(e, e.eng.Rules().BlockedUserAgents(), rule.BlockedUserAgent{Pattern: "scanner", ReportOnly: true})
		put(e, e.eng.Rules().BlockedCountries(), rule.BlockedCountry{Code: "CN"})
		d := e.check("3.3.3.3", "/", "", ua("Scanner/1"))
		if !d.Allowed || !d.ReportOnly || d.Action != core.ActionUserAgentBlock || d.RuleID != ro.ID {
			t.Fatalf("report-only UA: %+v", d)
		}
		// A report-only match does not stop a later real block.
		wantDeny(t, e.check("1.2.3.4", "/", "", ua("Scanner/1")), core.ActionCountryBlock, "Access denied from your region")
		evs := e.events()
		var would, real int
		for _, ev := range evs {
			switch ev.Action {
			case core.ActionWouldBlock:
				would++
				if ev.Details != string(core.ActionUserAgentBlock) || ev.Severity != core.SeverityLow {
					t.Errorf("would_block event %+v", ev)
				}
			case core.ActionCountryBlock:
				real++
			}
		}
		if would != 2 || real != 1 {
			t.Fatalf("events = %+v; want 2 WOULD_BLOCK and 1 COUNTRY_BLOCK", evs)
		}
	})
	t.Run("global", func(t *testing.T) {
		e := newEnv(t)
		put(e, e.eng.Rules().BlockedIPs(), rule.BlockedIP{Network: "6.6.6.6"})
		e.settings(func(s *core.Settings) { s.ReportOnly = true })
		d := e.check("6.6.6.6", "/", "")
		if !d.Allowed || !d.ReportOnly || d.Action != core.ActionIPBlock {
			t.Fatalf("global report-only: %+v", d)
		}
	})
	t.Run("allow_list_rollout", func(t *testing.T) {
		e := newEnv(t)
		put(e, e.eng.Rules().AllowedCountries(), rule.AllowedCountry{Code: "US"})
		e.settings(func(s *core.Settings) { s.CountryAllowListMode, s.ReportOnlyCountryAllowList = true, true })
		d := e.check("2.2.2.2", "/", "")
		if !d.Allowed || !d.ReportOnly || d.Action != core.ActionCountryWhitelistBlock {
			t.Fatalf("allow-list dry run: %+v", d)
		}
	})
	t.Run("report_only_host_inside_real_block", func(t *testing.T) {
		e := newEnv(t)
		put(e, e.eng.Rules().BlockedIPs(), rule.BlockedIP{Network: "6.6.6.0/24"})
		put(e, e.eng.Rules().BlockedIPs(), rule.BlockedIP{Network: "6.6.6.6", ReportOnly: true})
		wantDeny(t, e.check("6.6.6.6", "/", ""), core.ActionIPBlock, "Access denied")
	})
}

func TestNoClientIP(t *testing.T) {
	e := newEnv(t)
	for _, addr := range []string{"", "garbage", "@"} {
		d := e.check(addr, "/", "")
		if d.Allowed || d.Status != http.StatusForbidden || d.Reason != "no_client_ip" {
			t.Fatalf("RemoteAddr %q: %+v", addr, d)
		}
	}
}

func TestEncodedExemptPathIsNotExempt(t *testing.T) {
	e := newEnv(t)
	put(e, e.eng.Rules().BlockedIPs(), rule.BlockedIP{Network: "6.6.6.6"})
	r := request("6.6.6.6", "/heal%74h")
	d, err := e.eng.Check(e.ctx(), core.Request{HTTP: r})
	if err != nil || d.Allowed {
		t.Fatalf("/heal%%74h: %+v, %v; want denied", d, err)
	}
}

func TestOversizeUserAgent(t *testing.T) {
	e := newEnv(t)
	put(e, e.eng.Rules().BlockedUserAgents(), rule.BlockedUserAgent{Pattern: "zzz-not-there"})
	big := strings.Repeat("a", core.MaxUserAgentLen+1)
	wantDeny(t, e.check("3.3.3.3", "/", "", ua(big)), core.ActionUserAgentBlock, "Access denied")
	e.settings(func(s *core.Settings) { s.OversizeUserAgent = core.OversizeAllow })
	wantAllow(t, e.check("3.3.3.3", "/", "", ua(big)))
	// Under "allow" a pattern inside the first 8 KiB still matches.
	put(e, e.eng.Rules().BlockedUserAgents(), rule.BlockedUserAgent{Pattern: "needle"})
	wantDeny(t, e.check("3.3.3.3", "/", "", ua("needle"+big)), core.ActionUserAgentBlock, "Access denied")
}

func TestUAHitCountsFlushed(t *testing.T) {
	e := newEnv(t)
	r := put(e, e.eng.Rules().BlockedUserAgents(), rule.BlockedUserAgent{Pattern: "badbot"})
	for range 5 {
		e.check("3.3.3.3", "/", "", ua("BadBot"))
	}
	e.events() // Close flushes events and hit counts
	got, err := e.store.BlockedUserAgents().Get(e.ctx(), "badbot")
	if err != nil || got.HitCount != 5 {
		t.Fatalf("hit count = %d (%v), want 5 (rule %d)", got.HitCount, err, r.ID)
	}
}

func TestInvalidRowsSkippedAndReported(t *testing.T) {
	e := newEnv(t)
	put(e, e.eng.Rules().BlockedIPs(), rule.BlockedIP{Network: "6.6.6.6"})
	// A row written around validation, as hand-written SQL would.
	bad := &rawStore{Store: e.store, extraIPs: []rule.BlockedIP{{Meta: rule.Meta{ID: 999}, Network: "not-an-ip"}}}
	eng, err := core.New(bad, quiet)
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.Start(e.ctx()); err != nil {
		t.Fatal(err)
	}
	defer eng.Close(e.ctx())
	st := eng.Stats()
	if len(st.InvalidRows) != 1 || st.InvalidRows[0].ID != 999 || st.InvalidRows[0].Kind != "BlockedIP" {
		t.Fatalf("invalid rows = %+v", st.InvalidRows)
	}
	d, _ := eng.Check(e.ctx(), core.Request{HTTP: request("6.6.6.6", "/")})
	if d.Allowed {
		t.Fatal("the valid rows were not enforced")
	}
}

func TestFailedRebuildKeepsSnapshot(t *testing.T) {
	st := &failingStore{Store: memstore.New()}
	eng, _ := core.New(st, quiet)
	if err := eng.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer eng.Close(context.Background())
	if _, err := eng.Rules().BlockedIPs().Put(context.Background(), rule.BlockedIP{Network: "6.6.6.6"}); err != nil {
		t.Fatal(err)
	}
	st.fail.Store(true)
	if err := eng.Reload(context.Background()); err == nil {
		t.Fatal("Reload with the store down succeeded")
	}
	d, err := eng.Check(context.Background(), core.Request{HTTP: request("6.6.6.6", "/")})
	if err != nil || d.Allowed {
		t.Fatalf("after failed rebuild: %+v, %v; want still blocked", d, err)
	}
	if eng.Stats().RebuildErrors == 0 {
		t.Fatal("rebuild error not counted")
	}
}

func TestStartFailsWhenStoreDown(t *testing.T) {
	st := &failingStore{Store: memstore.New()}
	st.fail.Store(true)
	eng, _ := core.New(st, quiet)
	if err := eng.Start(context.Background()); err == nil {
		t.Fatal("Start succeeded with the store down")
	}
	if eng.Ready() {
		t.Fatal("Ready with no snapshot")
	}
}

func TestAllowListModeNeedsLookupAndCountries(t *testing.T) {
	st := memstore.New()
	eng, _ := core.New(st, quiet)
	if err := eng.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer eng.Close(context.Background())
	s := core.DefaultSettings()
	s.CountryAllowListMode = true
	if _, err := eng.PutSettings(context.Background(), s); !errors.Is(err, core.ErrInvalid) {
		t.Fatalf("allow-list mode without lookup: %v, want ErrInvalid", err)
	}
	// Stored behind the engine's back: Start refuses it.
	if _, err := st.PutSettings(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	eng2, _ := core.New(st, quiet)
	if err := eng2.Start(context.Background()); err == nil {
		t.Fatal("Start accepted allow-list mode without a CountryLookup")
	}
	e := newEnv(t)
	if _, err := e.eng.PutSettings(e.ctx(), s); !errors.Is(err, core.ErrInvalid) {
		t.Fatalf("allow-list mode with no allowed country: %v, want ErrInvalid", err)
	}
	put(e, e.eng.Rules().AllowedCountries(), rule.AllowedCountry{Code: "US"})
	if _, err := e.eng.PutSettings(e.ctx(), s); err != nil {
		t.Fatal(err)
	}
	if err := e.eng.Rules().AllowedCountries().Delete(e.ctx(), "us"); !errors.Is(err, core.ErrInvalid) {
		t.Fatalf("deleting the last allowed country: %v, want ErrInvalid", err)
	}
}

func TestBadInputNeverPanics(t *testing.T) {
	e := newEnv(t)
	for _, v := range []rule.BlockedIP{{Network: "1.2.3.4/33"}, {Network: "1.2.3.4/24"}, {Network: "::ffff:1.2.3.4/64"}, {Network: strings.Repeat("9", 1000)}} {
		_, err := e.eng.Rules().BlockedIPs().Put(e.ctx(), v)
		var ve *rule.ValidationError
		if !errors.As(err, &ve) || ve.Field != "network" {
			t.Errorf("Put(%q) = %v; want a ValidationError naming network", v.Network, err)
		}
	}
	if _, err := e.eng.Rules().BlockedCountries().Put(e.ctx(), rule.BlockedCountry{Code: "X1"}); err == nil || !strings.Contains(err.Error(), `"X1"`) {
		t.Errorf("country X1: %v", err)
	}
	if _, err := e.eng.Rules().BlockedUserAgents().Put(e.ctx(), rule.BlockedUserAgent{Pattern: "a(b", Match: rule.UARegex}); err == nil {
		t.Error("bad regex accepted")
	}
	if _, err := e.eng.Rules().BlockedIPs().Get(e.ctx(), "junk"); !errors.Is(err, core.ErrInvalid) {
		t.Errorf("Get(junk) = %v", err)
	}
	// Headers and paths of every shape: a decision, never a panic.
	for _, r := range []*http.Request{
		request("3.3.3.3", "/%00", ua("\x00\xff\xfe")),
		request("3.3.3.3", "/", func(r *http.Request) { r.Header["X-Forwarded-For"] = []string{"\xff", ""} }),
	} {
		if _, err := e.eng.Check(e.ctx(), core.Request{HTTP: r}); err != nil {
			t.Errorf("Check: %v", err)
		}
	}
	if _, err := e.eng.Check(e.ctx(), core.Request{}); err == nil {
		t.Error("nil request: no error")
	}
}

func TestRegexLimit(t *testing.T) {
	e := newEnv(t)
	for i := range 50 {
		put(e, e.eng.Rules().BlockedUserAgents(), rule.BlockedUserAgent{Pattern: fmt.Sprintf("bot%d\\d", i), Match: rule.UARegex})
	}
	if _, err := e.eng.Rules().BlockedUserAgents().Put(e.ctx(), rule.BlockedUserAgent{Pattern: "x\\d", Match: rule.UARegex}); !errors.Is(err, core.ErrInvalid) {
		t.Fatalf("51st regex: %v, want ErrInvalid", err)
	}
	wantDeny(t, e.check("3.3.3.3", "/", "", ua("x bot49 9")), core.ActionUserAgentBlock, "Access denied")
}

func TestInternalCountry(t *testing.T) {
	e := newEnv(t)
	put(e, e.eng.Rules().BlockedCountries(), rule.BlockedCountry{Code: "CN"})
	for _, ip := range []string{"192.168.1.10", "10.1.2.3", "100.64.0.1", "127.0.0.1", "::1", "fe80::1"} {
		d := e.check(ip, "/", "")
		wantAllow(t, d)
		if d.Country != "" {
			t.Fatalf("%s: country %q for an internal address", ip, d.Country)
		}
	}
	e.settings(func(s *core.Settings) { s.InternalCountry = "cn" })
	d := e.check("100.64.0.1", "/", "") // CGNAT counts as internal
	wantDeny(t, d, core.ActionCountryBlock, "Access denied from your region")
	if d.Country != "CN" {
		t.Fatalf("country = %q, want CN", d.Country)
	}
}
