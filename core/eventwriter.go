package core

import (
	"context"
	"errors"
	"log/slog"
	"net/netip"
	"slices"
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
}

// eventWriter is the one background writer: it queues events and lockout
// records in bounded channels and stores them from one goroutine. A request
// never waits for it: when a queue is full the item is dropped and counted.
// Identical events (same action, client IP or IPv6 prefix, rule and path)
// within one flush interval are stored once with a count. A batch the store
// refuses is bisected so one bad row cannot lose the others; when the store
// is down, batches are kept (up to the queue size) and retried.
type eventWriter struct {
	cfg  writerConfig
	ch   chan Event
	recs chan LockoutRecord

	closing chan struct{}
	closeMu sync.Once
	flushed chan struct{}
	drainBy atomic.Pointer[context.Context]

	written, coalesced, dropped, rejected atomic.Int64
	held                                  atomic.Int64 // waiting in the writer (coalesced or retry)
	recordsWritten, recordsDropped        atomic.Int64

	hits sync.Map // hitKey -> *atomic.Int64; no lock on the deny path
}

// lockoutQueue is the capacity of the lockout record queue.
const lockoutQueue = 1024

func newEventWriter(cfg writerConfig) *eventWriter {
	return &eventWriter{cfg: cfg, ch: make(chan Event, cfg.queueSize), recs: make(chan LockoutRecord, lockoutQueue),
		closing: make(chan struct{}), flushed: make(chan struct{})}
}

func (w *eventWriter) enqueue(ev Event) bool {
	select {
	case <-w.closing:
		w.dropped.Add(1)
		return false
	default:
	}
	select {
	case w.ch <- ev.Clean():
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
	action Action
	ip     string
	rule   int64
	path   string
}

func (w *eventWriter) key(ev Event) coalesceKey {
	ip := ev.IP
	if a, err := netip.ParseAddr(ip); err == nil {
		ip = groupIP(a, w.cfg.ipv6Prefix)
	}
	return coalesceKey{ev.Action, ip, ev.RuleID, ev.Path}
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

// batcher is the writer goroutine's state: events waiting to be coalesced
// and stored, and batches to retry.
type batcher struct {
	w       *eventWriter
	pending map[coalesceKey]*Event
	retry   []Event
}

func (b *batcher) add(ev Event) {
	k := b.w.key(ev)
	if p, ok := b.pending[k]; ok {
		p.Count += ev.Count
		b.w.coalesced.Add(1)
		return
	}
	b.w.held.Add(1)
	b.pending[k] = &ev
}

func (b *batcher) flush(ctx context.Context) {
	batch := b.retry
	b.retry = nil
	for _, p := range b.pending {
		batch = append(batch, *p)
	}
	clear(b.pending)
	slices.SortFunc(batch, func(x, y Event) int { return x.CreatedAt.Compare(y.CreatedAt) })
	b.retry = b.w.store(ctx, batch)
	b.w.flushHits(ctx)
}

func (w *eventWriter) run(ctx context.Context) {
	defer close(w.flushed)
	b := &batcher{w: w, pending: map[coalesceKey]*Event{}}
	tick := time.NewTicker(w.cfg.flush)
	defer tick.Stop()
	for {
		select {
		case ev := <-w.ch:
			b.add(ev)
			if len(b.pending) >= w.cfg.batchSize {
				b.flush(ctx)
			}
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
	dctx := context.WithoutCancel(*w.drainBy.Load())
	if d, ok := (*w.drainBy.Load()).Deadline(); ok {
		var cancel context.CancelFunc
		dctx, cancel = context.WithDeadline(dctx, d)
		defer cancel()
	}
	for {
		select {
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

func (w *eventWriter) storeRecord(ctx context.Context, r LockoutRecord) {
	if _, err := w.cfg.store.AppendLockout(ctx, r); err != nil {
		w.recordsDropped.Add(1)
		w.cfg.log.Warn("warden: lockout record not stored", "username", r.Username, "ip", r.IP, "error", err)
		return
	}
	w.recordsWritten.Add(1)
}

// store writes batch in chunks and returns what must be retried (store down).
func (w *eventWriter) store(ctx context.Context, batch []Event) []Event {
	var retry []Event
	for len(batch) > 0 {
		n := min(len(batch), w.cfg.batchSize)
		chunk := batch[:n]
		batch = batch[n:]
		err := w.cfg.store.AppendEvents(ctx, chunk)
		if err == nil {
			w.done(chunk)
			continue
		}
		if _, verr := w.cfg.store.Version(ctx); verr != nil || ctx.Err() != nil {
			// The store is unreachable: keep everything for the next flush.
			retry = append(retry, chunk...)
			retry = append(retry, batch...)
			break
		}
		w.bisect(ctx, chunk)
	}
	if over := len(retry) - w.cfg.queueSize; over > 0 { // bounded: drop the oldest
		w.dropped.Add(int64(over))
		w.held.Add(-int64(over))
		retry = slices.Clone(retry[over:])
	}
	return retry
}

// bisect stores the rows of a refused batch that the store accepts.
func (w *eventWriter) bisect(ctx context.Context, chunk []Event) {
	if len(chunk) == 1 {
		w.rejected.Add(1)
		w.held.Add(-1)
		w.cfg.log.Warn("warden: event refused by the store", "action", chunk[0].Action, "ip", chunk[0].IP)
		return
	}
	for _, half := range [][]Event{chunk[:len(chunk)/2], chunk[len(chunk)/2:]} {
		if err := w.cfg.store.AppendEvents(ctx, half); err == nil {
			w.done(half)
		} else {
			w.bisect(ctx, half)
		}
	}
}

func (w *eventWriter) done(rows []Event) {
	w.written.Add(int64(len(rows)))
	w.held.Add(-int64(len(rows)))
}

func (w *eventWriter) flushHits(ctx context.Context) {
	all := map[HitKind]map[int64]int64{}
	w.hits.Range(func(k, v any) bool {
		if n := v.(*atomic.Int64).Swap(0); n != 0 {
			hk := k.(hitKey)
			if all[hk.kind] == nil {
				all[hk.kind] = map[int64]int64{}
			}
			all[hk.kind][hk.id] = n
		}
		return true
	})
	for kind, hits := range all {
		if err := w.cfg.store.AddHits(ctx, kind, hits); err != nil {
			if !errors.Is(err, context.Canceled) {
				w.cfg.log.Warn("warden: hit counts not stored; kept for the next flush", "kind", kind, "error", err)
			}
			for id, n := range hits { // put them back
				v, _ := w.hits.LoadOrStore(hitKey{kind, id}, new(atomic.Int64))
				v.(*atomic.Int64).Add(n)
			}
		}
	}
}

func (w *eventWriter) stats(st *Stats) {
	st.EventsQueued = int64(len(w.ch)) + w.held.Load()
	st.EventsWritten = w.written.Load()
	st.EventsCoalesced = w.coalesced.Load()
	st.EventsDropped = w.dropped.Load()
	st.EventsRejected = w.rejected.Load()
}
