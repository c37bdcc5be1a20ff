package notify_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/wardenkit/warden/core"
	"github.com/wardenkit/warden/core/memstore"
	"github.com/wardenkit/warden/notify"
)

type reportRecorder struct{ got []notify.Message }

func (r *reportRecorder) Notify(_ context.Context, m notify.Message) error {
	if err := m.Validate(); err != nil {
		return err
	}
	r.got = append(r.got, m)
	return nil
}

// The report job sends the day's figures to notification_email.
func TestReportJob(t *testing.T) {
	ctx := context.Background()
	st := memstore.New()
	day := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	evs := []core.Event{
		{CreatedAt: day.Add(time.Hour), Action: core.ActionRateLimit, IP: "203.0.113.7", Path: "/login", Count: 5},
		{CreatedAt: day.Add(2 * time.Hour), Action: core.ActionAutoBlockIP, IP: "203.0.113.7", Count: 1},
		{CreatedAt: day.Add(25 * time.Hour), Action: core.ActionRateLimit, IP: "203.0.113.8", Count: 9}, // the next day
	}
	if err := st.AppendEvents(ctx, evs); err != nil {
		t.Fatal(err)
	}
	set := core.DefaultSettings()
	set.NotificationEmail = "ops@example.com"
	rec := &reportRecorder{}
	job, err := notify.ReportJob(func(context.Context) (core.Settings, error) { return set, nil }, st, rec)
	if err != nil {
		t.Fatal(err)
	}
	if err := job(ctx, day, day.Add(24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if len(rec.got) != 1 {
		t.Fatalf("%d messages", len(rec.got))
	}
	m := rec.got[0]
	if m.Kind != "report" || len(m.To) != 1 || m.To[0] != "ops@example.com" || !strings.Contains(m.Subject, "(6 events)") ||
		!strings.Contains(m.Text, "203.0.113.7") || strings.Contains(m.Text, "203.0.113.8") || m.Data == nil {
		t.Fatalf("message %+v", m)
	}
	set.NotificationEmail = ""
	if err := job(ctx, day, day.Add(24*time.Hour)); err != nil || len(rec.got[1].To) != 0 {
		t.Fatalf("without notification_email: To %v, %v", rec.got[1].To, err)
	}
	if err := job(ctx, day, day); err == nil {
		t.Fatal("an empty period was accepted")
	}
	if _, err := notify.ReportJob(nil, st, rec); err == nil {
		t.Fatal("nil settings accepted")
	}
}
