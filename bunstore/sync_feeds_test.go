package bunstore_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/wardenkit/warden/bunstore"
	"github.com/wardenkit/warden/feeds"
)

var _ feeds.Store = (*bunstore.Store)(nil)

// listServer serves a list with an ETag and counts requests.
type listServer struct {
	mu       sync.Mutex
	body     string
	requests int
}

func (l *listServer) set(body string) { l.mu.Lock(); l.body = body; l.mu.Unlock() }

func (l *listServer) count() int { l.mu.Lock(); defer l.mu.Unlock(); return l.requests }

func (l *listServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.requests++
	etag := `"` + strconv.Itoa(len(l.body)) + "-" + strconv.Itoa(strings.Count(l.body, "1")) + `"`
	w.Header().Set("ETag", etag)
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(l.body)))
	_, _ = w.Write([]byte(l.body))
}

func serveList(t testing.TB, body string) (*listServer, string) {
	l := &listServer{body: body}
	srv := httptest.NewServer(l)
	t.Cleanup(srv.Close)
	return l, srv.URL + "/disposable_email_blocklist.conf"
}

// domainList is n lines in the published list's format.
func domainList(n, from int) string {
	var b strings.Builder
	for i := from; i < from+n; i++ {
		fmt.Fprintf(&b, "mail%07d-temp.example\n", i)
	}
	return b.String()
}

func newSyncer(t testing.TB, s *bunstore.Store, opts ...feeds.Option) *feeds.Syncer {
	t.Helper()
	f, err := feeds.NewFetcher(nil)
	if err != nil {
		t.Fatal(err)
	}
	syncer, err := feeds.New(s, f, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return syncer
}

// A sync of 100,000 domains into an empty store finishes in under 5 s on
// SQLite and PostgreSQL; MariaDB's figure is logged. Then 1 % of the list
// changes. Under the race detector (which makes the pure-Go SQLite ten
// times slower) the same path runs with 10,000 domains and nothing is
// timed.
func TestSyncSpeed100k(t *testing.T) {
	if testing.Short() {
		t.Skip("100,000 rows per database")
	}
	n := 100_000
	if raceEnabled {
		n = 10_000
	}
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := testCtx(t)
		l, u := serveList(t, domainList(n, 0))
		s := newStore(t, b)
		syncer := newSyncer(t, s, feeds.WithDomainURLs(u))
		start := time.Now()
		rep, err := syncer.Sync(ctx, feeds.Request{Kinds: feeds.Domains})
		took := time.Since(start)
		if err != nil || rep.Domains.Added != n {
			t.Fatalf("Sync = %+v, %v; want %d added", rep.Domains.Counts, err, n)
		}
		t.Logf("%s: first sync of %d domains: %v (race detector: %v)", b.name, n, took.Round(time.Millisecond), raceEnabled)
		if !raceEnabled && b.name != "mysql" && took > 5*time.Second {
			t.Errorf("%s: first sync of %d domains took %v, want under 5 s", b.name, n, took)
		}
		l.set(domainList(n, n/100)) // 1,000 gone, 1,000 new
		start = time.Now()
		rep, err = syncer.Sync(ctx, feeds.Request{Kinds: feeds.Domains})
		took = time.Since(start)
		if err != nil || rep.Domains.Added != n/100 || rep.Domains.Deactivated != n/100 || rep.Domains.Unchanged != n-n/100 {
			t.Fatalf("second Sync = %+v, %v", rep.Domains.Counts, err)
		}
		t.Logf("%s: sync of a changed list of %d domains: %v", b.name, n, took.Round(time.Millisecond))
	})
}

// writeCounter counts the statements that write.
type writeCounter struct{ n atomic.Int64 }

func (c *writeCounter) BeforeQuery(ctx context.Context, _ *bun.QueryEvent) context.Context {
	return ctx
}

func (c *writeCounter) AfterQuery(_ context.Context, e *bun.QueryEvent) {
	q := strings.ToUpper(strings.TrimSpace(e.Query))
	for _, w := range []string{"INSERT", "UPDATE", "DELETE", "REPLACE"} {
		if strings.HasPrefix(q, w) {
			c.n.Add(1)
		}
	}
}

// An unchanged list (304) costs one request and no write: no statement
// that writes, the version unchanged. Both kinds run (the built-in bot list
// is already stored), as a scheduler would run them.
func TestSyncUnchangedWritesNothing(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := testCtx(t)
		l, u := serveList(t, domainList(500, 0))
		s := newStore(t, b)
		var writes writeCounter
		s.DB().AddQueryHook(&writes) //nolint:staticcheck // the store's own *bun.DB; WithQueryHook would hook a copy
		syncer := newSyncer(t, s, feeds.WithDomainURLs(u))
		rep, err := syncer.Sync(ctx, feeds.Request{})
		if err != nil || rep.Domains.Added != 500 || rep.Bots.Added != 21 || rep.LastSyncAt.IsZero() {
			t.Fatalf("first Sync = %+v, %v", rep, err)
		}
		if writes.n.Load() == 0 {
			t.Fatal("the write counter saw none of the first sync's statements")
		}
		v0, _ := s.Version(ctx)
		w0, r0 := writes.n.Load(), l.count()
		rep, err = syncer.Sync(ctx, feeds.Request{})
		if err != nil || rep.Domains.Status != feeds.StatusUnchanged || rep.Bots.Status != feeds.StatusUnchanged {
			t.Fatalf("second Sync = %+v, %v; want both unchanged", rep, err)
		}
		v1, _ := s.Version(ctx)
		if w, r := writes.n.Load()-w0, l.count()-r0; w != 0 || r != 1 || v1 != v0 {
			t.Fatalf("unchanged sync: %d write statements, %d requests, version %d -> %d; want 0, 1, unchanged", w, r, v0, v1)
		}
	})
}
