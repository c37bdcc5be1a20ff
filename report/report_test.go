package report_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wardenkit/warden/core"
	"github.com/wardenkit/warden/core/memstore"
	"github.com/wardenkit/warden/report"
)

var day = time.Date(2026, 12, 1, 6, 0, 0, 0, time.UTC)

// recordingStore answers CountEvents from a memstore, records each query
// and fails the test if anything reads events one by one.
type recordingStore struct {
	core.EventStore
	t       *testing.T
	queries []core.CountQuery
	err     error                                   // returned by every CountEvents when set
	answer  func(core.CountQuery) []core.GroupCount // replaces the memstore's answer when set
}

func (s *recordingStore) CountEvents(ctx context.Context, q core.CountQuery) ([]core.GroupCount, error) {
	s.queries = append(s.queries, q)
	if s.err != nil {
		return nil, s.err
	}
	if s.answer != nil {
		return s.answer(q), nil
	}
	return s.EventStore.CountEvents(ctx, q)
}

func (s *recordingStore) Events(context.Context, core.EventQuery) ([]core.Event, error) {
	s.t.Error("Build read events one by one")
	return nil, errors.New("not allowed")
}

func newStore(t *testing.T, evs ...core.Event) *recordingStore {
	t.Helper()
	st := memstore.New()
	if err := st.AppendEvents(context.Background(), evs); err != nil {
		t.Fatal(err)
	}
	return &recordingStore{EventStore: st, t: t}
}

func ev(at time.Time, ip, country string, a core.Action, path string, n int64) core.Event {
	return core.Event{CreatedAt: at, IP: ip, CountryCode: country, Action: a, Path: path, Count: n}
}

func TestBuildRefusesBadInput(t *testing.T) {
	st := newStore(t)
	tests := []struct {
		name         string
		since, until time.Time
		opts         []report.Option
		want         error
		mentions     []string
	}{
		{"since_after_until", day.Add(time.Hour), day, nil, report.ErrInvalidPeriod,
			[]string{"2026-12-01T07:00:00Z", "2026-12-01T06:00:00Z"}},
		{"since_equals_until", day, day, nil, report.ErrInvalidPeriod, []string{"2026-12-01T06:00:00Z"}},
		{"zero_since", time.Time{}, day, nil, report.ErrInvalidPeriod, []string{"(zero)", "2026-12-01T06:00:00Z"}},
		{"zero_until", day, time.Time{}, nil, report.ErrInvalidPeriod, []string{"(zero)"}},
		{"longer_than_max_period", day, day.Add(report.MaxPeriod + time.Second), nil, report.ErrInvalidPeriod,
			[]string{"2026-12-01T06:00:00Z", "2027-12-03T06:00:01Z"}},
		{"nil_option", day, day.Add(time.Hour), []report.Option{nil}, report.ErrInvalidOption, []string{"option 0"}},
		{"top_zero", day, day.Add(time.Hour), []report.Option{report.WithTop(0)}, report.ErrInvalidOption,
			[]string{"WithTop: 0"}},
		{"top_too_big", day, day.Add(time.Hour), []report.Option{report.WithTop(report.MaxTop + 1)},
			report.ErrInvalidOption, []string{"WithTop: 1001"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := report.Build(context.Background(), st, tt.since, tt.until, tt.opts...)
			if !errors.Is(err, tt.want) || r != nil {
				t.Fatalf("Build = %v, %v; want an error wrapping %v", r, err, tt.want)
			}
			for _, m := range tt.mentions {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("error %q does not mention %q", err, m)
				}
			}
		})
	}
	if len(st.queries) != 0 {
		t.Errorf("refused builds queried the store %d times", len(st.queries))
	}
	if _, err := report.Build(context.Background(), nil, day, day.Add(time.Hour)); !errors.Is(err, report.ErrInvalidOption) {
		t.Errorf("nil store: %v, want ErrInvalidOption", err)
	}
}

func TestBuildCountsThePeriod(t *testing.T) {
	since, until := day.Add(30*time.Minute), day.Add(3*time.Hour)
	st := newStore(t,
		ev(since.Add(-time.Nanosecond), "192.0.2.1", "FR", core.ActionIPBlock, "/old", 50), // before the period
		ev(until, "192.0.2.1", "FR", core.ActionIPBlock, "/late", 50),                      // at its end: outside
		ev(since, "192.0.2.1", "FR", core.ActionIPBlock, "/a", 5),
		ev(day.Add(time.Hour), "192.0.2.2", "", core.ActionRateLimit, "/b", 7), // coalesced: 7 events
		ev(day.Add(time.Hour), "", "", core.ActionAutoBlockCountry, "", 1),
		ev(day.Add(2*time.Hour), "", "DE", core.ActionAdmin, "", 9),
		ev(day.Add(2*time.Hour), "192.0.2.3", "DE", core.ActionAutoBlockIP, "", 2),
		ev(day.Add(2*time.Hour), "192.0.2.3", "DE", core.ActionLockout, "/login", 1),
		ev(day.Add(2*time.Hour), "192.0.2.4", "US", core.ActionSuspiciousLogin, "/login", 1),
	)
	r, err := report.Build(context.Background(), st, since.In(time.FixedZone("X", 3600)), until, report.WithTop(2))
	if err != nil {
		t.Fatal(err)
	}
	c := func(k string, n int64) report.Count { return report.Count{Key: k, Count: n} }
	want := &report.Report{
		Period: report.Period{Since: since, Until: until},
		Total:  26,
		ByAction: []report.Count{c("ADMIN_ACTION", 9), c("RATE_LIMIT", 7), c("IP_BLOCK", 5), c("AUTO_BLOCK_IP", 2),
			c("AUTO_BLOCK_COUNTRY", 1), c("LOCKOUT", 1), c("SUSPICIOUS_LOGIN", 1)},
		// No IP (10 events) and no path (12) are the largest groups, no
		// country (8) the second: left out, and each list still has
		// WithTop(2) entries.
		TopIPs:       []report.Count{c("192.0.2.2", 7), c("192.0.2.1", 5)},
		TopCountries: []report.Count{c("DE", 12), c("FR", 5)},
		TopPaths:     []report.Count{c("/b", 7), c("/a", 5)},
		AutoBlocks: report.AutoBlocks{IPs: 2, Countries: 1,
			TopIPs: []report.Count{c("192.0.2.3", 2)}, TopCountries: []report.Count{}},
		SuspiciousLogins: 1, RateLimitDenials: 7, Lockouts: 1,
		PerHour: []report.HourCount{{Hour: day, Count: 5}, {Hour: day.Add(time.Hour), Count: 8},
			{Hour: day.Add(2 * time.Hour), Count: 13}},
	}
	if got, _ := json.Marshal(r); string(got) != mustJSON(t, want) {
		t.Errorf("report\n got %s\nwant %s", got, mustJSON(t, want))
	}
	if r.Period.Since.Location() != time.UTC {
		t.Errorf("Since is in %v, want UTC", r.Period.Since.Location())
	}
	// AUTO_BLOCK_COUNTRY's only event has no country: its list is empty,
	// but it was asked for.
	if len(st.queries) != 7 {
		t.Errorf("Build asked %d grouped counts, want 7", len(st.queries))
	}
	for _, q := range st.queries {
		if !q.Since.Equal(since) || !q.Until.Equal(until) {
			t.Errorf("query %+v is not over the period", q)
		}
		if q.GroupBy != core.GroupByAction && q.GroupBy != core.GroupByHour && q.Limit != 3 {
			t.Errorf("top-list query %+v: Limit %d, want WithTop + 1 = 3", q, q.Limit)
		}
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestBuildWithoutAutoBlocksAsksFiveCounts(t *testing.T) {
	st := newStore(t, ev(day, "192.0.2.1", "FR", core.ActionIPBlock, "/a", 1))
	r, err := report.Build(context.Background(), st, day, day.Add(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	var groups []core.GroupBy
	for _, q := range st.queries {
		groups = append(groups, q.GroupBy)
	}
	want := []core.GroupBy{core.GroupByAction, core.GroupByIP, core.GroupByCountry, core.GroupByPath, core.GroupByHour}
	if !slices.Equal(groups, want) {
		t.Errorf("grouped counts = %v, want %v", groups, want)
	}
	if len(r.PerHour) != 24 || r.PerHour[0].Count != 1 || r.PerHour[23].Hour != day.Add(23*time.Hour) {
		t.Errorf("PerHour = %d hours (%v … %v), want 24 from %v", len(r.PerHour), r.PerHour[0], r.PerHour[len(r.PerHour)-1], day)
	}
}

func TestBuildEmptyPeriodHasEmptyLists(t *testing.T) {
	r, err := report.Build(context.Background(), newStore(t), day, day.Add(90*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(r)
	if strings.Contains(string(b), "null") {
		t.Errorf("an empty report has null lists: %s", b)
	}
	if len(r.PerHour) != 2 || r.PerHour[1].Count != 0 || r.Total != 0 {
		t.Errorf("PerHour = %+v, total %d; want two empty hours", r.PerHour, r.Total)
	}
	if text := r.Text(); strings.Count(text, "(none)") != 6 {
		t.Errorf("empty report text:\n%s", text)
	}
}

func TestBuildPassesStoreErrors(t *testing.T) {
	down := errors.New("connection refused")
	st := newStore(t)
	st.err = down
	_, err := report.Build(context.Background(), st, day, day.Add(time.Hour))
	if !errors.Is(err, down) || !strings.HasPrefix(err.Error(), "report: Build: count by action:") {
		t.Fatalf("Build = %v, want the store's error with the grouping named", err)
	}
	if len(st.queries) != 1 {
		t.Errorf("Build went on after an error: %d queries", len(st.queries))
	}
}

func TestBuildRefusesHoursOutsideThePeriod(t *testing.T) {
	for _, key := range []string{"2026-12-01T05:00:00Z", "2026-12-01T07:30:00Z", "yesterday", "2026-12-01T08:00:00Z"} {
		st := newStore(t)
		st.answer = func(q core.CountQuery) []core.GroupCount {
			if q.GroupBy == core.GroupByHour {
				return []core.GroupCount{{Key: key, Count: 1}}
			}
			return nil
		}
		if _, err := report.Build(context.Background(), st, day, day.Add(2*time.Hour)); err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("hour key %q: Build = %v, want an error naming it", key, err)
		}
	}
}

func TestTextQuotesHostileKeys(t *testing.T) {
	long := "/" + strings.Repeat("a", 200)
	st := newStore(t,
		ev(day, "192.0.2.1", "FR", core.ActionIPBlock, "/x\n  Lockouts  0", 3),
		ev(day, "192.0.2.1", "FR", core.ActionIPBlock, "/admin\u202egnp.exe", 2),
		ev(day, "192.0.2.1", "FR", core.ActionIPBlock, long, 1),
	)
	r, err := report.Build(context.Background(), st, day, day.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	text := r.Text()
	for _, want := range []string{`"/x\n  Lockouts  0"`, `"/admin\u202egnp.exe"`, "/" + strings.Repeat("a", 58) + "…"} {
		if !strings.Contains(text, want) {
			t.Errorf("text lacks %q:\n%s", want, text)
		}
	}
	for _, line := range strings.Split(text, "\n") {
		if strings.Contains(line, "\u202e") || strings.HasPrefix(line, "  Lockouts  0") {
			t.Errorf("a key escaped its line: %q", line)
		}
	}
}

func TestTextLongPeriodListsBusiestHours(t *testing.T) {
	var evs []core.Event
	for i := range 12 {
		evs = append(evs, ev(day.Add(time.Duration(i*7)*time.Hour), "192.0.2.1", "FR", core.ActionIPBlock, "/a", int64(i+1)))
	}
	r, err := report.Build(context.Background(), newStore(t, evs...), day, day.Add(7*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(r.PerHour) != 7*24 {
		t.Fatalf("PerHour has %d hours, want %d", len(r.PerHour), 7*24)
	}
	text := r.Text()
	_, hours, ok := strings.Cut(text, "Busiest hours (UTC)\n")
	if !ok {
		t.Fatalf("no busiest hours in:\n%s", text)
	}
	lines := strings.Split(strings.TrimSpace(hours), "\n")
	if len(lines) != 10 {
		t.Fatalf("busiest hours has %d lines, want 10:\n%s", len(lines), hours)
	}
	busiest := day.Add(77 * time.Hour).Format("2006-01-02 15:04")
	if !strings.HasPrefix(strings.TrimSpace(lines[0]), busiest+"  12  ") {
		t.Errorf("first busiest hour = %q, want %s with 12", lines[0], busiest)
	}
}

func TestTextNumbersHaveThousands(t *testing.T) {
	r := &report.Report{Total: 1234567, ByAction: []report.Count{{Key: "IP_BLOCK", Count: 1000}}}
	text := r.Text()
	for _, want := range []string{"1,234,567", "IP_BLOCK  1,000"} {
		if !strings.Contains(text, want) {
			t.Errorf("text lacks %q:\n%s", want, text)
		}
	}
}
