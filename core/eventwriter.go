package core

import (
	"context"
	"log/slog"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// writerStore is the part of the Store the event writer uses.
type writerStore interface {
	EventStore
	HitCounter
	Versioner
	AppendLockout(ctx context.Context, r LockoutRecord) (LockoutRecord, error)
}

// writerConfig is what the event writer is built from.
type writerConfig struct {
	store      writerStore
	log        *slog.Logger
	queueSize  int
	batchSize  int
	flush      time.Duration // flush interval and coalescing window
	ipv6Prefix int
	foldAfter  int         // distinct events per source and second before denials fold
	observe    func(Event) // sees every event enqueued, before any drop (the AutoBlocker)
}

// eventWriter is the one background writer: it queues events and lockout
// records in bounded channels and stores them from one goroutine. A request
// never waits for it: when a queue is full the item is dropped and counted.
//
// Critical events (LOCKOUT, SUSPICIOUS_LOGIN, FAIL_POLICY, ADMIN_ACTION,
// AUTO_BLOCK_*) have a queue of their own, so a flood of denials can never
// take their room. Identical events (same action, client IP or IPv6 prefix,
// rule and path) within one flush interval are stored once with a count;
// past foldAfter distinct events from one source in one second (by the
// engine's clock), that source's further denials fold into one row per
// action and second, with a count and sample paths. A batch the store
// refuses is bisected so one bad row cannot lose the others; when the store
// is down, batches are kept (up to the queue size) and retried.
type eventWriter struct {
	cfg  writerConfig
	ch   chan Event
	crit chan Event // reserved room for critical events
	recs chan LockoutRecord
	sync chan chan struct{} // Unlock asks for queued lockout records to be stored

	closing chan struct{}
	closeMu sync.Once
	flushed chan struct{}
	drainBy atomic.Pointer[context.Context]

	written, coalesced, dropped, rejected atomic.Int64
	folded, criticalDropped               atomic.Int64
	held                                  atomic.Int64 // waiting in the writer (coalesced or retry)
	recordsWritten, recordsDropped        atomic.Int64

	hits sync.Map // hitKey -> *atomic.Int64; no lock on the deny path
}

// lockoutQueue is the capacity of the lockout record queue.
const lockoutQueue = 1024

func newEventWriter(cfg writerConfig) *eventWriter {
	if cfg.foldAfter == 0 {
		cfg.foldAfter = defaultFoldAfter
	}
	return &eventWriter{cfg: cfg, ch: make(chan Event, cfg.queueSize), crit: make(chan Event, max(64, cfg.queueSize/10)),
		recs: make(chan LockoutRecord, lockoutQueue), sync: make(chan chan struct{}),
		closing: make(chan struct{}), flushed: make(chan struct{})}
}

// defaultFoldAfter is how many distinct events one source may add per second
// before its denials fold.
const defaultFoldAfter = 10

// critical reports whether events of action a are kept whatever else floods
// the queue.
func critical(a Action) bool {
	switch a {
	case ActionLockout, ActionSuspiciousLogin, ActionFailPolicy, ActionAdmin, ActionAutoBlockIP, ActionAutoBlockCountry:
		return true
	}
	return false
}

func (w *eventWriter) enqueue(ev Event) bool {
	select {
	case <-w.closing:
		w.dropped.Add(1)
		return false
	default:
	}
	ev = ev.Clean()
	if w.cfg.observe != nil {
		w.cfg.observe(ev)
	}
	if critical(ev.Action) {
		select {
		case w.crit <- ev:
			return true
		default:
			w.criticalDropped.Add(1)
		}
	}
	select {
	case w.ch <- ev:
		return true
	default:
		w.dropped.Add(1)
		return false
	}
}

// enqueueLockout queues a lockout record; it never blocks.
func (w *eventWriter) enqueueLockout(r LockoutRecord) bool {
	select {
	case <-w.closing:
		w.recordsDropped.Add(1)
		return false
	default:
	}
	select {
	case w.recs <- r:
		return true
	default:
		w.recordsDropped.Add(1)
		w.cfg.log.Warn("warden: lockout record dropped: the record queue is full", "username", r.Username, "ip", r.IP)
		return false
	}
}

type hitKey struct {
	kind HitKind
	id   int64
}

// countHit adds one to a rule's hit counter; the writer flushes the sums.
// After a rule's first hit it is one atomic add: a flood of denials does not
// queue on a lock.
func (w *eventWriter) countHit(kind HitKind, id int64) {
	k := hitKey{kind, id}
	v, ok := w.hits.Load(k)
	if !ok {
		v, _ = w.hits.LoadOrStore(k, new(atomic.Int64))
	}
	v.(*atomic.Int64).Add(1)
}

type coalesceKey struct {
	action  Action
	ip      string
	rule    int64
	path    string
	email   string // the address of an e-mail or login event
	window  int64  // the second of a folded row; 0 otherwise
	details string // ADMIN_ACTION only: two different changes are two rows
}

func (w *eventWriter) key(ev Event) coalesceKey {
	ip := ev.IP
	if a, err := netip.ParseAddr(ip); err == nil {
		ip = groupIP(a, w.cfg.ipv6Prefix)
	}
	k := coalesceKey{action: ev.Action, ip: ip, rule: ev.RuleID, path: ev.Path, email: ev.UserEmail}
	if ev.Action == ActionAdmin {
		k.details = ev.Details
	}
	return k
}

func (w *eventWriter) close(ctx context.Context) {
	w.closeMu.Do(func() {
		w.drainBy.Store(&ctx)
		close(w.closing)
	})
	select {
	case <-w.flushed:
	case <-ctx.Done():
	}
}

func (w *eventWriter) run(ctx context.Context) {
	defer close(w.flushed)
	b := newBatcher(w)
	tick := time.NewTicker(w.cfg.flush)
	defer tick.Stop()
	for {
		select {
		case ev := <-w.crit:
			b.add(ev)
			if len(b.pending) >= w.cfg.batchSize {
				b.flush(ctx)
			}
		case ev := <-w.ch:
			b.add(ev)
			if len(b.pending) >= w.cfg.batchSize {
				b.flush(ctx)
			}
		case done := <-w.sync:
			w.storeQueuedRecords(ctx)
			close(done)
		case r := <-w.recs:
			rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			w.storeRecord(rctx, r)
			cancel()
		case <-tick.C:
			b.flush(ctx)
		case <-w.closing:
			w.drain(b)
			return
		}
	}
}

// drain stores what is queued, within the deadline Close was given.
func (w *eventWriter) drain(b *batcher) {
	dctx := *w.drainBy.Load() // Close's context: its deadline and its cancellation end the drain
	for {
		select {
		case ev := <-w.crit:
			b.add(ev)
			continue
		case ev := <-w.ch:
			b.add(ev)
			continue
		case r := <-w.recs:
			w.storeRecord(dctx, r)
			continue
		default:
		}
		break
	}
	b.flush(dctx)
	if len(b.retry) > 0 || len(w.ch) > 0 {
		w.dropped.Add(int64(len(b.retry) + len(w.ch)))
		w.held.Add(-int64(len(b.retry)))
	}
}

// recordCounts reports the lockout records stored and lost.
func (w *eventWriter) recordCounts() (written, dropped int64) {
	return w.recordsWritten.Load(), w.recordsDropped.Load()
}

// unwritten is how many events were accepted and are not stored yet.
func (w *eventWriter) unwritten() int64 {
	return int64(len(w.ch)+len(w.crit)) + w.held.Load()
}

// storeQueuedRecords stores the lockout records queued so far.
func (w *eventWriter) storeQueuedRecords(ctx context.Context) {
	for {
		select {
		case r := <-w.recs:
			rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			w.storeRecord(rctx, r)
			cancel()
		default:
			return
		}
	}
}

// syncRecords returns once the lockout records queued before the call are
// stored (or ctx ends). Without a running writer it stores them itself.
func (w *eventWriter) syncRecords(ctx context.Context, running bool) {
	if !running {
		w.storeQueuedRecords(ctx)
		return
	}
	done := make(chan struct{})
	select {
	case w.sync <- done:
	case <-w.flushed:
		return
	case <-ctx.Done():
		return
	}
	select {
	case <-done:
	case <-ctx.Done():
	}
}

func (w *eventWriter) storeRecord(ctx context.Context, r LockoutRecord) {
	if _, err := w.cfg.store.AppendLockout(ctx, r); err != nil {
		w.recordsDropped.Add(1)
		w.cfg.log.Warn("warden: lockout record not stored", "username", r.Username, "ip", r.IP, "error", err)
		return
	}
	w.recordsWritten.Add(1)
}

func (w *eventWriter) stats(st *Stats) {
	st.EventsQueued = w.unwritten()
	st.EventsWritten = w.written.Load()
	st.EventsCoalesced = w.coalesced.Load()
	st.EventsDropped = w.dropped.Load()
	st.EventsRejected = w.rejected.Load()
	st.EventsFolded = w.folded.Load()
	st.CriticalOverflow = w.criticalDropped.Load()
}
