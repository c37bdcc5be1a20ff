package scheduler

import (
	"context"
	"log/slog"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/wardenkit/warden/feeds"
)

// Option configures New. Options validate their arguments: a bad one makes
// New return an error wrapping ErrInvalidOption that names the option and
// the value.
type Option func(*config) error

type config struct {
	logger       *slog.Logger
	clock        clockwork.Clock
	loc          *time.Location
	reportHour   int
	reportMinute int
	elector      Elector
	retention    time.Duration
	batch        int
	store        RetentionStore
	every        map[Job]time.Duration
	off          map[Job]bool

	sweep, listSync, geoIP func(ctx context.Context) error
	syncer                 *feeds.Syncer
	report                 func(ctx context.Context, since, until time.Time) error
}

func defaultConfig() config {
	return config{
		logger: slog.Default(), clock: clockwork.NewRealClock(), loc: time.UTC,
		reportHour: DefaultReportHour, batch: DefaultRetentionBatch,
		every: map[Job]time.Duration{}, off: map[Job]bool{},
	}
}

// WithLogger sets the logger of job results and failures (default
// slog.Default()).
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error {
		if l == nil {
			return invalid("WithLogger: nil logger")
		}
		c.logger = l
		return nil
	}
}

// WithClock sets the clock the jobs are timed by (default: the system
// clock); clockwork.NewFakeClock in tests.
func WithClock(clk clockwork.Clock) Option {
	return func(c *config) error {
		if clk == nil {
			return invalid("WithClock: nil clock")
		}
		c.clock = clk
		return nil
	}
}

// WithLocation sets the time zone of the daily report (default UTC). Give
// every replica the same one.
func WithLocation(loc *time.Location) Option {
	return func(c *config) error {
		if loc == nil {
			return invalid("WithLocation: nil location")
		}
		c.loc = loc
		return nil
	}
}

// WithReportAt sets the time of day of the daily report (default 06:00),
// in the WithLocation time zone.
func WithReportAt(hour, minute int) Option {
	return func(c *config) error {
		if hour < 0 || hour > 23 || minute < 0 || minute > 59 {
			return invalid("WithReportAt: %02d:%02d is not a time of day", hour, minute)
		}
		c.reportHour, c.reportMinute = hour, minute
		return nil
	}
}

// WithElector makes the replicas elect one that runs the jobs: on every
// tick, each replica asks e and runs the job only when it answers nil
// (redisstore.Elector implements it). Without it every replica runs every
// job.
func WithElector(e Elector) Option {
	return func(c *config) error {
		if e == nil {
			return invalid("WithElector: nil elector")
		}
		c.elector = e
		return nil
	}
}

// WithStore gives the retention job the store to delete from (the store
// given to core.New satisfies RetentionStore).
func WithStore(s RetentionStore) Option {
	return func(c *config) error {
		if s == nil {
			return invalid("WithStore: nil store")
		}
		c.store = s
		return nil
	}
}

// WithRetention sets how long events, login history and lockout records
// are kept (at least one day), in place of the retention_days setting
// (default 90 days; 0 there keeps them for good), which every replica
// shares and an admin can change.
func WithRetention(d time.Duration) Option {
	return func(c *config) error {
		if d < 24*time.Hour {
			return invalid("WithRetention: %s is shorter than a day", d)
		}
		c.retention = d
		return nil
	}
}

// WithRetentionBatch sets how many rows one delete statement of the
// retention job removes (default DefaultRetentionBatch, in [1, 100000]):
// small batches keep each statement's locks short.
func WithRetentionBatch(n int) Option {
	return func(c *config) error {
		if n < 1 || n > 100_000 {
			return invalid("WithRetentionBatch: %d is out of range [1, 100000]", n)
		}
		c.batch = n
		return nil
	}
}

// WithSchedule sets how often a job runs (at least a minute, at most 366
// days). Runs fall on multiples of the interval counted from a fixed epoch
// (every 5 minutes: :00, :05, …; daily: 00:00 UTC; weekly: Mondays 00:00
// UTC), so replicas tick together. JobReport runs at WithReportAt instead.
func WithSchedule(j Job, every time.Duration) Option {
	return func(c *config) error {
		switch {
		case !j.known():
			return invalid("WithSchedule: unknown job %q", j)
		case j == JobReport:
			return invalid("WithSchedule: %q runs daily; use WithReportAt", j)
		case every < time.Minute || every > 366*24*time.Hour:
			return invalid("WithSchedule: %s: %s is out of range [1m, 366d]", j, every)
		}
		c.every[j] = every
		return nil
	}
}

// WithoutJob switches a job off, even one given a function.
func WithoutJob(j Job) Option {
	return func(c *config) error {
		if !j.known() {
			return invalid("WithoutJob: unknown job %q", j)
		}
		c.off[j] = true
		return nil
	}
}

// withFunc is the option that sets a job's function through set.
func withFunc(name string, f func(context.Context) error, set func(*config, func(context.Context) error)) Option {
	return func(c *config) error {
		if f == nil {
			return invalid("%s: nil function", name)
		}
		set(c, f)
		return nil
	}
}

// WithSweep replaces the auto-block sweep over the stored events (JobSweep,
// every 5 minutes; default core.Engine.SweepAutoBlocks).
func WithSweep(f func(ctx context.Context) error) Option {
	return withFunc("WithSweep", f, func(c *config, f func(context.Context) error) { c.sweep = f })
}

// WithListSync sets the list sync (JobListSync, weekly); without it, or
// WithSyncer, the job is off.
func WithListSync(f func(ctx context.Context) error) Option {
	return withFunc("WithListSync", f, func(c *config, f func(context.Context) error) { c.listSync = f })
}

// WithSyncer runs s.Sync for both lists as JobListSync and records an
// ADMIN_ACTION event when it changed a row.
func WithSyncer(s *feeds.Syncer) Option {
	return func(c *config) error {
		if s == nil {
			return invalid("WithSyncer: nil syncer")
		}
		c.syncer = s
		return nil
	}
}

// WithGeoIPRefresh sets the country database refresh (JobGeoIP, weekly);
// without it the job is off.
func WithGeoIPRefresh(f func(ctx context.Context) error) Option {
	return withFunc("WithGeoIPRefresh", f, func(c *config, f func(context.Context) error) { c.geoIP = f })
}

// WithReport sets the daily report (JobReport); without it the job is off.
// f is given the day that ended at the scheduled time: since is the same
// time of day one calendar day earlier (23 or 25 hours across a daylight
// saving change), until the scheduled time, both in the WithLocation zone.
func WithReport(f func(ctx context.Context, since, until time.Time) error) Option {
	return func(c *config) error {
		if f == nil {
			return invalid("WithReport: nil function")
		}
		c.report = f
		return nil
	}
}
