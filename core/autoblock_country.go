package core

import (
	"context"
	"errors"
	"fmt"
)

// country blocks a country after n weighted events when
// auto_block_country_enabled is on, else keeps it flagged for review: an
// inactive row with the attack count, brought up to date every few minutes.
// A country blocked already or an admin's row is left alone.
func (a *autoBlocker) country(ctx context.Context, s *snapshot, k abKey, n int64, sweep bool) (judgement, bool) {
	set := &s.Settings
	now := a.e.clock.Now()
	code := k.String()
	if b := s.countryBlocked[countryIndex(code)]; b.id != 0 && !b.reportOnly {
		return judgement{}, false
	}
	if !set.AutoBlockCountryEnabled && now.Sub(a.reviewed[code]) < reviewEvery {
		return judgement{}, false
	}
	old, err := a.e.store.BlockedCountries().Get(ctx, code)
	found := err == nil
	if err != nil && !errors.Is(err, ErrNotFound) {
		a.failed("read the blocked country", code, err)
		return judgement{}, false
	}
	if found && (adminsRow(old.AutoBlocked, old.Disabled, old.ReportOnly) || (!old.Disabled && !old.ReportOnly)) {
		return judgement{}, false
	}
	what := fmt.Sprintf("%d weighted events in %dh", n, set.AutoBlockCountryWindowHours)
	row := old
	row.Code, row.AttackCount, row.AutoBlocked = code, n, true
	if !set.AutoBlockCountryEnabled { // review mode
		row.Disabled = true
		row.Reason = "Flagged for review: " + what
		if _, err := a.e.store.BlockedCountries().Put(ctx, row); err != nil {
			a.failed("flag", code, err)
			return judgement{}, false
		}
		a.reviewed[code] = now
		a.countriesFlagged.Add(1)
		a.e.log.Info("warden: country flagged for review", "country", code, "count", n, "window_hours", set.AutoBlockCountryWindowHours)
		return judgement{k: k, wrote: true}, true
	}
	w := window(set, true)
	if (sweep && found && old.UpdatedAt.After(now.Add(-w))) || !a.claim(ctx, k, w) {
		return judgement{}, false
	}
	ev := &Event{CreatedAt: now, CountryCode: code, Path: "system", Severity: SeverityCritical, Count: 1}
	if set.AutoBlockDryRun || set.ReportOnly {
		ev.Action, ev.Details = ActionWouldBlock, "AUTO_BLOCK_COUNTRY: "+what+"; would block the country until an admin lifts it"
		a.would.Add(1)
		return judgement{k: k, event: ev}, true
	}
	row.Disabled, row.ReportOnly = false, false
	row.Reason = "Auto-blocked: " + what
	if _, err := a.e.store.BlockedCountries().Put(ctx, row); err != nil {
		a.failed("block", code, err)
		return judgement{}, false
	}
	a.countriesBlocked.Add(1)
	ev.Action, ev.Details = ActionAutoBlockCountry, "Auto-blocked after "+what+"; blocked until an admin lifts it (country blocks do not expire)"
	return judgement{k: k, event: ev, wrote: true}, true
}
