package core

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/wardenkit/warden/internal/textutil"
)

// batcher is the writer goroutine's state: events waiting to be coalesced
// and stored, batches to retry, and each source's window for folding.
type batcher struct {
	w       *eventWriter
	pending map[coalesceKey]*Event
	retry   []Event
	sources map[string]*sourceWindow
}

// sourceWindow counts the distinct events one source added in one second.
type sourceWindow struct {
	second   int64
	distinct int
}

func newBatcher(w *eventWriter) *batcher {
	return &batcher{w: w, pending: map[coalesceKey]*Event{}, sources: map[string]*sourceWindow{}}
}

// maxSamplePaths bounds the paths a folded row lists.
const maxSamplePaths = 5

func (b *batcher) add(ev Event) {
	k := b.w.key(ev)
	if p, ok := b.pending[k]; ok {
		p.Count += ev.Count
		b.w.coalesced.Add(1)
		return
	}
	if !critical(ev.Action) && k.ip != "" {
		sec := ev.CreatedAt.Unix()
		sw := b.sources[k.ip]
		if sw == nil || sw.second != sec {
			b.pruneSources(sec)
			sw = &sourceWindow{second: sec}
			b.sources[k.ip] = sw
		}
		if sw.distinct >= b.w.cfg.foldAfter {
			b.fold(ev, coalesceKey{action: ev.Action, ip: k.ip, window: sec})
			return
		}
		sw.distinct++
	}
	b.w.held.Add(1)
	b.pending[k] = &ev
}

// fold adds ev to its source's folded row for its action and second.
func (b *batcher) fold(ev Event, k coalesceKey) {
	b.w.folded.Add(1)
	path := textutil.Clean(ev.Path, 100)
	if p, ok := b.pending[k]; ok {
		p.Count += ev.Count
		if path != "" && strings.Count(p.Details, ", ") < maxSamplePaths-1 && !strings.Contains(p.Details, path) {
			p.Details = textutil.Clean(p.Details+", "+path, MaxEventDetailsLen)
		}
		return
	}
	ev.RuleID, ev.Path, ev.CreatedAt = 0, "", time.Unix(k.window, 0).UTC()
	ev.Details = "folded: more than " + strconv.Itoa(b.w.cfg.foldAfter) + " distinct events from one source in one second; sample paths: " + path
	b.w.held.Add(1)
	b.pending[k] = &ev
}

// maxSources bounds the folding windows kept; past it, windows of earlier
// seconds are forgotten.
const maxSources = 4096

func (b *batcher) pruneSources(now int64) {
	if len(b.sources) < maxSources {
		return
	}
	for src, sw := range b.sources {
		if sw.second < now {
			delete(b.sources, src)
		}
	}
	if len(b.sources) >= maxSources {
		clear(b.sources)
	}
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
	if over := len(retry) - w.cfg.queueSize; over > 0 {
		retry = w.trim(retry, over)
	}
	return retry
}

// trim drops n events from a retry backlog (the store is down and it outgrew
// the queue): the oldest ordinary ones first, critical ones only when
// nothing else is left.
func (w *eventWriter) trim(retry []Event, n int) []Event {
	w.dropped.Add(int64(n))
	w.held.Add(-int64(n))
	ordinary := 0
	for _, ev := range retry {
		if !critical(ev.Action) {
			ordinary++
		}
	}
	dropOrdinary := min(n, ordinary)
	dropCritical := n - dropOrdinary
	kept := make([]Event, 0, len(retry)-n)
	for _, ev := range retry {
		switch {
		case !critical(ev.Action) && dropOrdinary > 0:
			dropOrdinary--
		case critical(ev.Action) && dropCritical > 0:
			dropCritical--
		default:
			kept = append(kept, ev)
		}
	}
	return kept
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
