package admin_test

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/wardenkit/warden/admin"
	"github.com/wardenkit/warden/core"
	"github.com/wardenkit/warden/core/memstore"
)

func TestNewRefusesAnOpenAdmin(t *testing.T) {
	eng, err := core.New(memstore.New())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.New(eng); !errors.Is(err, admin.ErrInvalidOption) || !strings.Contains(err.Error(), "WithAuthorizer") {
		t.Errorf("New without an authoriser: %v", err)
	}
	if _, err := admin.New(eng, admin.WithAuthorizer(nil)); !errors.Is(err, admin.ErrInvalidOption) {
		t.Errorf("WithAuthorizer(nil): %v", err)
	}
	if _, err := admin.New(eng, admin.WithBasicAuth("admin", "")); !errors.Is(err, admin.ErrInvalidOption) {
		t.Errorf("WithBasicAuth with no password: %v", err)
	}
	if _, err := admin.New(nil, admin.WithAuthorizer(testAuth)); !errors.Is(err, admin.ErrInvalidOption) {
		t.Errorf("New(nil engine): %v", err)
	}
}

func TestAuthorisationIsRequired(t *testing.T) {
	e := newEnv(t)
	for _, path := range []string{"/", "/rules/blocked-ips", "/static/nope.css", "/static/", "/api/rules/blocked-ips", "/nope"} {
		w := e.do(http.MethodGet, path, nil, map[string]string{"X-Test-User": ""})
		if w.Code != http.StatusUnauthorized {
			t.Errorf("GET %s without the authoriser's ok: %d, want 401", path, w.Code)
		}
		if strings.Contains(w.Body.String(), "<table") {
			t.Errorf("GET %s without the authoriser's ok shows a page", path)
		}
	}
	w := e.do(http.MethodPost, "/rules/blocked-ips/new", strings.NewReader("network=203.0.113.7&active=on"), map[string]string{"X-Test-User": ""})
	wantStatus(t, w, http.StatusUnauthorized)
	wantStatus(t, e.do(http.MethodPost, "/static/admin.css", nil, map[string]string{"X-Test-User": ""}), http.StatusUnauthorized)
	if d := e.check("203.0.113.7"); !d.Allowed {
		t.Errorf("an unauthorised post blocked the address")
	}
}

// TestStaticFilesArePublic checks that the style sheet, script and icon
// (fixed, embedded, no data) are served without signing in, so that the
// signed-out 401 page is styled, with the security headers.
func TestStaticFilesArePublic(t *testing.T) {
	e := newEnv(t, admin.WithBasicAuth("root", "s3cret"))
	for file, ctype := range map[string]string{"admin.css": "text/css", "admin.js": "text/javascript", "favicon.svg": "image/svg+xml"} {
		w := e.do(http.MethodGet, "/static/"+file, nil, map[string]string{"X-Test-User": ""})
		wantStatus(t, w, http.StatusOK)
		if got := w.Header().Get("Content-Type"); !strings.HasPrefix(got, ctype) || w.Body.Len() == 0 {
			t.Errorf("GET /static/%s: %s, %d bytes", file, got, w.Body.Len())
		}
		if w.Header().Get("Content-Security-Policy") == "" || w.Header().Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("GET /static/%s: no security headers: %v", file, w.Header())
		}
	}
	w := e.do(http.MethodGet, "/", nil, map[string]string{"X-Test-User": ""})
	wantStatus(t, w, http.StatusUnauthorized)
	if !strings.Contains(w.Body.String(), "static/admin.css") {
		t.Error("the 401 page does not link the style sheet")
	}
}

func TestBasicAuthChallenges(t *testing.T) {
	e := newEnv(t, admin.WithBasicAuth("root", "s3cret"))
	w := e.do(http.MethodGet, "/", nil, nil) // X-Test-User is no longer enough
	wantStatus(t, w, http.StatusUnauthorized)
	if got := w.Header().Get("WWW-Authenticate"); !strings.HasPrefix(got, "Basic ") {
		t.Errorf("WWW-Authenticate = %q", got)
	}
	r := map[string]string{"Authorization": "Basic cm9vdDpzM2NyZXQ="} // root:s3cret
	wantStatus(t, e.do(http.MethodGet, "/rules/blocked-ips", nil, r), http.StatusOK)
	bad := map[string]string{"Authorization": "Basic cm9vdDp3cm9uZw=="} // root:wrong
	wantStatus(t, e.do(http.MethodGet, "/rules/blocked-ips", nil, bad), http.StatusUnauthorized)
}

func TestReadOnlyRoleCannotWrite(t *testing.T) {
	e := newEnv(t)
	viewer := map[string]string{"X-Test-Role": "viewer"}
	wantStatus(t, e.do(http.MethodGet, "/rules/blocked-ips", nil, viewer), http.StatusOK)
	w := e.do(http.MethodPost, "/rules/blocked-ips/new", strings.NewReader("network=203.0.113.7&active=on"), viewer)
	wantStatus(t, w, http.StatusForbidden)
	if !strings.Contains(w.Body.String(), "read-only") {
		t.Errorf("refusal does not say why: %s", w.Body)
	}
	if d := e.check("203.0.113.7"); !d.Allowed {
		t.Errorf("the read-only role blocked an address")
	}
	w = e.do(http.MethodPut, "/api/settings", strings.NewReader(`{"report_only":true}`), viewer)
	wantStatus(t, w, http.StatusForbidden)
	if !strings.HasPrefix(w.Header().Get("Content-Type"), "application/json") {
		t.Errorf("API refusal is not JSON: %s", w.Header().Get("Content-Type"))
	}
	page := e.do(http.MethodGet, "/rules/blocked-ips", nil, viewer).Body.String()
	if strings.Contains(page, `method="post"`) {
		t.Errorf("the read-only role is offered forms that post")
	}
}

func TestCrossOriginWritesRefused(t *testing.T) {
	e := newEnv(t)
	form := "network=203.0.113.7&active=on"
	for _, tt := range []struct {
		name string
		hdr  map[string]string
	}{
		{"sec_fetch_site_cross_site", map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}},
		{"origin_other_host_no_fetch_metadata", map[string]string{"Sec-Fetch-Site": "", "Origin": "https://evil.example"}},
		{"same_site_subdomain", map[string]string{"Sec-Fetch-Site": "same-site", "Origin": "http://sub.example.com"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := e.do(http.MethodPost, "/rules/blocked-ips/new", strings.NewReader(form), tt.hdr)
			wantStatus(t, w, http.StatusForbidden)
			if !strings.Contains(w.Body.String(), "cross-origin") {
				t.Errorf("refusal does not say why: %s", w.Body)
			}
		})
	}
	if d := e.check("203.0.113.7"); !d.Allowed {
		t.Errorf("a forged cross-origin post blocked the address")
	}
	// The same form from the admin's own page is accepted.
	wantStatus(t, e.do(http.MethodPost, "/rules/blocked-ips/new", strings.NewReader(form), nil), http.StatusSeeOther)
	if d := e.check("203.0.113.7"); d.Allowed {
		t.Errorf("the same-origin post did not block the address")
	}
}

func TestSecurityHeadersOnEveryAnswer(t *testing.T) {
	e := newEnv(t)
	for _, tt := range []struct {
		path string
		hdr  map[string]string
	}{
		{"/", nil}, {"/rules/blocked-ips", nil}, {"/static/admin.js", nil}, {"/no-such-page", nil},
		{"/rules/no-such-kind", nil}, {"/", map[string]string{"X-Test-User": ""}}, {"/api/rules/blocked-ips", nil},
	} {
		w := e.do(http.MethodGet, tt.path, nil, tt.hdr)
		h := w.Header()
		csp := h.Get("Content-Security-Policy")
		for _, d := range []string{"default-src 'self'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'", "base-uri 'none'", "form-action 'self'"} {
			if !strings.Contains(csp, d) {
				t.Errorf("GET %s (%d): CSP %q lacks %q", tt.path, w.Code, csp, d)
			}
		}
		if strings.Contains(csp, "unsafe") {
			t.Errorf("GET %s: CSP allows unsafe sources: %q", tt.path, csp)
		}
		for k, want := range map[string]string{"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store", "Referrer-Policy": "same-origin"} {
			if got := h.Get(k); got != want {
				t.Errorf("GET %s (%d): %s = %q, want %q", tt.path, w.Code, k, got, want)
			}
		}
	}
}

func TestBadInputAnsweredClearly(t *testing.T) {
	e := newEnv(t)
	for _, tt := range []struct {
		path string
		code int
		says string
	}{
		{"/rules/no-such-kind", http.StatusNotFound, "unknown rule kind"},
		{"/rules/blocked-ips/abc", http.StatusBadRequest, "bad id"},
		{"/rules/blocked-ips/-4", http.StatusBadRequest, "bad id"},
		{"/rules/blocked-ips/999999", http.StatusNotFound, "no blocked IP with id 999999"},
		{"/rules/blocked-ips?after=999999", http.StatusNotFound, "past the end"},
		{"/rules/blocked-ips?after=x", http.StatusBadRequest, "bad after"},
		{"/rules/blocked-ips?limit=100000", http.StatusBadRequest, "bad limit"},
		{"/rules/blocked-ips?active=maybe", http.StatusBadRequest, "bad active filter"},
		{"/no-such-page", http.StatusNotFound, "no such page"},
	} {
		w := e.get(tt.path)
		if w.Code != tt.code || !strings.Contains(w.Body.String(), tt.says) {
			t.Errorf("GET %s: %d, want %d saying %q; body:\n%s", tt.path, w.Code, tt.code, tt.says, cutBody(w.Body.String()))
		}
	}
	w := e.post("/rules/blocked-ips/999/delete", url.Values{})
	wantStatus(t, w, http.StatusNotFound)
}

func TestMountedAtRootAndUnderPrefixes(t *testing.T) {
	for _, prefix := range []string{"/admin", "/x/y/admin"} {
		t.Run(prefix, func(t *testing.T) {
			e := newEnvAt(t, prefix)
			w := e.get("")
			wantStatus(t, w, http.StatusMovedPermanently)
			last := prefix[strings.LastIndex(prefix, "/")+1:]
			if loc := w.Header().Get("Location"); loc != last+"/" {
				t.Errorf("Location = %q, want %q (relative)", loc, last+"/")
			}
			w = e.post("/rules/blocked-ips/new", url.Values{"network": {"203.0.113.7"}})
			wantStatus(t, w, http.StatusSeeOther)
			loc := resolve(t, prefix+"/rules/blocked-ips/new", w.Header().Get("Location"))
			if !strings.HasPrefix(loc, prefix+"/rules/blocked-ips?") {
				t.Errorf("redirect goes to %s, outside %s", loc, prefix)
			}
			page := e.get("/rules/blocked-ips/1").Body.String()
			checkLinksStayInside(t, prefix, "/rules/blocked-ips/1", page)
		})
	}
}

// resolve is where a browser at page goes for the link ref.
func resolve(t *testing.T, page, ref string) string {
	t.Helper()
	base, _ := url.Parse("http://example.com" + page)
	u, err := base.Parse(ref)
	if err != nil {
		t.Fatalf("bad link %q: %v", ref, err)
	}
	if u.RawQuery != "" {
		return u.Path + "?" + u.RawQuery
	}
	return u.Path
}

// checkLinksStayInside resolves every link, form and asset of a page and
// fails for one outside the mount point.
func checkLinksStayInside(t *testing.T, prefix, page, body string) {
	t.Helper()
	doc := parseHTML(t, body)
	n := 0
	for _, a := range []string{"href", "src", "action"} {
		for _, ref := range attrValues(doc, a) {
			n++
			if got := resolve(t, prefix+page, ref); !strings.HasPrefix(got, prefix+"/") {
				t.Errorf("%s=%q on %s%s leads to %s", a, ref, prefix, page, got)
			}
		}
	}
	if n < 10 {
		t.Errorf("only %d links on the page", n)
	}
}
