package admin_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/wardenkit/warden/admin"
	"github.com/wardenkit/warden/bunstore"
	"github.com/wardenkit/warden/core"
	"github.com/wardenkit/warden/internal/testdb"
)

// The pages over bunstore: SQLite always, PostgreSQL and MariaDB when
// their DSNs are set (each in a new schema or database, dropped after).
func TestPagesOverBunstore(t *testing.T) {
	for _, b := range testdb.Backends() {
		t.Run(b.Name, func(t *testing.T) { testPagesOver(t, b.NewDSN(t)) })
	}
}

func testPagesOver(t *testing.T, dsn string) {
	ctx := context.Background()
	st, err := bunstore.Open(ctx, dsn, bunstore.WithAutoMigrate())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	eng, err := core.New(st, core.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = eng.Close(ctx) })
	h, err := admin.New(eng, admin.WithAuthorizer(testAuth), admin.WithStore(st), admin.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, eng: eng, h: http.StripPrefix("/admin", h), prefix: "/admin"}
	now := time.Now().UTC()
	var evs []core.Event
	for i := range 120 {
		evs = append(evs, core.Event{CreatedAt: now.Add(-time.Duration(i) * time.Minute), Action: core.ActionIPBlock, IP: "203.0.113.9", CountryCode: "RU", Path: "/x", Count: 1})
	}
	if err := st.AppendEvents(ctx, evs); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, e.post("/rules/blocked-ips/new", url.Values{"network": {"203.0.113.0/24"}, "active": {"on"}}), http.StatusSeeOther)
	if d := e.check("203.0.113.9"); d.Allowed {
		t.Error("the form's block does not deny")
	}
	for path, want := range map[string]string{
		"/":                       ">120<",
		"/rules/blocked-ips":      "203.0.113.0/24",
		"/events?action=IP_BLOCK": "203.0.113.9",
		"/events?since=" + now.Add(-30*time.Minute).Format("2006-01-02T15:04"): "RU",
		"/why?ip=203.0.113.9":    "this step decided",
		"/settings":              "Max login attempts",
		"/logins?suspicious=yes": "No logins",
	} {
		w := e.get(path)
		wantStatus(t, w, http.StatusOK)
		if !strings.Contains(w.Body.String(), want) {
			t.Errorf("GET %s lacks %q", path, want)
		}
	}
	form := formValues(t, parseHTML(t, e.get("/settings").Body.String()), "settings")
	other, _ := eng.Settings(ctx)
	other.MaxLoginAttempts = 9
	if _, err := eng.PutSettings(ctx, other); err != nil {
		t.Fatal(err)
	}
	form.Set("retention_days", "30")
	if w := e.post("/settings", form); w.Code != http.StatusConflict || !strings.Contains(w.Body.String(), "max_login_attempts (now 9)") {
		t.Errorf("settings conflict over the store: %d", w.Code)
	}
}
