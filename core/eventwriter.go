package core

import (
	"context"
	"errors"
	"net/http"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// eventWriter queues events in a bounded channel and stores them in batches
// from one goroutine. A request never waits for it: when the queue is full
// the event is dropped and counted. Identical events (same action, client IP
// or IPv6 prefix, rule and path) within one flush interval are stored once
// with a count. A batch the store refuses is bisected so one bad row cannot
// lose the others; when the store is down, batches are kept (up to the queue
// size) and retried.
type eventWriter struct {
	e  *Engine
	ch chan Event

	closing chan struct{}
	closeMu sync.Once
	flushed chan struct{}
	drainBy atomic.Pointer[context.Context]

	written, coalesced, dropped, rejected atomic.Int64
	held                                  atomic.Int64 // waiting in the writer (coalesced or retry)

	hits sync.Map // hitKey -> *atomic.Int64; no lock on the deny path
}

func newEventWriter(e *Engine) *eventWriter {
	return &eventWriter{e: e, ch: make(chan Event, e.cfg.queueSize), closing: make(chan struct{}), flushed: make(chan struct{})}
}

// RecordEvent queues an application event (SUSPICIOUS_LOGIN, ADMIN_ACTION, …). It
// never blocks; it reports false when the queue was full and the event was
// dropped.
func (e *Engine) RecordEvent(ev Event) bool {
	if ev.CreatedAt.IsZero() {
		ev.CreatedAt = e.clock.Now()
	}
	return e.events.enqueue(ev)
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

// recordDecision builds the event of a decision and queues it.
func (e *Engine) recordDecision(r *http.Request, d Decision, detailAction, details string) {
	ev := Event{
		CreatedAt:   e.clock.Now(),
		Action:      d.Action,
		Path:        r.URL.Path,
		Method:      r.Method,
		UserAgent:   r.Header.Get("User-Agent"),
		RuleID:      d.RuleID,
		Details:     details,
		CountryCode: d.Country,
	}
	if r.URL.RawPath != "" { // keep the encoding an attacker used: /heal%74h, not /health
		ev.Path = r.URL.EscapedPath()
	}
	if d.ClientIP.IsValid() {
		ev.IP = d.ClientIP.String()
	}
	if detailAction != "" {
		ev.Details = detailAction
		if details != "" {
			ev.Details += ": " + details
		}
	}
	e.events.enqueue(ev)
}

type hitKey struct {
	kind HitKind
	id   int64
}

// countHit adds one to a rule's hit counter; the writer flushes the sums.
// After a rule's first hit it is one atomic add: a flood of denials does not
// queue on a lock.
func (e *Engine) countHit(kind HitKind, id int64) {
	k := hitKey{kind, id}
	v, ok := e.events.hits.Load(k)
	if !ok {
		v, _ = e.events.hits.LoadOrStore(k, new(atomic.Int64))
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
		ip = groupIP(a, w.e.cfg.ipv6Prefix)
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

func (w *eventWriter) run(ctx context.Context) {
	defer close(w.flushed)
	pending := map[coalesceKey]*Event{}
	var retry []Event
	tick := time.NewTicker(w.e.cfg.flushInterval)
	defer tick.Stop()
	add := func(ev Event) {
		k := w.key(ev)
		if p, ok := pending[k]; ok {
			p.Count += ev.Count
			w.coalesced.Add(1)
			return
		}
		w.held.Add(1)
		pending[k] = &ev
	}
	flush := func(fctx context.Context) {
		batch := retry
		retry = nil
		for _, p := range pending {
			batch = append(batch, *p)
		}
		clear(pending)
		slices.SortFunc(batch, func(a, b Event) int { return a.CreatedAt.Compare(b.CreatedAt) })
		retry = w.store(fctx, batch)
		w.flushHits(fctx)
	}
	for {
		select {
		case ev := <-w.ch:
			add(ev)
			if len(pending) >= w.e.cfg.batchSize {
				flush(ctx)
			}
		case <-tick.C:
			flush(ctx)
		case <-w.closing:
			dctx := *w.drainBy.Load()
		drain:
			for {
				select {
				case ev := <-w.ch:
					add(ev)
				default:
					break drain
				}
			}
			flush(context.WithoutCancel(dctx))
			if len(retry) > 0 || len(w.ch) > 0 {
				n := int64(len(retry) + len(w.ch))
				w.dropped.Add(n)
				w.held.Add(-int64(len(retry)))
			}
			return
		}
	}
}

// store writes batch in chunks and returns what must be retried (store down).
func (w *eventWriter) store(ctx context.Context, batch []Event) []Event {
	var retry []Event
	for len(batch) > 0 {
		n := min(len(batch), w.e.cfg.batchSize)
		chunk := batch[:n]
		batch = batch[n:]
		err := w.e.store.AppendEvents(ctx, chunk)
		if err == nil {
			w.done(chunk)
			continue
		}
		if _, verr := w.e.store.Version(ctx); verr != nil || ctx.Err() != nil {
			// The store is unreachable: keep everything for the next flush.
			retry = append(retry, chunk...)
			retry = append(retry, batch...)
			break
		}
		w.bisect(ctx, chunk)
	}
	if over := len(retry) - w.e.cfg.queueSize; over > 0 { // bounded: drop the oldest
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
		w.e.log.Warn("warden: event refused by the store", "action", chunk[0].Action, "ip", chunk[0].IP)
		return
	}
	for _, half := range [][]Event{chunk[:len(chunk)/2], chunk[len(chunk)/2:]} {
		if err := w.e.store.AppendEvents(ctx, half); err == nil {
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
		if err := w.e.store.AddHits(ctx, kind, hits); err != nil {
			if !errors.Is(err, context.Canceled) {
				w.e.log.Warn("warden: hit counts not stored; kept for the next flush", "kind", kind, "error", err)
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
