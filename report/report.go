package report

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/wardenkit/warden/core"
)

// Sentinel errors, for errors.Is. Errors read "report: Op: problem".
var (
	// ErrInvalidOption is wrapped by Build's error for a nil option or an
	// option given a value it refuses.
	ErrInvalidOption = errors.New("report: invalid option")
	// ErrInvalidPeriod is wrapped by Build's error when since or until is
	// zero, since is not before until, or the period is longer than
	// MaxPeriod.
	ErrInvalidPeriod = errors.New("report: invalid period")
)

const (
	// DefaultTop is how many entries each top list holds by default.
	DefaultTop = 10
	// MaxTop is the largest value WithTop accepts.
	MaxTop = 1000
	// MaxPeriod is the longest period Build accepts: a leap year and a day,
	// so that PerHour never holds more than 8,809 hours.
	MaxPeriod = 367 * 24 * time.Hour
)

// Report is the security report of one period. Counts are sums of
// core.Event.Count: a stored row that stands for n coalesced events counts n.
// The zero value is an empty report; a Report is a plain value, safe to read
// from many goroutines.
type Report struct {
	Period Period `json:"period"`
	// Total is the number of events of every action.
	Total int64 `json:"total"`
	// ByAction has one entry per action seen, largest first.
	ByAction []Count `json:"by_action"`
	// TopIPs, TopCountries and TopPaths are the top entries of every
	// action's events, largest first, ties by key; events without an IP,
	// country or path are left out.
	TopIPs       []Count `json:"top_ips"`
	TopCountries []Count `json:"top_countries"`
	TopPaths     []Count `json:"top_paths"`
	// AutoBlocks counts the AUTO_BLOCK_IP and AUTO_BLOCK_COUNTRY events.
	AutoBlocks AutoBlocks `json:"auto_blocks"`
	// SuspiciousLogins, RateLimitDenials and Lockouts count the
	// SUSPICIOUS_LOGIN, RATE_LIMIT and LOCKOUT events.
	SuspiciousLogins int64 `json:"suspicious_logins"`
	RateLimitDenials int64 `json:"rate_limit_denials"`
	Lockouts         int64 `json:"lockouts"`
	// PerHour has one entry per UTC hour that overlaps the period, oldest
	// first, hours without events included with a zero count. The first
	// and last hours may be partly outside the period; only the events
	// inside it are counted.
	PerHour []HourCount `json:"per_hour"`
}

// Period is the time range of a Report: events created at or after Since
// and before Until, both in UTC.
type Period struct {
	Since time.Time `json:"since"`
	Until time.Time `json:"until"`
}

// Count is one entry of a list: an action, IP, country code or path and the
// number of its events.
type Count struct {
	Key   string `json:"key"`
	Count int64  `json:"count"`
}

// HourCount is the number of events in the UTC hour that starts at Hour.
type HourCount struct {
	Hour  time.Time `json:"hour"`
	Count int64     `json:"count"`
}

// AutoBlocks summarises the automatic blocks of the period.
type AutoBlocks struct {
	// IPs and Countries count the AUTO_BLOCK_IP and AUTO_BLOCK_COUNTRY
	// events.
	IPs       int64 `json:"ips"`
	Countries int64 `json:"countries"`
	// TopIPs groups the AUTO_BLOCK_IP events by their IP and TopCountries
	// the AUTO_BLOCK_COUNTRY events by their country code, largest first.
	TopIPs       []Count `json:"top_ips"`
	TopCountries []Count `json:"top_countries"`
}

// Option configures Build.
type Option func(*config) error

type config struct {
	top int
}

// WithTop sets how many entries each top list holds, 1 to MaxTop (default
// DefaultTop).
func WithTop(n int) Option {
	return func(c *config) error {
		if n < 1 || n > MaxTop {
			return fmt.Errorf("report: WithTop: %d is not between 1 and %d: %w", n, MaxTop, ErrInvalidOption)
		}
		c.top = n
		return nil
	}
}

// Build computes the report of the events created in [since, until) with
// grouped counts only (core.EventStore.CountEvents), never reading events
// one by one: at most seven calls, five when the period has no auto-block
// (by action, by IP, by country, by path, by hour, and the auto-blocked IPs
// and countries). The calls run one after the other on ctx; the first error
// ends Build. The report's times are in UTC.
func Build(ctx context.Context, st core.EventStore, since, until time.Time, opts ...Option) (*Report, error) {
	cfg := config{top: DefaultTop}
	for i, o := range opts {
		if o == nil {
			return nil, fmt.Errorf("report: Build: option %d is nil: %w", i, ErrInvalidOption)
		}
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	if st == nil {
		return nil, fmt.Errorf("report: Build: nil store: %w", ErrInvalidOption)
	}
	if err := checkPeriod(since, until); err != nil {
		return nil, err
	}
	b := builder{ctx: ctx, st: st, since: since.UTC(), until: until.UTC(), top: cfg.top}
	return b.build()
}

// checkPeriod refuses a period Build cannot report on, naming both ends.
func checkPeriod(since, until time.Time) error {
	switch {
	case since.IsZero() || until.IsZero():
		return fmt.Errorf("report: Build: since %s and until %s: both must be set: %w",
			stamp(since), stamp(until), ErrInvalidPeriod)
	case !since.Before(until):
		return fmt.Errorf("report: Build: since %s is not before until %s: %w",
			stamp(since), stamp(until), ErrInvalidPeriod)
	case until.Sub(since) > MaxPeriod:
		return fmt.Errorf("report: Build: since %s to until %s is longer than %v: %w",
			stamp(since), stamp(until), MaxPeriod, ErrInvalidPeriod)
	}
	return nil
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "(zero)"
	}
	return t.Format(time.RFC3339Nano)
}
