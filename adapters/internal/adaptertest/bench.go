package adaptertest

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"

	"github.com/wardenkit/warden/core"
	"github.com/wardenkit/warden/core/memstore"
	"github.com/wardenkit/warden/core/rule"
)

// BrowserUA is the User-Agent of benchmark requests: a browser no pattern of
// BenchEngine matches.
const BrowserUA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36"

// BenchGeo places every address of 3.0.0.0/8 in US and of 2.0.0.0/8 in RU.
type BenchGeo struct{}

// Country implements core.CountryLookup.
func (BenchGeo) Country(a netip.Addr) (string, bool) {
	switch a.As4()[0] {
	case 2:
		return "RU", true
	case 3:
		return "US", true
	}
	return "", false
}

// BenchEngine returns a started engine with every request check active:
// 1,000 blocked IPs, 100 blocked networks, 100 User-Agent patterns (5 of them
// regexes), 10 blocked countries and a country lookup. A request from
// 3.3.3.3 with BrowserUA is allowed after every step ran.
func BenchEngine(tb testing.TB) *core.Engine {
	tb.Helper()
	ctx := context.Background()
	st := memstore.New() // rows written before Start: one snapshot build
	for i := range 1000 {
		ip := fmt.Sprintf("198.%d.%d.%d", 18+i/65536, i/256%256, i%256)
		if _, err := st.BlockedIPs().Put(ctx, rule.BlockedIP{Network: ip}); err != nil {
			tb.Fatal(err)
		}
	}
	for i := range 100 {
		if _, err := st.BlockedIPs().Put(ctx, rule.BlockedIP{Network: fmt.Sprintf("100.%d.%d.0/24", 64+i/256, i%256)}); err != nil {
			tb.Fatal(err)
		}
	}
	for i := range 100 {
		ua := rule.BlockedUserAgent{Pattern: fmt.Sprintf("badbot-%03d", i)}
		if i < 5 {
			ua = rule.BlockedUserAgent{Pattern: fmt.Sprintf(`scan(ner)?-%d/\d+`, i), Match: rule.UARegex}
		}
		if _, err := st.BlockedUserAgents().Put(ctx, ua); err != nil {
			tb.Fatal(err)
		}
	}
	for _, c := range []string{"RU", "CN", "KP", "IR", "SY", "CU", "BY", "VE", "MM", "SD"} {
		if _, err := st.BlockedCountries().Put(ctx, rule.BlockedCountry{Code: c}); err != nil {
			tb.Fatal(err)
		}
	}
	eng, err := core.New(st, core.WithCountryLookup(BenchGeo{}), core.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		tb.Fatal(err)
	}
	if err := eng.Start(ctx); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = eng.Close(ctx) })
	d, err := eng.Check(ctx, core.Request{HTTP: BenchRequest()})
	if err != nil || !d.Allowed || d.Country != "US" {
		tb.Fatalf("bench request not allowed after every step: %+v %v", d, err)
	}
	r := BenchRequest()
	r.RemoteAddr = "2.2.2.2:1234"
	if d, _ := eng.Check(ctx, core.Request{HTTP: r}); d.Allowed {
		tb.Fatal("country rule not active")
	}
	return eng
}

// BenchRequest is an allowed GET / from 3.3.3.3 with BrowserUA.
func BenchRequest() *http.Request {
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.RemoteAddr = "3.3.3.3:51234"
	r.Header.Set("User-Agent", BrowserUA)
	r.Header.Set("Accept", "text/html,application/xhtml+xml")
	return r
}

// DiscardWriter is a reusable ResponseWriter for benchmarks; Reset clears it
// between requests.
type DiscardWriter struct {
	H      http.Header
	Status int
	N      int
}

func (w *DiscardWriter) Header() http.Header {
	if w.H == nil {
		w.H = http.Header{}
	}
	return w.H
}
func (w *DiscardWriter) WriteHeader(s int) { w.Status = s }
func (w *DiscardWriter) Write(b []byte) (int, error) {
	if w.Status == 0 {
		w.Status = 200
	}
	w.N += len(b)
	return len(b), nil
}

// Reset prepares w for the next request.
func (w *DiscardWriter) Reset() { clear(w.H); w.Status, w.N = 0, 0 }

// BenchLoopback serves h on a loopback listener and sends b.N sequential
// GET / requests over one keep-alive connection: the cost a client sees,
// with net/http's own work included. The peer is 127.0.0.1, so the country
// step passes it as an internal address without a lookup.
func BenchLoopback(b *testing.B, h http.Handler) {
	srv := httptest.NewServer(h)
	defer srv.Close()
	client := srv.Client()
	req, err := http.NewRequest(http.MethodGet, srv.URL+"/", nil)
	if err != nil {
		b.Fatal(err)
	}
	req.Header.Set("User-Agent", BrowserUA)
	buf := make([]byte, 512)
	b.ReportAllocs()
	for b.Loop() {
		res, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		for {
			if _, err := res.Body.Read(buf); err != nil {
				break
			}
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			b.Fatalf("status %d", res.StatusCode)
		}
	}
}
