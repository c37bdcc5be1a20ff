package core

import (
	"context"
	"fmt"
	"net/netip"

	"github.com/wardenkit/warden/core/tally"
)

// AutoBlockSweep is what one SweepAutoBlocks did.
type AutoBlockSweep struct {
	IPs       int `json:"ips"`       // groups blocked (or, in a dry run, reported)
	Countries int `json:"countries"` // countries blocked or flagged for review
}

// SweepAutoBlocks counts the stored events of the configured windows, by IP
// group and by country with the weights of the settings, and blocks what
// reached a threshold, as the live counts do. It catches up after a restart
// emptied in-process counts; a count is the larger of the stored and the
// live one, never their sum. The scheduler runs it every few minutes.
func (e *Engine) SweepAutoBlocks(ctx context.Context) (AutoBlockSweep, error) {
	var out AutoBlockSweep
	s := e.snap.Load()
	if s == nil {
		return out, fmt.Errorf("core: SweepAutoBlocks: %w", ErrNotStarted)
	}
	set := &s.Settings
	for _, country := range []bool{false, true} {
		threshold := int64(set.AutoBlockIPThreshold)
		if country {
			threshold = int64(set.AutoBlockCountryThreshold)
		}
		if threshold <= 0 {
			continue
		}
		stored, err := e.storedCounts(ctx, s, country)
		if err != nil {
			return out, fmt.Errorf("core: SweepAutoBlocks: %w", err)
		}
		var keys []abKey
		var incs []tally.Inc
		for k, n := range stored {
			if n >= threshold {
				keys = append(keys, k)
				incs = append(incs, tally.Inc{Key: k.tallyKey(), Window: window(set, country)})
			}
		}
		if len(keys) == 0 {
			continue
		}
		live, err := e.blocker.count(ctx, incs)
		if err != nil {
			live = make([]int64, len(keys)) // the stored counts alone still decide
		}
		ips, countries := e.blocker.judgeAll(ctx, s, keys, func(i int, k abKey) int64 { return max(stored[k], live[i]) })
		out.IPs += ips
		out.Countries += countries
	}
	return out, nil
}

// storedCounts sums the weighted stored events of the window by IP group or
// country, leaving out whitelisted networks and allowed countries.
func (e *Engine) storedCounts(ctx context.Context, s *snapshot, country bool) (map[abKey]int64, error) {
	q := CountQuery{GroupBy: GroupByIP, Since: e.clock.Now().Add(-window(&s.Settings, country))}
	if country {
		q.GroupBy = GroupByCountry
	}
	out := map[abKey]int64{}
	for i, a := range weighable {
		w := int64(s.weights[i])
		if w == 0 {
			continue
		}
		q.Actions = []Action{a}
		groups, err := e.store.CountEvents(ctx, q)
		if err != nil {
			return nil, err
		}
		for _, g := range groups {
			if k, ok := s.sweepKey(g.Key, country); ok {
				out[k] += w * g.Count
			}
		}
	}
	return out, nil
}

// sweepKey is the count a stored IP or country belongs to, false when it
// never counts.
func (s *snapshot) sweepKey(v string, country bool) (abKey, bool) {
	if country {
		i := countryIndex(v)
		return abKey{country: true, key: v}, i >= 0 && s.countryAllowed[i] == 0
	}
	addr, err := netip.ParseAddr(v)
	if err != nil || s.whitelisted(addr) || internalAddr(addr) {
		return abKey{}, false
	}
	return abKey{key: groupIP(addr, 64)}, true
}
