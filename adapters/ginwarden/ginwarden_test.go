package ginwarden_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/wardenkit/warden/adapters/ginwarden"
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

func TestDenyAbortsChain(t *testing.T) {
	eng := engine(t, "6.6.6.6")
	var seen core.Decision
	mw := ginwarden.Middleware(eng, ginwarden.WithDenyHandler(func(c *gin.Context, d core.Decision) {
		seen = d
		c.String(http.StatusTeapot, "go away") // no Abort: the middleware must abort anyway
	}))
	ran := false
	r := gin.New()
	r.Use(mw, func(c *gin.Context) { ran = true })
	r.GET("/", func(c *gin.Context) { ran = true; c.String(200, "secret") })

	w := get(r, "6.6.6.6", "/")
	if w.Code != http.StatusTeapot || w.Body.String() != "go away" || ran {
		t.Fatalf("denied: %d %q, later handlers ran: %v", w.Code, w.Body, ran)
	}
	if seen.Action != core.ActionIPBlock || seen.ClientIP.String() != "6.6.6.6" {
		t.Fatalf("deny handler got %+v", seen)
	}
	if w := get(r, "3.3.3.3", "/"); w.Code != 200 || !ran {
		t.Fatalf("allowed: %d, ran %v", w.Code, ran)
	}
}

func TestDefaultDenialStopsLaterMiddleware(t *testing.T) {
	eng := engine(t, "6.6.6.6")
	r := gin.New()
	r.Use(ginwarden.Middleware(eng))
	r.GET("/", func(c *gin.Context) { c.String(200, "secret") })
	w := get(r, "6.6.6.6", "/")
	if w.Code != 403 || w.Body.String() != "Access denied" {
		t.Fatalf("got %d %q", w.Code, w.Body)
	}
}

func TestSkipper(t *testing.T) {
	eng := engine(t, "6.6.6.6")
	r := gin.New()
	r.Use(ginwarden.Middleware(eng, ginwarden.WithSkipper(func(c *gin.Context) bool { return c.Request.URL.Path == "/skip" })))
	r.GET("/*path", func(c *gin.Context) {
		_, ok := ginwarden.DecisionFrom(c)
		c.String(200, "decision=%v", ok)
	})
	if w := get(r, "6.6.6.6", "/skip"); w.Code != 200 || w.Body.String() != "decision=false" {
		t.Fatalf("skipped: %d %q", w.Code, w.Body)
	}
	if w := get(r, "6.6.6.6", "/other"); w.Code != 403 {
		t.Fatalf("not skipped: %d", w.Code)
	}
}

// Programmer errors panic at construction with an error naming them.
func TestMiddlewarePanics(t *testing.T) {
	eng := engine(t)
	mw := func(opts ...ginwarden.Option) func() { return func() { ginwarden.Middleware(eng, opts...) } }
	for _, c := range []struct {
		name string
		call func()
		want string
	}{
		{"nil_engine", func() { ginwarden.Middleware(nil) }, "ginwarden: Middleware: nil engine"},
		{"nil_option", mw(ginwarden.WithUser(func(*gin.Context) string { return "" }), nil), "ginwarden: Middleware: nil option"},
		{"nil_user", mw(ginwarden.WithUser(nil)), "ginwarden: Middleware: WithUser: nil function"},
		{"nil_deny_handler", mw(ginwarden.WithDenyHandler(nil)), "ginwarden: Middleware: WithDenyHandler: nil handler"},
		{"nil_skipper", mw(ginwarden.WithSkipper(nil)), "ginwarden: Middleware: WithSkipper: nil function"},
	} {
		adaptertest.WantPanic(t, c.name, c.want, c.call)
	}
}

func TestDecisionFromWithoutMiddleware(t *testing.T) {
	if _, ok := ginwarden.DecisionFrom(nil); ok {
		t.Fatal("nil context has a decision")
	}
	c, _ := gin.CreateTestContext(httptest.NewRecorder())
	if _, ok := ginwarden.DecisionFrom(c); ok {
		t.Fatal("context without request has a decision")
	}
	c.Request = httptest.NewRequest("GET", "/", nil)
	if _, ok := ginwarden.DecisionFrom(c); ok {
		t.Fatal("request the middleware never saw has a decision")
	}
}

// The decision travels in the request's context, so it survives c.Copy()
// for goroutines and reaches net/http handlers mounted with gin.WrapH.
func TestDecisionInRequestContext(t *testing.T) {
	eng := engine(t)
	r := gin.New()
	r.Use(ginwarden.Middleware(eng))
	var fromCopy core.Decision
	r.GET("/", func(c *gin.Context) {
		cp := c.Copy()
		done := make(chan struct{})
		go func() { fromCopy, _ = ginwarden.DecisionFrom(cp); close(done) }()
		<-done
		c.Status(204)
	})
	if w := get(r, "3.3.3.3", "/"); w.Code != 204 || !fromCopy.Allowed || fromCopy.ClientIP.String() != "3.3.3.3" {
		t.Fatalf("%d %+v", w.Code, fromCopy)
	}
}

func TestFailPolicy(t *testing.T) {
	eng, _ := core.New(memstore.New(), core.WithLogger(slog.New(slog.DiscardHandler))) // never started
	r := gin.New()
	r.Use(ginwarden.Middleware(eng))
	r.GET("/", func(c *gin.Context) { c.String(200, "secret") })
	if w := get(r, "3.3.3.3", "/"); w.Code != 503 || w.Body.String() != "Service unavailable" {
		t.Fatalf("not started: %d %q", w.Code, w.Body)
	}
}

// The adapter adds at most 2 allocations to Check for an allowed request
// (the performance budget): the request copy that carries the decision and the decision.
func TestMiddlewareAllocs(t *testing.T) {
	eng := adaptertest.BenchEngine(t)
	mw := ginwarden.Middleware(eng, ginwarden.WithUser(func(*gin.Context) string { return "" }))
	noop := func(c *gin.Context) {}
	bare, with := gin.New(), gin.New()
	bare.GET("/", noop)
	with.Use(mw)
	with.GET("/", noop)
	r := adaptertest.BenchRequest()
	w := &adaptertest.DiscardWriter{}

	check := testing.AllocsPerRun(1000, func() { _, _ = eng.Check(context.Background(), core.Request{HTTP: r}) })
	base := testing.AllocsPerRun(1000, func() { w.Reset(); bare.ServeHTTP(w, r) })
	full := testing.AllocsPerRun(1000, func() { w.Reset(); with.ServeHTTP(w, r) })
	if w.Status != 200 {
		t.Fatalf("request not allowed: %d", w.Status)
	}
	if added := full - base - check; added > 2 {
		t.Fatalf("middleware adds %.1f allocs on top of Check (%.1f) and Gin (%.1f); budget 2", added, check, base)
	}
	t.Logf("Check %.1f allocs, Gin %.1f, Gin+warden %.1f", check, base, full)
}
