package core

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"

	"github.com/wardenkit/warden/core/attempt"
)

// Login protection (DESIGN §6): Lockout (lockout.go) and LoginMonitor
// (loginmonitor.go) hang off the engine through loginConfig, loginState,
// initLogin and startLogin.

// loginConfig holds the options of login protection (part of config).
type loginConfig struct {
	counter     attempt.Counter
	keys        []LockoutKey
	whitelist   WhitelistPolicy
	lookup      UserLookup
	hook        LoginHook
	failPolicy  *FailPolicy
	noNewDevice bool
	recordQueue int
}

// loginState is the engine's login-protection state (part of Engine).
type loginState struct {
	lockout *Lockout
	monitor *LoginMonitor
}

// initLogin is called by New after the options are applied.
func (e *Engine) initLogin() error {
	c := &e.cfg.login
	l := &Lockout{e: e, counter: c.counter, keys: c.keys, whitelist: c.whitelist, lookup: c.lookup, failPolicy: e.cfg.failPolicy}
	if c.failPolicy != nil {
		l.failPolicy = *c.failPolicy
	}
	if len(l.keys) == 0 {
		l.keys = DefaultLockoutKeys()
	}
	if l.counter == nil {
		m, err := attempt.NewMemory(0)
		if err != nil {
			return err
		}
		l.counter = m
	} else if _, inProcess := l.counter.(*attempt.Memory); !inProcess && l.failPolicy == FailFallback {
		m, err := attempt.NewMemory(100_000)
		if err != nil {
			return err
		}
		l.fallback = m
	}
	n := c.recordQueue
	if n == 0 {
		n = 1024
	}
	l.records = make(chan LockoutRecord, n)
	e.login = loginState{lockout: l, monitor: &LoginMonitor{e: e, hook: c.hook, newDevice: !c.noNewDevice}}
	return nil
}

// startLogin is called by Start after the first snapshot is loaded. It starts
// the writer of lockout records, which stops when the engine closes.
func (e *Engine) startLogin(ctx context.Context) error {
	l := e.login.lockout
	if st, ok := l.counter.(starter); ok { // load a Redis script now: one round trip per step from the first
		if err := st.Start(ctx); err != nil {
			e.log.Warn("warden: attempt counter failed to start; the lockout fail policy applies until it answers", "error", err)
		}
	}
	e.wg.Add(1)
	go func() { defer e.wg.Done(); l.writeRecords() }()
	return nil
}

// LoginMonitor returns the engine's login monitor.
func (e *Engine) LoginMonitor() *LoginMonitor { return e.login.monitor }

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
		if c, valid := NormalizeCountry(c); ok && valid {
			return c
		}
		return ""
	}
	if c, known := e.country(s, ip); known {
		return c
	}
	return ""
}

// WithAttemptCounter sets the store of login attempt counters (default: an
// in-process attempt.Memory). Replicas must share one (redisstore) for a
// lockout to hold across them.
func WithAttemptCounter(c attempt.Counter) Option {
	return func(cfg *config) error {
		if c == nil {
			return errors.New("WithAttemptCounter: nil counter")
		}
		cfg.login.counter = c
		return nil
	}
}

// WithLockoutKeys sets the counters login attempts are judged by (default
// DefaultLockoutKeys: LockoutByUserAndIP and LockoutByIP). Add LockoutByUser
// to stop distributed attacks on one account, knowing that anyone can then
// lock out any username they know.
func WithLockoutKeys(keys ...LockoutKey) Option {
	return func(cfg *config) error {
		if len(keys) == 0 {
			return errors.New("WithLockoutKeys: no key")
		}
		for i, k := range keys {
			if !k.valid() {
				return fmt.Errorf("WithLockoutKeys: unknown key %q", k)
			}
			if slices.Contains(keys[:i], k) {
				return fmt.Errorf("WithLockoutKeys: key %q given twice", k)
			}
		}
		cfg.login.keys = slices.Clone(keys)
		return nil
	}
}

// WithWhitelistPolicy sets what whitelisted IPs and users mean for lockouts
// (default WhitelistBypass).
func WithWhitelistPolicy(p WhitelistPolicy) Option {
	return func(cfg *config) error {
		if p != WhitelistBypass && p != WhitelistRaisesLimit {
			return fmt.Errorf("WithWhitelistPolicy: unknown policy %d", int(p))
		}
		cfg.login.whitelist = p
		return nil
	}
}

// WithUserLookup sets how a username typed at login is resolved to a user ID
// for the whitelist (see UserLookup). Without it the username itself is
// taken as the user ID.
func WithUserLookup(f UserLookup) Option {
	return func(cfg *config) error {
		if f == nil {
			return errors.New("WithUserLookup: nil function")
		}
		cfg.login.lookup = f
		return nil
	}
}

// WithLoginHook sets the function the LoginMonitor asks, after each
// successful password check and before the session is issued, whether to
// allow the login, require a second factor, or refuse it.
func WithLoginHook(h LoginHook) Option {
	return func(cfg *config) error {
		if h == nil {
			return errors.New("WithLoginHook: nil hook")
		}
		cfg.login.hook = h
		return nil
	}
}

// WithLockoutFailPolicy sets what Lockout.Begin does when the attempt.Counter
// fails (default: the engine's WithFailPolicy, itself FailClosed by
// default). FailFallback counts in an in-process counter meanwhile.
func WithLockoutFailPolicy(p FailPolicy) Option {
	return func(cfg *config) error {
		if p < FailClosed || p > FailFallback {
			return fmt.Errorf("WithLockoutFailPolicy: unknown policy %d", int(p))
		}
		cfg.login.failPolicy = &p
		return nil
	}
}

// WithNewDeviceAlert turns the LoginMonitor's new-device rule on or off
// (default on): a login from a browser and OS family the user has not used
// in their recent logins is suspicious.
func WithNewDeviceAlert(on bool) Option {
	return func(cfg *config) error { cfg.login.noNewDevice = !on; return nil }
}

// WithLockoutRecordQueue sets how many lockout records may wait to be
// stored (default 1,024); beyond it they are dropped and counted.
func WithLockoutRecordQueue(n int) Option {
	return func(cfg *config) error {
		if n < 1 || n > 1_000_000 {
			return fmt.Errorf("WithLockoutRecordQueue: %d out of range 1..1000000", n)
		}
		cfg.login.recordQueue = n
		return nil
	}
}
