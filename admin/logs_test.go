package admin_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/wardenkit/warden/core"
)

// seedEvents stores n events a minute apart, ending at the clock's time:
// IP_BLOCK (high) from 203.0.113.x in RU for even i, RATE_LIMIT (low)
// from 198.51.100.x in FR for odd i.
func (e *env) seedEvents(n int) {
	e.t.Helper()
	var evs []core.Event
	for i := range n {
		ev := core.Event{CreatedAt: e.clock.Now().Add(-time.Duration(n-i) * time.Minute), Action: core.ActionRateLimit, Severity: core.SeverityLow,
			IP: fmt.Sprintf("198.51.100.%d", i%200), CountryCode: "FR", Path: fmt.Sprintf("/p/%d", i), Method: "GET", Count: 1}
		if i%2 == 0 {
			ev.Action, ev.Severity, ev.IP, ev.CountryCode = core.ActionIPBlock, core.SeverityHigh, fmt.Sprintf("203.0.113.%d", i%200), "RU"
		}
		evs = append(evs, ev)
	}
	if err := e.store.AppendEvents(context.Background(), evs); err != nil {
		e.t.Fatal(err)
	}
}

// cells returns the text of column col of every row of the first table.
func cells(doc *html.Node, col int) []string {
	var out []string
	walk(doc, func(n *html.Node) {
		if n.Data != "tr" || n.Parent == nil || n.Parent.Data != "tbody" {
			return
		}
		i := 0
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			if c.Type == html.ElementNode && c.Data == "td" {
				if i == col {
					out = append(out, strings.TrimSpace(text(c)))
				}
				i++
			}
		}
	})
	return out
}

func TestEventLogFiltersAndPages(t *testing.T) {
	e := newEnv(t)
	e.seedEvents(300)
	tests := []struct {
		name  string
		query string
		col   int
		want  string
		rows  int
	}{
		{"action", "?action=IP_BLOCK&limit=500", 2, "IP_BLOCK", 150},
		{"action_lower_case", "?action=rate_limit&limit=500", 2, "RATE_LIMIT", 150},
		{"severity", "?severity=high&limit=500", 3, "● high", 150},
		{"ip", "?ip=203.0.113.10", 4, "203.0.113.10", 2},
		{"country", "?country=fr&limit=500", 5, "FR", 150},
		{"time_range", "?since=2030-01-01T11:00&until=2030-01-01T11:30", 2, "", 30},
		{"combined", "?action=IP_BLOCK&country=RU&severity=high&since=2030-01-01T11:00", 5, "RU", 30},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := e.get("/events" + tt.query)
			wantStatus(t, w, http.StatusOK)
			got := cells(parseHTML(t, w.Body.String()), tt.col)
			if len(got) != tt.rows {
				t.Fatalf("%d rows, want %d", len(got), tt.rows)
			}
			for _, c := range got {
				if tt.want != "" && c != tt.want {
					t.Fatalf("a row has %q, want %q", c, tt.want)
				}
			}
		})
	}
	// Pages of 50, newest first, no row twice, every row once.
	seen, path := map[string]bool{}, "/events"
	for path != "" {
		doc := parseHTML(t, e.get(path).Body.String())
		for _, id := range cells(doc, 0) {
			if seen[id] {
				t.Fatalf("event %s on two pages", id)
			}
			seen[id] = true
		}
		path = ""
		for _, a := range findRel(doc, "next") {
			path = strings.TrimPrefix(resolve(t, e.prefix+"/events", a), e.prefix)
		}
	}
	if len(seen) != 300 {
		t.Errorf("%d events over the pages, want 300", len(seen))
	}
	for q, says := range map[string]string{
		"?action=NOPE": "unknown action", "?severity=extreme": "unknown severity", "?ip=1.2.3": "bad ip",
		"?country=XX": "bad country", "?since=yesterday": "bad since", "?before=abc": "bad before",
	} {
		if w := e.get("/events" + q); w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), says) {
			t.Errorf("%s: %d, want 400 saying %q", q, w.Code, says)
		}
	}
	if w := e.get("/events?before=1"); w.Code != http.StatusNotFound || !strings.Contains(w.Body.String(), "past the end") {
		t.Errorf("before=1: %d", w.Code)
	}
	code, m := e.api("GET", "/events?action=IP_BLOCK&limit=10", "")
	if evs, _ := m["events"].([]any); code != 200 || len(evs) != 10 || m["next"] == nil {
		t.Errorf("API: %d %v", code, m)
	}
}

func TestLoginHistorySuspiciousFilter(t *testing.T) {
	e := newEnv(t)
	for i := range 40 {
		r := core.LoginRecord{CreatedAt: e.clock.Now().Add(-time.Duration(40-i) * time.Minute), UserID: fmt.Sprintf("user%d", i%4),
			IP: "192.0.2.1", CountryCode: "DE", Device: "desktop", Browser: "Firefox", OS: "Linux"}
		if i%10 == 0 {
			r.Suspicious, r.Reasons, r.CountryCode = true, "New country: BR", "BR"
		}
		if _, err := e.store.AppendLogin(context.Background(), r); err != nil {
			t.Fatal(err)
		}
	}
	w := e.get("/logins?suspicious=yes")
	wantStatus(t, w, http.StatusOK)
	status := cells(parseHTML(t, w.Body.String()), 7)
	if len(status) != 4 {
		t.Fatalf("%d suspicious logins, want 4", len(status))
	}
	for _, s := range status {
		if !strings.Contains(s, "WARNING") || !strings.Contains(s, "New country: BR") {
			t.Errorf("status %q", s)
		}
	}
	if users := cells(parseHTML(t, e.get("/logins?user=user1").Body.String()), 1); len(users) != 10 {
		t.Errorf("%d logins of user1, want 10", len(users))
	}
	if w := e.get("/logins?suspicious=maybe"); w.Code != http.StatusBadRequest {
		t.Errorf("bad filter: %d", w.Code)
	}
}
