package scheduler

import (
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-co-op/gocron/v2"
	"github.com/google/uuid"
)

// JobStats are one job's counters since New, on this replica.
type JobStats struct {
	Job      Job    `json:"job"`
	Schedule string `json:"schedule"` // "every 5m0s", "daily at 06:00 UTC"
	// Runs counts finished runs, failed or not; Failures those that
	// returned an error or panicked; Panics those that panicked.
	Runs     int64 `json:"runs"`
	Failures int64 `json:"failures"`
	Panics   int64 `json:"panics"`
	// NotLeader counts ticks skipped because another replica leads
	// (WithElector); Overlapped those skipped because the job's previous
	// run had not finished.
	NotLeader    int64         `json:"not_leader"`
	Overlapped   int64         `json:"overlapped"`
	LastRun      time.Time     `json:"last_run,omitzero"` // when the last run started
	LastDuration time.Duration `json:"last_duration"`
	LastError    string        `json:"last_error,omitempty"` // of the last run; "" when it succeeded
}

// jobState holds a job's counters and its running flag.
type jobState struct {
	busy       atomic.Bool
	notLeader  atomic.Int64
	overlapped atomic.Int64

	mu                     sync.Mutex
	runs, failures, panics int64
	lastRun                time.Time
	lastDuration           time.Duration
	lastErr                string
}

func (st *jobState) record(start time.Time, took time.Duration, err error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.runs++
	st.lastRun, st.lastDuration, st.lastErr = start, took, ""
	if err != nil {
		st.failures++
		st.lastErr = err.Error()
		if errors.Is(err, ErrPanic) {
			st.panics++
		}
	}
}

func (st *jobState) stats(j Job, schedule string) JobStats {
	st.mu.Lock()
	defer st.mu.Unlock()
	return JobStats{
		Job: j, Schedule: schedule,
		Runs: st.runs, Failures: st.failures, Panics: st.panics,
		NotLeader: st.notLeader.Load(), Overlapped: st.overlapped.Load(),
		LastRun: st.lastRun, LastDuration: st.lastDuration, LastError: st.lastErr,
	}
}

// monitor counts the ticks gocron skipped because the Elector said this
// replica does not lead; the runs themselves are counted by Scheduler.exec.
type monitor struct{ s *Scheduler }

func (m monitor) IncrementJob(_ uuid.UUID, name string, _ []string, status gocron.JobStatus) {
	if status != gocron.Skip {
		return
	}
	if j := m.s.job(Job(name)); j != nil {
		j.st.notLeader.Add(1)
		m.s.cfg.logger.Debug("scheduler: not the leader; tick skipped", "job", name)
	}
}

func (monitor) RecordJobTiming(time.Time, time.Time, uuid.UUID, string, []string) {}

// gocronLogger passes gocron's warnings and errors to the scheduler's
// logger and drops its chatter.
type gocronLogger struct{ s *Scheduler }

func (gocronLogger) Debug(string, ...any)            {}
func (gocronLogger) Info(string, ...any)             {}
func (l gocronLogger) Warn(msg string, args ...any)  { l.s.cfg.logger.Warn(msg, args...) }
func (l gocronLogger) Error(msg string, args ...any) { l.s.cfg.logger.Error(msg, args...) }
