package core

import (
	"cmp"
	"context"
	"log/slog"
	"net/http"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/wardenkit/warden/core/attempt"
	"github.com/wardenkit/warden/core/rule"
)

// Login protection is Lockout (lockout.go, lockout_admin.go) and
// LoginMonitor (loginmonitor.go). Neither holds the Engine: each gets what it
// needs through loginDeps, so a test can build them from parts.

// loginStore is the part of the Store login protection uses.
type loginStore interface {
	LockoutStore
	LoginHistoryStore
}

// loginDeps is what login protection takes from the engine: the clock, the
// logger, the store's lockout and login tables, the current snapshot (for
// settings and whitelists), client IP and country resolution, and the one
// event writer (events and lockout records).
type loginDeps struct {
	clock      Clock
	log        *slog.Logger
	store      loginStore
	snapshot   func() *snapshot
	clientIP   func(*http.Request) (netip.Addr, bool)
	country    func(*snapshot, netip.Addr) string
	events     loginSink
	ipv6Prefix int
	failTrips  *atomic.Int64 // the engine's fail-policy trips
	running    func() bool   // whether the event writer's goroutine runs
}

// loginSink is where login protection sends its events and lockout
// records: the engine's one event writer.
type loginSink interface {
	enqueue(Event) bool
	enqueueLockout(LockoutRecord) bool
	syncRecords(ctx context.Context, running bool) // store the records queued so far
	recordCounts() (written, dropped int64)
}

// settings returns the current snapshot and its settings; before the first
// snapshot, defaults and no whitelist.
func (d *loginDeps) settings() (*snapshot, Settings) {
	if s := d.snapshot(); s != nil {
		return s, s.Settings
	}
	return nil, DefaultSettings()
}

// loginConfig holds the options of login protection (part of config).
type loginConfig struct {
	counter     attempt.Counter
	keys        []LockoutKey
	whitelist   WhitelistPolicy
	lookup      UserLookup
	hook        LoginHook
	failPolicy  *FailPolicy
	noNewDevice bool
	sourceCaps  [2]int        // usernames per address, per network; 0: defaults
	historyWait time.Duration // WithLoginHistoryWait; 0: the default
}

// newLockout builds the Lockout and LoginMonitor of c over d.
func newLockout(d *loginDeps, c *loginConfig, enginePolicy FailPolicy) (*Lockout, error) {
	l := &Lockout{d: d, counter: c.counter, keys: c.keys, whitelist: c.whitelist, lookup: c.lookup, failPolicy: enginePolicy}
	if c.failPolicy != nil {
		l.failPolicy = *c.failPolicy
	}
	if len(l.keys) == 0 {
		l.keys = DefaultLockoutKeys()
	}
	if l.counter == nil {
		m, err := attempt.NewMemory(0)
		if err != nil {
			return nil, err
		}
		l.counter = m
	} else if _, inProcess := l.counter.(*attempt.Memory); !inProcess && l.failPolicy == FailFallback {
		m, err := attempt.NewMemory(100_000)
		if err != nil {
			return nil, err
		}
		l.fallback = m
	}
	l.monitor = newLoginMonitor(d, c)
	l.sources = newSourceTracker(cmp.Or(c.sourceCaps[0], defaultSourceUsernames), cmp.Or(c.sourceCaps[1], defaultNetworkUsernames))
	return l, nil
}

// initLogin is called by New after the options are applied.
func (e *Engine) initLogin() error {
	d := &loginDeps{
		clock: e.clock, log: e.log, store: e.store, snapshot: e.snap.Load, clientIP: e.ips.ClientIP,
		country: e.loginCountry, events: e.events, ipv6Prefix: e.cfg.ipv6Prefix, failTrips: &e.failTrips,
		running: func() bool { return e.started.Load() && !e.closed.Load() },
	}
	l, err := newLockout(d, &e.cfg.login, e.cfg.failPolicy)
	if err != nil {
		return err
	}
	e.lockout = l
	return nil
}

// startLogin starts the login history writer and loads the attempt
// counter's script, where it has one, so that every step is one round trip
// from the first.
func (e *Engine) startLogin(ctx context.Context) {
	e.startLoginHistory()
	if st, ok := e.lockout.counter.(starter); ok {
		if err := st.Start(ctx); err != nil {
			e.log.Warn("warden: attempt counter failed to start; the lockout fail policy applies until it answers", "error", err)
		}
	}
}

// Lockout returns the engine's login lockout.
func (e *Engine) Lockout() *Lockout { return e.lockout }

// LoginMonitor returns the engine's login monitor.
func (e *Engine) LoginMonitor() *LoginMonitor { return e.lockout.monitor }

// loginCountry is the country of a login or lockout: the GeoIP country, or
// Settings.InternalCountry for internal addresses; "" when unknown.
func (e *Engine) loginCountry(s *snapshot, ip netip.Addr) string {
	if !ip.IsValid() {
		return ""
	}
	if s == nil {
		if e.cfg.geo == nil || internalAddr(ip) {
			return ""
		}
		c, ok := e.cfg.geo.Country(ip)
		if c, valid := rule.NormalizeCountry(c); ok && valid {
			return c
		}
		return ""
	}
	if c, known := e.country(s, ip); known {
		return c
	}
	return ""
}
