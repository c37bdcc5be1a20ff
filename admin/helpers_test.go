package admin_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/wardenkit/warden/admin"
	"github.com/wardenkit/warden/core"
	"github.com/wardenkit/warden/core/memstore"
)

// fakeClock is a settable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

// testAuth lets in a request with an X-Test-User header, named by it.
func testAuth(r *http.Request) (string, bool) {
	u := r.Header.Get("X-Test-User")
	return u, u != ""
}

// testReadOnly gives the read-only role to X-Test-Role: viewer.
func testReadOnly(r *http.Request) bool { return r.Header.Get("X-Test-Role") == "viewer" }

type env struct {
	t      *testing.T
	eng    *core.Engine
	store  *memstore.Store
	clock  *fakeClock
	h      http.Handler // a mux with the admin under prefix
	prefix string
}

func newEnv(t *testing.T, opts ...admin.Option) *env {
	return newEnvAt(t, "/admin", opts...)
}

func newEnvAt(t *testing.T, prefix string, opts ...admin.Option) *env {
	t.Helper()
	clock := &fakeClock{t: time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)}
	st := memstore.New(memstore.WithNow(clock.Now))
	eng, err := core.New(st, core.WithClock(clock), core.WithLogger(slog.New(slog.DiscardHandler)), core.WithRebuildInterval(time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = eng.Close(context.Background()) })
	opts = append([]admin.Option{admin.WithAuthorizer(testAuth), admin.WithReadOnly(testReadOnly), admin.WithStore(st),
		admin.WithClock(clock), admin.WithLogger(slog.New(slog.DiscardHandler))}, opts...)
	h, err := admin.New(eng, opts...)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle(prefix+"/", http.StripPrefix(prefix, h))
	mux.Handle(prefix, http.StripPrefix(prefix, h))
	return &env{t: t, eng: eng, store: st, clock: clock, h: mux, prefix: prefix}
}

// do sends a request as the browser of user alice on the admin's own
// pages would; hdr adds or replaces headers ("" deletes one).
func (e *env) do(method, path string, body io.Reader, hdr map[string]string) *httptest.ResponseRecorder {
	e.t.Helper()
	r := httptest.NewRequest(method, "http://example.com"+e.prefix+path, body)
	r.Header.Set("X-Test-User", "alice")
	r.RemoteAddr = "192.0.2.10:50000"
	if method == http.MethodPost {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.Header.Set("Origin", "http://example.com")
		r.Header.Set("Sec-Fetch-Site", "same-origin")
	}
	for k, v := range hdr {
		if v == "" {
			r.Header.Del(k)
		} else {
			r.Header.Set(k, v)
		}
	}
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, r)
	return w
}

func (e *env) get(path string) *httptest.ResponseRecorder {
	e.t.Helper()
	return e.do(http.MethodGet, path, nil, nil)
}

func (e *env) post(path string, form url.Values) *httptest.ResponseRecorder {
	e.t.Helper()
	return e.do(http.MethodPost, path, strings.NewReader(form.Encode()), nil)
}

// wantStatus fails the test when w's status is not want.
func wantStatus(t *testing.T, w *httptest.ResponseRecorder, want int) {
	t.Helper()
	if w.Code != want {
		t.Fatalf("status %d, want %d; body:\n%s", w.Code, want, cutBody(w.Body.String()))
	}
}

func cutBody(s string) string {
	if len(s) > 3000 {
		return s[:3000] + "…"
	}
	return s
}

// check asks the engine about a request from ip.
func (e *env) check(ip string) core.Decision {
	e.t.Helper()
	r := httptest.NewRequest(http.MethodGet, "http://example.com/", nil)
	r.RemoteAddr = netip.AddrPortFrom(netip.MustParseAddr(ip), 4000).String()
	d, err := e.eng.Check(context.Background(), core.Request{HTTP: r})
	if err != nil {
		e.t.Fatal(err)
	}
	return d
}

// adminEvents closes the engine, flushing its queue, and returns the
// stored ADMIN_ACTION events.
func (e *env) adminEvents() []core.Event {
	e.t.Helper()
	if err := e.eng.Close(context.Background()); err != nil {
		e.t.Fatal(err)
	}
	evs, err := e.store.Events(context.Background(), core.EventQuery{Action: core.ActionAdmin, Limit: 1000})
	if err != nil {
		e.t.Fatal(err)
	}
	return evs
}

// parseHTML parses a page, failing the test when it is not HTML.
func parseHTML(t *testing.T, body string) *html.Node {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

// walk calls f for every element of n.
func walk(n *html.Node, f func(*html.Node)) {
	if n.Type == html.ElementNode {
		f(n)
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		walk(c, f)
	}
}

func attr(n *html.Node, key string) (string, bool) {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val, true
		}
	}
	return "", false
}

// text is the text content of n.
func text(n *html.Node) string {
	var b strings.Builder
	var rec func(*html.Node)
	rec = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			rec(c)
		}
	}
	rec(n)
	return b.String()
}

// findByClass returns the elements with the class cls.
func findByClass(doc *html.Node, cls string) []*html.Node {
	var out []*html.Node
	walk(doc, func(n *html.Node) {
		if v, ok := attr(n, "class"); ok {
			for _, c := range strings.Fields(v) {
				if c == cls {
					out = append(out, n)
				}
			}
		}
	})
	return out
}

// attrValues lists the values of the attribute key on every element.
func attrValues(doc *html.Node, key string) []string {
	var out []string
	walk(doc, func(n *html.Node) {
		if v, ok := attr(n, key); ok {
			out = append(out, v)
		}
	})
	return out
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// renderAttrs is n rendered back to HTML.
func renderAttrs(n *html.Node) string {
	var b strings.Builder
	_ = html.Render(&b, n)
	return b.String()
}

// findRel lists the hrefs of the links with rel.
func findRel(doc *html.Node, rel string) []string {
	var out []string
	walk(doc, func(n *html.Node) {
		if v, _ := attr(n, "rel"); n.Data == "a" && v == rel {
			h, _ := attr(n, "href")
			out = append(out, h)
		}
	})
	return out
}

// formValues is what a browser submits for the form whose action ends in
// action: text inputs, ticked checkboxes, selected options, textareas.
func formValues(t *testing.T, doc *html.Node, action string) url.Values {
	t.Helper()
	var form *html.Node
	walk(doc, func(n *html.Node) {
		if a, _ := attr(n, "action"); n.Data == "form" && strings.HasSuffix(a, action) && form == nil {
			form = n
		}
	})
	if form == nil {
		t.Fatalf("no form posting to %s", action)
	}
	v := url.Values{}
	walk(form, func(n *html.Node) {
		name, ok := attr(n, "name")
		if !ok {
			return
		}
		if _, off := attr(n, "disabled"); off {
			return
		}
		switch n.Data {
		case "input":
			typ, _ := attr(n, "type")
			_, checked := attr(n, "checked")
			val, _ := attr(n, "value")
			if (typ == "checkbox" || typ == "radio") && !checked {
				return
			}
			v.Add(name, val)
		case "textarea":
			v.Add(name, text(n))
		case "select":
			walk(n, func(o *html.Node) {
				if _, sel := attr(o, "selected"); o.Data == "option" && sel {
					val, _ := attr(o, "value")
					v.Add(name, val)
				}
			})
		}
	})
	return v
}

// formValuesAll collects every checkbox named name on the page, ticked.
func formValuesAll(t *testing.T, doc *html.Node, name string) url.Values {
	t.Helper()
	v := url.Values{}
	walk(doc, func(n *html.Node) {
		typ, _ := attr(n, "type")
		if nm, _ := attr(n, "name"); n.Data == "input" && typ == "checkbox" && nm == name {
			val, _ := attr(n, "value")
			v.Add(name, val)
		}
	})
	return v
}
