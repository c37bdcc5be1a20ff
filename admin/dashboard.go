package admin

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
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

// dashCache holds the last figures read from the store. One request at a
// time reads them again; the others meanwhile get the previous figures
// (or, before the first read, wait for it).
type dashCache struct {
	mu      sync.Mutex // guards at and data
	at      time.Time
	data    *dashFigures
	reading sync.Mutex // held by the request reading the store
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
	now := s.cfg.clock.Now()
	c.mu.Lock()
	cached, age := c.data, now.Sub(c.at)
	c.mu.Unlock()
	if cached != nil && !fresh && age >= 0 && age < dashTTL {
		return cached, nil
	}
	if cached != nil && !fresh {
		if !c.reading.TryLock() {
			return cached, nil // another request is reading them
		}
	} else {
		c.reading.Lock()
	}
	defer c.reading.Unlock()
	start := time.Now()
	f, err := s.readFigures(ctx, now)
	if err != nil {
		return nil, err
	}
	f.Took = time.Since(start)
	c.mu.Lock()
	c.data, c.at = f, now
	c.mu.Unlock()
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
	var countErr error
	var wg sync.WaitGroup
	if st := s.cfg.store; st != nil { // the event counts, meanwhile the rules
		wg.Go(func() { countErr = f.readCounts(ctx, st) })
	}
	var err error
	f.Rules, err = s.countRules(ctx, now)
	var locked []core.LockoutRecord
	if err == nil {
		locked, err = s.eng.Lockout().ListLocked(ctx, 10_000)
	}
	wg.Wait()
	if err = errors.Join(err, countErr); err != nil {
		return nil, err
	}
	f.Locked = len(locked)
	f.GeoIP = s.geoWarning(now)
	return f, nil
}

// readCounts runs the grouped counts, at most countsInFlight at once: by
// hour and action (from which the totals by action and by hour and the
// series of the busiest actions are summed here), and the top lists.
func (f *dashFigures) readCounts(ctx context.Context, st core.EventStore) error {
	var hourAction []core.GroupCount
	err := concurrently(ctx, st, f.Since, f.Until, []countJob{
		{q: core.CountQuery{GroupBy: core.GroupByHourAction}, dst: &hourAction},
		{q: core.CountQuery{GroupBy: core.GroupByIP, Limit: 10}, dst: &f.TopIPs},
		{q: core.CountQuery{GroupBy: core.GroupByPath, Limit: 10}, dst: &f.TopPaths},
		{q: core.CountQuery{GroupBy: core.GroupByCountry, Limit: 10}, dst: &f.TopCountries},
	})
	if err != nil {
		return err
	}
	byAction := map[string]int64{}
	perHour := map[string][]core.GroupCount{} // by action
	for _, g := range hourAction {
		hour, action, ok := strings.Cut(g.Key, " ")
		if !ok {
			continue
		}
		byAction[action] += g.Count
		perHour[action] = append(perHour[action], core.GroupCount{Key: hour, Count: g.Count})
		f.Total += g.Count
	}
	for a, n := range byAction {
		f.ByAction = append(f.ByAction, core.GroupCount{Key: a, Count: n})
	}
	slices.SortFunc(f.ByAction, func(a, b core.GroupCount) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), strings.Compare(a.Key, b.Key))
	})
	other := make([]int64, len(f.Hours))
	for i, g := range f.ByAction {
		counts := f.hourly(perHour[g.Key])
		if i >= chartActions {
			for h, n := range counts {
				other[h] += n
			}
			continue
		}
		f.Series = append(f.Series, series{Name: g.Key, Class: fmt.Sprintf("a-%d", i), Counts: counts})
	}
	if len(f.ByAction) > chartActions {
		f.Series = append(f.Series, series{Name: "other", Class: "a-5", Counts: other})
	}
	return nil
}

// countsInFlight bounds the dashboard's concurrent queries.
const countsInFlight = 3

type countJob struct {
	q   core.CountQuery
	dst *[]core.GroupCount
}

// concurrently runs the jobs over [since, until), countsInFlight at a
// time, and waits for all of them; it returns the first error.
func concurrently(ctx context.Context, st core.EventStore, since, until time.Time, jobs []countJob) error {
	errs := make([]error, len(jobs))
	sem := make(chan struct{}, countsInFlight)
	var wg sync.WaitGroup
	for i, j := range jobs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			j.q.Since, j.q.Until = since, until
			*j.dst, errs[i] = st.CountEvents(ctx, j.q)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
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
// them). It asks the tables of the admin's store (WithStore: the engine's)
// when it has them, since those of the engine hide the store's count query.
func (s *server) countRules(ctx context.Context, now time.Time) ([]ruleCount, error) {
	rules := s.eng.Rules()
	if r, ok := s.cfg.store.(core.Rules); ok {
		rules = r
	}
	out := make([]ruleCount, 0, len(kindList))
	for _, k := range kindList {
		active, expired, err := k.countActive(ctx, rules, now)
		if err != nil {
			return nil, err
		}
		out = append(out, ruleCount{Slug: k.spec().Slug, Title: k.spec().Title, Active: active, Expired: expired})
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
