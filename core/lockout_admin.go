package core

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/wardenkit/warden/core/attempt"
	"github.com/wardenkit/warden/core/rule"
	"github.com/wardenkit/warden/internal/textutil"
)

// UnlockRequest names what Unlock releases: a username, an address, or both
// (that pair only). By is recorded in the released records.
type UnlockRequest struct {
	Username string
	IP       string // an address, or an IPv6 network as listed ("2001:db8:1:2::/64")
	By       string
}

// Unlock lifts lockouts by hand. For a username: its username-only counter
// and every username-and-address counter named in an unreleased lockout
// record. For an address: its address-only counter, the overflow counters of
// the address and its network (LockoutBySource), and every
// username-and-address counter of that address named in a record. For both:
// that pair's counter. Records of locks made just before the call are stored
// first, so an unlock right after a lockout finds them. It resets those
// counters in the attempt.Counter, marks the records released, and reports
// how many records it released.
func (l *Lockout) Unlock(ctx context.Context, r UnlockRequest) (int, error) {
	l.d.events.syncRecords(ctx, l.d.running()) // a lock made just now has its record queued
	user, _ := l.account(ctx, cleanUsername(r.Username))
	ipg := ""
	if r.IP != "" {
		p, err := rule.ParseNetwork(r.IP)
		if err != nil {
			return 0, fmt.Errorf("core: Lockout.Unlock: %w", invalid("UnlockRequest", "ip", r.IP, err.Error()))
		}
		ipg = groupIP(p.Addr(), l.d.ipv6Prefix)
		if p.Bits() != p.Addr().BitLen() && (p.Addr().Is4() || p.Bits() != l.d.ipv6Prefix) {
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
		keys = append(keys, counterKey(LockoutByIP, "", ipg), counterKey(LockoutBySource, "", ipg))
		if p, err := rule.ParseNetwork(r.IP); err == nil && p.Bits() == p.Addr().BitLen() {
			keys = append(keys, counterKey(LockoutBySource, "", networkGroup(p.Addr())))
		}
	}
	var ids []int64
	q := LockoutQuery{Username: user, IP: ipg, Unreleased: true, Limit: 10_000}
	for {
		recs, err := l.d.store.Lockouts(ctx, q)
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
	n, err := l.d.store.ReleaseLockouts(ctx, ids, l.d.clock.Now(), textutil.Clean(r.By, maxReleasedBy))
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
	recs, err := l.d.store.Lockouts(ctx, LockoutQuery{Unreleased: true, Limit: min(limit, 10_000)})
	if err != nil {
		return nil, fmt.Errorf("core: Lockout.Locked: %w", err)
	}
	now := l.d.clock.Now()
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
		var ip netip.Addr
		if p, err := rule.ParseNetwork(r.IP); err == nil {
			ip = p.Addr()
		}
		if l.whitelistEffect(s, now, ip, strings.TrimPrefix(r.Username, "uid:"), r.Username) == raiseLimit {
			mult = 10
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
	if q.Username != "" {
		q.Username, _ = l.account(ctx, cleanUsername(q.Username))
	}
	if a, err := netip.ParseAddr(q.IP); err == nil {
		q.IP = groupIP(a, l.d.ipv6Prefix)
	}
	return l.d.store.Lockouts(ctx, q)
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
	written, dropped := l.d.events.recordCounts()
	return LockoutStats{
		Attempts: l.attempts.Load(), Refused: l.refused.Load(), Bypassed: l.bypassed.Load(),
		Failed: l.failed.Load(), Succeeded: l.succeeded.Load(), Lockouts: l.lockouts.Load(),
		CounterErrors: l.counterErrors.Load(), RecordsWritten: written, RecordsDropped: dropped,
	}
}

// report counts and logs a counter failure (at most one line a minute).
func (l *Lockout) report(op string, err error) {
	l.counterErrors.Add(1)
	l.d.failTrips.Add(1)
	l.warn("warden: attempt counter failed; the lockout fail policy applies", "op", op, "fail_policy", l.failPolicy.String(), "error", err)
}

func (l *Lockout) warn(msg string, args ...any) {
	now := l.d.clock.Now().UnixNano()
	last := l.lastWarn.Load()
	if now-last < int64(time.Minute) && last != 0 {
		return
	}
	if l.lastWarn.CompareAndSwap(last, now) {
		l.d.log.Warn(msg, args...)
	}
}

// releaseOverlap is how far back each look for released records reaches past
// the previous one, for clock differences between processes. Resetting a
// counter twice is harmless.
const releaseOverlap = time.Minute

// applyReleases drops the in-process counters of lockouts that were released
// since the last call, by this process or another one (the CLI, the admin of
// another replica): an unlock goes through the store, and every engine calls
// this after it rebuilds. Shared counters (Redis) were reset by Unlock
// itself.
func (l *Lockout) applyReleases(ctx context.Context) {
	mem, _ := l.counter.(*attempt.Memory)
	if mem == nil && l.fallback == nil {
		return
	}
	l.releaseMu.Lock()
	defer l.releaseMu.Unlock()
	since := l.releasedSince
	if since.IsZero() {
		since = l.d.clock.Now().Add(-releaseOverlap)
	}
	recs, err := l.d.store.Lockouts(ctx, LockoutQuery{ReleasedSince: since, Limit: 10_000})
	if err != nil {
		l.d.log.Warn("warden: released lockouts not read; retrying at the next rebuild", "error", err)
		return
	}
	keys := make([]string, 0, len(recs))
	newest := since
	for _, r := range recs {
		keys = append(keys, counterKey(r.Scope, r.Username, r.IP))
		if r.ReleasedAt.After(newest) {
			newest = r.ReleasedAt
		}
	}
	for _, c := range []*attempt.Memory{mem, l.fallback} {
		if c != nil && len(keys) > 0 {
			_ = c.Reset(ctx, keys)
		}
	}
	l.releasedSince = newest.Add(-releaseOverlap)
}
