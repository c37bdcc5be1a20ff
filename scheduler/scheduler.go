package scheduler

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"

	"github.com/go-co-op/gocron/v2"

	"github.com/wardenkit/warden/core"
)

// Elector decides which replica runs the jobs: IsLeader returns nil when
// this replica leads and an error when it does not. It has the shape of
// gocron's Elector and uses standard types only, so that implementations
// (redisstore.Elector) need not import gocron. It is asked at every tick
// and must answer quickly; it must be safe for concurrent use.
type Elector interface {
	IsLeader(ctx context.Context) error
}

// Scheduler runs warden's periodic jobs in process on gocron. Create it with
// New, Start it after the engine, and Shutdown it before the engine's Close.
// It is safe for concurrent use.
type Scheduler struct {
	eng  *core.Engine
	cfg  config
	jobs []*job // the jobs that are on, in allJobs order

	mu    sync.Mutex
	state int // 0 new, 1 started, 2 shut down
	gs    gocron.Scheduler
}

// New returns a scheduler of eng's jobs. It does no I/O and starts no
// goroutine. The built-in jobs (sweep, expiry, retention) are on unless
// switched off with WithoutJob; retention needs WithStore, and New refuses to leave it
// on without one. The other jobs run only when given their function.
func New(eng *core.Engine, opts ...Option) (*Scheduler, error) {
	if eng == nil {
		return nil, errors.New("scheduler: New: nil engine")
	}
	s := &Scheduler{eng: eng, cfg: defaultConfig()}
	for i, o := range opts {
		if o == nil {
			return nil, invalid("New: option %d is nil", i)
		}
		if err := o(&s.cfg); err != nil {
			return nil, err
		}
	}
	c := &s.cfg
	if c.store == nil && !c.off[JobRetention] {
		return nil, invalid("New: the retention job needs WithStore (or WithoutJob(JobRetention))")
	}
	if c.syncer != nil {
		if c.listSync != nil {
			return nil, invalid("New: WithListSync and WithSyncer both set the list sync")
		}
		c.listSync = s.syncLists
	}
	if c.sweep == nil {
		c.sweep = s.sweep
	}
	runs := map[Job]func(context.Context) error{
		JobSweep: c.sweep, JobExpiry: s.expire, JobListSync: c.listSync, JobGeoIP: c.geoIP,
		JobRetention: s.retain,
	}
	if c.report != nil {
		runs[JobReport] = s.report
	}
	for _, name := range allJobs {
		if runs[name] == nil || c.off[name] {
			continue
		}
		every := defaultEvery[name]
		if d, ok := c.every[name]; ok {
			every = d
		}
		s.jobs = append(s.jobs, &job{name: name, every: every, run: runs[name]})
	}
	return s, nil
}

// job returns the job named n when it is on.
func (s *Scheduler) job(n Job) *job {
	for _, j := range s.jobs {
		if j.name == n {
			return j
		}
	}
	return nil
}

// Start schedules the jobs that are on and starts gocron. Jobs run with
// contexts carrying ctx's values, cancelled by Shutdown. Interval jobs
// first run at the next multiple of their interval (see WithSchedule); the
// report at the next WithReportAt.
func (s *Scheduler) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state != 0 {
		return fmt.Errorf("scheduler: Start: already started or shut down: %w", ErrState)
	}
	opts := []gocron.SchedulerOption{
		gocron.WithClock(s.cfg.clock), gocron.WithLocation(s.cfg.loc),
		gocron.WithLogger(gocronLogger{s}), gocron.WithMonitor(monitor{s}),
	}
	if s.cfg.elector != nil {
		opts = append(opts, gocron.WithDistributedElector(s.cfg.elector))
	}
	gs, err := gocron.NewScheduler(opts...)
	if err != nil {
		return fmt.Errorf("scheduler: Start: %w", err)
	}
	base := context.WithoutCancel(ctx)
	now := s.cfg.clock.Now()
	for _, j := range s.jobs {
		def := gocron.DailyJob(1, gocron.NewAtTimes(gocron.NewAtTime(uint(s.cfg.reportHour), uint(s.cfg.reportMinute), 0)))
		jopts := []gocron.JobOption{gocron.WithName(string(j.name)), gocron.WithContext(base)}
		if j.every > 0 {
			def = gocron.DurationJob(j.every)
			// The next multiple of the interval; should the clock pass it
			// before gocron starts, gocron moves on to the one after.
			first := now.Truncate(j.every).Add(j.every)
			jopts = append(jopts, gocron.WithStartAt(gocron.WithStartDateTimePast(first)))
		}
		task := gocron.NewTask(func(ctx context.Context) { _ = s.exec(ctx, j) })
		if _, err := gs.NewJob(def, task, jopts...); err != nil {
			_ = gs.Shutdown()
			return fmt.Errorf("scheduler: Start: job %s: %w", j.name, err)
		}
	}
	gs.Start()
	s.gs, s.state = gs, 1
	names := make([]string, len(s.jobs))
	for i, j := range s.jobs {
		names[i] = string(j.name) + " (" + j.schedule(&s.cfg) + ")"
	}
	s.cfg.logger.Info("scheduler: started", "jobs", names, "elector", s.cfg.elector != nil)
	return nil
}

// Shutdown stops scheduling, cancels the context of running jobs and waits
// for them to return, bounded by ctx. After Shutdown the scheduler cannot
// be started again. Shutting down a scheduler never started is allowed.
func (s *Scheduler) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	gs := s.gs
	s.gs, s.state = nil, 2
	s.mu.Unlock()
	if gs == nil {
		return nil
	}
	if err := gs.ShutdownWithContext(ctx); err != nil {
		return fmt.Errorf("scheduler: Shutdown: %w", err)
	}
	return nil
}

// Run runs one job now on this replica, whatever the Elector says, and
// returns its error; the run is logged and counted like a scheduled one.
// It returns ErrRunning when the job is running already, and an error
// wrapping ErrJobOff for a job that is off.
func (s *Scheduler) Run(ctx context.Context, j Job) error {
	jb := s.job(j)
	if jb == nil {
		return fmt.Errorf("scheduler: Run: %q: %w", j, ErrJobOff)
	}
	return s.exec(ctx, jb)
}

// Stats reports the counters of every job that is on, in the order of the
// Job constants.
func (s *Scheduler) Stats() []JobStats {
	out := make([]JobStats, len(s.jobs))
	for i, j := range s.jobs {
		out[i] = j.st.stats(j.name, j.schedule(&s.cfg))
	}
	return out
}

// exec runs j once unless it is running already: it recovers a panic, then
// logs and counts the result.
func (s *Scheduler) exec(ctx context.Context, j *job) error {
	log := s.cfg.logger.With("job", string(j.name))
	if !j.st.busy.CompareAndSwap(false, true) {
		j.st.overlapped.Add(1)
		log.Warn("scheduler: previous run still going; tick skipped")
		return ErrRunning
	}
	defer j.st.busy.Store(false)
	start := s.cfg.clock.Now()
	err := protect(ctx, j.run)
	took := s.cfg.clock.Since(start)
	j.st.record(start, took, err)
	var pe *panicError
	switch {
	case errors.As(err, &pe):
		log.Error("scheduler: job panicked", "took", took, "panic", fmt.Sprint(pe.value), "stack", string(pe.stack))
	case err != nil:
		log.Error("scheduler: job failed", "took", took, "err", err)
	default:
		log.Info("scheduler: job done", "took", took)
	}
	return err
}

// protect calls f, turning a panic into a *panicError.
func protect(ctx context.Context, f func(context.Context) error) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = &panicError{value: v, stack: debug.Stack()}
		}
	}()
	return f(ctx)
}
