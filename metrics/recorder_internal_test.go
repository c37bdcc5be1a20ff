package metrics

import (
	"math"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/wardenkit/warden/core"
)

// TestSlotOf: each decision shape lands on the series that names it.
func TestSlotOf(t *testing.T) {
	deny := func(a core.Action) core.Decision { return core.Decision{Action: a, Status: http.StatusForbidden} }
	report := func(a core.Action) core.Decision { return core.Decision{Allowed: true, ReportOnly: true, Action: a} }
	for _, tc := range []struct {
		name string
		d    core.Decision
		want slot
	}{
		{"allowed", core.Decision{Allowed: true}, slot{"allow", "none"}},
		{"exempt_path", core.Decision{Allowed: true, Reason: core.ReasonExemptPath}, slot{"allow", "exempt_path"}},
		{"whitelisted_ip", core.Decision{Allowed: true, Reason: core.ReasonWhitelistedIP}, slot{"allow", "whitelisted_ip"}},
		{"user_exempt", core.Decision{Allowed: true, Reason: core.ReasonUserExempt}, slot{"allow", "user_exempt"}},
		{"fail_open", core.Decision{Allowed: true, Reason: core.ReasonFailOpen}, slot{"allow", "fail_open"}},
		{"allowed_unknown_reason", core.Decision{Allowed: true, Reason: "new_reason"}, slot{"allow", "other"}},
		{"report_ip", report(core.ActionIPBlock), slot{"report_only", "IP_BLOCK"}},
		{"report_ua", report(core.ActionUserAgentBlock), slot{"report_only", "USER_AGENT_BLOCK"}},
		{"report_country", report(core.ActionCountryBlock), slot{"report_only", "COUNTRY_BLOCK"}},
		{"report_country_allow_list", report(core.ActionCountryWhitelistBlock), slot{"report_only", "COUNTRY_WHITELIST_BLOCK"}},
		{"report_rate", report(core.ActionRateLimit), slot{"report_only", "RATE_LIMIT"}},
		{"report_unknown", report("NEW_KIND"), slot{"report_only", "other"}},
		{"report_no_client_ip", report(core.ActionNoClientIP), slot{"report_only", "other"}},
		{"deny_ip", deny(core.ActionIPBlock), slot{"deny", "IP_BLOCK"}},
		{"deny_ua", deny(core.ActionUserAgentBlock), slot{"deny", "USER_AGENT_BLOCK"}},
		{"deny_country", deny(core.ActionCountryBlock), slot{"deny", "COUNTRY_BLOCK"}},
		{"deny_country_allow_list", deny(core.ActionCountryWhitelistBlock), slot{"deny", "COUNTRY_WHITELIST_BLOCK"}},
		{"deny_rate", core.Decision{Action: core.ActionRateLimit, Status: http.StatusTooManyRequests}, slot{"deny", "RATE_LIMIT"}},
		{"deny_no_client_ip", core.Decision{Action: core.ActionNoClientIP, Status: http.StatusForbidden, Reason: core.ReasonNoClientIP}, slot{"deny", "NO_CLIENT_IP"}},
		{"deny_fail_closed", core.Decision{Status: http.StatusServiceUnavailable, Reason: core.ReasonFailClosed}, slot{"deny", "fail_closed"}},
		{"limiter_fail_closed", core.Decision{Action: core.ActionRateLimit, Status: http.StatusServiceUnavailable, Reason: core.ReasonFailClosed}, slot{"deny", "fail_closed"}},
		{"deny_unknown", deny("NEW_KIND"), slot{"deny", "other"}},
		{"report_then_denied", core.Decision{Action: core.ActionUserAgentBlock, Status: http.StatusForbidden}, slot{"deny", "USER_AGENT_BLOCK"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := slots[slotOf(tc.d)]; got != tc.want {
				t.Errorf("slotOf(%+v) = %v; want %v", tc.d, got, tc.want)
			}
		})
	}
	seen := map[slot]bool{}
	for i, s := range slots {
		if s.decision == "" || s.kind == "" || seen[s] {
			t.Errorf("slot %d: %v empty or repeated", i, s)
		}
		seen[s] = true
	}
}

// TestHistogramBuckets: samples land in the bucket whose bound is the first
// at or above them; the count includes those above the last bound; the sum
// is in seconds.
func TestHistogramBuckets(t *testing.T) {
	r := NewRecorder()
	for _, ns := range []int64{100, 250, 251, 1_000_000, 200_000_000, -5} {
		r.observe(&r.shards[len(r.shards)-1], ns)
	}
	c := &Collector{latency: prometheus.NewDesc("warden_check_duration_seconds", "test", nil, nil)}
	tot := r.read()
	var m dto.Metric
	if err := c.latencyMetric(&tot).Write(&m); err != nil {
		t.Fatal(err)
	}
	h := m.GetHistogram()
	if h.GetSampleCount() != 6 || math.Abs(h.GetSampleSum()-0.201000601) > 1e-12 {
		t.Errorf("count %d, sum %v; want 6, 0.201000601", h.GetSampleCount(), h.GetSampleSum())
	}
	want := map[float64]uint64{250e-9: 3, 500e-9: 4, 1e-6: 4, 0.0005: 4, 0.001: 5, 0.1: 5}
	for _, b := range h.GetBucket() {
		if w, ok := want[b.GetUpperBound()]; ok && b.GetCumulativeCount() != w {
			t.Errorf("bucket le=%v: %d; want %d", b.GetUpperBound(), b.GetCumulativeCount(), w)
		}
		delete(want, b.GetUpperBound())
	}
	if len(want) != 0 {
		t.Errorf("buckets missing: %v", want)
	}
}

// TestSampling: one Check in SampleEvery is timed, whatever the mix of
// decisions, from one goroutine or several.
func TestSampling(t *testing.T) {
	kinds := []core.Decision{{Allowed: true}, {Action: core.ActionIPBlock, Status: 403}, {Allowed: true, Reason: core.ReasonExemptPath}}
	for _, workers := range []int{1, 8} {
		r := NewRecorder()
		const each = 64 * 200
		var sampled atomic.Int64
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() {
				for i := range each {
					b := r.Begin()
					if b > 0 {
						sampled.Add(1)
					}
					r.End(b, kinds[(i+w)%len(kinds)])
				}
			})
		}
		wg.Wait()
		n := int64(workers * each)
		// Each shard and kind arms one sample per 64 decisions: at most n/64,
		// and short of it only by what the last ones armed and no Check took.
		if got := sampled.Load(); got > n/SampleEvery || got < n/SampleEvery-int64(len(r.shards)*numSlots) {
			t.Errorf("%d workers: %d of %d checks timed; want about %d", workers, got, n, n/SampleEvery)
		}
		tot := r.read()
		var count uint64
		for _, b := range tot.buckets {
			count += b
		}
		if count != uint64(sampled.Load()) {
			t.Errorf("%d workers: histogram holds %d samples; %d were timed", workers, count, sampled.Load())
		}
	}
}

// TestRecorderAllocs: Begin and End allocate nothing, sampled or not.
func TestRecorderAllocs(t *testing.T) {
	r := NewRecorder()
	d := core.Decision{Allowed: true}
	if n := testing.AllocsPerRun(10_000, func() { r.End(r.Begin(), d) }); n != 0 {
		t.Errorf("Begin+End: %v allocs; want 0", n)
	}
}
