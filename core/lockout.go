package core

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/netip"
	"slices"
	"sync/atomic"
	"time"

	"github.com/wardenkit/warden/core/attempt"
)

// Lockout protects a login form against password guessing (DESIGN §6). Get
// it from Engine.Lockout. It shares the engine's snapshot (settings and
// whitelists), clock, event queue and attempt.Counter, so a changed setting
// applies to existing counters at once, on every replica that shares the
// counter.
//
// A login handler calls Begin before checking the password, then exactly one
// of Fail or Succeed:
//
//	t, err := lo.Begin(ctx, core.Attempt{Username: form.Username, HTTP: r})
//	var locked *core.LockedError
//	if errors.As(err, &locked) { /* 429, Retry-After: locked.RetryAfter */ }
//	if err != nil { /* 503: the counter is down and the fail policy is closed */ }
//	if !passwordOK { lo.Fail(ctx, t); … }
//	verdict, err := lo.Succeed(ctx, t, core.Success{UserID: id})
//
// Begin reserves one attempt on every key (username and address with limit
// max_login_attempts, address alone with 10×, username alone when opted in),
// atomically: all keys or none. It refuses when a key is locked or its
// failures plus reservations reach its limit, so no more than the limit
// reach the password check however many requests arrive at once. Refused
// attempts are not counted and do not extend a lock. An attempt with no
// outcome after attempt.ReservationTimeout counts as failed. The failure that reaches
// a limit locks the key for the cool-off (or until Unlock, when the cool-off
// is 0) and records one LOCKOUT event and one LockoutRecord. Succeed clears
// the username keys, never the address-only key.
//
// When the attempt.Counter fails, Begin follows the fail policy: FailClosed
// (the engine's default) returns the error (answer 503), FailOpen lets the
// attempt through unguarded, FailFallback counts it in an in-process counter.
// Every such case is counted in Stats and logged.
//
// A Lockout is safe for concurrent use.
type Lockout struct {
	e          *Engine
	counter    attempt.Counter
	fallback   *attempt.Memory // nil when counter is in-process already
	keys       []LockoutKey
	whitelist  WhitelistPolicy
	lookup     UserLookup
	failPolicy FailPolicy

	records chan LockoutRecord

	attempts, refused, bypassed, lockouts, failed, succeeded atomic.Int64
	counterErrors, recordsWritten, recordsDropped            atomic.Int64
	lastWarn                                                 atomic.Int64
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
	// Until is when attempts are accepted again; zero when the lock lasts
	// until someone unlocks it (cool-off 0).
	Until time.Time
	// RetryAfter is the time until Until rounded up to whole seconds (at
	// least one); for a lock without end it is one hour, a hint for clients
	// to stop retrying.
	RetryAfter time.Duration
}

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

// Lockout returns the engine's login lockout.
func (e *Engine) Lockout() *Lockout { return e.login.lockout }

func (l *Lockout) settings() (*snapshot, Settings) {
	if s := l.e.snap.Load(); s != nil {
		return s, s.Settings
	}
	return nil, DefaultSettings() // before the first snapshot: defaults, no whitelist
}

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
	now := l.e.clock.Now()
	l.attempts.Add(1)
	raw := cleanUsername(a.Username)
	t := &Ticket{l: l, username: NormalizeUsername(a.Username), ip: a.IP.Unmap().WithZone(""), mult: 1}
	if r := a.HTTP; r != nil {
		if !t.ip.IsValid() {
			if ip, ok := l.e.ips.ClientIP(r); ok {
				t.ip = ip
			}
		}
		if r.URL != nil {
			t.path = r.URL.Path
		}
		t.method, t.ua = r.Method, r.Header.Get("User-Agent")
	}
	t.ipGroup = groupIP(t.ip, l.e.cfg.ipv6Prefix)

	s, set := l.settings()
	if l.whitelisted(ctx, s, now, t.ip, raw) {
		if l.whitelist == WhitelistBypass {
			t.bypass = true
			l.bypassed.Add(1)
			return t, nil
		}
		t.mult = 10
	}
	for _, scope := range l.keys {
		if scope == LockoutByIP && t.ipGroup == "" {
			continue // no address: the username key with "-" stands in for it
		}
		t.scopes = append(t.scopes, scope)
		t.keys = append(t.keys, counterKey(scope, t.username, t.ipGroup))
	}
	t.token = rand.Uint64() | 1
	t.counter = l.counter
	p, keys := attemptPolicy(&set), t.counterKeys(&set)
	ok, st, err := l.counter.Reserve(ctx, now, p, t.token, keys)
	if err != nil && ctx.Err() != nil {
		return nil, fmt.Errorf("core: Lockout.Begin: %w", err) // the caller gave up; not a counter failure
	}
	if err != nil {
		l.report("reserve", err)
		switch {
		case l.failPolicy == FailOpen:
			t.counter = nil
			return t, nil
		case l.failPolicy == FailFallback && l.fallback != nil:
			t.counter = l.fallback
			if ok, st, err = l.fallback.Reserve(ctx, now, p, t.token, keys); err != nil {
				return nil, fmt.Errorf("core: Lockout.Begin: %w", err)
			}
		default:
			return nil, fmt.Errorf("core: Lockout.Begin: %w", err)
		}
	}
	l.noteLocks(t, s, now, &set, st)
	if !ok {
		l.refused.Add(1)
		return nil, lockedError(now, st)
	}
	return t, nil
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

// whitelisted reports whether an active WhitelistedIP covers ip, or the
// username's user has an active, unexpired WhitelistedUser row of any type.
func (l *Lockout) whitelisted(ctx context.Context, s *snapshot, now time.Time, ip netip.Addr, raw string) bool {
	if s == nil {
		return false
	}
	if ip.IsValid() {
		if _, ok := s.white.Lookup(ip); ok {
			return true
		}
	}
	if len(s.users) == 0 || raw == "" {
		return false
	}
	ns := now.UnixNano()
	if l.lookup != nil {
		id, ok := l.lookup(ctx, raw)
		return ok && s.exemption(id, ns) != ""
	}
	// No lookup: the username is the user ID (as typed, then lower-cased).
	return s.exemption(raw, ns) != "" || s.exemption(NormalizeUsername(raw), ns) != ""
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
	now := l.e.clock.Now()
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
	now := l.e.clock.Now()
	if t.counter != nil {
		snap, set := l.settings()
		st, err := t.counter.Release(context.WithoutCancel(ctx), now, attemptPolicy(&set), t.token, t.counterKeys(&set))
		if err != nil {
			l.report("release", err)
		} else {
			l.noteLocks(t, snap, now, &set, st)
		}
	}
	return l.e.login.monitor.observe(ctx, Login{UserID: s.UserID, Username: t.username, IP: t.ip, SessionKey: s.SessionKey, UserAgent: t.ua},
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
		if scope.hasIP() {
			rec.IP = t.ipGroup
		}
		until := "until unlocked"
		if !k.Until.IsZero() {
			until = "until " + k.Until.UTC().Format(time.RFC3339)
		}
		ev := Event{
			CreatedAt:   now,
			CountryCode: l.e.loginCountry(s, t.ip),
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
		l.e.events.enqueue(ev)
		l.queueRecord(rec)
	}
}

func (l *Lockout) queueRecord(r LockoutRecord) {
	select {
	case <-l.e.events.closing:
		l.recordsDropped.Add(1)
		return
	default:
	}
	select {
	case l.records <- r:
	default:
		l.recordsDropped.Add(1)
		l.warn("warden: lockout record dropped: the record queue is full", "username", r.Username, "ip", r.IP)
	}
}

// writeRecords stores queued lockout records until the engine closes, then
// stores what is left within Close's deadline.
func (l *Lockout) writeRecords() {
	closing := l.e.events.closing
	for {
		select {
		case r := <-l.records:
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			l.storeRecord(ctx, r)
			cancel()
		case <-closing:
			ctx := context.Background()
			if p := l.e.events.drainBy.Load(); p != nil {
				ctx = context.WithoutCancel(*p)
				if d, ok := (*p).Deadline(); ok {
					var cancel context.CancelFunc
					ctx, cancel = context.WithDeadline(ctx, d)
					defer cancel()
				}
			}
			for {
				select {
				case r := <-l.records:
					l.storeRecord(ctx, r)
				default:
					return
				}
			}
		}
	}
}

func (l *Lockout) storeRecord(ctx context.Context, r LockoutRecord) {
	if _, err := l.e.store.AppendLockout(ctx, r); err != nil {
		l.recordsDropped.Add(1)
		l.e.log.Warn("warden: lockout record not stored", "username", r.Username, "ip", r.IP, "error", err)
		return
	}
	l.recordsWritten.Add(1)
}

// report counts and logs a counter failure (at most one line a minute).
func (l *Lockout) report(op string, err error) {
	l.counterErrors.Add(1)
	l.e.failTrips.Add(1)
	l.warn("warden: attempt counter failed; the lockout fail policy applies", "op", op, "fail_policy", l.failPolicy.String(), "error", err)
}

func (l *Lockout) warn(msg string, args ...any) {
	now := l.e.clock.Now().UnixNano()
	last := l.lastWarn.Load()
	if now-last < int64(time.Minute) && last != 0 {
		return
	}
	if l.lastWarn.CompareAndSwap(last, now) {
		l.e.log.Warn(msg, args...)
	}
}

// UnlockRequest names what Unlock releases: a username, an address, or both
// (that pair only). By is recorded in the released records.
type UnlockRequest struct {
	Username string
	IP       string // an address, or an IPv6 network as listed ("2001:db8:1:2::/64")
	By       string
}

// Unlock lifts lockouts by hand. For a username: its username-only counter
// and every username-and-address counter named in an unreleased lockout
// record. For an address: its address-only counter and every
// username-and-address counter of that address named in a record. For both:
// that pair's counter. It resets those counters in the attempt.Counter, marks
// the records released, and reports how many records it released.
func (l *Lockout) Unlock(ctx context.Context, r UnlockRequest) (int, error) {
	user := NormalizeUsername(r.Username)
	ipg := ""
	if r.IP != "" {
		p, err := ParseNetwork(r.IP)
		if err != nil {
			return 0, fmt.Errorf("core: Lockout.Unlock: %w", invalid("UnlockRequest", "ip", r.IP, err.Error()))
		}
		ipg = groupIP(p.Addr(), l.e.cfg.ipv6Prefix)
		if p.Bits() != p.Addr().BitLen() && (p.Addr().Is4() || p.Bits() != l.e.cfg.ipv6Prefix) {
			return 0, fmt.Errorf("core: Lockout.Unlock: %w", invalid("UnlockRequest", "ip", r.IP, "give an address, or an IPv6 network of the engine's prefix"))
		}
	}
	if user == "" && ipg == "" {
		return 0, fmt.Errorf("core: Lockout.Unlock: %w", invalid("UnlockRequest", "username", r.Username, "give a username, an address or both"))
	}
	var keys []string
	switch {
	case user != "" && ipg != "":
		keys = append(keys, counterKey(LockoutByUserAndIP, user, ipg))
	case user != "":
		keys = append(keys, counterKey(LockoutByUser, user, ""))
	default:
		keys = append(keys, counterKey(LockoutByIP, "", ipg))
	}
	var ids []int64
	q := LockoutQuery{Username: user, IP: ipg, Unreleased: true, Limit: 10_000}
	for {
		recs, err := l.e.store.Lockouts(ctx, q)
		if err != nil {
			return 0, fmt.Errorf("core: Lockout.Unlock: list lockouts: %w", err)
		}
		for _, rec := range recs {
			if k := counterKey(rec.Scope, rec.Username, rec.IP); !slices.Contains(keys, k) {
				keys = append(keys, k)
			}
			ids = append(ids, rec.ID)
		}
		if len(recs) < q.Limit {
			break
		}
		q.BeforeID = recs[len(recs)-1].ID
	}
	if err := l.counter.Reset(ctx, keys); err != nil {
		l.report("reset", err)
		return 0, fmt.Errorf("core: Lockout.Unlock: reset counters: %w", err)
	}
	if l.fallback != nil {
		_ = l.fallback.Reset(ctx, keys)
	}
	if len(ids) == 0 {
		return 0, nil
	}
	n, err := l.e.store.ReleaseLockouts(ctx, ids, l.e.clock.Now(), CleanText(r.By, maxReleasedBy))
	if err != nil {
		return 0, fmt.Errorf("core: Lockout.Unlock: counters reset, records not marked: %w", err)
	}
	return int(n), nil
}

// ListLocked lists who is locked out now: the newest unreleased lockout records
// (at most limit; 0 means 100) whose counter is still locked under the
// current settings, with Until as it stands now. One record per counter.
func (l *Lockout) ListLocked(ctx context.Context, limit int) ([]LockoutRecord, error) {
	if limit <= 0 {
		limit = 100
	}
	recs, err := l.e.store.Lockouts(ctx, LockoutQuery{Unreleased: true, Limit: min(limit, 10_000)})
	if err != nil {
		return nil, fmt.Errorf("core: Lockout.Locked: %w", err)
	}
	now := l.e.clock.Now()
	s, set := l.settings()
	var keys []attempt.Key
	var out []LockoutRecord
	seen := map[string]bool{}
	for _, r := range recs {
		k := counterKey(r.Scope, r.Username, r.IP)
		if seen[k] || !r.Scope.valid() {
			continue
		}
		seen[k] = true
		mult := 1
		if l.whitelist == WhitelistRaisesLimit {
			var ip netip.Addr
			if p, err := ParseNetwork(r.IP); err == nil {
				ip = p.Addr()
			}
			if l.whitelisted(ctx, s, now, ip, r.Username) {
				mult = 10
			}
		}
		keys = append(keys, attempt.Key{Key: k, Limit: limitOf(&set, r.Scope, mult)})
		out = append(out, r)
	}
	if len(keys) == 0 {
		return nil, nil
	}
	st, err := l.counter.Status(ctx, now, attemptPolicy(&set), keys)
	if err != nil {
		l.report("status", err)
		return nil, fmt.Errorf("core: Lockout.Locked: %w", err)
	}
	locked := out[:0]
	for i, r := range out {
		if st[i].Locked {
			r.Until = st[i].Until
			locked = append(locked, r)
		}
	}
	return locked, nil
}

// Records lists lockout records, locked now or not (see LockoutQuery). The
// username is normalised and an address grouped as the counters are.
func (l *Lockout) Records(ctx context.Context, q LockoutQuery) ([]LockoutRecord, error) {
	q.Username = NormalizeUsername(q.Username)
	if a, err := netip.ParseAddr(q.IP); err == nil {
		q.IP = groupIP(a, l.e.cfg.ipv6Prefix)
	}
	return l.e.store.Lockouts(ctx, q)
}

// LockoutStats are a Lockout's counters since New.
type LockoutStats struct {
	Attempts       int64 `json:"attempts"`        // Begin calls
	Refused        int64 `json:"refused"`         // Begin refusals (locked out)
	Bypassed       int64 `json:"bypassed"`        // whitelisted under WhitelistBypass
	Failed         int64 `json:"failed"`          // Fail calls
	Succeeded      int64 `json:"succeeded"`       // Succeed calls
	Lockouts       int64 `json:"lockouts"`        // keys locked (LOCKOUT events)
	CounterErrors  int64 `json:"counter_errors"`  // attempt.Counter failures (fail policy applied)
	RecordsWritten int64 `json:"records_written"` // lockout records stored
	RecordsDropped int64 `json:"records_dropped"` // lockout records lost (queue full, store refused)
}

// Stats reports the Lockout's counters.
func (l *Lockout) Stats() LockoutStats {
	return LockoutStats{
		Attempts: l.attempts.Load(), Refused: l.refused.Load(), Bypassed: l.bypassed.Load(),
		Failed: l.failed.Load(), Succeeded: l.succeeded.Load(), Lockouts: l.lockouts.Load(),
		CounterErrors: l.counterErrors.Load(), RecordsWritten: l.recordsWritten.Load(), RecordsDropped: l.recordsDropped.Load(),
	}
}
