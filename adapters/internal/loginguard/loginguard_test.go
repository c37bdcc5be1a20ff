package loginguard_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/wardenkit/warden/adapters/internal/loginguard"
	"github.com/wardenkit/warden/core"
	"github.com/wardenkit/warden/core/memstore"
	"github.com/wardenkit/warden/core/rule"
)

type ctxKey struct{}

func lockout(t *testing.T) *core.Lockout {
	t.Helper()
	ctx := context.Background()
	eng, err := core.New(memstore.New(), core.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = eng.Close(ctx) })
	// Whitelisted: attempts never lock, whatever the benchmark loop does.
	if _, err := eng.Rules().WhitelistedIPs().Put(ctx, rule.WhitelistedIP{Network: "203.0.113.7"}); err != nil {
		t.Fatal(err)
	}
	return eng.Lockout()
}

func TestBegin(t *testing.T) {
	lo := lockout(t)
	g := loginguard.New("test", lo, loginguard.Config{})
	r := httptest.NewRequest("POST", "/login", nil)
	r.RemoteAddr = "203.0.113.7:4000"
	r = r.WithContext(context.WithValue(context.Background(), ctxKey{}, "parent"))

	r2, st, err := g.Begin(r, "Alice")
	if err != nil {
		t.Fatal(err)
	}
	if r2 == r || r2.URL != r.URL || r2.RemoteAddr != r.RemoteAddr {
		t.Fatal("not a shallow copy of the request")
	}
	if loginguard.From(r.Context()) != nil || loginguard.From(nil) != nil {
		t.Fatal("state found where no guard ran")
	}
	if loginguard.From(r2.Context()) != st || r2.Context().Value(ctxKey{}) != "parent" {
		t.Fatal("state or parent values not in the new context")
	}
	if tk := st.Ticket(); tk.Username() != "alice" || tk.IP().String() != "203.0.113.7" || !tk.Bypassed() {
		t.Fatalf("ticket %q %v bypassed %v", tk.Username(), tk.IP(), tk.Bypassed())
	}
	if err := st.Fail(r2.Context(), "LoginFailed"); err != nil {
		t.Fatal(err)
	}
	st.Finish(r2, 200) // reported: nothing more happens
	if s := lo.Stats(); s.Failed != 1 || s.Succeeded != 0 {
		t.Fatalf("stats %+v", s)
	}
}

// The guard costs one allocation on top of Lockout.Begin: the request copy
// that carries the context and the state (it stays so only while
// http.Request.WithContext is inlined).
func TestBeginAllocs(t *testing.T) {
	lo := lockout(t)
	g := loginguard.New("test", lo, loginguard.Config{})
	r := httptest.NewRequest("POST", "/login", nil)
	r.RemoteAddr = "203.0.113.7:4000"
	a := core.Attempt{Username: "alice", HTTP: r}
	begin := testing.AllocsPerRun(1000, func() { _, _ = lo.Begin(context.Background(), a) })
	guard := testing.AllocsPerRun(1000, func() { _, _, _ = g.Begin(r, "alice") })
	if guard-begin != 1 {
		t.Fatalf("Guard.Begin takes %.1f allocs on top of Lockout.Begin's %.1f, want 1", guard-begin, begin)
	}
}

func TestConfigSetters(t *testing.T) {
	var c loginguard.Config
	if err := c.SetLogger(nil); err == nil || err.Error() != "WithLogger: nil logger" {
		t.Errorf("SetLogger(nil) = %v", err)
	}
	if err := c.SetFromStatus(nil); err == nil || err.Error() != "WithOutcomeFromStatus: nil function" {
		t.Errorf("SetFromStatus(nil) = %v", err)
	}
	l := slog.New(slog.DiscardHandler)
	if c.SetLogger(l) != nil || c.SetFromStatus(func(int) bool { return true }) != nil || c.Logger != l || c.FromStatus == nil {
		t.Errorf("setters did not set: %+v", c)
	}
}

type successOption func(*core.Success)

func TestReportWithoutGuard(t *testing.T) {
	for _, r := range []*http.Request{nil, httptest.NewRequest("POST", "/login", nil)} {
		if err := loginguard.ReportFailed("x", r); !errors.Is(err, loginguard.ErrNoGuard) || err.Error() != "x: LoginFailed: no LoginGuard ran for this request" {
			t.Errorf("ReportFailed = %v", err)
		}
		v, err := loginguard.ReportSucceeded[successOption]("x", r, "1", nil)
		if v != core.LoginRefuse || !errors.Is(err, loginguard.ErrNoGuard) || err.Error() != "x: LoginSucceeded: no LoginGuard ran for this request" {
			t.Errorf("ReportSucceeded = %v, %v", v, err)
		}
	}
}

func TestReportSucceeded(t *testing.T) {
	lo := lockout(t)
	g := loginguard.New("x", lo, loginguard.Config{})
	r := httptest.NewRequest("POST", "/login", nil)
	r.RemoteAddr = "203.0.113.7:4000"
	r2, _, err := g.Begin(r, "alice")
	if err != nil {
		t.Fatal(err)
	}
	var seen core.Success
	spy := successOption(func(s *core.Success) { seen = *s })
	withKey := successOption(func(s *core.Success) { s.SessionKey = "k" })
	v, err := loginguard.ReportSucceeded("x", r2, "1", []successOption{withKey, nil, spy})
	if v != core.LoginAllow || err != nil || seen.UserID != "1" || seen.SessionKey != "k" {
		t.Fatalf("ReportSucceeded = %v, %v; success %+v", v, err, seen)
	}
	if err := loginguard.ReportFailed("x", r2); !errors.Is(err, core.ErrTicketUsed) {
		t.Fatalf("second outcome: %v", err)
	}
}
