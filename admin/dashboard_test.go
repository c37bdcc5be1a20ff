package admin_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/wardenkit/warden/admin"
	"github.com/wardenkit/warden/core"
	"github.com/wardenkit/warden/core/memstore"
	"github.com/wardenkit/warden/core/rule"
)

func TestDashboard(t *testing.T) {
	e := newEnv(t)
	e.seedEvents(300) // the last five hours: IP_BLOCK and RATE_LIMIT
	ctx := context.Background()
	mustPut(t)(e.eng.Rules().BlockedIPs().Put(ctx, rule.BlockedIP{Network: "203.0.113.0/24"}))
	mustPut(t)(e.eng.Rules().BlockedIPs().Put(ctx, rule.BlockedIP{Network: "203.0.114.0/24", ExpiresAt: e.clock.Now().Add(-time.Hour)}))
	set, _ := e.eng.Settings(ctx)
	set.ReportOnly = true
	if _, err := e.eng.PutSettings(ctx, set); err != nil {
		t.Fatal(err)
	}
	w := e.get("/")
	wantStatus(t, w, http.StatusOK)
	body := w.Body.String()
	doc := parseHTML(t, body)
	var rects, titled int
	walk(doc, func(n *html.Node) {
		if n.Data == "rect" {
			rects++
			if n.FirstChild != nil && strings.Contains(text(n), "IP_BLOCK: 30") {
				titled++
			}
		}
	})
	// 300 events a minute apart over five or six clock hours, two actions.
	if rects < 10 || titled < 4 {
		t.Errorf("chart: %d bars, %d of them IP_BLOCK with 30 events", rects, titled)
	}
	for _, want := range []string{">300<", "Report-only mode is on", "198.51.100.", "RU", "/p/", "(1 expired)", "Engine health", "IP_BLOCK"} {
		if !strings.Contains(body, want) {
			t.Errorf("the dashboard lacks %q", want)
		}
	}
	// Cached for a minute, then read again.
	e.seedEvents(10)
	if !strings.Contains(e.get("/").Body.String(), ">300<") {
		t.Error("the figures were read again within the minute")
	}
	e.clock.t = e.clock.t.Add(61 * time.Second)
	if !strings.Contains(e.get("/").Body.String(), ">310<") {
		t.Error("the figures were not read again after a minute")
	}
	code, m := e.api("GET", "/dashboard", "")
	if code != 200 || m["total"] != 310.0 || len(m["hours"].([]any)) != 24 || m["locked"] != 0.0 {
		t.Errorf("API: %d %v", code, m)
	}
}

// TestDashboardRuleCounts checks the active and expired rules counted by
// the store (core.ActiveCounter) and, for a store without rule tables, read
// in pages through the engine: both give the same figures.
func TestDashboardRuleCounts(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	now := e.clock.Now()
	for _, ip := range []rule.BlockedIP{
		{Network: "203.0.113.1"}, {Network: "203.0.113.2", ExpiresAt: now.Add(-time.Minute)},
		{Network: "203.0.113.3", ExpiresAt: now.Add(time.Minute)}, {Network: "203.0.113.4", Disabled: true},
	} {
		mustPut(t)(e.eng.Rules().BlockedIPs().Put(ctx, ip))
	}
	mustPut(t)(e.eng.Rules().WhitelistedUsers().Put(ctx, rule.WhitelistedUser{UserID: "bob", ExpiresAt: now.Add(-time.Hour)}))
	counting := &countingRules{Store: e.store}
	for name, st := range map[string]admin.Store{
		"count_query": counting,
		"pages":       struct{ admin.Store }{e.store}, // no rule tables: the engine's, read in pages
	} {
		h, err := admin.New(e.eng, admin.WithAuthorizer(testAuth), admin.WithStore(st), admin.WithClock(e.clock))
		if err != nil {
			t.Fatal(err)
		}
		r := httptest.NewRequest(http.MethodGet, "http://example.com/api/dashboard", nil)
		r.Header.Set("X-Test-User", "alice")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		var got struct {
			Rules []struct {
				Kind            string
				Active, Expired int
			}
		}
		if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
			t.Fatalf("%s: %d %v: %s", name, w.Code, err, cutBody(w.Body.String()))
		}
		want := map[string][2]int{"blocked-ips": {3, 1}, "whitelisted-users": {1, 1}, "blocked-countries": {0, 0}}
		for _, rc := range got.Rules {
			if w, ok := want[rc.Kind]; ok && (rc.Active != w[0] || rc.Expired != w[1]) {
				t.Errorf("%s: %s: %d active, %d expired; want %v", name, rc.Kind, rc.Active, rc.Expired, w)
			}
			delete(want, rc.Kind)
		}
		if len(want) > 0 {
			t.Errorf("%s: no counts of %v in %+v", name, want, got.Rules)
		}
	}
	if counting.n.Load() == 0 {
		t.Error("the store's count query was not used")
	}
}

// countingRules counts the calls of its blocked IP table's CountActive.
type countingRules struct {
	*memstore.Store
	n atomic.Int64
}

func (c *countingRules) BlockedIPs() core.Table[rule.BlockedIP] {
	return countingTable{c.Store.BlockedIPs(), &c.n}
}

type countingTable struct {
	core.Table[rule.BlockedIP]
	n *atomic.Int64
}

func (t countingTable) CountActive(ctx context.Context, now time.Time) (active, expired int, err error) {
	t.n.Add(1)
	return t.Table.(core.ActiveCounter).CountActive(ctx, now)
}
