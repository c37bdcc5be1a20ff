package core

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// A successful login waits for its history at most the history wait
// (LoginMonitor.wait), read and write together. The read of the user's
// LoginTraits ends with it (traits below); the LoginRecord goes to the
// history writer, a bounded queue stored by a few workers that Start starts
// and Close drains, and the login waits for its store only while the wait
// lasts: with a store that answers, the row is there when the login returns.

const (
	// defaultHistoryWait is the default of WithLoginHistoryWait.
	defaultHistoryWait = 300 * time.Millisecond
	// maxTraitReads bounds the traits reads in flight: a store that ignores
	// its context keeps at most this many goroutines.
	maxTraitReads = 64
	// loginQueue is the capacity of the login record queue.
	loginQueue = 4096
	// loginWorkers is how many records are stored at once.
	loginWorkers = 4
	// loginWriteTimeout bounds one AppendLogin of a worker.
	loginWriteTimeout = 10 * time.Second
)

var errTraitsBusy = errors.New("core: login history: too many reads in flight")

// WithLoginHistoryWait sets how long a login may wait to read and store its
// history (default 300 ms): see LoginMonitor.
func WithLoginHistoryWait(d time.Duration) Option {
	return func(cfg *config) error {
		if d < time.Millisecond || d > 10*time.Second {
			return fmt.Errorf("WithLoginHistoryWait: %s out of range 1ms..10s", d)
		}
		cfg.login.historyWait = d
		return nil
	}
}

// newLoginMonitor builds the monitor of c over d; it starts nothing.
func newLoginMonitor(d *loginDeps, c *loginConfig) *LoginMonitor {
	wait := c.historyWait
	if wait == 0 {
		wait = defaultHistoryWait
	}
	return &LoginMonitor{d: d, hook: c.hook, newDevice: !c.noNewDevice, wait: wait,
		reads: make(chan struct{}, maxTraitReads), hist: newHistoryWriter(d.store, d.log, loginQueue)}
}

// traits reads the user's login summary within ctx, merged with the user's
// records still queued. The read runs in a goroutine of its own so that a
// store which ignores its context cannot hold the login.
func (m *LoginMonitor) traits(ctx context.Context, userID string, now time.Time) (LoginTraits, error) {
	select {
	case m.reads <- struct{}{}:
	default:
		return LoginTraits{}, errTraitsBusy
	}
	queued := m.hist.queued(userID) // before the read: a record stored meanwhile is in one or the other
	since := now.Add(-24 * time.Hour)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // the read ends with the login's wait
	type result struct {
		tr  LoginTraits
		err error
	}
	done := make(chan result, 1)
	go func() {
		defer func() { <-m.reads }()
		tr, err := m.d.store.LoginTraits(ctx, userID, loginTraitsRecent, since)
		done <- result{tr, err}
	}()
	select {
	case r := <-done:
		if r.err == nil {
			mergeQueued(&r.tr, queued, since)
		}
		return r.tr, r.err
	case <-ctx.Done():
		return LoginTraits{}, fmt.Errorf("core: login history read: %w", context.Cause(ctx))
	}
}

// mergeQueued adds to tr the records not stored yet.
func mergeQueued(tr *LoginTraits, recs []LoginRecord, since time.Time) {
	add := func(list *[]string, v string) {
		if v != "" && !slices.Contains(*list, v) {
			*list = append(*list, v)
		}
	}
	for _, r := range recs {
		tr.Logins++
		add(&tr.Countries, r.CountryCode)
		add(&tr.IPs, r.IP)
		add(&tr.Devices, r.DeviceFamily())
		if !r.CreatedAt.Before(since) {
			add(&tr.CountriesSince, r.CountryCode)
		}
	}
}

// historyWriter stores login records off the request path. enqueue never
// blocks: when the queue is full, or after close, the record is dropped and
// counted. Records queued and not yet stored are kept by user, so that the
// user's next login is compared with them too.
type historyWriter struct {
	store interface {
		AppendLogin(ctx context.Context, r LoginRecord) (LoginRecord, error)
	}
	log *slog.Logger
	ch  chan queuedLogin

	mu      sync.Mutex
	pending map[string][]queuedLogin // by user ID: queued or being stored
	n       int                      // records in pending
	seq     uint64
	idle    chan struct{} // closed while n == 0
	closed  bool

	base    context.Context // the workers' store calls; cancelled when Close's context ends
	cancel  context.CancelFunc
	closing chan struct{}

	written, dropped, failed atomic.Int64
}

type queuedLogin struct {
	seq  uint64
	rec  LoginRecord
	done chan struct{} // closed once stored or dropped
}

func newHistoryWriter(store interface {
	AppendLogin(context.Context, LoginRecord) (LoginRecord, error)
}, log *slog.Logger, size int) *historyWriter {
	idle := make(chan struct{})
	close(idle)
	base, cancel := context.WithCancel(context.Background())
	return &historyWriter{store: store, log: log, ch: make(chan queuedLogin, size), pending: map[string][]queuedLogin{},
		idle: idle, base: base, cancel: cancel, closing: make(chan struct{})}
}

// put queues r and, when wait, waits until it is stored or ctx ends: with a
// store that answers, the record is there when the login returns.
func (w *historyWriter) put(ctx context.Context, r LoginRecord, wait bool) {
	if done := w.enqueue(r); done != nil && wait {
		select {
		case <-done:
		case <-ctx.Done():
		}
	}
}

// enqueue queues r; it returns nil when r is dropped, else a channel closed
// once r is stored or dropped.
func (w *historyWriter) enqueue(r LoginRecord) chan struct{} {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		w.drop(r, "the engine is closed")
		return nil
	}
	w.seq++
	q := queuedLogin{w.seq, r, make(chan struct{})}
	select {
	case w.ch <- q:
	default:
		w.drop(r, "the login record queue is full")
		return nil
	}
	w.pending[r.UserID] = append(w.pending[r.UserID], q)
	if w.n++; w.n == 1 {
		w.idle = make(chan struct{})
	}
	return q.done
}

// drop counts a record not stored; it logs the first and every 1000th.
func (w *historyWriter) drop(r LoginRecord, why string) {
	if n := w.dropped.Add(1); n == 1 || n%1000 == 0 {
		w.log.Warn("warden: login record dropped: "+why, "user_id", r.UserID, "dropped_total", n)
	}
}

// queued returns the user's records not stored yet, at most the newest
// loginTraitsRecent.
func (w *historyWriter) queued(userID string) []LoginRecord {
	w.mu.Lock()
	defer w.mu.Unlock()
	qs := w.pending[userID]
	qs = qs[max(0, len(qs)-loginTraitsRecent):]
	out := make([]LoginRecord, len(qs))
	for i, q := range qs {
		out[i] = q.rec
	}
	return out
}

// done forgets a record once stored or dropped.
func (w *historyWriter) done(q queuedLogin) {
	close(q.done)
	w.mu.Lock()
	defer w.mu.Unlock()
	u := q.rec.UserID
	w.pending[u] = slices.DeleteFunc(w.pending[u], func(p queuedLogin) bool { return p.seq == q.seq })
	if len(w.pending[u]) == 0 {
		delete(w.pending, u)
	}
	if w.n--; w.n == 0 {
		close(w.idle)
	}
}

// run is one worker: it stores records until close, then drains the queue
// within Close's context.
func (w *historyWriter) run() {
	for {
		select {
		case q := <-w.ch:
			w.store1(q)
		case <-w.closing:
			for {
				select {
				case q := <-w.ch:
					w.store1(q)
				default:
					return
				}
			}
		}
	}
}

func (w *historyWriter) store1(q queuedLogin) {
	defer w.done(q)
	if w.base.Err() != nil {
		w.drop(q.rec, "not stored before Close's deadline")
		return
	}
	ctx, cancel := context.WithTimeout(w.base, loginWriteTimeout)
	defer cancel()
	if _, err := w.store.AppendLogin(ctx, q.rec); err != nil {
		w.failed.Add(1)
		w.drop(q.rec, "the store refused it: "+err.Error())
		return
	}
	w.written.Add(1)
}

// close refuses further records and tells the workers to store what is
// queued, within ctx; it does not wait (Close waits for the workers).
func (w *historyWriter) close(ctx context.Context) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return
	}
	w.closed = true
	context.AfterFunc(ctx, w.cancel)
	close(w.closing)
}

// wait returns once no record is queued or being stored, or ctx ends.
func (w *historyWriter) wait(ctx context.Context) {
	w.mu.Lock()
	idle := w.idle
	w.mu.Unlock()
	select {
	case <-idle:
	case <-ctx.Done():
	}
}

// startLoginHistory starts the history writer's workers (called by Start;
// Close waits for them through e.wg).
func (e *Engine) startLoginHistory() {
	h := e.lockout.monitor.hist
	e.wg.Add(loginWorkers)
	for range loginWorkers {
		go func() { defer e.wg.Done(); h.run() }()
	}
}
