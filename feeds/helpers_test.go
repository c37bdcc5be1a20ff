package feeds_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wardenkit/warden/core"
	"github.com/wardenkit/warden/core/memstore"
	"github.com/wardenkit/warden/feeds"
)

// The stores the package is used with implement its Store.
var _ feeds.Store = (*memstore.Store)(nil)

// listServer serves one list with an ETag and counts what it was asked.
type listServer struct {
	srv *httptest.Server

	mu          sync.Mutex
	body        string
	contentType string
	status      int  // answer this instead of the list when not 0
	noETag      bool // send Last-Modified only
	requests    int
	conditional int
	notModified int
}

func newListServer(t *testing.T, body string) *listServer {
	l := &listServer{body: body, contentType: "text/plain; charset=utf-8"}
	l.srv = httptest.NewServer(http.HandlerFunc(l.serve))
	t.Cleanup(l.srv.Close)
	return l
}

var lastModified = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

func (l *listServer) serve(w http.ResponseWriter, r *http.Request) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.requests++
	if r.Header.Get("If-None-Match") != "" || r.Header.Get("If-Modified-Since") != "" {
		l.conditional++
	}
	if l.status != 0 {
		w.WriteHeader(l.status)
		fmt.Fprint(w, "<html><body>error</body></html>")
		return
	}
	sum := sha256.Sum256([]byte(l.body))
	etag := `"` + hex.EncodeToString(sum[:8]) + `"`
	if l.noETag {
		w.Header().Set("Last-Modified", lastModified.Format(http.TimeFormat))
		if r.Header.Get("If-Modified-Since") == lastModified.Format(http.TimeFormat) {
			l.notModified++
			w.WriteHeader(http.StatusNotModified)
			return
		}
	} else {
		w.Header().Set("ETag", etag)
		if r.Header.Get("If-None-Match") == etag {
			l.notModified++
			w.WriteHeader(http.StatusNotModified)
			return
		}
	}
	w.Header().Set("Content-Type", l.contentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(l.body)))
	fmt.Fprint(w, l.body)
}

func (l *listServer) URL() string { return l.srv.URL + "/list" }

func (l *listServer) set(body string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.body = body
}

func (l *listServer) setStatus(code int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.status = code
}

// counts returns requests, conditional requests and 304 answers so far.
func (l *listServer) counts() (requests, conditional, notModified int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.requests, l.conditional, l.notModified
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// newSyncer returns a Syncer on store with a plain fetcher.
func newSyncer(t *testing.T, store feeds.Store, opts ...feeds.Option) *feeds.Syncer {
	t.Helper()
	f, err := feeds.NewFetcher(nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := feeds.New(store, f, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func version(t *testing.T, s core.Versioner) int64 {
	t.Helper()
	v, err := s.Version(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func readFixture(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// domains returns n list lines d0.example … .
func domains(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%d.example", prefix, i)
	}
	return out
}

func lines(l []string) string { return strings.Join(l, "\n") + "\n" }
