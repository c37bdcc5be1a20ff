package scheduler_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/wardenkit/warden/core"
	"github.com/wardenkit/warden/core/memstore"
	"github.com/wardenkit/warden/core/rule"
	"github.com/wardenkit/warden/feeds"
	"github.com/wardenkit/warden/scheduler"
)

func startedEngine(t *testing.T, st core.Store) *core.Engine {
	t.Helper()
	eng := newEngine(t, st)
	if err := eng.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close(context.Background()) })
	return eng
}

func blocks(t *testing.T, eng *core.Engine, ip string) bool {
	t.Helper()
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = ip + ":1000"
	d, err := eng.Check(context.Background(), core.Request{HTTP: r})
	if err != nil {
		t.Fatal(err)
	}
	return !d.Allowed
}

// The expiry job deactivates the active rows whose expiry has passed, and
// only those, through the engine; one ADMIN_ACTION event says so.
func TestExpiryDeactivatesOnlyExpiredRows(t *testing.T) {
	ctx := context.Background()
	st := memstore.New()
	eng := startedEngine(t, st)
	now := time.Now()
	past, future := now.Add(-time.Minute), now.Add(time.Hour)
	ips := eng.Rules().BlockedIPs()
	for _, b := range []rule.BlockedIP{
		{Network: "203.0.113.1", ExpiresAt: past},
		{Network: "203.0.113.2", ExpiresAt: future},
		{Network: "203.0.113.3"}, // permanent
		{Network: "203.0.113.4", ExpiresAt: past, Disabled: true},
		{Network: "16.0.0.0/4", ExpiresAt: past, Force: true}, // broad: written again only with Force
	} {
		if _, err := ips.Put(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	users := eng.Rules().WhitelistedUsers()
	for _, u := range []rule.WhitelistedUser{
		{UserID: "gone", ExpiresAt: past},
		{UserID: "stays", ExpiresAt: future},
		{UserID: "forever"},
	} {
		if _, err := users.Put(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	s, err := scheduler.New(eng, scheduler.WithStore(st), scheduler.WithLogger(discard))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Run(ctx, scheduler.JobExpiry); err != nil {
		t.Fatal(err)
	}
	for net, disabled := range map[string]bool{
		"203.0.113.1/32": true, "203.0.113.2/32": false, "203.0.113.3/32": false, "203.0.113.4/32": true, "16.0.0.0/4": true,
	} {
		row, err := ips.Get(ctx, net)
		if err != nil || row.Disabled != disabled {
			t.Fatalf("%s: disabled %v (%v), want %v", net, row.Disabled, err, disabled)
		}
	}
	for id, disabled := range map[string]bool{"gone": true, "stays": false, "forever": false} {
		row, err := users.Get(ctx, id)
		if err != nil || row.Disabled != disabled {
			t.Fatalf("user %s: disabled %v (%v), want %v", id, row.Disabled, err, disabled)
		}
	}
	// The engine enforces what the tables now say, at once.
	if blocks(t, eng, "203.0.113.1") || blocks(t, eng, "16.1.2.3") || !blocks(t, eng, "203.0.113.2") {
		t.Fatal("the engine's snapshot does not match the tables after expiry")
	}
	// A second run finds nothing to do and records nothing.
	if err := s.Run(ctx, scheduler.JobExpiry); err != nil {
		t.Fatal(err)
	}
	if err := eng.Close(ctx); err != nil {
		t.Fatal(err)
	}
	evs, err := st.Events(ctx, core.EventQuery{Action: core.ActionAdmin})
	if err != nil || len(evs) != 1 || !strings.Contains(evs[0].Details, "2 blocked IPs, 1 user exemptions") {
		t.Fatalf("admin events %+v (%v), want one naming 2 IPs and 1 user", evs, err)
	}
}

// More expired rows than one page: every one is deactivated.
func TestExpiryPagesThroughManyRows(t *testing.T) {
	ctx := context.Background()
	st := memstore.New()
	eng := startedEngine(t, st)
	past := time.Now().Add(-time.Minute)
	const n = 1200
	for i := range n {
		b := rule.BlockedIP{Network: fmt.Sprintf("10.%d.%d.1", i/256, i%256), ExpiresAt: past}
		if i%3 == 0 {
			b.ExpiresAt = time.Time{}
		}
		if _, err := st.BlockedIPs().Put(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	s, err := scheduler.New(eng, scheduler.WithStore(st), scheduler.WithLogger(discard))
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := s.Run(ctx, scheduler.JobExpiry); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d rows deactivated through the engine in %v", n-n/3, time.Since(start))
	rows, err := st.BlockedIPs().List(ctx, core.Query{ActiveOnly: true})
	if err != nil || len(rows) != n/3 {
		t.Fatalf("%d active rows left (%v), want the %d permanent ones", len(rows), err, n/3)
	}
	for _, r := range rows {
		if !r.ExpiresAt.IsZero() {
			t.Fatalf("expired row %s still active", r.Network)
		}
	}
}

// The built-in sweep is the engine's: stored events over the threshold
// block their address.
func TestSweepRunsTheEnginesSweep(t *testing.T) {
	ctx := context.Background()
	st := memstore.New()
	unstarted, err := scheduler.New(newEngine(t, st), scheduler.WithStore(st), scheduler.WithLogger(discard))
	if err != nil {
		t.Fatal(err)
	}
	if err := unstarted.Run(ctx, scheduler.JobSweep); !errors.Is(err, core.ErrNotStarted) {
		t.Fatalf("sweep on an engine not started: %v, want core.ErrNotStarted", err)
	}
	eng := startedEngine(t, st)
	now := time.Now()
	var evs []core.Event
	for i := range 10 { // the default threshold: 10 weighted events in an hour
		evs = append(evs, core.Event{CreatedAt: now.Add(-time.Duration(i) * time.Minute), Action: core.ActionRateLimit, IP: "198.51.100.7", Count: 1})
	}
	if err := st.AppendEvents(ctx, evs); err != nil {
		t.Fatal(err)
	}
	s, err := scheduler.New(eng, scheduler.WithStore(st), scheduler.WithLogger(discard))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Run(ctx, scheduler.JobSweep); err != nil {
		t.Fatal(err)
	}
	if row, err := eng.Rules().BlockedIPs().Get(ctx, "198.51.100.7"); err != nil || !row.AutoBlocked || row.Disabled {
		t.Fatalf("swept address: %+v, %v; want an active auto-block", row, err)
	}
}

// countingStore counts the delete calls of the retention job and can fail
// one kind.
type countingStore struct {
	*memstore.Store
	mu      sync.Mutex
	calls   map[string]int
	failOn  string
	afterFn func(kind string)
}

func (c *countingStore) count(kind string) error {
	c.mu.Lock()
	c.calls[kind]++
	c.mu.Unlock()
	if c.afterFn != nil {
		c.afterFn(kind)
	}
	if kind == c.failOn {
		return errors.New("disk full")
	}
	return nil
}

func (c *countingStore) DeleteEventsBefore(ctx context.Context, before time.Time, batch int) (int64, error) {
	if err := c.count("events"); err != nil {
		return 0, err
	}
	return c.Store.DeleteEventsBefore(ctx, before, batch)
}

func (c *countingStore) DeleteLoginsBefore(ctx context.Context, before time.Time, batch int) (int64, error) {
	if err := c.count("logins"); err != nil {
		return 0, err
	}
	return c.Store.DeleteLoginsBefore(ctx, before, batch)
}

func (c *countingStore) DeleteLockoutsBefore(ctx context.Context, before time.Time, batch int) (int64, error) {
	if err := c.count("lockouts"); err != nil {
		return 0, err
	}
	return c.Store.DeleteLockoutsBefore(ctx, before, batch)
}

// seed stores, for each of events, logins and lockouts, old rows older than
// the cutoff and young rows younger.
func seed(t *testing.T, st *memstore.Store, cutoff time.Time, old, young int) {
	t.Helper()
	ctx := context.Background()
	for i := range old + young {
		at := cutoff.Add(-time.Duration(i+1) * time.Minute)
		if i >= old {
			at = cutoff.Add(time.Duration(i+1) * time.Minute)
		}
		if err := st.AppendEvents(ctx, []core.Event{{CreatedAt: at, Action: core.ActionIPBlock, IP: "203.0.113.9"}}); err != nil {
			t.Fatal(err)
		}
		if _, err := st.AppendLogin(ctx, core.LoginRecord{CreatedAt: at, UserID: "u"}); err != nil {
			t.Fatal(err)
		}
		if _, err := st.AppendLockout(ctx, core.LockoutRecord{LockedAt: at, Scope: core.LockoutByIP, IP: "203.0.113.9"}); err != nil {
			t.Fatal(err)
		}
	}
}

// remaining counts the rows of each kind left, and fails when one older
// than cutoff is among them.
func remaining(t *testing.T, st *memstore.Store, cutoff time.Time) (events, logins, lockouts int) {
	t.Helper()
	ctx := context.Background()
	evs, err := st.Events(ctx, core.EventQuery{Limit: 10_000})
	if err != nil {
		t.Fatal(err)
	}
	lgs, err := st.Logins(ctx, core.LoginQuery{Limit: 10_000})
	if err != nil {
		t.Fatal(err)
	}
	lks, err := st.Lockouts(ctx, core.LockoutQuery{Limit: 10_000})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range evs {
		if e.CreatedAt.Before(cutoff) {
			t.Fatalf("event of %v kept", e.CreatedAt)
		}
	}
	return len(evs), len(lgs), len(lks)
}

func TestRetentionDeletesInBatchesUpToTheCutoff(t *testing.T) {
	now := time.Date(2030, 6, 1, 3, 0, 0, 0, time.UTC)
	cutoff := now.Add(-30 * 24 * time.Hour)
	for _, c := range []struct {
		name       string
		old, young int
		wantCalls  int // per kind
	}{
		{"partial_last_batch", 25, 7, 3}, // 10, 10, 5
		{"exact_batches", 30, 7, 4},      // 10, 10, 10, 0
		{"nothing_old", 0, 7, 1},         // 0
		{"fewer_than_a_batch", 4, 0, 1},  // 4
		{"many_batches", 205, 3, 21},     // 20 × 10, 5
	} {
		t.Run(c.name, func(t *testing.T) {
			mem := memstore.New()
			seed(t, mem, cutoff, c.old, c.young)
			st := &countingStore{Store: mem, calls: map[string]int{}}
			s, err := scheduler.New(newEngine(t, mem), scheduler.WithStore(st), scheduler.WithLogger(discard),
				scheduler.WithRetention(30*24*time.Hour), scheduler.WithRetentionBatch(10),
				scheduler.WithClock(clockwork.NewFakeClockAt(now)))
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Run(context.Background(), scheduler.JobRetention); err != nil {
				t.Fatal(err)
			}
			for _, k := range []string{"events", "logins", "lockouts"} {
				if st.calls[k] != c.wantCalls {
					t.Fatalf("%s: %d delete calls, want %d", k, st.calls[k], c.wantCalls)
				}
			}
			if e, l, k := remaining(t, mem, cutoff); e != c.young || l != c.young || k != c.young {
				t.Fatalf("left %d events, %d logins, %d lockouts; want %d of each", e, l, k, c.young)
			}
		})
	}
}

// A failing kind does not stop the others; its error is returned.
func TestRetentionFailureOfOneKind(t *testing.T) {
	now := time.Date(2030, 6, 1, 3, 0, 0, 0, time.UTC)
	cutoff := now.Add(-scheduler.DefaultRetention)
	mem := memstore.New()
	seed(t, mem, cutoff, 5, 2)
	st := &countingStore{Store: mem, calls: map[string]int{}, failOn: "logins"}
	s, err := scheduler.New(newEngine(t, mem), scheduler.WithStore(st), scheduler.WithLogger(discard),
		scheduler.WithClock(clockwork.NewFakeClockAt(now)))
	if err != nil {
		t.Fatal(err)
	}
	err = s.Run(context.Background(), scheduler.JobRetention)
	if err == nil || !strings.Contains(err.Error(), "scheduler: retention: login history (0 deleted): disk full") {
		t.Fatalf("err %v", err)
	}
	if e, l, k := remaining(t, mem, time.Time{}); e != 2 || l != 7 || k != 2 {
		t.Fatalf("left %d events, %d logins, %d lockouts; want 2, 7, 2", e, l, k)
	}
	if got := stat(t, s, scheduler.JobRetention); got.Failures != 1 || !strings.Contains(got.LastError, "disk full") {
		t.Fatalf("stats %+v", got)
	}
}

// A cancelled context stops the deleting between two batches.
func TestRetentionStopsWhenCancelled(t *testing.T) {
	now := time.Date(2030, 6, 1, 3, 0, 0, 0, time.UTC)
	mem := memstore.New()
	seed(t, mem, now.Add(-scheduler.DefaultRetention), 50, 0)
	ctx, cancel := context.WithCancel(context.Background())
	st := &countingStore{Store: mem, calls: map[string]int{}, afterFn: func(string) { cancel() }}
	s, err := scheduler.New(newEngine(t, mem), scheduler.WithStore(st), scheduler.WithLogger(discard),
		scheduler.WithRetentionBatch(10), scheduler.WithClock(clockwork.NewFakeClockAt(now)))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Run(ctx, scheduler.JobRetention); !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want context.Canceled", err)
	}
	if st.calls["events"] != 1 || st.calls["logins"] != 0 {
		t.Fatalf("calls %v, want one events batch only", st.calls)
	}
}

// The report covers the calendar day that ended at the latest scheduled
// time, in the scheduler's zone, whenever it runs.
func TestReportWindow(t *testing.T) {
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Skip("no time zone database:", err)
	}
	for _, c := range []struct {
		name       string
		now        time.Time
		since, end string
	}{
		{"at_the_time", time.Date(2030, 6, 2, 6, 30, 0, 0, paris), "2030-06-01T06:30:00+02:00", "2030-06-02T06:30:00+02:00"},
		{"before_the_time", time.Date(2030, 6, 2, 5, 0, 0, 0, paris), "2030-05-31T06:30:00+02:00", "2030-06-01T06:30:00+02:00"},
		{"spring_forward_23h", time.Date(2030, 3, 31, 7, 0, 0, 0, paris), "2030-03-30T06:30:00+01:00", "2030-03-31T06:30:00+02:00"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var since, until time.Time
			s, err := scheduler.New(newEngine(t, memstore.New()), scheduler.WithoutJob(scheduler.JobRetention),
				scheduler.WithLogger(discard), scheduler.WithLocation(paris), scheduler.WithReportAt(6, 30),
				scheduler.WithClock(clockwork.NewFakeClockAt(c.now.UTC())),
				scheduler.WithReport(func(_ context.Context, a, b time.Time) error { since, until = a, b; return nil }))
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Run(context.Background(), scheduler.JobReport); err != nil {
				t.Fatal(err)
			}
			if since.Format(time.RFC3339) != c.since || until.Format(time.RFC3339) != c.end {
				t.Fatalf("window %s – %s, want %s – %s", since.Format(time.RFC3339), until.Format(time.RFC3339), c.since, c.end)
			}
		})
	}
}

func newSyncer(t *testing.T, st *memstore.Store, opts ...feeds.Option) *feeds.Syncer {
	t.Helper()
	f, err := feeds.NewFetcher(nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(opts) == 0 {
		opts = []feeds.Option{feeds.WithDomainURLs("http://127.0.0.1:1/never")}
	}
	s, err := feeds.New(st, f, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// WithSyncer runs the feeds sync; a sync that changed rows records an
// ADMIN_ACTION event, a failing source fails the run.
func TestWithSyncer(t *testing.T) {
	ctx := context.Background()
	body := "mailinator.com\nguerrillamail.com\n"
	status := http.StatusOK
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(status)
		fmt.Fprint(w, body)
	}))
	defer srv.Close()
	st := memstore.New()
	eng := startedEngine(t, st)
	s, err := scheduler.New(eng, scheduler.WithStore(st), scheduler.WithLogger(discard),
		scheduler.WithSyncer(newSyncer(t, st, feeds.WithDomainURLs(srv.URL), feeds.WithBuiltinBots(true))))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Run(ctx, scheduler.JobListSync); err != nil {
		t.Fatal(err)
	}
	if _, err := st.BlockedDomains().Get(ctx, "mailinator.com"); err != nil {
		t.Fatalf("synced domain not stored: %v", err)
	}
	status = http.StatusInternalServerError
	if err := s.Run(ctx, scheduler.JobListSync); err == nil || !strings.Contains(err.Error(), "scheduler: list sync:") {
		t.Fatalf("failed source: %v", err)
	}
	if err := eng.Close(ctx); err != nil {
		t.Fatal(err)
	}
	evs, err := st.Events(ctx, core.EventQuery{Action: core.ActionAdmin})
	if err != nil || len(evs) != 1 || !strings.Contains(evs[0].Details, "lists sync: domains applied +2/-0") {
		t.Fatalf("admin events %+v (%v), want one for the applied sync", evs, err)
	}
}

// Without WithRetention the job keeps what retention_days says, read at
// each run; 0 keeps everything.
func TestRetentionFollowsSettings(t *testing.T) {
	now := time.Date(2030, 6, 1, 3, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		days         int
		young, total int
	}{{30, 3, 3}, {0, 3, 8}} {
		mem := memstore.New()
		set := core.DefaultSettings()
		set.RetentionDays = c.days
		if _, err := mem.PutSettings(context.Background(), set); err != nil {
			t.Fatal(err)
		}
		cutoff := now.Add(-30 * 24 * time.Hour)
		seed(t, mem, cutoff, 5, 3)
		s, err := scheduler.New(newEngine(t, mem), scheduler.WithStore(mem), scheduler.WithLogger(discard),
			scheduler.WithClock(clockwork.NewFakeClockAt(now)))
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Run(context.Background(), scheduler.JobRetention); err != nil {
			t.Fatal(err)
		}
		if e, _, _ := remaining(t, mem, time.Time{}); e != c.total {
			t.Errorf("retention_days %d: %d events left, want %d", c.days, e, c.total)
		}
	}
}
