package httpwarden_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/wardenkit/warden/adapters/httpwarden"
	"github.com/wardenkit/warden/adapters/internal/adaptertest"
	"github.com/wardenkit/warden/core"
	"github.com/wardenkit/warden/core/memstore"
	"github.com/wardenkit/warden/core/rule"
)

func engine(t testing.TB) *core.Engine {
	t.Helper()
	eng, err := core.New(memstore.New(), core.WithRebuildInterval(time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = eng.Close(context.Background()) })
	return eng
}

var hello = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	d, ok := httpwarden.DecisionFrom(r)
	if !ok || !d.Allowed {
		http.Error(w, "no decision", 500)
		return
	}
	io.WriteString(w, "hello "+d.ClientIP.String())
})

func serve(h http.Handler, ip, path string, hdr map[string]string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodGet, path, nil)
	r.RemoteAddr = ip + ":1234"
	for k, v := range hdr {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestMiddleware(t *testing.T) {
	eng := engine(t)
	ctx := context.Background()
	if _, err := eng.Rules().BlockedIPs().Put(ctx, rule.BlockedIP{Network: "6.6.6.6"}); err != nil {
		t.Fatal(err)
	}
	if _, err := eng.Rules().WhitelistedUsers().Put(ctx, rule.WhitelistedUser{UserID: "admin"}); err != nil {
		t.Fatal(err)
	}
	h := httpwarden.Middleware(eng, httpwarden.WithUser(func(r *http.Request) string { return r.Header.Get("X-Test-User") }))(hello)

	w := serve(h, "3.3.3.3", "/", nil)
	if w.Code != 200 || w.Body.String() != "hello 3.3.3.3" {
		t.Fatalf("allowed: %d %q", w.Code, w.Body)
	}
	w = serve(h, "6.6.6.6", "/", nil)
	if w.Code != 403 || w.Body.String() != "Access denied" || w.Header().Get("Content-Type") != "text/plain; charset=utf-8" {
		t.Fatalf("denied text: %d %q %v", w.Code, w.Body, w.Header())
	}
	for k, v := range map[string]string{"Cache-Control": "no-store", "Vary": "Accept", "X-Content-Type-Options": "nosniff"} {
		if w.Header().Get(k) != v {
			t.Errorf("header %s = %q, want %q", k, w.Header().Get(k), v)
		}
	}
	w = serve(h, "6.6.6.6", "/", map[string]string{"Accept": "application/json"})
	if w.Code != 403 || strings.TrimSpace(w.Body.String()) != `{"error":"Access denied","status":403}` || w.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("denied json: %d %q", w.Code, w.Body)
	}
	w = serve(h, "6.6.6.6", "/", map[string]string{"Accept": "text/html,application/json"})
	if w.Body.String() != "Access denied" {
		t.Fatalf("html preferred: %q", w.Body)
	}
	w = serve(h, "6.6.6.6", "/", map[string]string{"X-Test-User": "admin"})
	if w.Code != 200 {
		t.Fatalf("exempt user: %d", w.Code)
	}
	w = serve(h, "6.6.6.6", "/health", nil) // exempt path: allowed before the client IP is resolved
	if w.Code != 200 || w.Body.String() != "hello invalid IP" {
		t.Fatalf("exempt path: %d %q", w.Code, w.Body)
	}
}

func TestSpoofedForwardingHeaderIgnored(t *testing.T) {
	eng := engine(t)
	if _, err := eng.Rules().BlockedIPs().Put(context.Background(), rule.BlockedIP{Network: "6.6.6.6"}); err != nil {
		t.Fatal(err)
	}
	w := serve(httpwarden.Middleware(eng)(hello), "6.6.6.6", "/", map[string]string{"X-Forwarded-For": "127.0.0.1", "X-Real-IP": "127.0.0.1"})
	if w.Code != 403 {
		t.Fatalf("spoofed XFF from an untrusted peer: %d, want 403", w.Code)
	}
}

func TestOptions(t *testing.T) {
	eng := engine(t)
	if _, err := eng.Rules().BlockedIPs().Put(context.Background(), rule.BlockedIP{Network: "6.6.6.6"}); err != nil {
		t.Fatal(err)
	}
	var seen core.Decision
	mw := httpwarden.Middleware(eng,
		httpwarden.WithSkipper(func(r *http.Request) bool { return r.URL.Path == "/skip" }),
		httpwarden.WithDenyHandler(func(w http.ResponseWriter, r *http.Request, d core.Decision) {
			seen = d
			w.WriteHeader(http.StatusTeapot)
		}))
	h := mw(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) }))
	if w := serve(h, "6.6.6.6", "/skip", nil); w.Code != 204 {
		t.Fatalf("skipped: %d", w.Code)
	}
	if w := serve(h, "6.6.6.6", "/", nil); w.Code != http.StatusTeapot || seen.Action != core.ActionIPBlock {
		t.Fatalf("deny handler: %d %+v", w.Code, seen)
	}
}

// Programmer errors panic at construction with an error naming them; the
// nil option used to reach a nil call, and an option's error lost its %w.
func TestMiddlewarePanics(t *testing.T) {
	eng := engine(t)
	mw := func(opts ...httpwarden.Option) func() { return func() { httpwarden.Middleware(eng, opts...) } }
	for _, c := range []struct {
		name string
		call func()
		want string
	}{
		{"nil_engine", func() { httpwarden.Middleware(nil) }, "httpwarden: Middleware: nil engine"},
		{"nil_option", mw(httpwarden.WithUser(func(*http.Request) string { return "" }), nil), "httpwarden: Middleware: nil option"},
		{"nil_user", mw(httpwarden.WithUser(nil)), "httpwarden: Middleware: WithUser: nil function"},
		{"nil_deny_handler", mw(httpwarden.WithDenyHandler(nil)), "httpwarden: Middleware: WithDenyHandler: nil handler"},
		{"nil_skipper", mw(httpwarden.WithSkipper(nil)), "httpwarden: Middleware: WithSkipper: nil function"},
		{"nil_handler", func() { httpwarden.Middleware(eng)(nil) }, "httpwarden: Middleware: nil handler"},
	} {
		adaptertest.WantPanic(t, c.name, c.want, c.call)
	}
}

func TestFailPolicy(t *testing.T) {
	eng, _ := core.New(memstore.New()) // never started: cannot decide
	w := serve(httpwarden.Middleware(eng)(hello), "3.3.3.3", "/", nil)
	if w.Code != 503 || w.Body.String() != "Service unavailable" {
		t.Fatalf("not started: %d %q, want 503", w.Code, w.Body)
	}
	open, _ := core.New(memstore.New(), core.WithFailPolicy(core.FailOpen))
	if w := serve(httpwarden.Middleware(open)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})), "3.3.3.3", "/", nil); w.Code != 200 {
		t.Fatalf("fail open: %d", w.Code)
	}
}

func TestRetryAfterHeader(t *testing.T) {
	w := httptest.NewRecorder()
	r := httptest.NewRequest("GET", "/", nil)
	httpwarden.WriteDenial(w, r, core.Decision{Status: 429, RetryAfter: 1500 * time.Millisecond})
	if w.Code != 429 || w.Header().Get("Retry-After") != "2" || w.Body.String() != "Too many requests" {
		t.Fatalf("429: %d %q %q", w.Code, w.Header().Get("Retry-After"), w.Body)
	}
}

// The adapter adds at most 2 allocations to Check (the performance budget).
func TestMiddlewareAllocs(t *testing.T) {
	eng := engine(t)
	noop := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	h := httpwarden.Middleware(eng)(noop)
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.RemoteAddr = "3.3.3.3:1234"
	r.Header.Set("User-Agent", "Mozilla/5.0")
	w := httptest.NewRecorder()
	base := testing.AllocsPerRun(1000, func() { _, _ = eng.Check(context.Background(), core.Request{HTTP: r}) })
	n := testing.AllocsPerRun(1000, func() { h.ServeHTTP(w, r) })
	if n-base > 2 {
		t.Fatalf("middleware adds %.1f allocs to Check's %.1f; budget 2", n-base, base)
	}
	t.Logf("Check %.1f allocs, middleware %.1f", base, n)
}

// Behind a Go 1.22 ServeMux pattern, rate-limit rules match the pattern's
// path, not its method and host.
func TestRateLimitOnMuxPattern(t *testing.T) {
	eng := engine(t)
	if _, err := eng.Rules().RateLimitRules().Put(context.Background(), rule.RateLimitRule{Name: "u", PathPattern: "/users/{id}", Rate: "1/m"}); err != nil {
		t.Fatal(err)
	}
	mw := httpwarden.Middleware(eng)
	mux := http.NewServeMux()
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) })
	mux.Handle("GET example.com/users/{id}", mw(ok))
	send := func(path string) int {
		r := httptest.NewRequest(http.MethodGet, "http://example.com"+path, nil)
		r.RemoteAddr = "3.3.3.3:1234"
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, r)
		return w.Code
	}
	if c := send("/users/1"); c != 204 {
		t.Fatalf("first: %d", c)
	}
	if c := send("/users/2"); c != 429 {
		t.Fatalf("second request on the same pattern: %d, want 429", c)
	}
}
