package core

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// blockingAppender stores login records once unblocked, or fails with its
// context.
type blockingAppender struct {
	mu      sync.Mutex
	recs    []LoginRecord
	release chan struct{}
}

func (s *blockingAppender) AppendLogin(ctx context.Context, r LoginRecord) (LoginRecord, error) {
	select {
	case <-s.release:
	case <-ctx.Done():
		return LoginRecord{}, ctx.Err()
	}
	s.mu.Lock()
	s.recs = append(s.recs, r)
	s.mu.Unlock()
	return r, nil
}

// The history writer never blocks and never loses a record silently: a full
// queue and a closed writer drop and count, and what Close's deadline cuts
// off is counted too.
func TestHistoryWriterBounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := &blockingAppender{release: make(chan struct{})}
		w := newHistoryWriter(st, slog.New(slog.DiscardHandler), 3)
		rec := func(u string) LoginRecord { return LoginRecord{UserID: u, CreatedAt: time.Now(), CountryCode: "FR"} }
		for _, u := range []string{"a", "a", "b", "c"} {
			w.enqueue(rec(u))
		}
		if got := w.dropped.Load(); got != 1 {
			t.Fatalf("dropped %d with the queue of 3 full, want 1", got)
		}
		if q := w.queued("a"); len(q) != 2 || q[0].CountryCode != "FR" {
			t.Fatalf("queued(a) = %+v", q)
		}
		var wg sync.WaitGroup
		wg.Go(w.run)
		synctest.Wait() // one record in AppendLogin, two queued
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		w.close(ctx)
		if w.enqueue(rec("d")) != nil || w.dropped.Load() != 2 {
			t.Fatalf("enqueue after close accepted, or not counted (dropped %d)", w.dropped.Load())
		}
		wg.Wait() // Close's deadline passes with the store stalled
		if w.written.Load() != 0 || w.dropped.Load() != 5 || w.failed.Load() != 1 || w.n != 0 || len(w.pending) != 0 {
			t.Fatalf("after Close's deadline: written %d, dropped %d, failed %d, pending %d (%d users); want 0, 5, 1, 0, 0",
				w.written.Load(), w.dropped.Load(), w.failed.Load(), w.n, len(w.pending))
		}
		w.wait(context.Background()) // idle: returns
	})
}

// Close stores what is queued when the store answers.
func TestHistoryWriterCloseFlushes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := &blockingAppender{release: make(chan struct{})}
		close(st.release)
		w := newHistoryWriter(st, slog.New(slog.DiscardHandler), 10)
		for range 5 {
			w.enqueue(LoginRecord{UserID: "u", CreatedAt: time.Now()})
		}
		w.close(context.Background())
		var wg sync.WaitGroup
		for range loginWorkers {
			wg.Go(w.run)
		}
		wg.Wait()
		if len(st.recs) != 5 || w.written.Load() != 5 || w.dropped.Load() != 0 {
			t.Fatalf("stored %d, written %d, dropped %d; want 5, 5, 0", len(st.recs), w.written.Load(), w.dropped.Load())
		}
	})
}
