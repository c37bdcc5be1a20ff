package echowarden_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/wardenkit/warden/adapters/echowarden"
	"github.com/wardenkit/warden/adapters/internal/adaptertest"
	"github.com/wardenkit/warden/core"
	"github.com/wardenkit/warden/core/memstore"
	"github.com/wardenkit/warden/core/rule"
)

func engine(t testing.TB, blocked ...string) *core.Engine {
	t.Helper()
	ctx := context.Background()
	eng, err := core.New(memstore.New(), core.WithRebuildInterval(time.Millisecond), core.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = eng.Close(ctx) })
	for _, n := range blocked {
		if _, err := eng.Rules().BlockedIPs().Put(ctx, rule.BlockedIP{Network: n}); err != nil {
			t.Fatal(err)
		}
	}
	return eng
}

func get(h http.Handler, peer, path string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodGet, path, nil)
	r.RemoteAddr = peer + ":1234"
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func app(t *testing.T, eng *core.Engine, opts ...echowarden.Option) (*echo.Echo, *bool) {
	t.Helper()
	ran := new(bool)
	e := echo.New()
	e.Use(echowarden.Middleware(eng, opts...))
	e.GET("/*", func(c echo.Context) error {
		*ran = true
		_, ok := echowarden.DecisionFrom(c)
		return c.String(200, "decision="+map[bool]string{true: "yes", false: "no"}[ok])
	})
	return e, ran
}

func TestDenyHandlerErrorGoesToErrorHandler(t *testing.T) {
	eng := engine(t, "6.6.6.6")
	var seen core.Decision
	e, ran := app(t, eng, echowarden.WithDenyHandler(func(c echo.Context, d core.Decision) error {
		seen = d
		return echo.NewHTTPError(d.Status, d.Message())
	}))
	w := get(e, "6.6.6.6", "/")
	if w.Code != 403 || strings.TrimSpace(w.Body.String()) != `{"message":"Access denied"}` || *ran {
		t.Fatalf("denied: %d %q, handler ran: %v", w.Code, w.Body, *ran)
	}
	if seen.Action != core.ActionIPBlock || seen.ClientIP.String() != "6.6.6.6" {
		t.Fatalf("deny handler got %+v", seen)
	}
}

// The default denial goes through echo.Response, so Echo knows the response
// is committed and an error handler further out does not write a second one.
func TestDefaultDenialIsCommitted(t *testing.T) {
	eng := engine(t, "6.6.6.6")
	ran := false
	h := echowarden.Middleware(eng)(func(c echo.Context) error { ran = true; return nil })
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "6.6.6.6:1234"
	w := httptest.NewRecorder()
	c := echo.New().NewContext(r, w)
	if err := h(c); err != nil {
		t.Fatal(err)
	}
	if res := c.Response(); !res.Committed || res.Status != 403 || ran || w.Body.String() != "Access denied" {
		t.Fatalf("committed %v status %d ran %v body %q", res.Committed, res.Status, ran, w.Body)
	}
}

func TestSkipper(t *testing.T) {
	eng := engine(t, "6.6.6.6")
	skip := func(c echo.Context) bool { return c.Request().URL.Path == "/skip" }
	e, _ := app(t, eng, echowarden.WithSkipper(skip))
	if w := get(e, "6.6.6.6", "/skip"); w.Code != 200 || w.Body.String() != "decision=no" {
		t.Fatalf("skipped: %d %q", w.Code, w.Body)
	}
	if w := get(e, "6.6.6.6", "/other"); w.Code != 403 {
		t.Fatalf("not skipped: %d", w.Code)
	}
	if w := get(e, "3.3.3.3", "/other"); w.Code != 200 || w.Body.String() != "decision=yes" {
		t.Fatalf("allowed: %d %q", w.Code, w.Body)
	}
}

// Programmer errors panic at construction with an error naming them.
func TestMiddlewarePanics(t *testing.T) {
	eng := engine(t)
	mw := func(opts ...echowarden.Option) func() { return func() { echowarden.Middleware(eng, opts...) } }
	for _, c := range []struct {
		name string
		call func()
		want string
	}{
		{"nil_engine", func() { echowarden.Middleware(nil) }, "echowarden: Middleware: nil engine"},
		{"nil_option", mw(echowarden.WithUser(func(echo.Context) string { return "" }), nil), "echowarden: Middleware: nil option"},
		{"nil_user", mw(echowarden.WithUser(nil)), "echowarden: Middleware: WithUser: nil function"},
		{"nil_deny_handler", mw(echowarden.WithDenyHandler(nil)), "echowarden: Middleware: WithDenyHandler: nil handler"},
		{"nil_skipper", mw(echowarden.WithSkipper(nil)), "echowarden: Middleware: WithSkipper: nil function"},
	} {
		adaptertest.WantPanic(t, c.name, c.want, c.call)
	}
}

func TestDecisionFromWithoutMiddleware(t *testing.T) {
	if _, ok := echowarden.DecisionFrom(nil); ok {
		t.Fatal("nil context has a decision")
	}
	c := echo.New().NewContext(httptest.NewRequest("GET", "/", nil), httptest.NewRecorder())
	if _, ok := echowarden.DecisionFrom(c); ok {
		t.Fatal("request the middleware never saw has a decision")
	}
}

func TestFailPolicy(t *testing.T) {
	eng, _ := core.New(memstore.New(), core.WithLogger(slog.New(slog.DiscardHandler))) // never started
	e, ran := app(t, eng)
	if w := get(e, "3.3.3.3", "/"); w.Code != 503 || w.Body.String() != "Service unavailable" || *ran {
		t.Fatalf("not started: %d %q ran %v", w.Code, w.Body, *ran)
	}
}

// The adapter adds at most 2 allocations to Check for an allowed request
// (the performance budget): the request copy that carries the decision and the decision.
// Echo v4 applies every middleware (e.Use, group and route level) anew on
// each request, which costs one closure per middleware per request whatever
// the middleware does; so each mount is measured against the same app with a
// pass-through middleware in its place.
func TestMiddlewareAllocs(t *testing.T) {
	eng := adaptertest.BenchEngine(t)
	mw := echowarden.Middleware(eng, echowarden.WithUser(func(echo.Context) string { return "" }))
	noop := func(echo.Context) error { return nil }
	passThrough := func(next echo.HandlerFunc) echo.HandlerFunc { return func(c echo.Context) error { return next(c) } }
	r := adaptertest.BenchRequest()
	w := &adaptertest.DiscardWriter{}
	allocs := func(h http.Handler) float64 {
		return testing.AllocsPerRun(1000, func() {
			w.Reset()
			h.ServeHTTP(w, r)
			if w.Status != 0 { // noop writes nothing; a denial would have
				t.Fatalf("request denied: %d", w.Status)
			}
		})
	}
	check := testing.AllocsPerRun(1000, func() { _, _ = eng.Check(context.Background(), core.Request{HTTP: r}) })

	routePass, route := echo.New(), echo.New()
	routePass.GET("/", noop, passThrough)
	route.GET("/", noop, mw)
	usePass, useWarden := echo.New(), echo.New()
	usePass.Use(passThrough)
	usePass.GET("/", noop)
	useWarden.Use(mw)
	useWarden.GET("/", noop)

	for _, c := range []struct {
		name       string
		base, with http.Handler
	}{{"route", routePass, route}, {"use", usePass, useWarden}} {
		base, full := allocs(c.base), allocs(c.with)
		if added := full - base - check; added > 2 {
			t.Errorf("%s: middleware adds %.1f allocs on top of Check (%.1f) and Echo (%.1f); budget 2", c.name, added, check, base)
		}
		t.Logf("%s: Check %.1f allocs, Echo %.1f, Echo+warden %.1f", c.name, check, base, full)
	}
}
