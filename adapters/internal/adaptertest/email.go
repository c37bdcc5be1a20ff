package adaptertest

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/wardenkit/warden/core"
	"github.com/wardenkit/warden/core/memstore"
	"github.com/wardenkit/warden/core/rule"
)

// SignUp builds an application whose POST /signup handler calls the
// adapter's CheckEmail on the form field "email" and, when it may go on,
// answers 200 "welcome".
type SignUp func(t testing.TB, eng *core.Engine) http.Handler

// Welcome is the body of a sign-up that went through.
const Welcome = "welcome"

// RunEmail checks an adapter's CheckEmail helper: the denial shapes of the
// middleware for a blocked address or domain (403, text or JSON), 400 for a
// malformed address, and the handler reached for a good one.
func RunEmail(t *testing.T, mount SignUp) {
	eng, err := core.New(memstore.New(), core.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = eng.Close(t.Context()) })
	if _, err := eng.Rules().BlockedDomains().Put(t.Context(), rule.BlockedDomain{Domain: "mailinator.com"}); err != nil {
		t.Fatal(err)
	}
	h := mount(t, eng)
	for _, c := range []struct {
		name, email, accept string
		status              int
		body                string
	}{
		{"good", "alice@example.com", "", 200, Welcome},
		{"blocked_subdomain_text", "bob@eu.mailinator.com", "", 403, "Access denied"},
		{"blocked_json", "bob@mailinator.com", "application/json", 403, `{"error":"Access denied","status":403}`},
		{"malformed", "not-an-address", "", 400, "Invalid e-mail address"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/signup", strings.NewReader(url.Values{"email": {c.email}}.Encode()))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if c.accept != "" {
				r.Header.Set("Accept", c.accept)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			body, _ := io.ReadAll(w.Result().Body)
			if w.Code != c.status || strings.TrimSpace(string(body)) != c.body {
				t.Fatalf("POST /signup email=%s: %d %q; want %d %q", c.email, w.Code, body, c.status, c.body)
			}
			if c.status != 200 && w.Header().Get("Cache-Control") != "no-store" {
				t.Fatalf("denial without Cache-Control: no-store: %v", w.Header())
			}
		})
	}
}
