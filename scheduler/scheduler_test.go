package scheduler_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/wardenkit/warden/core"
	"github.com/wardenkit/warden/core/memstore"
	"github.com/wardenkit/warden/scheduler"
)

var discard = slog.New(slog.DiscardHandler)

// newEngine is an engine on st that is not started: the jobs under test
// only read and write through it.
func newEngine(t *testing.T, st core.Store) *core.Engine {
	t.Helper()
	eng, err := core.New(st, core.WithLogger(discard))
	if err != nil {
		t.Fatal(err)
	}
	return eng
}

// election is a shared fake elector: the lowest-numbered member still up
// leads.
type election struct {
	mu   sync.Mutex
	n    int
	down map[int]bool
}

var errNotLeader = errors.New("not the leader")

func newElection(n int) *election { return &election{n: n, down: map[int]bool{}} }

func (e *election) member(i int) scheduler.Elector { return member{e, i} }

func (e *election) stop(i int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.down[i] = true
}

type member struct {
	e *election
	i int
}

func (m member) IsLeader(context.Context) error {
	m.e.mu.Lock()
	defer m.e.mu.Unlock()
	for k := range m.e.n {
		if !m.e.down[k] {
			if k == m.i {
				return nil
			}
			break
		}
	}
	return errNotLeader
}

// runLog records which replica ran which job, and the report's windows.
type runLog struct {
	mu      sync.Mutex
	runs    map[scheduler.Job][]int
	windows [][2]time.Time
}

func (l *runLog) add(j scheduler.Job, replica int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.runs[j] = append(l.runs[j], replica)
}

func (l *runLog) count(j scheduler.Job) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.runs[j])
}

func (l *runLog) on(j scheduler.Job) []int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]int(nil), l.runs[j]...)
}

// replicaOptions are the options of replica i: every job on, the plugged-in
// ones recording their runs in l.
func replicaOptions(st core.Store, el *election, l *runLog, i int) []scheduler.Option {
	rec := func(j scheduler.Job) func(context.Context) error {
		return func(context.Context) error { l.add(j, i); return nil }
	}
	return []scheduler.Option{
		scheduler.WithLogger(discard), scheduler.WithStore(st), scheduler.WithElector(el.member(i)),
		scheduler.WithSweep(rec(scheduler.JobSweep)),
		scheduler.WithListSync(rec(scheduler.JobListSync)),
		scheduler.WithGeoIPRefresh(rec(scheduler.JobGeoIP)),
		scheduler.WithReport(func(_ context.Context, since, until time.Time) error {
			l.add(scheduler.JobReport, i)
			l.mu.Lock()
			l.windows = append(l.windows, [2]time.Time{since, until})
			l.mu.Unlock()
			return nil
		}),
		scheduler.WithSchedule(scheduler.JobListSync, 2*time.Hour),
		scheduler.WithSchedule(scheduler.JobGeoIP, 3*time.Hour),
	}
}

// stat returns the stats of job j of s.
func stat(t *testing.T, s *scheduler.Scheduler, j scheduler.Job) scheduler.JobStats {
	t.Helper()
	for _, st := range s.Stats() {
		if st.Job == j {
			return st
		}
	}
	t.Fatalf("no stats for job %s", j)
	return scheduler.JobStats{}
}

// Three replicas share one election: every job runs exactly once per tick,
// on the leader; when the leader stops, the next ticks run once each on
// the next replica.
func TestThreeReplicasRunEachTickOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := memstore.New()
		el := newElection(3)
		l := &runLog{runs: map[scheduler.Job][]int{}}
		var ss []*scheduler.Scheduler
		for i := range 3 {
			s, err := scheduler.New(newEngine(t, st), replicaOptions(st, el, l, i)...)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Start(context.Background()); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Shutdown(context.Background()) })
			ss = append(ss, s)
		}
		start := time.Now() // midnight, 2000-01-01 UTC: every schedule's epoch
		// want is how many ticks of each job fall in (start, now].
		want := func(now time.Time) map[scheduler.Job]int {
			d := now.Sub(start)
			w := map[scheduler.Job]int{
				scheduler.JobSweep: int(d / (5 * time.Minute)), scheduler.JobExpiry: int(d / time.Hour),
				scheduler.JobListSync: int(d / (2 * time.Hour)), scheduler.JobGeoIP: int(d / (3 * time.Hour)),
				scheduler.JobRetention: int(d / (24 * time.Hour)), scheduler.JobReport: 0,
			}
			if d >= 6*time.Hour {
				w[scheduler.JobReport] = 1 + int((d-6*time.Hour)/(24*time.Hour))
			}
			return w
		}
		ran := func(j scheduler.Job) int { // built-in jobs count in Stats only
			if j != scheduler.JobExpiry && j != scheduler.JobRetention {
				return l.count(j)
			}
			n := 0
			for _, s := range ss {
				n += int(stat(t, s, j).Runs)
			}
			return n
		}
		check := func(when string) {
			t.Helper()
			for j, n := range want(time.Now()) {
				if got := ran(j); got != n {
					t.Fatalf("%s (%v): %s ran %d times, want %d", when, time.Since(start), j, got, n)
				}
			}
		}
		// Tick by tick for a quarter of a day, checking a second after each.
		time.Sleep(time.Second)
		for range 6 * 12 {
			time.Sleep(5 * time.Minute)
			synctest.Wait()
			check("replica 0 leads")
		}
		for _, j := range []scheduler.Job{scheduler.JobSweep, scheduler.JobReport} {
			for _, r := range l.on(j) {
				if r != 0 {
					t.Fatalf("%s ran on replica %d while 0 led", j, r)
				}
			}
		}
		if n := stat(t, ss[1], scheduler.JobSweep).NotLeader; n != 72 {
			t.Fatalf("replica 1 skipped %d sweeps as not leader, want 72", n)
		}
		// The leader stops: its scheduler shuts down and it leaves the
		// election.
		if err := ss[0].Shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}
		el.stop(0)
		before := l.count(scheduler.JobSweep)
		time.Sleep(19 * time.Hour)
		synctest.Wait()
		check("replica 1 leads")
		if got := l.on(scheduler.JobSweep)[before:]; len(got) == 0 || got[0] != 1 || got[len(got)-1] != 1 {
			t.Fatalf("sweeps after the leader stopped ran on %v, want replica 1", got)
		}
		if n := stat(t, ss[1], scheduler.JobRetention).Runs; n != 1 {
			t.Fatalf("retention ran %d times on replica 1, want 1", n)
		}
		l.mu.Lock()
		w := l.windows[0]
		l.mu.Unlock()
		if day := time.Date(2000, 1, 1, 6, 0, 0, 0, time.UTC); !w[1].Equal(day) || !w[0].Equal(day.AddDate(0, 0, -1)) {
			t.Fatalf("report window %v, want the day up to %v", w, day)
		}
		for _, s := range ss[1:] {
			if err := s.Shutdown(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
	})
}

// syncBuffer is a log destination safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// A job that panics or fails is logged and counted; the scheduler and the
// job's next tick go on.
func TestPanicAndFailureAreCountedAndLogged(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var logs syncBuffer
		var mu sync.Mutex
		calls := 0
		sweep := func(context.Context) error {
			mu.Lock()
			calls++
			n := calls
			mu.Unlock()
			switch n {
			case 1:
				panic("sweep exploded")
			case 2:
				return errors.New("store down")
			}
			return nil
		}
		s, err := scheduler.New(newEngine(t, memstore.New()), scheduler.WithoutJob(scheduler.JobRetention),
			scheduler.WithSweep(sweep), scheduler.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Shutdown(context.Background()) })
		step := func() { time.Sleep(5 * time.Minute); synctest.Wait() }
		time.Sleep(time.Second) // a second after each tick
		step()
		got := stat(t, s, scheduler.JobSweep)
		if got.Runs != 1 || got.Failures != 1 || got.Panics != 1 || !strings.Contains(got.LastError, "sweep exploded") {
			t.Fatalf("after the panic: %+v", got)
		}
		if !strings.Contains(logs.String(), "job panicked") || !strings.Contains(logs.String(), "scheduler_test.go") {
			t.Fatalf("the panic was not logged with its stack:\n%s", logs.String())
		}
		step()
		got = stat(t, s, scheduler.JobSweep)
		if got.Runs != 2 || got.Failures != 2 || got.Panics != 1 || got.LastError != "store down" {
			t.Fatalf("after the failure: %+v", got)
		}
		if !strings.Contains(logs.String(), `msg="scheduler: job failed" job=sweep`) {
			t.Fatalf("the failure was not logged:\n%s", logs.String())
		}
		step()
		got = stat(t, s, scheduler.JobSweep)
		if got.Runs != 3 || got.Failures != 2 || got.LastError != "" || got.LastRun != time.Now().Truncate(5*time.Minute) {
			t.Fatalf("after a good run: %+v", got)
		}
		if err := s.Shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}
	})
}

// A run still going at the next tick makes that tick skip; Shutdown
// cancels the running job's context and waits for it.
func TestOverlapSkippedAndShutdownCancels(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		var sawCancel bool
		sweep := func(ctx context.Context) error {
			select {
			case <-release:
			case <-ctx.Done():
				sawCancel = true
			}
			return ctx.Err()
		}
		s, err := scheduler.New(newEngine(t, memstore.New()), scheduler.WithoutJob(scheduler.JobRetention),
			scheduler.WithSweep(sweep), scheduler.WithLogger(discard))
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Shutdown(context.Background()) })
		time.Sleep(10*time.Minute + time.Second) // two ticks; the first run is still going
		synctest.Wait()
		if got := stat(t, s, scheduler.JobSweep); got.Overlapped != 1 || got.Runs != 0 {
			t.Fatalf("stats %+v, want one overlapped tick and no finished run", got)
		}
		if err := s.Run(context.Background(), scheduler.JobSweep); !errors.Is(err, scheduler.ErrRunning) {
			t.Fatalf("Run while running: %v, want ErrRunning", err)
		}
		if err := s.Shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}
		if !sawCancel {
			t.Fatal("the running job's context was not cancelled by Shutdown")
		}
		if got := stat(t, s, scheduler.JobSweep); got.Runs != 1 || !strings.Contains(got.LastError, "canceled") {
			t.Fatalf("stats after Shutdown %+v", got)
		}
		close(release)
	})
}

func TestRunAndLifecycle(t *testing.T) {
	ctx := context.Background()
	ran := 0
	s, err := scheduler.New(newEngine(t, memstore.New()), scheduler.WithoutJob(scheduler.JobRetention),
		scheduler.WithGeoIPRefresh(func(context.Context) error { ran++; return nil }), scheduler.WithLogger(discard))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Run(ctx, scheduler.JobGeoIP); err != nil || ran != 1 {
		t.Fatalf("Run: %v, ran %d", err, ran)
	}
	if err := s.Run(ctx, scheduler.JobListSync); !errors.Is(err, scheduler.ErrJobOff) {
		t.Fatalf("Run of a job without a function: %v, want ErrJobOff", err)
	}
	if err := s.Run(ctx, scheduler.JobRetention); !errors.Is(err, scheduler.ErrJobOff) {
		t.Fatalf("Run of a job switched off: %v, want ErrJobOff", err)
	}
	var jobs []scheduler.Job
	for _, st := range s.Stats() {
		jobs = append(jobs, st.Job)
	}
	if len(jobs) != 3 || jobs[0] != scheduler.JobSweep || jobs[1] != scheduler.JobExpiry || jobs[2] != scheduler.JobGeoIP {
		t.Fatalf("jobs on: %v, want sweep, expiry and geoip", jobs)
	}
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Start(ctx); !errors.Is(err, scheduler.ErrState) {
		t.Fatalf("second Start: %v", err)
	}
	if err := s.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Shutdown(ctx); err != nil {
		t.Fatalf("second Shutdown: %v", err)
	}
	if err := s.Start(ctx); !errors.Is(err, scheduler.ErrState) {
		t.Fatalf("Start after Shutdown: %v", err)
	}
}

func TestNewRefusesBadOptions(t *testing.T) {
	st := memstore.New()
	eng := newEngine(t, st)
	ok := func(context.Context) error { return nil }
	for _, c := range []struct {
		name string
		opts []scheduler.Option
		want string
	}{
		{"nil_option", []scheduler.Option{nil}, "New: option 1 is nil"},
		{"retention_without_store", nil, "retention job needs WithStore"},
		{"nil_logger", []scheduler.Option{scheduler.WithLogger(nil)}, "WithLogger: nil logger"},
		{"nil_clock", []scheduler.Option{scheduler.WithClock(nil)}, "WithClock: nil clock"},
		{"nil_location", []scheduler.Option{scheduler.WithLocation(nil)}, "WithLocation: nil location"},
		{"report_at_24h", []scheduler.Option{scheduler.WithReportAt(24, 0)}, "WithReportAt: 24:00 is not a time of day"},
		{"report_at_minute_60", []scheduler.Option{scheduler.WithReportAt(6, 60)}, "06:60"},
		{"nil_elector", []scheduler.Option{scheduler.WithElector(nil)}, "WithElector: nil elector"},
		{"nil_store", []scheduler.Option{scheduler.WithStore(nil)}, "WithStore: nil store"},
		{"retention_an_hour", []scheduler.Option{scheduler.WithRetention(time.Hour)}, "WithRetention: 1h0m0s is shorter than a day"},
		{"batch_zero", []scheduler.Option{scheduler.WithRetentionBatch(0)}, "WithRetentionBatch: 0 is out of range"},
		{"batch_huge", []scheduler.Option{scheduler.WithRetentionBatch(1 << 20)}, "1048576 is out of range"},
		{"schedule_unknown_job", []scheduler.Option{scheduler.WithSchedule("backup", time.Hour)}, `unknown job "backup"`},
		{"schedule_report", []scheduler.Option{scheduler.WithSchedule(scheduler.JobReport, time.Hour)}, "use WithReportAt"},
		{"schedule_every_second", []scheduler.Option{scheduler.WithSchedule(scheduler.JobSweep, time.Second)}, "sweep: 1s is out of range"},
		{"without_unknown_job", []scheduler.Option{scheduler.WithoutJob("backup")}, `WithoutJob: unknown job "backup"`},
		{"nil_sweep", []scheduler.Option{scheduler.WithSweep(nil)}, "WithSweep: nil function"},
		{"nil_list_sync", []scheduler.Option{scheduler.WithListSync(nil)}, "WithListSync: nil function"},
		{"nil_syncer", []scheduler.Option{scheduler.WithSyncer(nil)}, "WithSyncer: nil syncer"},
		{"nil_geoip", []scheduler.Option{scheduler.WithGeoIPRefresh(nil)}, "WithGeoIPRefresh: nil function"},
		{"nil_report", []scheduler.Option{scheduler.WithReport(nil)}, "WithReport: nil function"},
		{"list_sync_twice", []scheduler.Option{scheduler.WithListSync(ok), scheduler.WithSyncer(newSyncer(t, st))}, "WithListSync and WithSyncer"},
	} {
		t.Run(c.name, func(t *testing.T) {
			opts := c.opts
			if c.name != "retention_without_store" {
				opts = append([]scheduler.Option{scheduler.WithStore(st)}, opts...)
			}
			_, err := scheduler.New(eng, opts...)
			if !errors.Is(err, scheduler.ErrInvalidOption) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err %v, want ErrInvalidOption naming %q", err, c.want)
			}
			if !strings.HasPrefix(err.Error(), "scheduler: ") {
				t.Fatalf("err %q does not start with the package", err)
			}
		})
	}
	if _, err := scheduler.New(nil); err == nil {
		t.Fatal("New(nil) succeeded")
	}
}
