package metrics_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/wardenkit/warden/core"
	"github.com/wardenkit/warden/core/memstore"
	"github.com/wardenkit/warden/core/rule"
)

var quiet = core.WithLogger(slog.New(slog.DiscardHandler))

// fakeClock is a settable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock { return &fakeClock{t: time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *fakeClock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// testEngine is an engine on memstore with a fake clock, started, with the
// options given (a recorder, usually). It is closed when the test ends.
func testEngine(t testing.TB, clk *fakeClock, opts ...core.Option) *core.Engine {
	t.Helper()
	st := memstore.New(memstore.WithNow(clk.Now))
	opts = append([]core.Option{core.WithClock(clk), core.WithRebuildInterval(time.Millisecond), quiet}, opts...)
	eng, err := core.New(st, opts...)
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = eng.Close(context.Background()) })
	return eng
}

func put[T rule.Rule](t testing.TB, tbl core.Table[T], v T) {
	t.Helper()
	if _, err := tbl.Put(context.Background(), v); err != nil {
		t.Fatalf("Put(%+v): %v", v, err)
	}
}

const browserUA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36"

// request is a GET of path from remote (an address, or junk).
func request(remote, path, ua string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "http://example.com"+path, nil)
	r.RemoteAddr = remote + ":40000"
	r.Header.Set("User-Agent", ua)
	return r
}

func check(t *testing.T, eng *core.Engine, remote, path, ua, user string) core.Decision {
	t.Helper()
	d, _ := eng.Check(context.Background(), core.Request{HTTP: request(remote, path, ua), UserID: user})
	return d
}
