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
// the address and of its network (LockoutBySource), and every counter of that
// address or network named in a record. For a network as a source lock lists
// it (IPv4 /24, IPv6 /48, or an IPv6 network of the engine's prefix): its
// overflow counter and records. For a username and an address: that pair's
// counter. Records of locks made just before the call are stored first, so an
// unlock right after a lockout finds them. It resets the counters, marks the
// records released (other engines then drop their in-process counters), and
// reports how many records it released.
func (l *Lockout) Unlock(ctx context.Context, r UnlockRequest) (int, error) {
	l.d.events.syncRecords(ctx, l.d.running()) // a lock made just now has its record queued
	user, _ := l.account(ctx, cleanUsername(r.Username))
	groups, err := l.unlockGroups(r.IP)
	if err != nil {
		return 0, fmt.Errorf("core: Lockout.Unlock: %w", err)
	}
	if user == "" && len(groups) == 0 {
		return 0, fmt.Errorf("core: Lockout.Unlock: %w", invalid("UnlockRequest", "username", r.Username, "give a username, an address or both"))
	}
	keys := unlockKeys(user, groups)
	var queries []LockoutQuery
	switch {
	case user != "" && len(groups) > 0:
		queries = append(queries, LockoutQuery{Username: user, IP: groups[0]})
	case user != "":
		queries = append(queries, LockoutQuery{Username: user})
	default:
		for _, g := range groups {
			queries = append(queries, LockoutQuery{IP: g})
		}
	}
	var ids []int64
	for _, q := range queries {
		if ids, keys, err = l.unreleased(ctx, q, ids, keys); err != nil {
			return 0, fmt.Errorf("core: Lockout.Unlock: list lockouts: %w", err)
		}
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

// unlockGroups turns UnlockRequest.IP into the groups counters know it by:
// an address gives its own group and its network's; a network is taken as
// it is listed.
func (l *Lockout) unlockGroups(ip string) ([]string, error) {
	if ip == "" {
		return nil, nil
	}
	p, err := rule.ParseNetwork(ip)
	if err != nil {
		return nil, invalid("UnlockRequest", "ip", ip, err.Error())
	}
	a := p.Addr()
	switch bits := p.Bits(); {
	case bits == a.BitLen():
		return []string{groupIP(a, l.d.ipv6Prefix), networkGroup(a)}, nil
	case a.Is6() && bits == l.d.ipv6Prefix:
		return []string{groupIP(a, l.d.ipv6Prefix)}, nil
	case (a.Is4() && bits == 24) || (a.Is6() && bits == 48):
		return []string{p.String()}, nil
	}
	return nil, invalid("UnlockRequest", "ip", ip,
		fmt.Sprintf("give an address, an IPv6 /%d, or the /24 or /48 network of a source lock", l.d.ipv6Prefix))
}

// unlockKeys are the counters an unlock resets before it looks at records.
func unlockKeys(user string, groups []string) []string {
	switch {
	case user != "" && len(groups) > 0:
		return []string{counterKey(LockoutByUserAndIP, user, groups[0])}
	case user != "":
		return []string{counterKey(LockoutByUser, user, "")}
	}
	keys := []string{counterKey(LockoutByIP, "", groups[0])}
	for _, g := range groups {
		keys = append(keys, counterKey(LockoutBySource, "", g))
	}
	return keys
}

// unreleased adds the IDs and counter keys of the unreleased records q
// selects.
func (l *Lockout) unreleased(ctx context.Context, q LockoutQuery, ids []int64, keys []string) ([]int64, []string, error) {
	q.Unreleased, q.Limit = true, 10_000
	for {
		recs, err := l.d.store.Lockouts(ctx, q)
		if err != nil {
			return ids, keys, err
		}
		for _, rec := range recs {
			if k := counterKey(rec.Scope, rec.Username, rec.IP); !slices.Contains(keys, k) {
				keys = append(keys, k)
			}
			ids = append(ids, rec.ID)
		}
		if len(recs) < q.Limit {
			return ids, keys, nil
		}
		q.BeforeID = recs[len(recs)-1].ID
	}
}

// ListLocked lists who is locked out now: the newest unreleased lockout records
// (at most limit; 0 means 100) whose counter is still locked under the
// current settings, with Until as it stands now. One record per counter.
func (l *Lockout) ListLocked(ctx context.Context, limit int) ([]LockoutRecord, error) {
	if limit <= 0 {
		limit = 100
	}
	l.d.events.syncRecords(ctx, l.d.running()) // a lock made just now has its record queued
	recs, err := l.d.store.Lockouts(ctx, LockoutQuery{Unreleased: true, Limit: min(limit, 10_000)})
	if err != nil {
		return nil, fmt.Errorf("core: Lockout.ListLocked: %w", err)
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
		return nil, fmt.Errorf("core: Lockout.ListLocked: %w", err)
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
	Attempts       int64 `json:"attempts"`          // Begin calls
	Refused        int64 `json:"refused"`           // Begin refusals (locked out)
	Bypassed       int64 `json:"bypassed"`          // whitelisted under WhitelistBypass
	Failed         int64 `json:"failed"`            // Fail calls
	Succeeded      int64 `json:"succeeded"`         // Succeed calls
	Lockouts       int64 `json:"lockouts"`          // keys locked (LOCKOUT events)
	CounterErrors  int64 `json:"counter_errors"`    // attempt.Counter failures (fail policy applied)
	RecordsWritten int64 `json:"records_written"`   // lockout records stored
	RecordsDropped int64 `json:"records_dropped"`   // lockout records lost (queue full, store refused)
	SourceOverflow int64 `json:"source_overflow"`   // attempts counted on a source's overflow key (past its username caps)
	TrackedNames   int   `json:"tracked_usernames"` // usernames tracked per address and network
}

// Stats reports the Lockout's counters.
func (l *Lockout) Stats() LockoutStats {
	written, dropped := l.d.events.recordCounts()
	tracked, overflows := l.sources.stats()
	return LockoutStats{
		Attempts: l.attempts.Load(), Refused: l.refused.Load(), Bypassed: l.bypassed.Load(),
		Failed: l.failed.Load(), Succeeded: l.succeeded.Load(), Lockouts: l.lockouts.Load(),
		CounterErrors: l.counterErrors.Load(), RecordsWritten: written, RecordsDropped: dropped,
		SourceOverflow: overflows, TrackedNames: tracked,
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
// this after it rebuilds. Each release is applied once: a lock taken after an
// unlock is not lifted by a later rebuild. Shared counters (Redis) were reset
// by Unlock itself.
func (l *Lockout) applyReleases(ctx context.Context) {
	mem, _ := l.counter.(*attempt.Memory)
	if mem == nil && l.fallback == nil {
		return
	}
	l.releaseMu.Lock()
	defer l.releaseMu.Unlock()
	now := l.d.clock.Now()
	since := l.releasedSince
	if since.IsZero() {
		since = now.Add(-releaseOverlap)
	}
	recs, err := l.d.store.Lockouts(ctx, LockoutQuery{ReleasedSince: since, Limit: 10_000})
	if err != nil {
		l.d.log.Warn("warden: released lockouts not read; retrying at the next rebuild", "error", err)
		return
	}
	if l.applied == nil {
		l.applied = map[int64]time.Time{}
	}
	var keys []string
	for _, r := range recs {
		if _, done := l.applied[r.ID]; !done {
			l.applied[r.ID] = r.ReleasedAt
			keys = append(keys, counterKey(r.Scope, r.Username, r.IP))
		}
	}
	for _, c := range []*attempt.Memory{mem, l.fallback} {
		if c != nil && len(keys) > 0 {
			_ = c.Reset(ctx, keys)
		}
	}
	// The window moves with the clock, never back; releases that fall out of
	// it are forgotten.
	if next := now.Add(-releaseOverlap); next.After(since) {
		l.releasedSince = next
	} else {
		l.releasedSince = since
	}
	for id, at := range l.applied {
		if at.Before(l.releasedSince) {
			delete(l.applied, id)
		}
	}
}
