package core

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"
)

// A Lockout stands on its own: built from parts, with no Engine.
func TestLockoutWithoutEngine(t *testing.T) {
	now := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	st := &recordStore{}
	sink := &directSink{st: st}
	d := &loginDeps{
		clock: fixedClock{now}, log: slog.New(slog.DiscardHandler), store: st,
		snapshot: func() *snapshot { return nil }, // defaults, no whitelist
		clientIP: func(*http.Request) (netip.Addr, bool) { return netip.Addr{}, false },
		country:  func(*snapshot, netip.Addr) string { return "" },
		events:   sink, ipv6Prefix: 64, failTrips: new(atomic.Int64), running: func() bool { return false },
	}
	l, err := newLockout(d, &loginConfig{}, FailClosed)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	a := Attempt{Username: "Alice", IP: netip.MustParseAddr("203.0.113.7")}
	for range 5 {
		tk, err := l.Begin(ctx, a)
		if err != nil {
			t.Fatal(err)
		}
		if err := l.Fail(ctx, tk); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := l.Begin(ctx, a); !errors.Is(err, ErrLocked) {
		t.Fatalf("6th attempt: %v; want locked", err)
	}
	if sink.events != 1 || len(st.recs) != 1 || st.recs[0].Username != "alice" {
		t.Fatalf("events %d, records %+v; want one LOCKOUT and one record for alice", sink.events, st.recs)
	}
	if n, err := l.Unlock(ctx, UnlockRequest{Username: "ALICE"}); err != nil || n != 1 {
		t.Fatalf("Unlock = %d, %v", n, err)
	}
	if _, err := l.Begin(ctx, a); err != nil {
		t.Fatalf("after Unlock: %v", err)
	}
}

type fixedClock struct{ t time.Time }

func (c fixedClock) Now() time.Time { return c.t }

// directSink stores lockout records at once and counts events.
type directSink struct {
	st     *recordStore
	events int
}

func (s *directSink) enqueue(Event) bool { s.events++; return true }
func (s *directSink) enqueueLockout(r LockoutRecord) bool {
	_, err := s.st.AppendLockout(context.Background(), r)
	return err == nil
}
func (s *directSink) syncRecords(context.Context, bool)      {}
func (s *directSink) recordCounts() (written, dropped int64) { return int64(len(s.st.recs)), 0 }

// recordStore keeps lockout records in a slice; it has no login history.
type recordStore struct{ recs []LockoutRecord }

func (s *recordStore) AppendLockout(_ context.Context, r LockoutRecord) (LockoutRecord, error) {
	r.ID = int64(len(s.recs) + 1)
	s.recs = append(s.recs, r)
	return r, nil
}

func (s *recordStore) Lockouts(_ context.Context, q LockoutQuery) ([]LockoutRecord, error) {
	var out []LockoutRecord
	for i := len(s.recs) - 1; i >= 0; i-- {
		r := s.recs[i]
		if (q.Username == "" || r.Username == q.Username) && (!q.Unreleased || r.ReleasedAt.IsZero()) &&
			(q.BeforeID == 0 || r.ID < q.BeforeID) {
			out = append(out, r)
		}
	}
	return out, nil
}

func (s *recordStore) ReleaseLockouts(_ context.Context, ids []int64, at time.Time, by string) (int64, error) {
	var n int64
	for i := range s.recs {
		for _, id := range ids {
			if s.recs[i].ID == id && s.recs[i].ReleasedAt.IsZero() {
				s.recs[i].ReleasedAt, s.recs[i].ReleasedBy = at, by
				n++
			}
		}
	}
	return n, nil
}

func (s *recordStore) DeleteLockoutsBefore(context.Context, time.Time, int) (int64, error) {
	return 0, nil
}
func (s *recordStore) AppendLogin(_ context.Context, r LoginRecord) (LoginRecord, error) {
	return r, nil
}
func (s *recordStore) Logins(context.Context, LoginQuery) ([]LoginRecord, error) { return nil, nil }
func (s *recordStore) LoginTraits(context.Context, string, int, time.Time) (LoginTraits, error) {
	return LoginTraits{}, nil
}
func (s *recordStore) DeleteLoginsBefore(context.Context, time.Time, int) (int64, error) {
	return 0, nil
}
