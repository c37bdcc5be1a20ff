package metrics_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"

	"github.com/wardenkit/warden/core"
	"github.com/wardenkit/warden/core/geo"
	"github.com/wardenkit/warden/core/memstore"
	"github.com/wardenkit/warden/core/rule"
	"github.com/wardenkit/warden/metrics"
)

// knownTraffic sends a fixed mix of checks through eng and returns the
// decisions_total series they must produce (the others stay 0).
func knownTraffic(t *testing.T, eng *core.Engine) map[[2]string]int {
	t.Helper()
	rules := eng.Rules()
	put(t, rules.BlockedIPs(), rule.BlockedIP{Network: "203.0.113.7"})
	put(t, rules.BlockedIPs(), rule.BlockedIP{Network: "203.0.113.8", ReportOnly: true})
	put(t, rules.BlockedUserAgents(), rule.BlockedUserAgent{Pattern: "sqlmap"})
	put(t, rules.WhitelistedIPs(), rule.WhitelistedIP{Network: "192.0.2.1"})
	put(t, rules.WhitelistedUsers(), rule.WhitelistedUser{UserID: "u1", Exemption: rule.ExemptAll})
	put(t, rules.RateLimitRules(), rule.RateLimitRule{Name: "login", PathPattern: "/login", Rate: "2/m"})
	if err := eng.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		remote, path, ua, user string
		allowed                bool
	}{
		{"198.51.100.1", "/", browserUA, "", true},
		{"198.51.100.1", "/a", browserUA, "", true},
		{"198.51.100.1", "/b", browserUA, "", true},
		{"203.0.113.7", "/", browserUA, "", false},
		{"203.0.113.7", "/x", browserUA, "", false},
		{"198.51.100.2", "/", "sqlmap/1.7", "", false},
		{"203.0.113.8", "/", browserUA, "", true},  // report-only
		{"192.0.2.1", "/", "sqlmap/1.7", "", true}, // whitelisted beats the UA rule
		{"203.0.113.7", "/", browserUA, "u1", true},
		{"203.0.113.7", "/health", browserUA, "", true},
		{"junk", "/", browserUA, "", false},
		{"198.51.100.3", "/login", browserUA, "", true},
		{"198.51.100.3", "/login", browserUA, "", true},
		{"198.51.100.3", "/login", browserUA, "", false},
	}
	for _, s := range steps {
		if d := check(t, eng, s.remote, s.path, s.ua, s.user); d.Allowed != s.allowed {
			t.Fatalf("setup: %s %s %q user %q: %+v", s.remote, s.path, s.ua, s.user, d)
		}
	}
	return map[[2]string]int{
		{"allow", "none"}:            5,
		{"deny", "IP_BLOCK"}:         2,
		{"deny", "USER_AGENT_BLOCK"}: 1,
		{"report_only", "IP_BLOCK"}:  1,
		{"allow", "whitelisted_ip"}:  1,
		{"allow", "user_exempt"}:     1,
		{"allow", "exempt_path"}:     1,
		{"deny", "NO_CLIENT_IP"}:     1,
		{"deny", "RATE_LIMIT"}:       1,
	}
}

// allSeries is every series of warden_decisions_total.
var allSeries = [][2]string{
	{"allow", "none"}, {"allow", "exempt_path"}, {"allow", "whitelisted_ip"}, {"allow", "user_exempt"},
	{"allow", "fail_open"}, {"allow", "other"},
	{"report_only", "IP_BLOCK"}, {"report_only", "USER_AGENT_BLOCK"}, {"report_only", "COUNTRY_BLOCK"},
	{"report_only", "COUNTRY_WHITELIST_BLOCK"}, {"report_only", "RATE_LIMIT"}, {"report_only", "other"},
	{"deny", "IP_BLOCK"}, {"deny", "USER_AGENT_BLOCK"}, {"deny", "COUNTRY_BLOCK"}, {"deny", "COUNTRY_WHITELIST_BLOCK"},
	{"deny", "RATE_LIMIT"}, {"deny", "NO_CLIENT_IP"}, {"deny", "fail_closed"}, {"deny", "other"},
}

// decisionsText is the exposition of warden_decisions_total with the counts
// of want and 0 elsewhere.
func decisionsText(want map[[2]string]int) string {
	var b strings.Builder
	b.WriteString("# HELP warden_decisions_total Checks decided, by decision (allow, report_only, deny) and kind (the core Action or Reason; none when no rule matched).\n# TYPE warden_decisions_total counter\n")
	for _, s := range allSeries {
		fmt.Fprintf(&b, "warden_decisions_total{decision=%q,kind=%q} %d\n", s[0], s[1], want[s])
	}
	return b.String()
}

func TestDecisionsAfterKnownTraffic(t *testing.T) {
	rec := metrics.NewRecorder()
	clk := newClock()
	eng := testEngine(t, clk, core.WithCheckObserver(rec))
	want := knownTraffic(t, eng)

	// Engines that cannot decide (never started) apply their fail policy:
	// FailClosed by default denies, FailOpen allows. They share the recorder.
	for _, p := range []core.FailPolicy{core.FailClosed, core.FailOpen} {
		e, err := core.New(memstore.New(), core.WithCheckObserver(rec), core.WithFailPolicy(p), quiet)
		if err != nil {
			t.Fatal(err)
		}
		if d := check(t, e, "198.51.100.1", "/", browserUA, ""); d.Reason != core.ReasonFailClosed && d.Reason != core.ReasonFailOpen {
			t.Fatalf("%v before Start: %+v", p, d)
		}
	}
	want[[2]string{"deny", "fail_closed"}] = 1
	want[[2]string{"allow", "fail_open"}] = 1

	c, err := metrics.New(eng, metrics.WithRecorder(rec))
	if err != nil {
		t.Fatal(err)
	}
	if err := testutil.CollectAndCompare(c, strings.NewReader(decisionsText(want)), "warden_decisions_total"); err != nil {
		t.Error(err)
	}
}

func TestEngineStatsGathered(t *testing.T) {
	clk := newClock()
	eng := testEngine(t, clk)
	put(t, eng.Rules().BlockedIPs(), rule.BlockedIP{Network: "203.0.113.7"})
	if err := eng.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		check(t, eng, "203.0.113.7", fmt.Sprint("/p", i), browserUA, "")
	}
	// A lockout: five failures for one account from one address.
	lo := eng.Lockout()
	for range 5 {
		tk, err := lo.Begin(context.Background(), core.Attempt{Username: "alice", IP: mustAddr("198.51.100.9")})
		if err != nil {
			t.Fatal(err)
		}
		if err := lo.Fail(context.Background(), tk); err != nil {
			t.Fatal(err)
		}
	}
	var locked *core.LockedError
	if _, err := lo.Begin(context.Background(), core.Attempt{Username: "alice", IP: mustAddr("198.51.100.9")}); !errors.As(err, &locked) {
		t.Fatalf("sixth attempt: %v; want a LockedError", err)
	}
	clk.Add(90 * time.Second)
	if err := eng.Close(context.Background()); err != nil { // flushes the events
		t.Fatal(err)
	}

	c, err := metrics.New(eng)
	if err != nil {
		t.Fatal(err)
	}
	st, ls := eng.Stats(), lo.Stats()
	if st.EventsWritten == 0 || st.Rebuilds < 2 || ls.Lockouts != 1 || ls.Attempts != 6 || ls.Refused != 1 || ls.Failed != 5 {
		t.Fatalf("setup: engine %+v, lockout %+v", st, ls)
	}
	got := gather(t, c)
	for name, want := range map[string]float64{
		"warden_ready":                         1,
		"warden_snapshot_version":              float64(st.SnapshotVersion),
		"warden_snapshot_age_seconds":          90,
		"warden_snapshot_rebuilds_total":       float64(st.Rebuilds),
		"warden_events_written_total":          float64(st.EventsWritten),
		"warden_events_queued":                 0,
		"warden_events_dropped_total":          0,
		"warden_fail_policy_trips_total":       0,
		"warden_login_attempts_total":          6,
		"warden_login_failed_total":            5,
		"warden_login_refused_total":           1,
		"warden_lockouts_total":                1,
		"warden_lockout_records_written_total": float64(ls.RecordsWritten),
	} {
		v, ok := got[name]
		if !ok {
			t.Errorf("%s not gathered", name)
			continue
		}
		if v != want {
			t.Errorf("%s = %v; want %v", name, v, want)
		}
	}
	if _, ok := got["warden_decisions_total"]; ok {
		t.Error("warden_decisions_total gathered without a recorder")
	}
	if _, ok := got["warden_geoip_build_age_seconds"]; ok {
		t.Error("GeoIP series gathered without WithGeoIP")
	}
}

// gather registers c on a new registry and returns each single-series
// family's value by name (families of several series map to their sum).
func gather(t *testing.T, c prometheus.Collector) map[string]float64 {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(c); err != nil {
		t.Fatal(err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			out[mf.GetName()] += value(m)
		}
	}
	return out
}

func value(m *dto.Metric) float64 {
	switch {
	case m.GetCounter() != nil:
		return m.GetCounter().GetValue()
	case m.GetGauge() != nil:
		return m.GetGauge().GetValue()
	case m.GetHistogram() != nil:
		return float64(m.GetHistogram().GetSampleCount())
	}
	return 0
}

func TestSnapshotAgeAbsentBeforeStart(t *testing.T) {
	eng, err := core.New(memstore.New(), quiet)
	if err != nil {
		t.Fatal(err)
	}
	c, err := metrics.New(eng)
	if err != nil {
		t.Fatal(err)
	}
	got := gather(t, c)
	if got["warden_ready"] != 0 {
		t.Errorf("warden_ready = %v before Start; want 0", got["warden_ready"])
	}
	if _, ok := got["warden_snapshot_age_seconds"]; ok {
		t.Error("warden_snapshot_age_seconds gathered with no snapshot")
	}
}

func TestLatencySampled(t *testing.T) {
	rec := metrics.NewRecorder()
	eng := testEngine(t, newClock(), core.WithCheckObserver(rec))
	c, err := metrics.New(eng, metrics.WithRecorder(rec))
	if err != nil {
		t.Fatal(err)
	}
	// 64×64 checks: the chance that none is sampled is (63/64)^4096, 1e-28.
	const n = 64 * 64
	for range n {
		check(t, eng, "198.51.100.1", "/", browserUA, "")
	}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var h *dto.Histogram
	for _, mf := range mfs {
		if mf.GetName() == "warden_check_duration_seconds" {
			h = mf.GetMetric()[0].GetHistogram()
		}
	}
	if h == nil {
		t.Fatal("warden_check_duration_seconds not gathered")
	}
	// Binomial(4096, 1/64): mean 64, sd 7.9; 8 sd either side.
	if cnt := h.GetSampleCount(); cnt < 1 || cnt > 128 {
		t.Errorf("%d of %d checks sampled; want about %d", cnt, n, n/metrics.SampleEvery)
	}
	if h.GetSampleSum() <= 0 {
		t.Errorf("sample sum %v; want > 0", h.GetSampleSum())
	}
	if b := h.GetBucket(); b[len(b)-1].GetCumulativeCount() > h.GetSampleCount() {
		t.Errorf("last bucket %d above the count %d", b[len(b)-1].GetCumulativeCount(), h.GetSampleCount())
	}
}

func TestGeoIPAge(t *testing.T) {
	built := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	db := buildGeo(t, built)
	clk := newClock() // 12:00 on the build day
	eng := testEngine(t, clk, core.WithCountryLookup(db))
	c, err := metrics.New(eng, metrics.WithGeoIP(db), metrics.WithClock(clk))
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf(`# HELP warden_geoip_build_age_seconds Time since the country database in use was built (its build_epoch).
# TYPE warden_geoip_build_age_seconds gauge
warden_geoip_build_age_seconds 43200
# HELP warden_geoip_build_timestamp_seconds When the country database in use was built, in Unix seconds.
# TYPE warden_geoip_build_timestamp_seconds gauge
warden_geoip_build_timestamp_seconds %d
# HELP warden_geoip_reload_errors_total Country database files refused on reload; the previous one stayed in use.
# TYPE warden_geoip_reload_errors_total counter
warden_geoip_reload_errors_total 0
# HELP warden_geoip_reloads_total Country database files loaded after the first.
# TYPE warden_geoip_reloads_total counter
warden_geoip_reloads_total 0
`, built.Unix())
	if err := testutil.CollectAndCompare(c, strings.NewReader(want),
		"warden_geoip_build_age_seconds", "warden_geoip_build_timestamp_seconds",
		"warden_geoip_reload_errors_total", "warden_geoip_reloads_total"); err != nil {
		t.Error(err)
	}
	var _ metrics.GeoIPStats = (*geo.DB)(nil)
}

// TestLabelsBounded: whatever the clients, paths and agents, the series are
// the fixed set and no label value carries request data.
func TestLabelsBounded(t *testing.T) {
	rec := metrics.NewRecorder()
	eng := testEngine(t, newClock(), core.WithCheckObserver(rec))
	put(t, eng.Rules().BlockedIPs(), rule.BlockedIP{Network: "203.0.113.0/24"})
	if err := eng.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	c, err := metrics.New(eng, metrics.WithRecorder(rec))
	if err != nil {
		t.Fatal(err)
	}
	before := testutil.CollectAndCount(c)
	seen := map[string]bool{}
	for i := range 500 {
		remote := fmt.Sprintf("203.0.113.%d", i%256)
		if i%2 == 0 {
			remote = fmt.Sprintf("198.51.%d.%d", i/256, i%256)
		}
		path := fmt.Sprintf("/users/%d", i)
		ua := fmt.Sprintf("agent-%d", i)
		seen[remote], seen[path], seen[ua] = true, true, true
		check(t, eng, remote, path, ua, fmt.Sprint("user", i))
	}
	if after := testutil.CollectAndCount(c); after != before {
		t.Errorf("%d series after 500 distinct requests; %d before", after, before)
	}
	if n := testutil.CollectAndCount(c, "warden_decisions_total"); n != len(allSeries) {
		t.Errorf("warden_decisions_total has %d series; want %d", n, len(allSeries))
	}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if lp.GetName() != "decision" && lp.GetName() != "kind" {
					t.Errorf("%s has label %s", mf.GetName(), lp.GetName())
				}
				if seen[lp.GetValue()] || strings.ContainsAny(lp.GetValue(), "./") {
					t.Errorf("%s{%s=%q}: request data as a label", mf.GetName(), lp.GetName(), lp.GetValue())
				}
			}
		}
	}
}

func TestRegisterTwice(t *testing.T) {
	rec := metrics.NewRecorder()
	eng := testEngine(t, newClock(), core.WithCheckObserver(rec))
	c1, err := metrics.New(eng, metrics.WithRecorder(rec))
	if err != nil {
		t.Fatal(err)
	}
	c2, err := metrics.New(eng, metrics.WithRecorder(rec))
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	if err := reg.Register(c1); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]*metrics.Collector{"same collector": c1, "second collector": c2} {
		err := reg.Register(c)
		var are prometheus.AlreadyRegisteredError
		if !errors.As(err, &are) {
			t.Errorf("%s: Register = %v; want AlreadyRegisteredError", name, err)
		}
	}
	// The first registration still gathers.
	if _, err := reg.Gather(); err != nil {
		t.Errorf("Gather after the refused registrations: %v", err)
	}
}

// TestConstLabelsShareRegistry: engines told apart by a constant label share
// a registry.
func TestConstLabelsShareRegistry(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	for _, name := range []string{"api", "admin"} {
		rec := metrics.NewRecorder()
		eng := testEngine(t, newClock(), core.WithCheckObserver(rec))
		c, err := metrics.New(eng, metrics.WithRecorder(rec), metrics.WithConstLabels(map[string]string{"engine": name}))
		if err != nil {
			t.Fatal(err)
		}
		if err := reg.Register(c); err != nil {
			t.Fatalf("engine %s: %v", name, err)
		}
		check(t, eng, "198.51.100.1", "/", browserUA, "")
	}
	if n, err := testutil.GatherAndCount(reg, "warden_decisions_total"); err != nil || n != 2*len(allSeries) {
		t.Errorf("two engines: %d decision series, %v; want %d", n, err, 2*len(allSeries))
	}
	want := `# HELP warden_ready 1 when the engine has a rule snapshot and can decide, else 0.
# TYPE warden_ready gauge
warden_ready{engine="admin"} 1
warden_ready{engine="api"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "warden_ready"); err != nil {
		t.Error(err)
	}
}

func TestNewRefuses(t *testing.T) {
	eng := testEngine(t, newClock())
	if _, err := metrics.New(nil); !errors.Is(err, metrics.ErrNilEngine) {
		t.Errorf("New(nil) = %v; want ErrNilEngine", err)
	}
	for _, tc := range []struct {
		name string
		opt  metrics.Option
		want string
	}{
		{"nil_option", nil, "metrics: New: option 0 is nil"},
		{"nil_recorder", metrics.WithRecorder(nil), "metrics: WithRecorder: nil recorder"},
		{"nil_geoip", metrics.WithGeoIP(nil), "metrics: WithGeoIP: nil database"},
		{"nil_clock", metrics.WithClock(nil), "metrics: WithClock: nil clock"},
		{"bad_label_name", metrics.WithConstLabels(map[string]string{"my-engine": "x"}), `metrics: WithConstLabels: "my-engine" is not a label name`},
		{"reserved_label_name", metrics.WithConstLabels(map[string]string{"__name": "x"}), `metrics: WithConstLabels: "__name" is not a label name`},
		{"label_collides", metrics.WithConstLabels(map[string]string{"kind": "x"}), `metrics: WithConstLabels: label "kind" is the collector's own`},
		{"label_value_not_utf8", metrics.WithConstLabels(map[string]string{"engine": "\xff"}), `metrics: WithConstLabels: label engine: value "\xff" is not valid UTF-8`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := metrics.New(eng, tc.opt)
			if !errors.Is(err, metrics.ErrInvalidOption) || c != nil {
				t.Fatalf("New = %v, %v; want ErrInvalidOption", c, err)
			}
			if err.Error() != tc.want {
				t.Errorf("error %q; want %q", err, tc.want)
			}
		})
	}
}

// TestConcurrentChecksAndGathers: counts add up while gathers run (and the
// race detector watches).
func TestConcurrentChecksAndGathers(t *testing.T) {
	rec := metrics.NewRecorder()
	eng := testEngine(t, newClock(), core.WithCheckObserver(rec))
	c, err := metrics.New(eng, metrics.WithRecorder(rec))
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)
	const workers, each = 8, 500
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				check(t, eng, fmt.Sprintf("198.51.100.%d", w), fmt.Sprint("/", i), browserUA, "")
			}
		})
	}
	wg.Go(func() {
		for range 20 {
			if _, err := reg.Gather(); err != nil {
				t.Error(err)
			}
		}
	})
	wg.Wait()
	want := decisionsText(map[[2]string]int{{"allow", "none"}: workers * each})
	if err := testutil.CollectAndCompare(c, strings.NewReader(want), "warden_decisions_total"); err != nil {
		t.Error(err)
	}
}
