package feeds_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wardenkit/warden/feeds"
)

func newFetcher(t *testing.T, c *http.Client, opts ...feeds.FetcherOption) *feeds.Fetcher {
	t.Helper()
	f, err := feeds.NewFetcher(c, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestFetchConditional(t *testing.T) {
	for _, noETag := range []bool{false, true} {
		t.Run(map[bool]string{false: "etag", true: "last_modified"}[noETag], func(t *testing.T) {
			srv := newListServer(t, "a.example\n")
			srv.noETag = noETag
			f := newFetcher(t, nil)
			r1, err := f.Fetch(testCtx(t), srv.URL(), feeds.Validators{})
			if err != nil || r1.NotModified || string(r1.Body) != "a.example\n" || r1.Validators.IsZero() {
				t.Fatalf("first Fetch = %+v, %v", r1, err)
			}
			r2, err := f.Fetch(testCtx(t), srv.URL(), r1.Validators)
			if err != nil || !r2.NotModified || r2.Body != nil || r2.Validators != r1.Validators {
				t.Fatalf("conditional Fetch = %+v, %v; want not modified", r2, err)
			}
		})
	}
}

func TestFetchLimits(t *testing.T) {
	big := strings.Repeat("x", 4096)
	mux := http.NewServeMux()
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, big) })
	mux.HandleFunc("/big-chunked", func(w http.ResponseWriter, r *http.Request) {
		for range 8 {
			fmt.Fprint(w, big[:1024])
			w.(http.Flusher).Flush()
		}
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	mux.HandleFunc("/status", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "gone", http.StatusGone) })
	mux.HandleFunc("/private", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "who?", http.StatusUnauthorized) })
	mux.HandleFunc("/hop/", func(w http.ResponseWriter, r *http.Request) {
		var n int
		fmt.Sscanf(strings.TrimPrefix(r.URL.Path, "/hop/"), "%d", &n)
		if n == 0 {
			fmt.Fprint(w, "a.example\n")
			return
		}
		http.Redirect(w, r, fmt.Sprintf("/hop/%d", n-1), http.StatusFound)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	f := newFetcher(t, nil, feeds.WithMaxBytes(2048), feeds.WithTimeout(200*time.Millisecond), feeds.WithMaxRedirects(2))
	cases := []struct {
		name string
		path string
		want error
	}{
		{"too_large_announced", "/big", feeds.ErrTooLarge},
		{"too_large_chunked", "/big-chunked", feeds.ErrTooLarge},
		{"timeout", "/slow", context.DeadlineExceeded},
		{"http_410", "/status", feeds.ErrHTTPStatus},
		{"http_401", "/private", feeds.ErrUnauthorized},
		{"http_401_is_a_status_error", "/private", feeds.ErrHTTPStatus},
		{"two_redirects", "/hop/2", nil},
		{"three_redirects", "/hop/3", feeds.ErrRedirect},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			start := time.Now()
			_, err := f.Fetch(testCtx(t), srv.URL+c.path, feeds.Validators{})
			if c.want == nil && err != nil || c.want != nil && !errors.Is(err, c.want) {
				t.Fatalf("Fetch(%s) = %v, want %v", c.path, err, c.want)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Fatalf("Fetch took %v", d)
			}
		})
	}
	// A 304 to a request that sent no validators is a server error.
	notMod := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNotModified) }))
	t.Cleanup(notMod.Close)
	if _, err := f.Fetch(testCtx(t), notMod.URL, feeds.Validators{}); !errors.Is(err, feeds.ErrHTTPStatus) {
		t.Fatalf("unasked 304: %v, want ErrHTTPStatus", err)
	}
}

// A redirect from https to http is refused: the list would travel in clear.
func TestFetchRefusesDowngrade(t *testing.T) {
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "evil.example\n") }))
	t.Cleanup(plain.Close)
	tls := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, plain.URL, http.StatusFound)
	}))
	t.Cleanup(tls.Close)
	called := false
	c := tls.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { called = true; return nil }
	_, err := newFetcher(t, c).Fetch(testCtx(t), tls.URL, feeds.Validators{})
	if !errors.Is(err, feeds.ErrRedirect) {
		t.Fatalf("https -> http redirect: %v, want ErrRedirect", err)
	}
	if called || c.CheckRedirect == nil {
		t.Fatal("the client's CheckRedirect ran before the fetcher's checks, or the client was changed")
	}
}

// The client's transport is used, so a proxy set there is honoured.
func TestFetchThroughProxy(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.URL.String())
		mu.Unlock()
		fmt.Fprint(w, "via-proxy.example\n")
	}))
	t.Cleanup(proxy.Close)
	pu, _ := url.Parse(proxy.URL)
	c := &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(pu)}}
	r, err := newFetcher(t, c).Fetch(testCtx(t), "http://lists.invalid/domains.txt", feeds.Validators{})
	if err != nil || string(r.Body) != "via-proxy.example\n" {
		t.Fatalf("Fetch through proxy = %v, %v", r, err)
	}
	if len(seen) != 1 || seen[0] != "http://lists.invalid/domains.txt" {
		t.Fatalf("proxy saw %v", seen)
	}
}

func TestFetchProgress(t *testing.T) {
	body := strings.Repeat("a.example\n", 10_000)
	srv := newListServer(t, body)
	chunked := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, body) }))
	t.Cleanup(chunked.Close)
	for _, c := range []struct {
		name      string
		url       string
		wantTotal int64
	}{{"length_known", srv.URL(), int64(len(body))}, {"chunked", chunked.URL, -1}} {
		t.Run(c.name, func(t *testing.T) {
			var calls int
			var last, total int64
			f := newFetcher(t, nil, feeds.WithProgress(func(u string, read, tot int64) {
				if read < last || strings.Contains(u, "secret") {
					t.Errorf("progress(%s, %d, %d) after %d", u, read, tot, last)
				}
				calls++
				last, total = read, tot
			}))
			u, _ := url.Parse(c.url)
			u.User = url.UserPassword("me", "secret")
			if _, err := f.Fetch(testCtx(t), u.String(), feeds.Validators{}); err != nil {
				t.Fatal(err)
			}
			if calls < 2 || last != int64(len(body)) || total != c.wantTotal {
				t.Fatalf("progress: %d calls, last %d of %d; want several, ending at %d of %d", calls, last, total, len(body), c.wantTotal)
			}
		})
	}
}

// Errors name the URL without its password.
func TestFetchErrorsHidePassword(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	go func() { // answers garbage, then closes
		c, err := ln.Accept()
		if err == nil {
			_, _ = bufio.NewReader(c).ReadString('\n')
			_, _ = io.WriteString(c, "garbage\r\n\r\n")
			_ = c.Close()
		}
		_ = ln.Close()
	}()
	_, err = newFetcher(t, nil).Fetch(testCtx(t), "http://user:hunter2@"+addr+"/list", feeds.Validators{})
	if err == nil || strings.Contains(err.Error(), "hunter2") || !strings.Contains(err.Error(), "xxxxx") {
		t.Fatalf("error = %v; want one naming the URL with its password masked", err)
	}
}

func TestNewFetcherOptions(t *testing.T) {
	bad := []feeds.FetcherOption{nil, feeds.WithTimeout(0), feeds.WithMaxBytes(-1), feeds.WithMaxRedirects(-1),
		feeds.WithProgress(nil), feeds.WithUserAgent("")}
	for i, o := range bad {
		if _, err := feeds.NewFetcher(nil, o); !errors.Is(err, feeds.ErrInvalidOption) {
			t.Errorf("option %d: %v, want ErrInvalidOption", i, err)
		}
	}
}
