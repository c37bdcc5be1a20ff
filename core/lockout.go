package core

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wardenkit/warden/core/attempt"
)

// Lockout protects a login form against password guessing. Get it from
// Engine.Lockout; it judges attempts by the engine's current settings and
// whitelists, so a changed limit applies to existing counters at once.
//
//	t, err := lo.Begin(ctx, core.Attempt{Username: form.Username, HTTP: r})
//	var locked *core.LockedError
//	if errors.As(err, &locked) { /* 429, Retry-After: locked.RetryAfter */ }
//	if err != nil { /* 503: the counter is down and the fail policy is closed */ }
//	if !passwordOK { lo.Fail(ctx, t); … }
//	verdict, err := lo.Succeed(ctx, t, core.Success{UserID: id})
//
// Begin reserves one attempt on every key (username and address: limit
// max_login_attempts; address alone: 10×; username alone when opted in), all
// keys or none, so no more than the limit reach the password check however
// many requests arrive at once. Refused attempts are not counted and do not
// extend a lock; an attempt with no outcome after attempt.ReservationTimeout
// counts as failed. The failure that reaches a limit locks the key for the
// cool-off (0: until Unlock) and records one LOCKOUT event and one
// LockoutRecord. Succeed clears the username keys, never the address-only
// key. When the counter fails, the lockout fail policy applies
// (WithLockoutFailPolicy). A Lockout is safe for concurrent use.
type Lockout struct {
	d          *loginDeps
	monitor    *LoginMonitor
	sources    *sourceTracker
	counter    attempt.Counter
	fallback   *attempt.Memory // nil when counter is in-process already
	keys       []LockoutKey
	whitelist  WhitelistPolicy
	lookup     UserLookup
	failPolicy FailPolicy

	attempts, refused, bypassed, lockouts, failed, succeeded atomic.Int64
	counterErrors, lastWarn                                  atomic.Int64

	releaseMu     sync.Mutex
	releasedSince time.Time           // where the next look for released records starts
	applied       map[int64]time.Time // releases already applied, by record ID
}

// UserLookup resolves a username typed into a login form to the user's ID
// (the ID WhitelistedUser rows hold). The seed's behaviour, which this
// function should reproduce: an exact match on the username, else a
// case-insensitive match on the e-mail address. ok is false when no user
// matches. It receives the username trimmed and cleaned but not lower-cased.
type UserLookup func(ctx context.Context, username string) (userID string, ok bool)

// Attempt is one login attempt.
type Attempt struct {
	// Username as typed; it is normalised (NormalizeUsername), so empty,
	// huge or binary input is fine.
	Username string
	// IP is the client address. When invalid it is resolved from HTTP by the
	// engine's client IP resolver (trusted proxies and all).
	IP netip.Addr
	// HTTP is the login request, for the client address, path, method and
	// User-Agent of events and login history. Optional.
	HTTP *http.Request
}

// Success is what Succeed needs to know about a successful login.
type Success struct {
	UserID     string // the application's opaque user ID
	SessionKey string // optional, stored in the login history
}

// Ticket is a reserved attempt. Pass it to exactly one of Fail or Succeed.
// A Ticket is safe for concurrent use; only the first outcome counts.
type Ticket struct {
	l        *Lockout
	counter  attempt.Counter // nil: bypassed or unguarded
	token    uint64
	scopes   []LockoutKey
	keys     []string
	mult     int
	username string
	ip       netip.Addr
	ipGroup  string
	source   string // the address or network whose overflow key counts this attempt
	path     string
	method   string
	ua       string
	bypass   bool
	done     atomic.Bool
}

// Username is the normalised username of the attempt.
func (t *Ticket) Username() string { return t.username }

// IP is the client address of the attempt (invalid when none was known).
func (t *Ticket) IP() netip.Addr { return t.ip }

// Bypassed reports whether a whitelist exempted the attempt (WhitelistBypass).
func (t *Ticket) Bypassed() bool { return t.bypass }

// LockedError is Begin's refusal: the attempt is locked out. Answer 429 with
// a Retry-After of RetryAfter.
type LockedError struct {
	Until      time.Time     // when attempts are accepted again; zero: until unlocked (cool-off 0)
	RetryAfter time.Duration // until Until, in whole seconds (at least 1); one hour for a lock without end
}

// Error says until when the login is locked.
func (e *LockedError) Error() string {
	if e.Until.IsZero() {
		return "core: login locked out until unlocked"
	}
	return "core: login locked out until " + e.Until.UTC().Format(time.RFC3339)
}

// Unwrap makes errors.Is(err, ErrLocked) true.
func (e *LockedError) Unwrap() error { return ErrLocked }

// permanentRetryAfter is the Retry-After of a lock without end.
const permanentRetryAfter = time.Hour

func (l *Lockout) settings() (*snapshot, Settings) { return l.d.settings() }

func attemptPolicy(set *Settings) attempt.Policy {
	return attempt.Policy{
		Cooloff:            time.Duration(set.LockoutCooloffMinutes) * time.Minute,
		AttemptExpiry:      set.AttemptExpiry && set.LockoutCooloffMinutes > 0,
		ReservationTimeout: attempt.ReservationTimeout,
	}
}

// limit is the current limit of a scope.
func limitOf(set *Settings, scope LockoutKey, mult int) int {
	return max(1, set.MaxLoginAttempts) * scope.factor() * mult
}

func (t *Ticket) counterKeys(set *Settings) []attempt.Key {
	keys := make([]attempt.Key, len(t.keys))
	for i, k := range t.keys {
		keys[i] = attempt.Key{Key: k, Limit: limitOf(set, t.scopes[i], t.mult), ResetOnSuccess: t.scopes[i].hasUser()}
	}
	return keys
}

// Begin reserves one attempt, or refuses it with a *LockedError. See Lockout.
func (l *Lockout) Begin(ctx context.Context, a Attempt) (*Ticket, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("core: Lockout.Begin: %w", err)
	}
	now := l.d.clock.Now()
	l.attempts.Add(1)
	raw := cleanUsername(a.Username)
	t := l.newTicket(a)
	var userID string
	t.username, userID = l.account(ctx, raw)
	s, set := l.settings()
	switch l.whitelistEffect(s, now, t.ip, userID, raw) {
	case bypass:
		t.bypass = true
		l.bypassed.Add(1)
		return t, nil
	case raiseLimit:
		t.mult = 10
	}
	p := attemptPolicy(&set)
	l.chooseKeys(t, now, p.Window())
	t.token = rand.Uint64() | 1
	t.counter = l.counter
	keys := t.counterKeys(&set)
	ok, st, err := l.counter.Reserve(ctx, now, p, t.token, keys)
	if err != nil {
		if ok, st, err = l.reserveFailed(ctx, t, now, p, keys, err); err != nil {
			return nil, err
		}
		if t.counter == nil { // FailOpen: unguarded
			return t, nil
		}
	}
	l.noteLocks(t, s, now, &set, st)
	if !ok {
		l.refused.Add(1)
		return nil, lockedError(now, st)
	}
	return t, nil
}

// newTicket fills a ticket with what the request tells about the attempt.
func (l *Lockout) newTicket(a Attempt) *Ticket {
	t := &Ticket{l: l, ip: a.IP.Unmap().WithZone(""), mult: 1}
	if r := a.HTTP; r != nil {
		if !t.ip.IsValid() {
			if ip, ok := l.d.clientIP(r); ok {
				t.ip = ip
			}
		}
		if r.URL != nil {
			t.path = r.URL.Path
		}
		t.method, t.ua = r.Method, r.Header.Get("User-Agent")
	}
	t.ipGroup = groupIP(t.ip, l.d.ipv6Prefix)
	return t
}

// chooseKeys picks the counters of the attempt. A source past its username
// caps counts a username it has not tried before on its overflow key instead
// of a new username-and-address key.
func (l *Lockout) chooseKeys(t *Ticket, now time.Time, window time.Duration) {
	t.source = l.sources.track(t.ipGroup, networkGroup(t.ip), t.username, now, window)
	for _, scope := range l.keys {
		switch {
		case scope == LockoutByIP && t.ipGroup == "":
			continue // no address: the username key with "-" stands in for it
		case scope == LockoutByUserAndIP && t.source != "":
			scope = LockoutBySource
		}
		t.scopes = append(t.scopes, scope)
		if scope == LockoutBySource {
			t.keys = append(t.keys, counterKey(scope, "", t.source))
		} else {
			t.keys = append(t.keys, counterKey(scope, t.username, t.ipGroup))
		}
	}
}

// reserveFailed applies the lockout fail policy when the counter failed.
// With FailOpen it returns no error and leaves t without a counter.
func (l *Lockout) reserveFailed(ctx context.Context, t *Ticket, now time.Time, p attempt.Policy, keys []attempt.Key, err error) (bool, []attempt.State, error) {
	if ctx.Err() != nil {
		return false, nil, fmt.Errorf("core: Lockout.Begin: %w", err) // the caller gave up; not a counter failure
	}
	l.report("reserve", err)
	switch {
	case l.failPolicy == FailOpen:
		t.counter = nil
		return true, nil, nil
	case l.failPolicy == FailFallback && l.fallback != nil:
		t.counter = l.fallback
		ok, st, err := l.fallback.Reserve(ctx, now, p, t.token, keys)
		if err != nil {
			return false, nil, fmt.Errorf("core: Lockout.Begin: %w", err)
		}
		return ok, st, nil
	}
	return false, nil, fmt.Errorf("core: Lockout.Begin: %w", err)
}

func lockedError(now time.Time, st []attempt.State) *LockedError {
	var until time.Time
	for _, s := range st {
		if s.Locked && s.Until.IsZero() {
			return &LockedError{RetryAfter: permanentRetryAfter}
		}
		if (s.Locked || !s.Until.IsZero()) && s.Until.After(until) {
			until = s.Until
		}
	}
	if until.IsZero() { // not reached with a conforming counter
		until = now.Add(time.Second)
	}
	d := until.Sub(now)
	if r := d % time.Second; r != 0 {
		d += time.Second - r
	}
	return &LockedError{Until: until, RetryAfter: max(d, time.Second)}
}

func (l *Lockout) check(op string, t *Ticket) error {
	if t == nil || t.l != l {
		return fmt.Errorf("core: Lockout.%s: ticket not from this Lockout: %w", op, ErrInvalid)
	}
	if !t.done.CompareAndSwap(false, true) {
		return fmt.Errorf("core: Lockout.%s: %w", op, ErrTicketUsed)
	}
	return nil
}

// Fail records the attempt as failed. The failure that reaches a limit locks
// the key and records the LOCKOUT event. An error means the counter could
// not be told (it is counted and logged; the reservation then times out into
// a failure anyway). Fail is not cancelled by ctx: a client that hangs up
// must not escape counting.
func (l *Lockout) Fail(ctx context.Context, t *Ticket) error {
	if err := l.check("Fail", t); err != nil {
		return err
	}
	l.failed.Add(1)
	if t.counter == nil {
		return nil
	}
	now := l.d.clock.Now()
	s, set := l.settings()
	st, err := t.counter.Fail(context.WithoutCancel(ctx), now, attemptPolicy(&set), t.token, t.counterKeys(&set))
	if err != nil {
		l.report("fail", err)
		return fmt.Errorf("core: Lockout.Fail: %w", err)
	}
	l.noteLocks(t, s, now, &set, st)
	return nil
}

// Succeed records the attempt as successful: the reservation is released,
// the username keys are cleared (the address-only key is not), and the
// LoginMonitor observes the login, which may ask for a second factor or
// refuse it (LoginVerdict). A counter error is counted and logged, not
// returned: the password was right. The error is the login hook's.
func (l *Lockout) Succeed(ctx context.Context, t *Ticket, s Success) (LoginVerdict, error) {
	if err := l.check("Succeed", t); err != nil {
		return LoginRefuse, err
	}
	l.succeeded.Add(1)
	now := l.d.clock.Now()
	if t.counter != nil {
		snap, set := l.settings()
		st, err := t.counter.Release(context.WithoutCancel(ctx), now, attemptPolicy(&set), t.token, t.counterKeys(&set))
		if err != nil {
			l.report("release", err)
		} else {
			l.noteLocks(t, snap, now, &set, st)
		}
	}
	return l.monitor.observe(ctx, Login{UserID: s.UserID, Username: t.username, IP: t.ip, SessionKey: s.SessionKey, UserAgent: t.ua},
		t.path, t.method)
}

// noteLocks records a LOCKOUT event and a LockoutRecord for every key the
// step locked.
func (l *Lockout) noteLocks(t *Ticket, s *snapshot, now time.Time, set *Settings, st []attempt.State) {
	for i, k := range st {
		if !k.LockedNow || i >= len(t.scopes) {
			continue
		}
		scope := t.scopes[i]
		l.lockouts.Add(1)
		rec := LockoutRecord{Scope: scope, Failures: k.Failures, Limit: limitOf(set, scope, t.mult), LockedAt: k.LockedAt, Until: k.Until}
		if scope.hasUser() {
			rec.Username = t.username
		}
		switch {
		case scope == LockoutBySource:
			rec.IP = t.source
		case scope.hasIP():
			rec.IP = t.ipGroup
		}
		until := "until unlocked"
		if !k.Until.IsZero() {
			until = "until " + k.Until.UTC().Format(time.RFC3339)
		}
		ev := Event{
			CreatedAt:   now,
			CountryCode: l.d.country(s, t.ip),
			Action:      ActionLockout,
			Path:        t.path,
			Method:      t.method,
			UserAgent:   t.ua,
			UserEmail:   t.username,
			Details:     fmt.Sprintf("locked out after %d failed attempts (%s, limit %d); %s", k.Failures, scope, rec.Limit, until),
		}
		if t.ip.IsValid() {
			ev.IP = t.ip.String()
		}
		l.d.events.enqueue(ev)
		l.d.events.enqueueLockout(rec)
	}
}
