// Package adaptertest is the conformance suite every warden adapter runs
// (httpwarden, ginwarden, echowarden): the same requests must produce the
// same statuses, bodies, headers and stored events whatever the framework.
package adaptertest

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/wardenkit/warden/core"
	"github.com/wardenkit/warden/core/memstore"
)

// Mount builds the application under test: the adapter's middleware in front
// of a catch-all route (every method, every path) whose handler calls the
// adapter's DecisionFrom and passes the result to Hello. WithUser must return
// the value of the request header userHeader.
type Mount func(t testing.TB, eng *core.Engine, userHeader string) http.Handler

// Hello is the handler body every mount routes to: 200 "hello <client ip>"
// with the decision in the X-Test-Decision header, or 500 "no decision" when
// DecisionFrom found none.
func Hello(w http.ResponseWriter, d core.Decision, ok bool) {
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	if !ok {
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = io.WriteString(w, "no decision")
		return
	}
	h.Set("X-Test-Decision", FormatDecision(d))
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, "hello "+d.ClientIP.String())
}

// FormatDecision renders the fields of d the suite compares.
func FormatDecision(d core.Decision) string {
	return fmt.Sprintf("allowed=%t action=%s rule=%d reason=%s report_only=%t country=%s",
		d.Allowed, d.Action, d.RuleID, d.Reason, d.ReportOnly, d.Country)
}

// UserHeader is the request header Run asks mounts to map to WithUser.
const UserHeader = "X-Test-User"

// UserAgent is sent with every request of the suite.
const UserAgent = "conformance/1.0 (+warden)"

// FakeGeo is a CountryLookup over fixed addresses.
type FakeGeo map[netip.Addr]string

// Country implements core.CountryLookup.
func (g FakeGeo) Country(a netip.Addr) (string, bool) { c, ok := g[a]; return c, ok }

// Geo places 5.5.5.5 in RU and 6.6.6.6 in CN; everything else is unknown.
var Geo = FakeGeo{netip.MustParseAddr("5.5.5.5"): "RU", netip.MustParseAddr("6.6.6.6"): "CN"}

// Event is the part of a stored event the suite compares.
type Event struct {
	Action   core.Action
	IP       string
	Country  string
	RuleID   int64
	Path     string
	Details  string
	Method   string
	UA       string
	Count    int64
	Severity core.Severity
}

// Request describes one request of a case.
type Request struct {
	Method string // default GET
	Target string // request target as sent on the wire, default "/"
	Remote string // RemoteAddr, default "3.3.3.3:1234"
	Header map[string]string
}

// Response is what a case expects back. Header is compared in full.
type Response struct {
	Status int
	Body   string
	Header http.Header
}

// Case is one scenario: rules written through eng.Rules(), requests, and the
// events stored once the engine is closed (oldest first).
type Case struct {
	Name       string
	Options    []core.Option
	NotStarted bool // the engine is never started: the fail policy answers
	Setup      func(ctx context.Context, eng *core.Engine) error
	Request    Request
	Want       Response
	Events     []Event
}

func denied(status int, body string) Response {
	return Response{Status: status, Body: body, Header: http.Header{
		"Cache-Control":          {"no-store"},
		"Vary":                   {"Accept"},
		"X-Content-Type-Options": {"nosniff"},
		"Content-Type":           {"text/plain; charset=utf-8"},
	}}
}

func allowed(ip string, d core.Decision) Response {
	return Response{Status: 200, Body: "hello " + ip, Header: http.Header{
		"Content-Type":    {"text/plain; charset=utf-8"},
		"X-Test-Decision": {FormatDecision(d)},
	}}
}

func event(a core.Action, ip string, rule int64, path string) Event {
	return Event{Action: a, IP: ip, RuleID: rule, Path: path, Method: "GET", UA: UserAgent, Count: 1, Severity: core.DefaultSeverity(a)}
}

// Run runs every case of Cases against a fresh engine (memstore, 1 ms
// rebuild interval) and the application mount builds on it.
func Run(t *testing.T, mount Mount) {
	t.Helper()
	for _, c := range Cases() {
		t.Run(c.Name, func(t *testing.T) { runCase(t, mount, c) })
	}
	t.Run("concurrent", func(t *testing.T) { runConcurrent(t, mount) })
}

// runConcurrent sends allowed and denied requests from several goroutines
// through one mounted app (run with -race) and checks every answer.
func runConcurrent(t *testing.T, mount Mount) {
	ctx := context.Background()
	eng, err := core.New(memstore.New(), core.WithRebuildInterval(time.Millisecond), core.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer eng.Close(ctx)
	if err := blockIP("6.6.6.0/24")(ctx, eng); err != nil {
		t.Fatal(err)
	}
	h := mount(t, eng, UserHeader)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 50 {
				ip := fmt.Sprintf("%d.6.6.%d", 3+3*(i%2), g*30+i/2)
				r := httptest.NewRequest(http.MethodGet, "/", nil)
				r.RemoteAddr = ip + ":1234"
				w := httptest.NewRecorder()
				h.ServeHTTP(w, r)
				want, body := 200, "hello "+ip
				if i%2 == 1 {
					want, body = 403, "Access denied"
				}
				if w.Code != want || w.Body.String() != body {
					t.Errorf("%s: %d %q, want %d %q", ip, w.Code, w.Body, want, body)
					return
				}
			}
		})
	}
	wg.Wait()
}

func runCase(t *testing.T, mount Mount, c Case) {
	ctx := context.Background()
	st := memstore.New()
	opts := append([]core.Option{
		core.WithRebuildInterval(time.Millisecond),
		core.WithLogger(slog.New(slog.DiscardHandler)),
	}, c.Options...)
	eng, err := core.New(st, opts...)
	if err != nil {
		t.Fatal(err)
	}
	if !c.NotStarted {
		if err := eng.Start(ctx); err != nil {
			t.Fatal(err)
		}
	}
	closed := false
	t.Cleanup(func() {
		if !closed {
			_ = eng.Close(ctx)
		}
	})
	if c.Setup != nil {
		if err := c.Setup(ctx, eng); err != nil {
			t.Fatalf("setup: %v", err)
		}
	}
	h := mount(t, eng, UserHeader)

	q := c.Request
	r := httptest.NewRequest(cmpOr(q.Method, http.MethodGet), cmpOr(q.Target, "/"), nil)
	r.RemoteAddr = cmpOr(q.Remote, "3.3.3.3:1234")
	r.Header.Set("User-Agent", UserAgent)
	for k, v := range q.Header {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)

	if w.Code != c.Want.Status {
		t.Errorf("status %d, want %d (body %q)", w.Code, c.Want.Status, w.Body)
	}
	if got := w.Body.String(); got != c.Want.Body {
		t.Errorf("body %q, want %q", got, c.Want.Body)
	}
	if got := w.Result().Header; !equalHeader(got, c.Want.Header) {
		t.Errorf("headers\n got %v\nwant %v", got, c.Want.Header)
	}

	closed = true
	if err := eng.Close(ctx); err != nil { // flushes the event queue
		t.Fatal(err)
	}
	evs, err := st.Events(ctx, core.EventQuery{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	slices.Reverse(evs) // oldest first
	got := make([]Event, len(evs))
	for i, e := range evs {
		got[i] = Event{Action: e.Action, IP: e.IP, Country: e.CountryCode, RuleID: e.RuleID, Path: e.Path,
			Details: e.Details, Method: e.Method, UA: e.UserAgent, Count: e.Count, Severity: e.Severity}
	}
	if !slices.Equal(got, c.Events) {
		t.Errorf("events\n got %+v\nwant %+v", got, c.Events)
	}
}

func equalHeader(a, b http.Header) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if !slices.Equal(v, b[k]) {
			return false
		}
	}
	return true
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// Recover calls f and returns what it panicked with (nil when it returned).
// The constructor tests use it: a constructor's programmer errors (a nil
// engine, a bad option) panic at start-up with an error naming them.
func Recover(f func()) (v any) {
	defer func() { v = recover() }()
	f()
	return nil
}

// WantPanic checks that f panics with an error whose text is want; name
// names the call in the failure.
func WantPanic(t testing.TB, name, want string, f func()) {
	t.Helper()
	v := Recover(f)
	if err, ok := v.(error); !ok || err.Error() != want {
		t.Errorf("%s: panicked with %#v, want the error %q", name, v, want)
	}
}
