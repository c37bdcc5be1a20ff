package core_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/wardenkit/warden/core"
)

// Attacks that walked around a rule: each case failed before the fix.
func TestUserAgentRulesSeeTheWholeHeader(t *testing.T) {
	e := newEnv(t)
	put(e, e.eng.Rules().BlockedUserAgents(), core.BlockedUserAgent{Pattern: `sqlmap/\d`, Match: core.UARegex})
	put(e, e.eng.Rules().BlockedUserAgents(), core.BlockedUserAgent{Pattern: "ÄrgerBot"})
	put(e, e.eng.Rules().BlockedUserAgents(), core.BlockedUserAgent{Pattern: "Ünïcode Exact", Match: core.UAExact})
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
	_, err := e.eng.Rules().BlockedUserAgents().Put(e.ctx(), core.BlockedUserAgent{Pattern: costly, Match: core.UARegex})
	var ve *core.ValidationError
	if !errors.As(err, &ve) || ve.Field != "pattern" || !strings.Contains(err.Error(), "2000") {
		t.Fatalf("Put(costly regex) = %v; want a ValidationError on pattern naming the 2000-instruction bound", err)
	}
	put(e, e.eng.Rules().BlockedUserAgents(), core.BlockedUserAgent{Pattern: `(?:curl|wget|python-requests)/\d+`, Match: core.UARegex})
	wantDeny(t, e.check("3.3.3.3", "/", "", ua("python-requests/2.31")), core.ActionUserAgentBlock, "Access denied")
	wantAllow(t, e.check("3.3.3.3", "/", "", ua("python-requests/")))
}
