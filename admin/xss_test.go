package admin_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"github.com/wardenkit/warden/core"
)

// payload is markup an attacker would like a page to run.
const payload = `"><script>alert(1)</script><img src=x onerror=alert(2)><svg onload=alert(3)>`

// assertSafe fails when a page holds any script but ours, any inline
// style or event handler, a javascript: URL, or the payload unescaped.
func assertSafe(t *testing.T, where, body string) {
	t.Helper()
	if strings.Contains(body, "<script>alert") || strings.Contains(body, "<img src=x") || strings.Contains(body, "<svg onload") {
		t.Errorf("%s: the payload is in the page unescaped", where)
	}
	doc := parseHTML(t, body)
	walk(doc, func(n *html.Node) {
		switch n.Data {
		case "script":
			src, ok := attr(n, "src")
			if !ok || !strings.HasSuffix(src, "static/admin.js") || n.FirstChild != nil {
				t.Errorf("%s: a script that is not ours: %s", where, renderAttrs(n))
			}
		case "style":
			t.Errorf("%s: an inline <style> element", where)
		}
		for _, a := range n.Attr {
			k := strings.ToLower(a.Key)
			if k == "style" || strings.HasPrefix(k, "on") {
				t.Errorf("%s: inline %s attribute on <%s>", where, a.Key, n.Data)
			}
			if (k == "href" || k == "src" || k == "action") && strings.HasPrefix(strings.ToLower(strings.TrimSpace(a.Val)), "javascript:") {
				t.Errorf("%s: javascript: URL", where)
			}
		}
	})
}

// xssRules are rules of every kind whose free-text fields hold the payload.
var xssRules = map[string]string{
	"blocked-ips":         `{"network":"203.0.113.1","reason":%q,"country_code":"RU"}`,
	"whitelisted-ips":     `{"network":"192.0.2.1","description":%q}`,
	"blocked-countries":   `{"code":"RU","name":%q,"reason":%q}`,
	"allowed-countries":   `{"code":"FR","name":%q}`,
	"blocked-user-agents": `{"pattern":%q,"description":%q}`,
	"whitelisted-users":   `{"user_id":%q,"reason":%q}`,
	"blocked-emails":      `{"email":"x@example.com","reason":%q}`,
	"blocked-domains":     `{"domain":"example.org","reason":%q}`,
	"rate-limits":         `{"name":%q,"path_pattern":"/login","rate":"5/m","key_by":"header:X-Key"}`,
}

func TestScriptInEveryTextFieldIsEscaped(t *testing.T) {
	e := newEnv(t)
	p, _ := json.Marshal(payload)
	for slug, tmpl := range xssRules {
		body := strings.ReplaceAll(tmpl, "%q", string(p))
		code, m := e.api("POST", "/rules/"+slug, body)
		if code != http.StatusCreated {
			t.Fatalf("%s: %d %v", slug, code, m)
		}
		id := itoa(int64(m["id"].(float64)))
		for _, page := range []string{"/rules/" + slug, "/rules/" + slug + "/" + id, "/rules/" + slug + "/" + id + "/delete", "/rules/" + slug + "?q=" + url.QueryEscape(payload)} {
			w := e.get(page)
			wantStatus(t, w, http.StatusOK)
			assertSafe(t, page, w.Body.String())
		}
		if !strings.Contains(e.get("/rules/"+slug+"/"+id).Body.String(), "&lt;script&gt;alert(1)") {
			t.Errorf("%s: the payload is not shown (escaped) on the edit page", slug)
		}
	}
	// The same payload as typed into a form that fails validation.
	w := e.post("/rules/blocked-ips/new", url.Values{"network": {payload}, "reason": {payload}})
	wantStatus(t, w, http.StatusUnprocessableEntity)
	assertSafe(t, "invalid form", w.Body.String())
}

func TestAttackerTextInLogsIsEscaped(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	ev := core.Event{CreatedAt: e.clock.Now().Add(-1), Action: core.ActionIPBlock, IP: "203.0.113.1", Path: "/" + payload, UserAgent: payload, Details: payload, UserEmail: payload, Method: "GET", Count: 1}
	if err := e.store.AppendEvents(ctx, []core.Event{ev}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.AppendLogin(ctx, core.LoginRecord{CreatedAt: e.clock.Now(), UserID: payload, IP: "203.0.113.1", UserAgent: payload,
		Browser: payload, OS: payload, Suspicious: true, Reasons: payload}); err != nil {
		t.Fatal(err)
	}
	for _, page := range []string{"/", "/?fresh=1", "/events", "/logins", "/logins?suspicious=yes"} {
		w := e.get(page)
		wantStatus(t, w, http.StatusOK)
		assertSafe(t, page, w.Body.String())
	}
}

func TestReflectedParametersAreEscaped(t *testing.T) {
	e := newEnv(t)
	q := url.QueryEscape(payload)
	for _, page := range []string{
		"/rules/blocked-ips?q=" + q, "/rules/blocked-ips?country_code=" + q, "/rules/blocked-ips?active=" + q,
		"/rules/" + q, "/events?ip=" + q, "/events?action=" + q, "/events?since=" + q, "/logins?user=" + q,
		"/why?ip=" + q, "/why?ip=192.0.2.1&ua=" + q + "&path=/" + q + "&user=" + q + "&email=" + q,
		"/rules/blocked-ips?ok=created&key=" + q, "/" + q, "/rules/blocked-ips/1?back=" + q,
	} {
		w := e.get(page)
		if !strings.HasPrefix(w.Header().Get("Content-Type"), "text/html") {
			continue
		}
		assertSafe(t, page, w.Body.String())
	}
}

func TestNoInlineScriptOrStyleOnAnyPage(t *testing.T) {
	e := newEnv(t)
	e.seedEvents(100)
	for slug, tmpl := range xssRules {
		body := strings.ReplaceAll(tmpl, "%q", `"x"`)
		if code, m := e.api("POST", "/rules/"+slug, body); code != http.StatusCreated {
			t.Fatalf("%s: %d %v", slug, code, m)
		}
	}
	pages := []string{"/", "/settings", "/locked", "/logins", "/events", "/why", "/why?ip=203.0.113.1&ua=x", "/no-such-page", "/api-less"}
	for slug := range xssRules {
		pages = append(pages, "/rules/"+slug, "/rules/"+slug+"/new", "/rules/"+slug+"/import")
	}
	n := 0
	for _, page := range pages {
		w := e.get(page)
		assertSafe(t, page, w.Body.String())
		if csp := w.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
			t.Errorf("%s: CSP %q", page, csp)
		}
		n++
	}
	if n < 30 {
		t.Errorf("only %d pages checked", n)
	}
}
