package scheduler

import (
	"context"
	"fmt"
	"time"

	"github.com/wardenkit/warden/core"
	"github.com/wardenkit/warden/feeds"
)

// Job names one of the scheduler's jobs, in Stats, logs and options.
type Job string

// The jobs, in the order Stats lists them.
const (
	// JobSweep runs the auto-block sweep over the stored events
	// (core.Engine.SweepAutoBlocks, or WithSweep), which catches up on what
	// the in-memory AutoBlocker lost in a restart (built in).
	JobSweep Job = "sweep"
	// JobExpiry deactivates blocked IPs and user exemptions whose ExpiresAt
	// has passed (built in).
	JobExpiry Job = "expiry"
	// JobListSync syncs the disposable-domain and bad-bot lists
	// (WithListSync or WithSyncer).
	JobListSync Job = "list_sync"
	// JobGeoIP refreshes the country database (WithGeoIPRefresh).
	JobGeoIP Job = "geoip"
	// JobRetention deletes old events, login history and lockout records
	// (built in; needs WithStore).
	JobRetention Job = "retention"
	// JobReport sends the daily report (WithReport) at WithReportAt.
	JobReport Job = "report"
)

// allJobs lists every job in Stats order.
var allJobs = []Job{JobSweep, JobExpiry, JobListSync, JobGeoIP, JobRetention, JobReport}

// Defaults of the schedules and of retention.
const (
	DefaultSweepInterval     = 5 * time.Minute
	DefaultExpiryInterval    = time.Hour
	DefaultListSyncInterval  = 7 * 24 * time.Hour
	DefaultGeoIPInterval     = 7 * 24 * time.Hour
	DefaultRetentionInterval = 24 * time.Hour
	DefaultReportHour        = 6                   // 06:00 in the scheduler's location (WithLocation, default UTC)
	DefaultRetention         = 90 * 24 * time.Hour // core.DefaultSettings().RetentionDays
	DefaultRetentionBatch    = 1000                // rows one delete statement removes
)

// defaultEvery is each interval job's default interval; the report has none.
var defaultEvery = map[Job]time.Duration{
	JobSweep:     DefaultSweepInterval,
	JobExpiry:    DefaultExpiryInterval,
	JobListSync:  DefaultListSyncInterval,
	JobGeoIP:     DefaultGeoIPInterval,
	JobRetention: DefaultRetentionInterval,
}

func (j Job) known() bool {
	for _, k := range allJobs {
		if j == k {
			return true
		}
	}
	return false
}

// job is one scheduled job and its counters.
type job struct {
	name  Job
	every time.Duration // 0: the daily report
	run   func(ctx context.Context) error
	st    jobState
}

// schedule describes when the job runs, for Stats.
func (j *job) schedule(c *config) string {
	if j.every == 0 {
		return fmt.Sprintf("daily at %02d:%02d %s", c.reportHour, c.reportMinute, c.loc)
	}
	return "every " + j.every.String()
}

// lastOccurrence is the latest hh:mm in now's location at or before now.
func lastOccurrence(now time.Time, hour, minute int) time.Time {
	y, m, d := now.Date()
	t := time.Date(y, m, d, hour, minute, 0, 0, now.Location())
	if t.After(now) {
		t = time.Date(y, m, d-1, hour, minute, 0, 0, now.Location())
	}
	return t
}

// sweep is JobSweep's default: the engine's auto-block sweep.
func (s *Scheduler) sweep(ctx context.Context) error {
	res, err := s.eng.SweepAutoBlocks(ctx)
	if res.IPs+res.Countries > 0 {
		s.cfg.logger.Info("scheduler: auto-block sweep", "job", string(JobSweep), "ips", res.IPs, "countries", res.Countries)
	}
	if err != nil {
		return fmt.Errorf("scheduler: sweep: %w", err)
	}
	return nil
}

// report runs the report function for the day that ended at the latest
// scheduled time.
func (s *Scheduler) report(ctx context.Context) error {
	until := lastOccurrence(s.cfg.clock.Now().In(s.cfg.loc), s.cfg.reportHour, s.cfg.reportMinute)
	y, m, d := until.Date()
	since := time.Date(y, m, d-1, s.cfg.reportHour, s.cfg.reportMinute, 0, 0, s.cfg.loc)
	return s.cfg.report(ctx, since, until)
}

// syncLists is JobListSync with WithSyncer: both lists, as the settings
// allow; a sync that changed rows records an ADMIN_ACTION event.
func (s *Scheduler) syncLists(ctx context.Context) error {
	rep, err := s.cfg.syncer.Sync(ctx, feeds.Request{})
	if rep.Changed() {
		msg := fmt.Sprintf("lists sync: domains %s +%d/-%d, bots %s +%d/-%d (by the scheduler)",
			rep.Domains.Status, rep.Domains.Added, rep.Domains.Deactivated,
			rep.Bots.Status, rep.Bots.Added, rep.Bots.Deactivated)
		s.eng.RecordEvent(core.Event{Action: core.ActionAdmin, Details: msg})
		s.cfg.logger.Info("scheduler: "+msg, "job", string(JobListSync))
	}
	if err != nil {
		return fmt.Errorf("scheduler: list sync: %w", err)
	}
	return nil
}
