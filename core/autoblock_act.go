package core

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/wardenkit/warden/core/tally"
)

// reviewEvery is how often a country in review mode has its stored attack
// count brought up to date.
const reviewEvery = 5 * time.Minute

// actTimeout bounds the store calls of one judgement.
const actTimeout = 10 * time.Second

// judgement is what judging one count decided.
type judgement struct {
	k     abKey
	event *Event // to record once the writes are enforced; nil: none
	wrote bool
}

// judgeAll judges every key whose count (count(i, key)) reached its
// threshold, writes what it decided straight to the store, then makes the
// engine enforce it with one rebuild and announces it, and only then
// records the events. sweep marks the sweep over stored events. It reports
// how many IP groups and countries it acted on.
func (a *autoBlocker) judgeAll(ctx context.Context, keys []abKey, count func(int, abKey) int64, sweep bool) (ips, countries int) {
	a.act.Lock()
	defer a.act.Unlock()
	s := a.e.snap.Load() // the newest, now that no other judgement runs
	if s == nil {
		return 0, 0
	}
	actx, cancel := context.WithTimeout(ctx, actTimeout)
	defer cancel()
	set := &s.Settings
	var done []judgement
	for i, k := range keys {
		n := count(i, k)
		var j judgement
		var ok bool
		switch {
		case k.country && set.AutoBlockCountryThreshold > 0 && n >= int64(set.AutoBlockCountryThreshold):
			j, ok = a.country(actx, s, k, n, sweep)
		case !k.country && set.AutoBlockIPThreshold > 0 && n >= int64(set.AutoBlockIPThreshold):
			j, ok = a.blockIP(actx, s, k, n, sweep)
		}
		if !ok {
			continue
		}
		done = append(done, j)
		if k.country {
			countries++
		} else {
			ips++
		}
	}
	a.publish(actx, done)
	return ips, countries
}

// publish makes the writes enforced (one rebuild, one bus message) and
// records the events, calls the hook and restarts the counts.
func (a *autoBlocker) publish(ctx context.Context, done []judgement) {
	wrote := false
	for _, j := range done {
		wrote = wrote || j.wrote
	}
	if wrote {
		a.e.changed(ctx)
	}
	var reset []string
	for _, j := range done {
		if j.event == nil {
			continue
		}
		a.e.RecordEvent(*j.event)
		a.e.log.Warn("warden: "+string(j.event.Action), "ip", j.event.IP, "country", j.event.CountryCode, "details", j.event.Details)
		if a.hook != nil {
			a.hook(*j.event)
		}
		reset = append(reset, j.k.tallyKey())
	}
	if len(reset) > 0 {
		if err := a.counter.Reset(ctx, reset); err != nil {
			a.failed("restart the counts of", fmt.Sprint(len(reset), " groups"), err)
		}
	}
}

// claim makes sure one judgement per key and window acts, across replicas
// sharing the counter and across a sweep and the live counts: the first to
// add to the key's claim count wins.
func (a *autoBlocker) claim(ctx context.Context, k abKey, w time.Duration) bool {
	sums, err := a.counter.Add(ctx, a.e.clock.Now(), []tally.Inc{{Key: "claim:" + k.tallyKey(), N: 1, Window: w}})
	if err != nil {
		a.failed("claim", k.String(), err)
		return false
	}
	return sums[0] == 1
}

// blockIP blocks the IP group k after n weighted events, unless it is
// whitelisted, blocked already, an admin's row, or (in a sweep) a row
// touched within the window. The block lasts the configured duration doubled
// for each earlier auto-block of the group, up to the cap.
func (a *autoBlocker) blockIP(ctx context.Context, s *snapshot, k abKey, n int64, sweep bool) (judgement, bool) {
	set := &s.Settings
	now := a.e.clock.Now()
	w := window(set, false)
	if _, ro, hit := s.blockedIP(k.group.Addr(), now.UnixNano()); (hit && !ro) || s.whitelisted(k.group.Addr()) {
		return judgement{}, false
	}
	old, err := a.e.store.BlockedIPs().Get(ctx, k.String())
	found := err == nil
	if err != nil && !errors.Is(err, ErrNotFound) {
		a.failed("read the blocked network", k.String(), err)
		return judgement{}, false
	}
	live := found && !old.Disabled && !old.ReportOnly && (old.ExpiresAt.IsZero() || old.ExpiresAt.After(now))
	if live || (found && adminsRow(old.AutoBlocked, old.Disabled, old.ReportOnly)) ||
		(sweep && found && old.UpdatedAt.After(now.Add(-w))) || !a.claim(ctx, k, w) {
		return judgement{}, false
	}
	dur := escalate(set.AutoBlockIPDurationHours, set.AutoBlockMaxDurationHours, old.AutoBlocks)
	what := fmt.Sprintf("%d weighted events in %dh", n, set.AutoBlockIPWindowHours)
	lasting := "for good"
	if dur > 0 {
		lasting = "for " + dur.String()
	}
	ev := &Event{CreatedAt: now, IP: k.String(), Path: "system", Severity: SeverityHigh, Count: 1}
	if set.AutoBlockDryRun || set.ReportOnly {
		ev.Action, ev.Details = ActionWouldBlock, "AUTO_BLOCK_IP: "+what+"; would block "+lasting
		a.would.Add(1)
		return judgement{k: k, event: ev}, true
	}
	row := old
	row.Network, row.Disabled, row.ReportOnly, row.AutoBlocked = k.String(), false, false, true
	row.Reason = "Auto-blocked: " + what
	row.AutoBlocks = old.AutoBlocks + 1
	row.ExpiresAt = time.Time{}
	if dur > 0 {
		row.ExpiresAt = now.Add(dur)
	}
	if _, err := a.e.store.BlockedIPs().Put(ctx, row); err != nil {
		a.failed("block", k.String(), err)
		return judgement{}, false
	}
	a.ipsBlocked.Add(1)
	ev.Action = ActionAutoBlockIP
	ev.Details = fmt.Sprintf("Auto-blocked after %s; blocked %s (auto-block %d of this network)", what, lasting, row.AutoBlocks)
	return judgement{k: k, event: ev, wrote: true}, true
}

// escalate is the duration of a group's next block: base hours doubled per
// earlier block, capped; 0 (permanent) stays 0.
func escalate(baseHours, capHours int, earlier int64) time.Duration {
	if baseHours == 0 {
		return 0
	}
	h := int64(baseHours)
	for i := int64(0); i < earlier && h < int64(capHours); i++ {
		h *= 2
	}
	return time.Duration(min(h, int64(capHours))) * time.Hour
}
