package decisionctx_test

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"testing"

	"github.com/wardenkit/warden/adapters/internal/decisionctx"
	"github.com/wardenkit/warden/core"
	"github.com/wardenkit/warden/core/memstore"
)

type ctxKey struct{}

func engine(t *testing.T) *core.Engine {
	eng, err := core.New(memstore.New(), core.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = eng.Close(context.Background()) })
	return eng
}

func TestDecide(t *testing.T) {
	eng := engine(t)
	r := httptest.NewRequest("GET", "/x?y=1", nil)
	r.RemoteAddr = "3.3.3.3:1234"
	r = r.WithContext(context.WithValue(context.Background(), ctxKey{}, "parent"))

	r2, d := decisionctx.Decide(eng, core.Request{HTTP: r})
	if r2 == r || r2.URL != r.URL || r2.RemoteAddr != r.RemoteAddr || r2.Header.Get("Host") != r.Header.Get("Host") {
		t.Fatal("not a shallow copy of the request")
	}
	if _, ok := decisionctx.From(r.Context()); ok {
		t.Fatal("original request changed")
	}
	got, ok := decisionctx.From(r2.Context())
	if !ok || got != *d || !got.Allowed || got.ClientIP.String() != "3.3.3.3" {
		t.Fatalf("From: %+v %v, Decide: %+v", got, ok, *d)
	}
	if r2.Context().Value(ctxKey{}) != "parent" {
		t.Fatal("parent context values lost")
	}
	if _, ok := decisionctx.From(nil); ok {
		t.Fatal("nil context has a decision")
	}
}

// Decide costs Check plus one allocation: the copy of the request stays on
// the stack only while http.Request.WithContext is inlined.
func TestDecideAllocs(t *testing.T) {
	eng := engine(t)
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "3.3.3.3:1234"
	req := core.Request{HTTP: r}
	check := testing.AllocsPerRun(1000, func() { _, _ = eng.Check(context.Background(), req) })
	n := testing.AllocsPerRun(1000, func() { _, _ = decisionctx.Decide(eng, req) })
	if n-check != 1 {
		t.Fatalf("Decide takes %.1f allocs on top of Check's %.1f, want 1", n-check, check)
	}
}
