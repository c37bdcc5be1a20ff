package report

import (
	"context"
	"fmt"
	"time"

	"github.com/wardenkit/warden/core"
)

// builder holds what every grouped count of one Build shares.
type builder struct {
	ctx          context.Context
	st           core.EventStore
	since, until time.Time
	top          int
}

func (b *builder) build() (*Report, error) {
	r := &Report{Period: Period{Since: b.since, Until: b.until}}
	acts, err := b.count(core.GroupByAction, 0, nil)
	if err != nil {
		return nil, err
	}
	r.ByAction = acts
	for _, a := range acts {
		r.Total += a.Count
		switch core.Action(a.Key) {
		case core.ActionAutoBlockIP:
			r.AutoBlocks.IPs = a.Count
		case core.ActionAutoBlockCountry:
			r.AutoBlocks.Countries = a.Count
		case core.ActionSuspiciousLogin:
			r.SuspiciousLogins = a.Count
		case core.ActionRateLimit:
			r.RateLimitDenials = a.Count
		case core.ActionLockout:
			r.Lockouts = a.Count
		}
	}
	if r.TopIPs, err = b.topOf(core.GroupByIP, nil); err != nil {
		return nil, err
	}
	if r.TopCountries, err = b.topOf(core.GroupByCountry, nil); err != nil {
		return nil, err
	}
	if r.TopPaths, err = b.topOf(core.GroupByPath, nil); err != nil {
		return nil, err
	}
	if r.PerHour, err = b.perHour(); err != nil {
		return nil, err
	}
	r.AutoBlocks.TopIPs, r.AutoBlocks.TopCountries = []Count{}, []Count{}
	if r.AutoBlocks.IPs > 0 {
		if r.AutoBlocks.TopIPs, err = b.topOf(core.GroupByIP, []core.Action{core.ActionAutoBlockIP}); err != nil {
			return nil, err
		}
	}
	if r.AutoBlocks.Countries > 0 {
		if r.AutoBlocks.TopCountries, err = b.topOf(core.GroupByCountry, []core.Action{core.ActionAutoBlockCountry}); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// count asks the store for one grouped count of the period.
func (b *builder) count(g core.GroupBy, limit int, actions []core.Action) ([]Count, error) {
	groups, err := b.st.CountEvents(b.ctx, core.CountQuery{
		GroupBy: g, Since: b.since, Until: b.until, Actions: actions, Limit: limit,
	})
	if err != nil {
		return nil, fmt.Errorf("report: Build: count by %s: %w", g, err)
	}
	out := make([]Count, len(groups))
	for i, gc := range groups {
		out[i] = Count{Key: gc.Key, Count: gc.Count}
	}
	return out, nil
}

// topOf is the top list of a grouping without the empty key: it asks for
// one group more, in case the empty key is among them.
func (b *builder) topOf(g core.GroupBy, actions []core.Action) ([]Count, error) {
	groups, err := b.count(g, b.top+1, actions)
	if err != nil {
		return nil, err
	}
	out := groups[:0]
	for _, c := range groups {
		if c.Key != "" && len(out) < b.top {
			out = append(out, c)
		}
	}
	return out, nil
}

// perHour counts by hour and lays the counts out on every hour of the
// period, oldest first.
func (b *builder) perHour() ([]HourCount, error) {
	groups, err := b.count(core.GroupByHour, 0, nil)
	if err != nil {
		return nil, err
	}
	first := b.since.Truncate(time.Hour)
	n := int((b.until.Sub(first) + time.Hour - 1) / time.Hour)
	out := make([]HourCount, n)
	for i := range out {
		out[i].Hour = first.Add(time.Duration(i) * time.Hour)
	}
	for _, gc := range groups {
		h, err := time.Parse(time.RFC3339, gc.Key)
		i := int(h.Sub(first) / time.Hour)
		if err != nil || h.Minute() != 0 || h.Second() != 0 || i < 0 || i >= n {
			return nil, fmt.Errorf("report: Build: the store answered hour %q for a period from %s to %s",
				gc.Key, stamp(b.since), stamp(b.until))
		}
		out[i].Count += gc.Count
	}
	return out, nil
}
