package admin_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

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
