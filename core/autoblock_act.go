package core

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"time"
)

// reviewEvery is how often a country in review mode has its stored attack
// count brought up to date.
const reviewEvery = 5 * time.Minute

// blockIP blocks the IP group k.key after n weighted events, unless it is
// whitelisted or blocked already. Its block lasts the configured duration
// doubled for each earlier auto-block of the group, up to the cap.
func (a *autoBlocker) blockIP(ctx context.Context, s *snapshot, k abKey, n int64) bool {
	set := &s.Settings
	addr, err := netip.ParseAddr(k.key)
	if err != nil { // an IPv6 /64
		p, _ := netip.ParsePrefix(k.key)
		addr = p.Addr()
	}
	now := a.e.clock.Now()
	if _, ro, hit := s.blockedIP(addr, now.UnixNano()); (hit && !ro) || s.whitelisted(addr) {
		return false
	}
	old, err := a.e.store.BlockedIPs().Get(ctx, k.key)
	if err != nil && !errors.Is(err, ErrNotFound) {
		a.failed("read the blocked network", k.key, err)
		return false
	}
	dur := escalate(set.AutoBlockIPDurationHours, set.AutoBlockMaxDurationHours, old.AutoBlocks)
	what := fmt.Sprintf("%d weighted events in %dh", n, set.AutoBlockIPWindowHours)
	lasting := "permanently"
	if dur > 0 {
		lasting = "for " + dur.String()
	}
	ev := Event{CreatedAt: now, IP: k.key, Path: "system", Severity: SeverityHigh, Count: 1}
	if set.AutoBlockDryRun || set.ReportOnly {
		ev.Action, ev.Details = ActionWouldBlock, "AUTO_BLOCK_IP: "+what+"; would block "+lasting
		a.would.Add(1)
		a.done(ctx, k, ev)
		return true
	}
	row := old
	row.Network, row.Disabled, row.ReportOnly, row.AutoBlocked = k.key, false, false, true
	row.Reason = "Auto-blocked: " + what
	row.AutoBlocks = old.AutoBlocks + 1
	row.ExpiresAt = time.Time{}
	if dur > 0 {
		row.ExpiresAt = now.Add(dur)
	}
	if _, err := a.e.Rules().BlockedIPs().Put(ctx, row); err != nil {
		a.failed("block", k.key, err)
		return false
	}
	a.ipsBlocked.Add(1)
	ev.Action = ActionAutoBlockIP
	ev.Details = fmt.Sprintf("Auto-blocked after %s; blocked %s (auto-block %d of this network)", what, lasting, row.AutoBlocks)
	a.done(ctx, k, ev)
	return true
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

// country blocks a country after n weighted events when
// auto_block_country_enabled is on, else keeps it flagged for review: an
// inactive row with the attack count, brought up to date every few minutes.
func (a *autoBlocker) country(ctx context.Context, s *snapshot, k abKey, n int64) bool {
	set := &s.Settings
	now := a.e.clock.Now()
	if b := s.countryBlocked[countryIndex(k.key)]; b.id != 0 && !b.reportOnly {
		return false
	}
	what := fmt.Sprintf("%d weighted events in %dh", n, set.AutoBlockCountryWindowHours)
	ev := Event{CreatedAt: now, CountryCode: k.key, Path: "system", Severity: SeverityCritical, Count: 1}
	if set.AutoBlockCountryEnabled && (set.AutoBlockDryRun || set.ReportOnly) {
		ev.Action, ev.Details = ActionWouldBlock, "AUTO_BLOCK_COUNTRY: "+what+"; would block the country"
		a.would.Add(1)
		a.done(ctx, k, ev)
		return true
	}
	if !set.AutoBlockCountryEnabled && now.Sub(a.reviewed[k.key]) < reviewEvery {
		return false
	}
	old, err := a.e.store.BlockedCountries().Get(ctx, k.key)
	if err != nil && !errors.Is(err, ErrNotFound) {
		a.failed("read the blocked country", k.key, err)
		return false
	}
	row := old
	row.Code, row.AttackCount, row.AutoBlocked = k.key, n, true
	if !set.AutoBlockCountryEnabled { // review mode
		if err == nil && !old.Disabled {
			return false // an admin's row, active: leave it
		}
		row.Disabled = true
		row.Reason = "Flagged for review: " + what
		if _, err := a.e.Rules().BlockedCountries().Put(ctx, row); err != nil {
			a.failed("flag", k.key, err)
			return false
		}
		a.reviewed[k.key] = now
		a.countriesFlagged.Add(1)
		a.e.log.Info("warden: country flagged for review", "country", k.key, "count", n, "window_hours", set.AutoBlockCountryWindowHours)
		return true
	}
	row.Disabled, row.ReportOnly = false, false
	row.Reason = "Auto-blocked: " + what
	if _, err := a.e.Rules().BlockedCountries().Put(ctx, row); err != nil {
		a.failed("block", k.key, err)
		return false
	}
	a.countriesBlocked.Add(1)
	ev.Action, ev.Details = ActionAutoBlockCountry, "Auto-blocked after "+what
	a.done(ctx, k, ev)
	return true
}

// done records the event of a block and starts the group's count afresh.
func (a *autoBlocker) done(ctx context.Context, k abKey, ev Event) {
	a.e.RecordEvent(ev)
	a.e.log.Warn("warden: "+string(ev.Action), "ip", ev.IP, "country", ev.CountryCode, "details", ev.Details)
	if a.hook != nil {
		a.hook(ev)
	}
	if err := a.counter.Reset(ctx, []string{k.tallyKey()}); err != nil {
		a.failed("reset the count of", k.key, err)
	}
}

func (a *autoBlocker) failed(what, key string, err error) {
	a.failures.Add(1)
	a.e.log.Warn("warden: auto-block: could not "+what+" "+key, "error", err)
}

// whitelisted reports whether ip is inside an active whitelisted network.
func (s *snapshot) whitelisted(ip netip.Addr) bool {
	_, ok := s.white.Lookup(ip)
	return ok
}
