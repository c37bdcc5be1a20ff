package core_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/wardenkit/warden/core"
	"github.com/wardenkit/warden/core/rule"
)

// Attacks that walked around a rule: each case failed before the fix.
func TestUserAgentRulesSeeTheWholeHeader(t *testing.T) {
	e := newEnv(t)
	put(e, e.eng.Rules().BlockedUserAgents(), rule.BlockedUserAgent{Pattern: `sqlmap/\d`, Match: rule.UARegex})
	put(e, e.eng.Rules().BlockedUserAgents(), rule.BlockedUserAgent{Pattern: "ÄrgerBot"})
	put(e, e.eng.Rules().BlockedUserAgents(), rule.BlockedUserAgent{Pattern: "Ünïcode Exact", Match: rule.UAExact})
	for _, c := range []struct {
		name string
		opt  reqOpt
	}{
		{"regex_after_1100_bytes_of_padding", ua(strings.Repeat("a", 1100) + " sqlmap/1.7")},
		{"second_user_agent_line", func(r *http.Request) {
			r.Header.Set("User-Agent", "Mozilla/5.0")
			r.Header.Add("User-Agent", "sqlmap/1.7")
		}},
		{"unicode_case_of_contains_pattern", ua("Mozilla ärgerbot/2")},
		{"unicode_case_of_exact_pattern", ua("ÜNÏCODE EXACT")},
	} {
		t.Run(c.name, func(t *testing.T) {
			wantDeny(t, e.check("3.3.3.3", "/", "", c.opt), core.ActionUserAgentBlock, "Access denied")
		})
	}
	wantAllow(t, e.check("3.3.3.3", "/", "", ua("Mozilla/5.0 sqlmap-free")))
}

func TestCostlyRegexRefusedAtPut(t *testing.T) {
	e := newEnv(t)
	costly := strings.Repeat("[a-z]{0,999}", 10) + "x"
	_, err := e.eng.Rules().BlockedUserAgents().Put(e.ctx(), rule.BlockedUserAgent{Pattern: costly, Match: rule.UARegex})
	var ve *rule.ValidationError
	if !errors.As(err, &ve) || ve.Field != "pattern" || !strings.Contains(err.Error(), "2000") {
		t.Fatalf("Put(costly regex) = %v; want a ValidationError on pattern naming the 2000-instruction bound", err)
	}
	put(e, e.eng.Rules().BlockedUserAgents(), rule.BlockedUserAgent{Pattern: `(?:curl|wget|python-requests)/\d+`, Match: rule.UARegex})
	wantDeny(t, e.check("3.3.3.3", "/", "", ua("python-requests/2.31")), core.ActionUserAgentBlock, "Access denied")
	wantAllow(t, e.check("3.3.3.3", "/", "", ua("python-requests/")))
}

func TestRulesThatCanNeverMatchAreRefused(t *testing.T) {
	e := newEnv(t)
	for _, c := range []struct {
		name  string
		rule  rule.RateLimitRule
		field string
		hint  string
	}{
		{"header_name_with_space_and_crlf", rule.RateLimitRule{Name: "k", PathPattern: "/x", Rate: "5/m", KeyBy: "header:X Y\r\nZ"}, "key_by", "HTTP token"},
		{"empty_header_name", rule.RateLimitRule{Name: "k", PathPattern: "/x", Rate: "5/m", KeyBy: "header:"}, "key_by", "HTTP token"},
		{"trailing_slash", rule.RateLimitRule{Name: "p", PathPattern: "/login/", Rate: "5/m"}, "path_pattern", `"/login"`},
		{"dot_dot", rule.RateLimitRule{Name: "p", PathPattern: "/a/../login", Rate: "5/m"}, "path_pattern", `"/login"`},
		{"double_slash_prefix", rule.RateLimitRule{Name: "p", PathPattern: "/api//v1/*", Rate: "5/m"}, "path_pattern", `"/api/v1/*"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := e.eng.Rules().RateLimitRules().Put(e.ctx(), c.rule)
			var ve *rule.ValidationError
			if !errors.As(err, &ve) || ve.Field != c.field || !strings.Contains(err.Error(), c.hint) {
				t.Fatalf("Put = %v; want a ValidationError on %s mentioning %s", err, c.field, c.hint)
			}
		})
	}
	for _, ok := range []string{"/api/*", "/*", "/", "/ap*", "/users/:id"} {
		if _, err := e.eng.Rules().RateLimitRules().Put(e.ctx(), rule.RateLimitRule{Name: "ok", PathPattern: ok, Rate: "5/m"}); err != nil {
			t.Errorf("Put(%q) = %v", ok, err)
		}
	}
	for _, network := range []string{"0.0.0.0/0", "::/0", "10.0.0.0/7", "2000::/15"} {
		if _, err := e.eng.Rules().BlockedIPs().Put(e.ctx(), rule.BlockedIP{Network: network}); !errors.Is(err, core.ErrInvalid) || !strings.Contains(err.Error(), "force") {
			t.Errorf("block %s without force: %v; want a refusal naming force", network, err)
		}
	}
	put(e, e.eng.Rules().BlockedIPs(), rule.BlockedIP{Network: "10.0.0.0/8"})
	put(e, e.eng.Rules().BlockedIPs(), rule.BlockedIP{Network: "2001::/16"})
	put(e, e.eng.Rules().BlockedIPs(), rule.BlockedIP{Network: "0.0.0.0/0", Force: true})
	wantDeny(t, e.check("3.3.3.3", "/", ""), core.ActionIPBlock, "Access denied")
}

func TestCatchAllRouteDoesNotHideAPath(t *testing.T) {
	e := newEnv(t)
	rateRule(e, rule.RateLimitRule{Name: "login", PathPattern: "/login", Method: "POST", Rate: "2/m"})
	allowed := 0
	for range 10 {
		r := request("3.3.3.3", "/login", method("POST"))
		if d, _ := e.eng.Check(e.ctx(), core.Request{HTTP: r, Route: "/*path"}); d.Allowed {
			allowed++
		}
	}
	if allowed != 2 {
		t.Fatalf("%d of 10 POST /login through a /*path route; want the limit of 2", allowed)
	}
}

// MariaDB's default collation logs "ádmin", "ADMİN", "ａｄｍｉｎ" and
// "adm\u200bin" in as "admin": every spelling must count on admin's counter.
func TestOneCounterPerAccountHoweverSpelled(t *testing.T) {
	spellings := []string{"admin", "ádmin", "ADMİN", "ａｄｍｉｎ", "adm\u200bin", " Admin ", "ÁDMIN"}
	e := newLoginEnv(t)
	checked := 0
	for i := range 50 {
		tk, err := e.lo.Begin(e.ctx(), try(spellings[i%len(spellings)], "203.0.113.7"))
		if err != nil {
			continue
		}
		checked++
		if err := e.lo.Fail(e.ctx(), tk); err != nil {
			t.Fatal(err)
		}
	}
	if checked != 5 {
		t.Fatalf("%d of 50 differently spelled guesses reached the password check; want the limit of 5", checked)
	}
}

func TestUsernameAndEmailShareOneCounter(t *testing.T) {
	lookup := core.WithUserLookup(func(_ context.Context, name string) (string, bool) {
		switch strings.ToLower(name) {
		case "alice", "alice@example.com":
			return "7", true
		}
		return "", false
	})
	e := newLoginEnv(t, lookup)
	checked := 0
	for i := range 20 {
		name := "alice"
		if i%2 == 1 {
			name = "Alice@Example.com"
		}
		tk, err := e.lo.Begin(e.ctx(), try(name, "203.0.113.7"))
		if err != nil {
			continue
		}
		checked++
		if err := e.lo.Fail(e.ctx(), tk); err != nil {
			t.Fatal(err)
		}
	}
	if checked != 5 {
		t.Fatalf("%d guesses reached the check by username and e-mail together; want 5", checked)
	}
	if n, err := e.lo.Unlock(e.ctx(), core.UnlockRequest{Username: "alice@example.com", IP: "203.0.113.7"}); err != nil {
		t.Fatalf("Unlock = %d, %v", n, err)
	}
	e.succeed("alice", "203.0.113.7", "7")
}
