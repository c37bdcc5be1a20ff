package attempt

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

var (
	t0  = time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	pol = Policy{Cooloff: 15 * time.Minute, ReservationTimeout: ReservationTimeout}
	bg  = context.Background()
)

func newMem(t *testing.T, max int) *Memory {
	t.Helper()
	m, err := NewMemory(max)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// failN makes n failed attempts on keys at now; all must be reserved.
func failN(t *testing.T, m *Memory, now time.Time, n int, keys ...Key) []State {
	t.Helper()
	var st []State
	for i := range n {
		tok := uint64(now.UnixNano()) + uint64(i)
		ok, _, err := m.Reserve(bg, now, pol, tok, keys)
		if err != nil || !ok {
			t.Fatalf("Reserve %d: %v, %v", i, ok, err)
		}
		if st, err = m.Fail(bg, now, pol, tok, keys); err != nil {
			t.Fatal(err)
		}
	}
	return st
}

// A refused attempt stores no key (the suite checks that it counts
// nothing; here, that it takes no room).
func TestMemoryAttemptsRefusedStoresNoKey(t *testing.T) {
	m := newMem(t, 0)
	a, b := Key{Key: "a", Limit: 2}, Key{Key: "b", Limit: 5}
	failN(t, m, t0, 2, a)
	if ok, _, err := m.Reserve(bg, t0, pol, 99, []Key{b, a}); err != nil || ok {
		t.Fatalf("Reserve with a locked key = %v, %v", ok, err)
	}
	if m.Len() != 1 {
		t.Fatalf("refused attempt stored keys: Len %d, want 1", m.Len())
	}
}

func TestMemoryAttemptsSweep(t *testing.T) {
	m := newMem(t, 0)
	for i := range 10_000 {
		failN(t, m, t0, 1, Key{Key: fmt.Sprintf("k%d", i), Limit: 5})
	}
	if m.Len() != 10_000 {
		t.Fatalf("Len = %d", m.Len())
	}
	if n := m.Sweep(t0.Add(23 * time.Hour)); n != 0 {
		t.Fatalf("swept %d live keys", n)
	}
	if n := m.Sweep(t0.Add(24 * time.Hour)); n != 10_000 || m.Len() != 0 {
		t.Fatalf("swept %d, %d left; want all gone after 24 h", n, m.Len())
	}

	t.Run("inline", func(t *testing.T) {
		m := newMem(t, 0)
		for i := range 5_000 {
			failN(t, m, t0, 1, Key{Key: fmt.Sprintf("old%d", i), Limit: 5})
		}
		later := t0.Add(25 * time.Hour)
		shards := len(m.shards)
		for i := range shards * 1500 { // each shard sees well over 1,024 calls
			k := Key{Key: fmt.Sprintf("new%d", i%(shards*50)), Limit: 5}
			m.Reserve(bg, later, pol, uint64(i), []Key{k})
			m.Release(bg, later, pol, uint64(i), []Key{k})
		}
		if n := m.Len(); n != 0 {
			t.Fatalf("%d keys left; expired keys are not swept by calls", n)
		}
	})
}

func TestMemoryAttemptsFull(t *testing.T) {
	m := newMem(t, 100)
	for i := range 100 {
		failN(t, m, t0, 1, Key{Key: fmt.Sprintf("k%d", i), Limit: 5})
	}
	_, _, err := m.Reserve(bg, t0, pol, 1, []Key{{Key: "new", Limit: 5}})
	if !errors.Is(err, ErrFull) {
		t.Fatalf("Reserve beyond the cap: %v", err)
	}
	// Existing keys still work at the cap.
	failN(t, m, t0, 1, Key{Key: "k0", Limit: 5})
	if ok, _, err := m.Reserve(bg, t0.Add(24*time.Hour), pol, 2, []Key{{Key: "new", Limit: 5}}); err != nil || !ok {
		t.Fatalf("Reserve after the others expired: %v, %v", ok, err)
	}

	t.Run("permanent_locks_are_kept", func(t *testing.T) {
		m := newMem(t, 100)
		perm := Policy{ReservationTimeout: ReservationTimeout}
		for i := range 100 {
			k := Key{Key: fmt.Sprintf("k%d", i), Limit: 1}
			m.Reserve(bg, t0, perm, 1, []Key{k})
			m.Fail(bg, t0, perm, 1, []Key{k})
		}
		if n := m.Sweep(t0.Add(365 * 24 * time.Hour)); n != 0 {
			t.Fatalf("swept %d permanent locks", n)
		}
	})
}

func TestNewMemoryInvalid(t *testing.T) {
	for _, n := range []int{-1, 1 << 31} {
		if m, err := NewMemory(n); !errors.Is(err, ErrInvalid) || m != nil {
			t.Errorf("NewMemory(%d) = %v, %v; want ErrInvalid", n, m, err)
		}
	}
}

func BenchmarkMemoryAttemptsReserveFail(b *testing.B) {
	m, _ := NewMemory(0)
	keys := []Key{{Key: "ui:{203.0.113.7}:0123456789abcdef0123456789abcdef", Limit: 5, ResetOnSuccess: true}, {Key: "ip:{203.0.113.7}", Limit: 50}}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		now := t0.Add(time.Duration(i) * time.Second)
		m.Reserve(bg, now, pol, uint64(i), keys)
		m.Release(bg, now, pol, uint64(i), keys)
	}
}
