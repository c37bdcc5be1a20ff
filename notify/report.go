package notify

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/wardenkit/warden/core"
	"github.com/wardenkit/warden/report"
)

// ReportJob returns the daily report job, for scheduler.WithReport: it
// builds the report of [since, until) from st (report.Build) and sends it
// through n as a "report" message, its text as the body and the report as
// the webhook's data, to Settings.NotificationEmail when one is set (else to
// the notifier's default recipients). settings is usually eng.Settings.
func ReportJob(settings func(context.Context) (core.Settings, error), st core.EventStore, n Notifier) (func(ctx context.Context, since, until time.Time) error, error) {
	if settings == nil || st == nil || n == nil {
		return nil, errors.New("notify: ReportJob: nil settings, store or notifier")
	}
	return func(ctx context.Context, since, until time.Time) error {
		r, err := report.Build(ctx, st, since, until)
		if err != nil {
			return fmt.Errorf("notify: report: %w", err)
		}
		s, err := settings(ctx)
		if err != nil {
			return fmt.Errorf("notify: report: reading the settings: %w", err)
		}
		m := Message{Kind: "report", Subject: fmt.Sprintf("warden security report %s to %s (%d events)",
			since.UTC().Format(time.DateTime), until.UTC().Format(time.DateTime), r.Total), Text: r.Text(), Data: r, Time: until}
		if s.NotificationEmail != "" {
			m.To = []string{s.NotificationEmail}
		}
		return n.Notify(ctx, m)
	}, nil
}
