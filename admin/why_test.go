package admin_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/wardenkit/warden/core"
	"github.com/wardenkit/warden/core/rule"
)

func TestWhyShowsTheDecidingRuleAndChangesNothing(t *testing.T) {
	e := newEnv(t)
	rules := e.eng.Rules()
	ctx := context.Background()
	mustPut(t)(rules.BlockedIPs().Put(ctx, rule.BlockedIP{Network: "203.0.113.0/24", Reason: "scanner"}))
	mustPut(t)(rules.BlockedUserAgents().Put(ctx, rule.BlockedUserAgent{Pattern: "sqlmap", ReportOnly: true}))
	mustPut(t)(rules.RateLimitRules().Put(ctx, rule.RateLimitRule{Name: "login", PathPattern: "/login", Rate: "1/m"}))
	mustPut(t)(rules.BlockedDomains().Put(ctx, rule.BlockedDomain{Domain: "mailinator.com"}))
	before := e.eng.Stats().EventsQueued

	w := e.get("/why?ip=203.0.113.9&ua=sqlmap%2F1.7&path=%2F&method=GET")
	wantStatus(t, w, http.StatusOK)
	doc := parseHTML(t, w.Body.String())
	if v := findByClass(doc, "verdict"); len(v) != 1 || !strings.Contains(text(v[0]), "denied with Forbidden (IP_BLOCK)") {
		t.Fatalf("verdict:\n%s", cutBody(w.Body.String()))
	}
	var decided string
	for _, li := range findByClass(doc, "step") {
		if strings.Contains(text(li), "this step decided") {
			decided = text(li)
		}
	}
	if !strings.HasPrefix(decided, "blocked_ip: denied") || !strings.Contains(decided, "203.0.113.0/24") {
		t.Errorf("the deciding step: %q", decided)
	}

	for range 5 { // a real request would use up the 1/m limit; asking must not
		wantStatus(t, e.get("/why?ip=198.51.100.4&path=/login&method=POST&email=x@sub.mailinator.com"), http.StatusOK)
	}
	code, m := e.api("GET", "/why?ip=198.51.100.4&path=/login&email=x@sub.mailinator.com", "")
	if code != 200 {
		t.Fatalf("API: %d %v", code, m)
	}
	var sawRate, sawEmail bool
	for _, s := range m["steps"].([]any) {
		st := s.(map[string]any)
		sawRate = sawRate || (st["name"] == "rate_limit" && st["outcome"] == "matched" && st["kind"] == "rate-limits" && st["key"] == "ALL /login")
		sawEmail = sawEmail || (st["name"] == "email" && st["outcome"] == "denied" && st["key"] == "mailinator.com" && st["decided"] == true)
	}
	if !sawRate || !sawEmail {
		t.Errorf("API steps: %v", m["steps"])
	}
	if got := e.eng.Stats().EventsQueued; got != before {
		t.Errorf("Why? queued %d events", got-before)
	}
	r := httptest.NewRequest(http.MethodPost, "http://example.com/login", nil)
	r.RemoteAddr = "198.51.100.4:1234"
	if d, _ := e.eng.Check(ctx, core.Request{HTTP: r}); !d.Allowed {
		t.Errorf("the first real request after Why? was rate-limited: %+v", d)
	}
}

func TestWhyBadInput(t *testing.T) {
	e := newEnv(t)
	wantStatus(t, e.get("/why"), http.StatusOK)
	for q, field := range map[string]string{"?ip=not-an-ip": "ip", "?ip=192.0.2.1&path=nope": "path", "?ip=192.0.2.1&path=/%00x&method=G%20T": ""} {
		w := e.get("/why" + q)
		if w.Code != http.StatusBadRequest && w.Code != http.StatusUnprocessableEntity {
			t.Errorf("%s: %d", q, w.Code)
		}
		if field != "" {
			if inv := findByClass(parseHTML(t, w.Body.String()), "invalid"); len(inv) != 1 || !strings.Contains(renderAttrs(inv[0]), `name="`+field+`"`) {
				t.Errorf("%s: no error beside %s", q, field)
			}
		}
	}
}

// mustPut fails the test when a Put failed.
func mustPut(t *testing.T) func(any, error) {
	return func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
}
