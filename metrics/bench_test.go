package metrics_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/wardenkit/warden/core"
	"github.com/wardenkit/warden/core/memstore"
	"github.com/wardenkit/warden/core/rule"
	"github.com/wardenkit/warden/metrics"
)

var benchCountries = []string{"AF", "AL", "DZ", "AO", "AR", "AM", "AZ", "BH", "BD", "BY", "KH", "CN", "CO", "CU", "EG", "ET",
	"GE", "GH", "IR", "IQ", "KZ", "KE", "KP", "KW", "LB", "LY", "MY", "MA", "MM", "NG", "OM", "PK", "PS", "PH", "QA", "RO",
	"RU", "SA", "RS", "SD", "SY", "TH", "TN", "TR", "UA", "AE", "VE", "VN", "YE", "ZW"}

var botNames = []string{"ahrefsbot", "semrushbot", "mj12bot", "dotbot", "blexbot", "serpstatbot", "seekportbot", "zgrab",
	"masscan", "nuclei", "sqlmap", "nikto", "nmap", "libwww-perl", "scrapy", "ccbot", "bytespider", "gptbot", "chatgpt-user",
	"claudebot", "anthropic-ai", "petalbot", "yandexbot", "baiduspider", "dataforseobot", "megaindex", "barkrowler"}

// loadedEngine is core's benchmark setup (core/bench_test.go): 100,000
// blocked IPs, 1,000 blocked networks, 500 User-Agent patterns (10 of them
// regexes), 50 blocked countries, a GeoIP lookup, 20 rate-limit rules and
// three trusted proxies; opts are added (the recorder).
func loadedEngine(tb testing.TB, opts ...core.Option) *core.Engine {
	tb.Helper()
	ctx := context.Background()
	st := memstore.New()
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 100_000; i++ {
		a := netip.AddrFrom4([4]byte{byte(100 + rng.IntN(100)), byte(rng.IntN(256)), byte(rng.IntN(256)), byte(rng.IntN(256))})
		if i%10 == 0 {
			var b [16]byte
			b[0], b[1] = 0x2a, 0x0f
			for j := 2; j < 16; j++ {
				b[j] = byte(rng.IntN(256))
			}
			a = netip.AddrFrom16(b)
		}
		put(tb, st.BlockedIPs(), rule.BlockedIP{Network: a.String(), Reason: "bench"})
	}
	for i := 0; i < 1_000; i++ {
		p := netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(100 + rng.IntN(100)), byte(rng.IntN(256)), byte(rng.IntN(256)), 0}), 24)
		put(tb, st.BlockedIPs(), rule.BlockedIP{Network: p.String()})
	}
	for i := 0; i < 500; i++ {
		u := rule.BlockedUserAgent{Pattern: fmt.Sprintf("%s-%d", botNames[i%len(botNames)], i)}
		if i < len(botNames) {
			u.Pattern = botNames[i]
		}
		if i >= 490 {
			u = rule.BlockedUserAgent{Pattern: fmt.Sprintf(`evil%d/\d+\.\d+`, i), Match: rule.UARegex}
		}
		put(tb, st.BlockedUserAgents(), u)
	}
	for _, c := range benchCountries {
		put(tb, st.BlockedCountries(), rule.BlockedCountry{Code: c})
	}
	for i := 0; i < 20; i++ {
		put(tb, st.RateLimitRules(), rule.RateLimitRule{Name: fmt.Sprint("r", i), PathPattern: fmt.Sprintf("/api/v%d/*", i), Rate: "1000000000/s"})
	}
	opts = append([]core.Option{
		core.WithCountryLookup(buildGeo(tb, time.Now())),
		core.WithTrustedProxies(netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("172.16.0.0/12")), quiet,
	}, opts...)
	eng, err := core.New(st, opts...)
	if err != nil {
		tb.Fatal(err)
	}
	if err := eng.Start(ctx); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = eng.Close(context.Background()) })
	return eng
}

func allowRequest() *http.Request {
	r := httptest.NewRequest(http.MethodGet, "http://example.com/api/v1/items", nil)
	r.RemoteAddr = "10.0.0.1:51234"
	r.Header.Set("X-Forwarded-For", "3.4.5.6, 172.16.0.9, 10.1.2.3")
	r.Header.Set("User-Agent", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36")
	r.Header.Set("Accept", "text/html")
	return r
}

// meteredEngine is loadedEngine with a Recorder and its collector
// registered, as a user wires them.
func meteredEngine(tb testing.TB) *core.Engine {
	tb.Helper()
	rec := metrics.NewRecorder()
	eng := loadedEngine(tb, core.WithCheckObserver(rec))
	c, err := metrics.New(eng, metrics.WithRecorder(rec))
	if err != nil {
		tb.Fatal(err)
	}
	prometheus.NewRegistry().MustRegister(c)
	return eng
}

func benchCheck(b *testing.B, eng *core.Engine) {
	req := core.Request{HTTP: allowRequest()}
	ctx := context.Background()
	if d, err := eng.Check(ctx, req); err != nil || !d.Allowed || d.ClientIP.String() != "3.4.5.6" {
		b.Fatalf("setup: %+v, %v", d, err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if d, _ := eng.Check(ctx, req); !d.Allowed {
			b.Fatal("denied")
		}
	}
}

// BenchmarkCheckWithoutMetrics and BenchmarkCheckWithMetrics are the allow
// path of core's BenchmarkCheckAllow without and with a Recorder; their
// difference is what metrics add per request:
//
//	go test ./metrics -run '^$' -bench 'CheckWith' -count 10 -cpu 1 | tee m.txt
//	benchstat -col /metrics m.txt
func BenchmarkCheckWithoutMetrics(b *testing.B) { benchCheck(b, loadedEngine(b)) }

func BenchmarkCheckWithMetrics(b *testing.B) { benchCheck(b, meteredEngine(b)) }

// The exempt path (/health) decides in a few tens of nanoseconds, so the
// difference between these two is what the Recorder adds, measured against
// a small base and therefore with little noise.
func BenchmarkCheckExemptWithoutMetrics(b *testing.B) { benchExempt(b, false) }

func BenchmarkCheckExemptWithMetrics(b *testing.B) { benchExempt(b, true) }

// BenchmarkCheckExemptNoopObserver is the exempt path with an observer that
// does nothing: what core's side of the hook costs.
func BenchmarkCheckExemptNoopObserver(b *testing.B) {
	benchExemptOpts(b, core.WithCheckObserver(noopObserver{}))
}

type noopObserver struct{}

func (noopObserver) Begin() int64             { return 0 }
func (noopObserver) End(int64, core.Decision) {}

func benchExempt(b *testing.B, metered bool) {
	var opts []core.Option
	if metered {
		opts = append(opts, core.WithCheckObserver(metrics.NewRecorder()))
	}
	benchExemptOpts(b, opts...)
}

func benchExemptOpts(b *testing.B, opts ...core.Option) {
	eng := testEngine(b, newClock(), opts...)
	req := core.Request{HTTP: request("198.51.100.1", "/health", browserUA)}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if d, _ := eng.Check(ctx, req); d.Reason != core.ReasonExemptPath {
			b.Fatal(d)
		}
	}
}

func benchParallel(b *testing.B, eng *core.Engine) {
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		req := core.Request{HTTP: allowRequest()}
		for pb.Next() {
			if d, _ := eng.Check(ctx, req); !d.Allowed {
				b.Fatal("denied")
			}
		}
	})
}

func BenchmarkCheckWithoutMetricsParallel(b *testing.B) { benchParallel(b, loadedEngine(b)) }

func BenchmarkCheckWithMetricsParallel(b *testing.B) { benchParallel(b, meteredEngine(b)) }

// BenchmarkRecorder is the Recorder alone: Begin and End of an allowed
// request.
func BenchmarkRecorder(b *testing.B) {
	r := metrics.NewRecorder()
	d := core.Decision{Allowed: true}
	b.ReportAllocs()
	for b.Loop() {
		r.End(r.Begin(), d)
	}
}

// TestCheckWithMetricsAllocs gates the performance budget: with a Recorder
// the allow path still allocates nothing. Under the race detector the
// engine's sync.Pools are emptied at random, so the gate is core's loose
// one there.
func TestCheckWithMetricsAllocs(t *testing.T) {
	if testing.Short() {
		t.Skip("builds 100,000 rules")
	}
	eng := meteredEngine(t)
	req := core.Request{HTTP: allowRequest()}
	ctx := context.Background()
	n := testing.AllocsPerRun(2000, func() {
		if d, _ := eng.Check(ctx, req); !d.Allowed {
			t.Fatal("denied")
		}
	})
	budget := 0.0
	if raceOn {
		budget = 2
	}
	if n > budget {
		t.Fatalf("Check allow path with metrics: %.1f allocs per call; budget %v", n, budget)
	}
}

// BenchmarkCheckMetricsPaired measures what the Recorder adds on a busy
// machine, where two benchmarks run one after the other see different loads:
// it alternates between an engine without and one with metrics every 1,000
// checks and reports the medians of the chunks' ns/op and of the paired
// differences (each chunk with metrics against the chunk without just
// before it). Its own ns/op is the mean of both engines.
func BenchmarkCheckMetricsPaired(b *testing.B) {
	b.Run("path=allow", func(b *testing.B) {
		paired(b, loadedEngine(b), meteredEngine(b), core.Request{HTTP: allowRequest()})
	})
	b.Run("path=exempt", func(b *testing.B) {
		req := core.Request{HTTP: request("198.51.100.1", "/health", browserUA)}
		paired(b, testEngine(b, newClock()), testEngine(b, newClock(), core.WithCheckObserver(metrics.NewRecorder())), req)
	})
}

func paired(b *testing.B, without, with *core.Engine, req core.Request) {
	const chunk = 1000
	ctx := context.Background()
	engines := [2]*core.Engine{without, with}
	var times [2][]float64
	which, n, start := 0, 0, time.Now()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if d, _ := engines[which].Check(ctx, req); !d.Allowed {
			b.Fatal("denied")
		}
		if n++; n == chunk {
			times[which] = append(times[which], float64(time.Since(start).Nanoseconds())/chunk)
			which, n, start = 1-which, 0, time.Now()
		}
	}
	pairs := min(len(times[0]), len(times[1]))
	if pairs < 5 {
		return // the first short runs while the benchmark sizes b.N
	}
	diffs := make([]float64, pairs)
	for i := range pairs {
		diffs[i] = times[1][i] - times[0][i]
	}
	b.ReportMetric(median(times[0]), "without-ns/op")
	b.ReportMetric(median(times[1]), "with-ns/op")
	b.ReportMetric(median(diffs), "added-ns/op")
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
