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
		ips, countries := e.blocker.judgeAll(ctx, keys, func(i int, k abKey) int64 { return max(stored[k], live[i]) }, true)
		out.IPs += ips
		out.Countries += countries
	}
	return out, nil
}

// sweepLimit bounds the groups one stored count reads per action.
const sweepLimit = 10_000

// storedCounts sums the weighted stored events of the window by IP group or
// country (the sweepLimit largest groups per action), leaving out what never
// counts.
func (e *Engine) storedCounts(ctx context.Context, s *snapshot, country bool) (map[abKey]int64, error) {
	q := CountQuery{GroupBy: GroupByIP, Since: e.clock.Now().Add(-window(&s.Settings, country)), Limit: sweepLimit}
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
			var k abKey
			ok := false
			if country {
				k, ok = s.countryKey(g.Key)
			} else if addr, err := netip.ParseAddr(g.Key); err == nil {
				k, ok = s.ipGroup(addr)
			}
			if ok {
				out[k] += w * g.Count
			}
		}
	}
	return out, nil
}
