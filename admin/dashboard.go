package admin

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/wardenkit/warden/core"
	"github.com/wardenkit/warden/feeds"
)

// dashTTL is how long the dashboard's figures from the store are kept.
const dashTTL = time.Minute

// chartActions is how many actions the chart shows apart; the rest are
// "other".
const chartActions = 4

// dashCache holds the last figures read from the store. One refresh runs at
// a time; requests meanwhile wait for it rather than ask the store too.
type dashCache struct {
	mu   sync.Mutex
	at   time.Time
	data *dashFigures
}

// dashFigures are the dashboard's figures from the store: grouped counts of
// the last 24 hours, rule counts and lockouts.
type dashFigures struct {
	Since, Until time.Time
	Total        int64
	ByAction     []core.GroupCount
	Hours        []time.Time
	Series       []series // per action, one count per hour
	TopIPs       []core.GroupCount
	TopCountries []core.GroupCount
	TopPaths     []core.GroupCount
	Rules        []ruleCount
	Locked       int
	GeoIP        string // a warning about the country database, "" when fine
	ReadAt       time.Time
	Took         time.Duration
}

type series struct {
	Name   string
	Class  string
	Counts []int64
}

type ruleCount struct {
	Slug    string `json:"kind"`
	Title   string `json:"title"`
	Active  int    `json:"active"`
	Expired int    `json:"expired"` // active but past their expiry
}

// figures returns the cached figures, or reads them when older than dashTTL
// (or fresh is asked).
func (s *server) figures(ctx context.Context, fresh bool) (*dashFigures, error) {
	c := &s.dash
	c.mu.Lock()
	defer c.mu.Unlock()
	now := s.cfg.clock.Now()
	if c.data != nil && !fresh && now.Sub(c.at) < dashTTL && now.Sub(c.at) >= 0 {
		return c.data, nil
	}
	start := time.Now()
	f, err := s.readFigures(ctx, now)
	if err != nil {
		return nil, err
	}
	f.Took = time.Since(start)
	c.data, c.at = f, now
	return f, nil
}

// readFigures asks the store for grouped counts only: by action, by hour
// (in total and for the busiest actions), and the top IPs, countries and
// paths; and counts the active rules.
func (s *server) readFigures(ctx context.Context, now time.Time) (*dashFigures, error) {
	until := now.UTC().Truncate(time.Hour).Add(time.Hour)
	f := &dashFigures{Since: until.Add(-24 * time.Hour), Until: until, ReadAt: now}
	for h := f.Since; h.Before(until); h = h.Add(time.Hour) {
		f.Hours = append(f.Hours, h)
	}
	if st := s.cfg.store; st != nil {
		if err := f.readCounts(ctx, st); err != nil {
			return nil, err
		}
	}
	var err error
	if f.Rules, err = s.countRules(ctx, now); err != nil {
		return nil, err
	}
	locked, err := s.eng.Lockout().ListLocked(ctx, 10_000)
	if err != nil {
		return nil, err
	}
	f.Locked = len(locked)
	f.GeoIP = s.geoWarning(now)
	return f, nil
}

func (f *dashFigures) readCounts(ctx context.Context, st core.EventStore) error {
	q := core.CountQuery{Since: f.Since, Until: f.Until}
	count := func(by core.GroupBy, limit int, actions ...core.Action) ([]core.GroupCount, error) {
		q.GroupBy, q.Limit, q.Actions = by, limit, actions
		return st.CountEvents(ctx, q)
	}
	var err error
	if f.ByAction, err = count(core.GroupByAction, 0); err != nil {
		return err
	}
	total, err := count(core.GroupByHour, 0)
	if err != nil {
		return err
	}
	other := f.hourly(total)
	for _, g := range f.ByAction {
		f.Total += g.Count
	}
	for i, g := range f.ByAction[:min(chartActions, len(f.ByAction))] {
		hours, err := count(core.GroupByHour, 0, core.Action(g.Key))
		if err != nil {
			return err
		}
		counts := f.hourly(hours)
		for h := range other {
			other[h] -= counts[h]
		}
		f.Series = append(f.Series, series{Name: g.Key, Class: fmt.Sprintf("a-%d", i), Counts: counts})
	}
	if len(f.ByAction) > chartActions {
		f.Series = append(f.Series, series{Name: "other", Class: "a-5", Counts: other})
	}
	if f.TopIPs, err = count(core.GroupByIP, 10); err != nil {
		return err
	}
	if f.TopCountries, err = count(core.GroupByCountry, 10); err != nil {
		return err
	}
	f.TopPaths, err = count(core.GroupByPath, 10)
	return err
}

// hourly places hour groups in f.Hours' order, zero where none.
func (f *dashFigures) hourly(groups []core.GroupCount) []int64 {
	out := make([]int64, len(f.Hours))
	for _, g := range groups {
		t, err := time.Parse(time.RFC3339, g.Key)
		if err != nil {
			continue
		}
		if i := int(t.Sub(f.Since) / time.Hour); i >= 0 && i < len(out) {
			out[i] += g.Count
		}
	}
	return out
}

// countRules counts the active rules of each kind (and the expired among
// them), reading IDs in pages: the rule tables have no count query.
func (s *server) countRules(ctx context.Context, now time.Time) ([]ruleCount, error) {
	var out []ruleCount
	for _, k := range kindList {
		sp := k.spec()
		rc := ruleCount{Slug: sp.Slug, Title: sp.Title}
		_, canExpire := sp.idx["expires_at"]
		q := core.Query{ActiveOnly: true, Limit: 5000}
		for {
			rows, err := k.scan(ctx, s.eng.Rules(), q)
			if err != nil {
				return nil, err
			}
			for _, it := range rows {
				rc.Active++
				if exp, _ := fieldOf(it.v, sp.idx, "expires_at").Interface().(time.Time); canExpire && !exp.IsZero() && now.After(exp) {
					rc.Expired++
				}
			}
			if len(rows) < q.Limit {
				break
			}
			q.AfterID = rows[len(rows)-1].ID
		}
		out = append(out, rc)
	}
	return out, nil
}

// geoWarning checks the country database named by WithGeoIPFile.
func (s *server) geoWarning(now time.Time) string {
	if s.cfg.geoip == "" {
		return ""
	}
	db, err := feeds.StatGeoIP(s.cfg.geoip)
	switch {
	case err != nil:
		return fmt.Sprintf("The country database %s cannot be read: %v.", s.cfg.geoip, err)
	case now.Sub(db.ModTime) > 30*24*time.Hour:
		return fmt.Sprintf("The country database %s is %d days old: download a new one (warden geoip download).", s.cfg.geoip, int(now.Sub(db.ModTime).Hours()/24))
	}
	return ""
}

// warnings are what the operator should know now: from the settings and
// the engine's health.
func warnings(set core.Settings, st core.Stats, hasStore bool) []string {
	var w []string
	add := func(cond bool, format string, args ...any) {
		if cond {
			w = append(w, fmt.Sprintf(format, args...))
		}
	}
	add(set.ReportOnly, "Report-only mode is on: nothing is blocked, matches are recorded as WOULD_BLOCK.")
	add(set.ReportOnlyCountryAllowList, "The country allow-list is in report-only mode.")
	add(set.AutoBlockDryRun, "Auto-blocking is a dry run: it records WOULD_BLOCK and blocks nothing.")
	add(st.EventsDropped > 0, "%d events were dropped (the queue was full): the log is incomplete.", st.EventsDropped)
	add(st.CriticalOverflow > 0, "%d critical events found their reserved queue room full.", st.CriticalOverflow)
	add(st.EventsRejected > 0, "%d events were refused by the store.", st.EventsRejected)
	add(st.RebuildErrors > 0, "%d rule reloads failed; the last: %s.", st.RebuildErrors, st.LastRebuildError)
	add(len(st.InvalidRows) > 0, "%d stored rules fail validation and are not enforced.", len(st.InvalidRows))
	add(st.FailPolicyTrips > 0, "The fail policy decided %d requests (the engine could not).", st.FailPolicyTrips)
	add(st.LimiterFailures > 0, "The rate limiter failed %d times.", st.LimiterFailures)
	add(!hasStore, "The event log is not available: the admin was started without admin.WithStore.")
	return slices.Clip(w)
}
