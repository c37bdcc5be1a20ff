package storetest

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/wardenkit/warden/core"
	"github.com/wardenkit/warden/core/rule"
)

// testCountEvents checks CountEvents' window, grouping, order and limit.
func testCountEvents(t *testing.T, s core.Store) {
	c := ctx(t)
	since := time.Date(2030, 1, 1, 10, 0, 0, 0, time.UTC)
	until := since.Add(2 * time.Hour)
	ev := func(at time.Time, ip, country string, a core.Action, path string, n int64) core.Event {
		return core.Event{CreatedAt: at, IP: ip, CountryCode: country, Action: a, Path: path, Count: n}
	}
	india := time.FixedZone("IST", 5*3600+1800)
	evs := []core.Event{
		ev(since, "192.0.2.1", "FR", core.ActionIPBlock, "/a", 2), // at Since: counted
		ev(since.Add(30*time.Minute), "192.0.2.1", "FR", core.ActionIPBlock, "/a", 1),
		ev(since.Add(time.Hour-time.Microsecond), "192.0.2.2", "DE", core.ActionRateLimit, "/B", 3),
		ev(since.Add(time.Hour), "192.0.2.3", "", core.ActionRateLimit, "/é", 3),
		ev(since.Add(75*time.Minute), "192.0.2.2", "DE", core.ActionLockout, "/z", 3),
		ev(since.Add(80*time.Minute), "192.0.2.4", "DE", core.ActionAutoBlockIP, "", 1),
		// 16:45 in India is 11:15 UTC: inside the window, hour 11.
		ev(time.Date(2030, 1, 1, 16, 45, 0, 0, india), "192.0.2.5", "", core.ActionIPBlock, "/a", 1),
		ev(until, "192.0.2.9", "US", core.ActionIPBlock, "/a", 100),                        // at Until: not counted
		ev(since.Add(-time.Microsecond), "192.0.2.9", "US", core.ActionIPBlock, "/B", 100), // before Since
	}
	if err := s.AppendEvents(c, evs); err != nil {
		t.Fatal(err)
	}
	type gc = core.GroupCount
	g := func(k string, n int64) gc { return gc{Key: k, Count: n} }
	h10, h11 := "2030-01-01T10:00:00Z", "2030-01-01T11:00:00Z"
	tests := []struct {
		name string
		q    core.CountQuery
		want []gc
	}{
		// Ties order by bytes: "/B" < "/z" < "/é" ("/é" starts with 0xC3).
		{"path_window_ties_by_bytes", core.CountQuery{GroupBy: core.GroupByPath, Since: since, Until: until},
			[]gc{g("/a", 4), g("/B", 3), g("/z", 3), g("/é", 3), g("", 1)}},
		{"path_limit_cuts_after_order", core.CountQuery{GroupBy: core.GroupByPath, Since: since, Until: until, Limit: 3},
			[]gc{g("/a", 4), g("/B", 3), g("/z", 3)}},
		{"path_window_in_another_zone", core.CountQuery{GroupBy: core.GroupByPath, Since: since.In(india), Until: until.In(india), Limit: 2},
			[]gc{g("/a", 4), g("/B", 3)}},
		{"path_since_only", core.CountQuery{GroupBy: core.GroupByPath, Since: since, Limit: 1}, []gc{g("/a", 104)}},
		{"path_until_only", core.CountQuery{GroupBy: core.GroupByPath, Until: until, Limit: 1}, []gc{g("/B", 103)}},
		{"path_actions_and_limit", core.CountQuery{GroupBy: core.GroupByPath, Since: since, Until: until,
			Actions: []core.Action{core.ActionRateLimit, core.ActionLockout}, Limit: 2}, []gc{g("/B", 3), g("/z", 3)}},
		{"hour_window", core.CountQuery{GroupBy: core.GroupByHour, Since: since, Until: until}, []gc{g(h11, 8), g(h10, 6)}},
		{"hour_unbounded_ties_by_key", core.CountQuery{GroupBy: core.GroupByHour},
			[]gc{g("2030-01-01T09:00:00Z", 100), g("2030-01-01T12:00:00Z", 100), g(h11, 8), g(h10, 6)}},
		{"hour_actions", core.CountQuery{GroupBy: core.GroupByHour, Since: since, Until: until,
			Actions: []core.Action{core.ActionRateLimit}}, []gc{g(h10, 3), g(h11, 3)}},
		{"hour_limit", core.CountQuery{GroupBy: core.GroupByHour, Limit: 1}, []gc{g("2030-01-01T09:00:00Z", 100)}},
		{"hour_action_window", core.CountQuery{GroupBy: core.GroupByHourAction, Since: since, Until: until},
			[]gc{g(h10+" IP_BLOCK", 3), g(h10+" RATE_LIMIT", 3), g(h11+" LOCKOUT", 3), g(h11+" RATE_LIMIT", 3),
				g(h11+" AUTO_BLOCK_IP", 1), g(h11+" IP_BLOCK", 1)}},
		{"hour_action_actions_min_limit", core.CountQuery{GroupBy: core.GroupByHourAction, Since: since,
			Actions: []core.Action{core.ActionIPBlock, core.ActionRateLimit}, Min: 2, Limit: 3},
			[]gc{g("2030-01-01T12:00:00Z IP_BLOCK", 100), g(h10+" IP_BLOCK", 3), g(h10+" RATE_LIMIT", 3)}},
		{"ip_min_then_limit", core.CountQuery{GroupBy: core.GroupByIP, Since: since, Until: until, Min: 3, Limit: 2},
			[]gc{g("192.0.2.2", 6), g("192.0.2.1", 3)}},
		{"ip_min", core.CountQuery{GroupBy: core.GroupByIP, Since: since, Until: until, Min: 3},
			[]gc{g("192.0.2.2", 6), g("192.0.2.1", 3), g("192.0.2.3", 3)}},
		{"country_empty_code_is_a_group", core.CountQuery{GroupBy: core.GroupByCountry, Since: since, Until: until},
			[]gc{g("DE", 7), g("", 4), g("FR", 3)}},
		{"action_window", core.CountQuery{GroupBy: core.GroupByAction, Since: since, Until: until},
			[]gc{g("RATE_LIMIT", 6), g("IP_BLOCK", 4), g("LOCKOUT", 3), g("AUTO_BLOCK_IP", 1)}},
		{"limit_above_groups", core.CountQuery{GroupBy: core.GroupByCountry, Since: since, Until: until, Limit: 50},
			[]gc{g("DE", 7), g("", 4), g("FR", 3)}},
		{"empty_window", core.CountQuery{GroupBy: core.GroupByIP, Since: until, Until: since}, nil},
		{"empty_action_list", core.CountQuery{GroupBy: core.GroupByPath, Actions: []core.Action{}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.CountEvents(c, tt.q)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("CountEvents(%+v)\n got %v\nwant %v", tt.q, got, tt.want)
			}
		})
	}
	countEventsRefuses(t, s)
}

// testActiveCounter checks CountActive on the tables that have it: disabled
// rows are not counted, and expired ones are those whose expiry is before now.
func testActiveCounter(t *testing.T, s core.Store) {
	c := ctx(t)
	now := time.Date(2030, 1, 1, 10, 0, 0, 0, time.UTC)
	for _, ip := range []rule.BlockedIP{
		{Network: "192.0.2.1"}, // permanent
		{Network: "192.0.2.2", ExpiresAt: now.Add(-time.Second)},
		{Network: "192.0.2.3", ExpiresAt: now}, // expires at now: not yet
		{Network: "192.0.2.4", ExpiresAt: now.Add(time.Hour)},
		{Network: "192.0.2.0/24", ExpiresAt: now.Add(-time.Hour), Disabled: true},
	} {
		if _, err := s.BlockedIPs().Put(c, ip); err != nil {
			t.Fatal(err)
		}
	}
	for _, u := range []rule.WhitelistedUser{{UserID: "a", ExpiresAt: now.Add(-time.Hour)}, {UserID: "b", Disabled: true}} {
		if _, err := s.WhitelistedUsers().Put(c, u); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.BlockedCountries().Put(c, rule.BlockedCountry{Code: "FR"}); err != nil {
		t.Fatal(err)
	}
	for name, tt := range map[string]struct {
		tbl             any
		active, expired int
	}{
		"BlockedIPs": {s.BlockedIPs(), 4, 1}, "WhitelistedUsers": {s.WhitelistedUsers(), 1, 1},
		"BlockedCountries": {s.BlockedCountries(), 1, 0}, "BlockedDomains": {s.BlockedDomains(), 0, 0},
	} {
		ac, ok := tt.tbl.(core.ActiveCounter)
		if !ok {
			t.Logf("%s: no ActiveCounter", name)
			continue
		}
		if a, e, err := ac.CountActive(c, now.In(time.FixedZone("X", -7*3600))); err != nil || a != tt.active || e != tt.expired {
			t.Errorf("%s.CountActive = %d, %d, %v; want %d, %d", name, a, e, err, tt.active, tt.expired)
		}
	}
}

// countEventsRefuses checks that queries CountEvents cannot answer are
// refused with ErrInvalid.
func countEventsRefuses(t *testing.T, s core.Store) {
	for name, q := range map[string]core.CountQuery{
		"negative_limit":   {GroupBy: core.GroupByIP, Limit: -1},
		"unknown_group_by": {GroupBy: "user_agent"},
	} {
		if _, err := s.CountEvents(ctx(t), q); !errors.Is(err, core.ErrInvalid) {
			t.Errorf("%s: CountEvents(%+v) = %v, want ErrInvalid", name, q, err)
		}
	}
}
