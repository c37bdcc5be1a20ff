package core_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/wardenkit/warden/core"
	"github.com/wardenkit/warden/core/memstore"
	"github.com/wardenkit/warden/core/rule"
)

// quiet discards the engine's log lines.
var quiet = core.WithLogger(slog.New(slog.DiscardHandler))

// fakeClock is a settable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock { return &fakeClock{t: time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// fakeGeo maps addresses to countries by prefix.
type fakeGeo map[netip.Prefix]string

func (g fakeGeo) Country(a netip.Addr) (string, bool) {
	for p, c := range g {
		if p.Contains(a) {
			return c, true
		}
	}
	return "", false
}

var geoTable = fakeGeo{
	netip.MustParsePrefix("1.0.0.0/8"):     "CN",
	netip.MustParsePrefix("2.0.0.0/8"):     "RU",
	netip.MustParsePrefix("3.0.0.0/8"):     "US",
	netip.MustParsePrefix("2001:db8::/32"): "CN",
}

type env struct {
	t     *testing.T
	eng   *core.Engine
	store *memstore.Store
	clock *fakeClock
}

func newEnv(t *testing.T, opts ...core.Option) *env {
	t.Helper()
	clock := newClock()
	st := memstore.New(memstore.WithNow(clock.Now))
	opts = append([]core.Option{core.WithClock(clock), core.WithCountryLookup(geoTable), core.WithRebuildInterval(time.Millisecond), quiet}, opts...)
	eng, err := core.New(st, opts...)
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = eng.Close(context.Background()) })
	return &env{t: t, eng: eng, store: st, clock: clock}
}

func (e *env) ctx() context.Context { return context.Background() }

// put writes a rule through the engine and fails the test on error.
func put[T rule.Rule](e *env, tbl core.Table[T], v T) T {
	e.t.Helper()
	got, err := tbl.Put(e.ctx(), v)
	if err != nil {
		e.t.Fatalf("Put(%+v): %v", v, err)
	}
	return got
}

func (e *env) settings(f func(*core.Settings)) {
	e.t.Helper()
	s, err := e.eng.Settings(e.ctx())
	if err != nil {
		e.t.Fatal(err)
	}
	f(&s)
	if _, err := e.eng.PutSettings(e.ctx(), s); err != nil {
		e.t.Fatal(err)
	}
}

type reqOpt func(*http.Request)

func ua(s string) reqOpt { return func(r *http.Request) { r.Header.Set("User-Agent", s) } }

func request(ip, path string, opts ...reqOpt) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "http://example.com"+path, nil)
	r.RemoteAddr = ip
	if a, err := netip.ParseAddr(ip); err == nil {
		r.RemoteAddr = netip.AddrPortFrom(a, 40000).String()
	}
	r.Header.Set("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36")
	for _, o := range opts {
		o(r)
	}
	return r
}

func (e *env) check(ip, path, user string, opts ...reqOpt) core.Decision {
	e.t.Helper()
	d, err := e.eng.Check(e.ctx(), core.Request{HTTP: request(ip, path, opts...), UserID: user})
	if err != nil {
		e.t.Fatalf("Check(%s %s): %v", ip, path, err)
	}
	return d
}

// events closes the engine (flushing the queue) and returns the stored events.
func (e *env) events() []core.Event {
	e.t.Helper()
	if err := e.eng.Close(e.ctx()); err != nil {
		e.t.Fatal(err)
	}
	evs, err := e.store.Events(e.ctx(), core.EventQuery{Limit: 1000})
	if err != nil {
		e.t.Fatal(err)
	}
	return evs
}
