package feeds

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"sync"
	"time"

	"github.com/wardenkit/warden/core"
	"github.com/wardenkit/warden/core/rule"
)

// DefaultDomainURL is the blocklist of the disposable-email-domains project
// (plain text, one domain per line).
const DefaultDomainURL = "https://raw.githubusercontent.com/disposable-email-domains/disposable-email-domains/master/disposable_email_blocklist.conf"

// Syncer defaults.
const (
	DefaultMaxDeactivate = 0.5 // share of the synced rows one sync may deactivate
	DefaultMaxInvalid    = 0.1 // share of a list's lines that may be unreadable
)

// Syncer keeps the disposable-domain and bad-bot lists of a Store current.
// It is safe for concurrent use; one Sync runs at a time per Syncer.
type Syncer struct {
	store   Store
	fetcher *Fetcher
	cfg     config
	mu      sync.Mutex
}

type config struct {
	domainURLs    []string
	botURLs       []string
	builtinBots   bool
	maxDeactivate float64
	maxInvalid    float64
	domains       domainGuard
	uas           uaGuard
	clock         core.Clock
	log           *slog.Logger
	bus           core.Bus
}

// Option configures New.
type Option func(*config) error

// WithDomainURLs sets the disposable-domain sources (default:
// DefaultDomainURL). Each is an http or https URL serving plain text (one
// domain per line, "#" comments) or a JSON array of strings.
func WithDomainURLs(urls ...string) Option {
	return func(c *config) error {
		if len(urls) == 0 {
			return errorf(ErrInvalidOption, "WithDomainURLs: no URL")
		}
		if err := checkURLs("WithDomainURLs", urls); err != nil {
			return err
		}
		c.domainURLs = urls
		return nil
	}
}

// WithBotURLs adds bad-bot sources to the built-in list (default: none).
// Each serves plain text (one "contains" pattern per line), a JSON array of
// strings ("contains" patterns) or the crawler-user-agents format (a JSON
// array of objects whose "pattern" is a regex).
func WithBotURLs(urls ...string) Option {
	return func(c *config) error {
		if err := checkURLs("WithBotURLs", urls); err != nil {
			return err
		}
		c.botURLs = urls
		return nil
	}
}

// WithBuiltinBots turns the built-in bad-bot list (BuiltinBots) on or off
// (default on). Off without WithBotURLs leaves the bot sync nothing to do,
// which New refuses.
func WithBuiltinBots(on bool) Option {
	return func(c *config) error { c.builtinBots = on; return nil }
}

// WithMaxDeactivate sets the share (0 to 1) of the synced rows of a kind
// that one sync may deactivate (default DefaultMaxDeactivate). A list that
// shrank more is refused with ErrShrink unless the Request says Force: a
// truncated download or a broken upstream must not switch a list off.
func WithMaxDeactivate(share float64) Option {
	return func(c *config) error {
		if !(share >= 0 && share <= 1) {
			return errorf(ErrInvalidOption, "WithMaxDeactivate: %v is not between 0 and 1", share)
		}
		c.maxDeactivate = share
		return nil
	}
}

// WithMaxInvalid sets the share (0 to 1) of a list's lines that may be
// unreadable (default DefaultMaxInvalid); a list with more is refused as a
// whole with ErrNotList.
func WithMaxInvalid(share float64) Option {
	return func(c *config) error {
		if !(share >= 0 && share <= 1) {
			return errorf(ErrInvalidOption, "WithMaxInvalid: %v is not between 0 and 1", share)
		}
		c.maxInvalid = share
		return nil
	}
}

// WithProtectedDomains replaces DefaultProtectedDomains: a synced domain
// equal to one of these, or a parent of one, is rejected.
func WithProtectedDomains(domains ...string) Option {
	return func(c *config) error {
		norm := make([]string, len(domains))
		for i, d := range domains {
			n, ok := rule.NormalizeDomain(d)
			if !ok {
				return errorf(ErrInvalidOption, "WithProtectedDomains: %q is not a domain name", d)
			}
			norm[i] = n
		}
		c.domains = domainGuard{protected: norm}
		return nil
	}
}

// WithProtectedUserAgents replaces DefaultProtectedUserAgents: a synced
// pattern that matches one of these is rejected.
func WithProtectedUserAgents(uas ...string) Option {
	return func(c *config) error { c.uas = uaGuard{protected: uas}; return nil }
}

// WithClock sets the clock that stamps Settings.LastSyncAt (default: the
// system clock).
func WithClock(clk core.Clock) Option {
	return func(c *config) error {
		if clk == nil {
			return errorf(ErrInvalidOption, "WithClock: nil clock")
		}
		c.clock = clk
		return nil
	}
}

// WithLogger sets the logger (default: none). A sync logs one line per
// kind: Info when it applied, Warn when it failed.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error {
		if l == nil {
			return errorf(ErrInvalidOption, "WithLogger: nil logger")
		}
		c.log = l
		return nil
	}
}

// WithBus publishes the new store version after a sync that wrote, so the
// engines listening on the bus rebuild at once rather than at their next
// poll. Use the bus given to core.WithBus.
func WithBus(b core.Bus) Option {
	return func(c *config) error {
		if b == nil {
			return errorf(ErrInvalidOption, "WithBus: nil bus")
		}
		c.bus = b
		return nil
	}
}

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

func checkURLs(op string, urls []string) error {
	for _, u := range urls {
		p, err := url.Parse(u)
		if err != nil || (p.Scheme != "https" && p.Scheme != "http") || p.Host == "" {
			return errorf(ErrInvalidOption, "%s: %s is not an http or https URL", op, redact(u))
		}
	}
	return nil
}

// New returns a Syncer that writes to store and downloads with fetcher.
func New(store Store, fetcher *Fetcher, opts ...Option) (*Syncer, error) {
	if store == nil || fetcher == nil {
		return nil, errorf(ErrInvalidOption, "feeds: New: nil store or fetcher")
	}
	cfg := config{
		domainURLs: []string{DefaultDomainURL}, builtinBots: true,
		maxDeactivate: DefaultMaxDeactivate, maxInvalid: DefaultMaxInvalid,
		domains: domainGuard{protected: DefaultProtectedDomains()}, uas: uaGuard{protected: DefaultProtectedUserAgents()},
		clock: systemClock{}, log: slog.New(slog.DiscardHandler),
	}
	for i, o := range opts {
		if o == nil {
			return nil, errorf(ErrInvalidOption, "feeds: New: option %d is nil", i)
		}
		if err := o(&cfg); err != nil {
			return nil, fmt.Errorf("feeds: New: %w", err)
		}
	}
	if !cfg.builtinBots && len(cfg.botURLs) == 0 {
		return nil, errorf(ErrInvalidOption, "feeds: New: WithBuiltinBots(false) without WithBotURLs: no bot source")
	}
	return &Syncer{store: store, fetcher: fetcher, cfg: cfg}, nil
}

// Kinds selects the lists a Sync works on.
type Kinds uint8

const (
	Domains Kinds = 1 << iota // disposable e-mail domains (BlockedDomains)
	Bots                      // bad-bot User-Agent patterns (BlockedUserAgents)
	All     = Domains | Bots
)

// Request says what one Sync does.
type Request struct {
	// Kinds are the lists to sync; zero means All. A kind whose settings
	// switch is off is not synced whatever Kinds says.
	Kinds Kinds
	// Force applies a list even when it would deactivate more than the
	// WithMaxDeactivate share, and downloads every list in full, ignoring
	// the stored validators (use it too after restoring an old backup).
	Force bool
}

// Sync downloads the lists of the requested kinds and applies each kind
// all or nothing, in one transaction, with one version bump: new entries
// are added, entries that left every list are deactivated (never deleted),
// entries the sync itself deactivated and that came back are reactivated.
// Manual rows and rows an operator has written since the sync wrote them
// are never changed. A kind is not changed at all when one of its sources
// fails or is refused. When every source answers 304, Sync costs one
// request per source and writes nothing.
//
// After applying anything it writes Settings.LastSyncAt (on its own). The
// Report says what happened per kind and per source; the error joins the
// failures of the kinds, or is the error that stopped the Sync before any
// kind ran (reading the settings).
func (s *Syncer) Sync(ctx context.Context, req Request) (Report, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	kinds := req.Kinds
	if kinds == 0 {
		kinds = All
	}
	if kinds&^All != 0 {
		return Report{}, errorf(ErrInvalidOption, "feeds: Sync: unknown kinds %#x", uint8(kinds))
	}
	now := s.cfg.clock.Now()
	set, err := s.store.Settings(ctx)
	if err != nil {
		return Report{}, fmt.Errorf("feeds: Sync: reading the settings: %w", err)
	}
	rep := Report{Domains: gate(kinds&Domains != 0, set.SyncDisposableDomains),
		Bots: gate(kinds&Bots != 0, set.SyncBadBots)}
	if rep.Domains.Status == "" {
		rep.Domains = runKind(ctx, s, s.domainKind(), req.Force)
	}
	if rep.Bots.Status == "" {
		rep.Bots = runKind(ctx, s, s.botKind(), req.Force)
	}
	var errs []error
	for _, k := range []KindReport{rep.Domains, rep.Bots} {
		if k.Err != nil {
			errs = append(errs, k.Err)
		}
	}
	if rep.Domains.Status == StatusApplied || rep.Bots.Status == StatusApplied {
		if err := s.store.SetLastSyncAt(ctx, now); err != nil {
			errs = append(errs, fmt.Errorf("feeds: Sync: writing last_sync_at: %w", err))
		} else {
			rep.LastSyncAt = now.UTC()
		}
	}
	if rep.Changed() || !rep.LastSyncAt.IsZero() {
		s.publish(ctx)
	}
	return rep, errors.Join(errs...)
}

// gate returns the report of a kind that does not run, or a zero report.
func gate(requested, enabled bool) KindReport {
	switch {
	case !requested:
		return KindReport{Status: StatusNotRequested}
	case !enabled:
		return KindReport{Status: StatusDisabled}
	}
	return KindReport{}
}

// publish announces the store version on the bus, if there is one.
func (s *Syncer) publish(ctx context.Context) {
	if s.cfg.bus == nil {
		return
	}
	v, err := s.store.Version(ctx)
	if err == nil {
		pctx, cancel := context.WithTimeout(ctx, time.Second)
		err = s.cfg.bus.Publish(pctx, v)
		cancel()
	}
	if err != nil {
		s.cfg.log.Warn("feeds: bus publish failed; engines catch up at their next poll", "error", err)
	}
}
