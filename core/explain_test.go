package core_test

import (
	"strings"
	"testing"

	"github.com/wardenkit/warden/core"
	"github.com/wardenkit/warden/core/rule"
)

// stepOf returns the explained step named name, failing when absent.
func stepOf(t *testing.T, steps []core.Step, name string) core.Step {
	t.Helper()
	for _, s := range steps {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("no step %q in %+v", name, steps)
	return core.Step{}
}

func TestExplainNamesTheDecidingRule(t *testing.T) {
	e := newEnv(t)
	rules := e.eng.Rules()
	ip := put(e, rules.BlockedIPs(), rule.BlockedIP{Network: "203.0.113.0/24"})
	uaRule := put(e, rules.BlockedUserAgents(), rule.BlockedUserAgent{Pattern: "sqlmap"})
	rl := put(e, rules.RateLimitRules(), rule.RateLimitRule{Name: "login", PathPattern: "/login", Rate: "1/m"})
	em := put(e, rules.BlockedEmails(), rule.BlockedEmail{Email: "bad@example.com"})
	put(e, rules.WhitelistedUsers(), rule.WhitelistedUser{UserID: "ops", Exemption: rule.ExemptIPBlock})

	tests := []struct {
		name     string
		ip, path string
		user     string
		email    string
		allowed  bool
		step     string // the step that decided or matched
		outcome  string
		ruleID   int64
	}{
		{"blocked_network", "203.0.113.9", "/", "", "", false, "blocked_ip", "denied", ip.ID},
		{"user_exempt_from_ip_block_meets_ua", "203.0.113.9", "/", "ops", "", false, "user_agent", "denied", uaRule.ID},
		{"rate_rule_listed_not_asked", "198.51.100.1", "/login", "", "", true, "rate_limit", "matched", rl.ID},
		{"blocked_email", "198.51.100.1", "/", "", "BAD@example.com", true, "email", "denied", em.ID},
		{"exempt_path", "203.0.113.9", "/health", "", "", true, "exempt_path", "allowed", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := request(tt.ip, tt.path)
			if tt.user == "ops" {
				r.Header.Set("User-Agent", "sqlmap/1.7")
			}
			d, steps, err := e.eng.Explain(e.ctx(), core.Request{HTTP: r, UserID: tt.user}, tt.email)
			if err != nil {
				t.Fatal(err)
			}
			if d.Allowed != tt.allowed {
				t.Errorf("Allowed = %v, want %v (%+v)", d.Allowed, tt.allowed, steps)
			}
			s := stepOf(t, steps, tt.step)
			if s.Outcome != tt.outcome || s.RuleID != tt.ruleID {
				t.Errorf("step %s = %+v, want outcome %s rule %d", tt.step, s, tt.outcome, tt.ruleID)
			}
		})
	}
}

func TestExplainHasNoSideEffects(t *testing.T) {
	e := newEnv(t)
	rules := e.eng.Rules()
	put(e, rules.BlockedIPs(), rule.BlockedIP{Network: "203.0.113.0/24"})
	put(e, rules.BlockedUserAgents(), rule.BlockedUserAgent{Pattern: "sqlmap", ReportOnly: true})
	put(e, rules.RateLimitRules(), rule.RateLimitRule{Name: "login", PathPattern: "/login", Rate: "1/m"})
	put(e, rules.BlockedEmails(), rule.BlockedEmail{Email: "bad@example.com"})
	before := e.eng.Stats().EventsQueued
	for range 5 {
		r := request("203.0.113.9", "/login", ua("sqlmap"))
		if _, _, err := e.eng.Explain(e.ctx(), core.Request{HTTP: r}, "bad@example.com"); err != nil {
			t.Fatal(err)
		}
		if _, _, err := e.eng.Explain(e.ctx(), core.Request{HTTP: request("198.51.100.1", "/login")}, ""); err != nil {
			t.Fatal(err)
		}
	}
	if got := e.eng.Stats().EventsQueued; got != before {
		t.Errorf("Explain queued %d events", got-before)
	}
	// The rate-limit token is still there: the first real request passes.
	if d := e.check("198.51.100.1", "/login", ""); !d.Allowed {
		t.Fatalf("first real request after Explain denied: %+v", d)
	}
	evs := e.events()
	for _, ev := range evs {
		if ev.IP == "203.0.113.9" || ev.UserEmail != "" {
			t.Errorf("Explain stored an event: %+v", ev)
		}
	}
	ua, err := e.store.BlockedUserAgents().Get(e.ctx(), "sqlmap")
	if err != nil {
		t.Fatal(err)
	}
	if ua.HitCount != 0 {
		t.Errorf("Explain counted %d User-Agent hits", ua.HitCount)
	}
}

func TestExplainReportOnlyGoesOn(t *testing.T) {
	e := newEnv(t)
	rules := e.eng.Rules()
	put(e, rules.BlockedIPs(), rule.BlockedIP{Network: "203.0.113.0/24", ReportOnly: true})
	exp := put(e, rules.BlockedIPs(), rule.BlockedIP{Network: "198.51.100.7", ExpiresAt: e.clock.Now().Add(-1)})
	d, steps, err := e.eng.Explain(e.ctx(), core.Request{HTTP: request("203.0.113.9", "/")}, "")
	if err != nil {
		t.Fatal(err)
	}
	if !d.Allowed || !d.ReportOnly || stepOf(t, steps, "blocked_ip").Outcome != "report_only" {
		t.Errorf("report-only rule: %+v %+v", d, steps)
	}
	stepOf(t, steps, "rate_limit") // the steps after it ran
	_, steps, _ = e.eng.Explain(e.ctx(), core.Request{HTTP: request("198.51.100.7", "/")}, "")
	if s := stepOf(t, steps, "blocked_ip"); s.Outcome != "passed" || !strings.Contains(s.Detail, "expired") {
		t.Errorf("expired rule %d: %+v", exp.ID, s)
	}
}
