package tally_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/wardenkit/warden/core/tally"
	"github.com/wardenkit/warden/core/tally/tallytest"
)

func TestConformance(t *testing.T) {
	tallytest.Run(t, func(t *testing.T) tally.Counter {
		m, err := tally.NewMemory(0)
		if err != nil {
			t.Fatal(err)
		}
		return m
	})
}

// A flood of distinct keys never stops the counting: expired keys make
// room first, then the least recently added to of a sample go.
func TestMemoryBounded(t *testing.T) {
	ctx := context.Background()
	m, _ := tally.NewMemory(100)
	now := time.Date(2026, 12, 2, 5, 0, 0, 0, time.UTC)
	add := func(at time.Time, k string, n int64) int64 {
		t.Helper()
		got, err := m.Add(ctx, at, []tally.Inc{{Key: k, N: n, Window: time.Hour}})
		if err != nil {
			t.Fatalf("Add(%s): %v", k, err)
		}
		return got[0]
	}
	add(now, "attacker", 5)
	for i := range 1000 { // a flood of one-event keys, each newer than the attacker's last event
		add(now.Add(time.Duration(i+1)*time.Millisecond), fmt.Sprintf("flood%d", i), 1)
		if i%10 == 0 {
			add(now.Add(time.Duration(i+1)*time.Millisecond), "attacker", 1) // the attacker keeps going
		}
	}
	if m.Len() != 100 {
		t.Fatalf("%d keys held, want the cap of 100", m.Len())
	}
	if got := add(now.Add(2*time.Second), "attacker", 0); got != 105 {
		t.Fatalf("the busy key's count = %d after the flood, want 105 (5 + 100)", got)
	}
	if m.Evicted() < 900 {
		t.Fatalf("evicted %d keys, want at least 900", m.Evicted())
	}
	// Expired keys are swept before any live one is evicted.
	before := m.Evicted()
	for i := range 50 {
		add(now.Add(2*time.Hour), fmt.Sprintf("later%d", i), 1)
	}
	if m.Evicted() != before {
		t.Fatalf("%d live keys evicted while expired ones were held", m.Evicted()-before)
	}
	if _, err := m.Add(ctx, now, make([]tally.Inc, 0)); err != nil {
		t.Fatal(err)
	}
	many := make([]tally.Inc, 101)
	for i := range many {
		many[i] = tally.Inc{Key: fmt.Sprintf("k%d", i), N: 1, Window: time.Hour}
	}
	if _, err := m.Add(ctx, now, many); !errors.Is(err, tally.ErrInvalid) {
		t.Fatalf("101 new keys in one call to a Memory of 100: %v, want ErrInvalid", err)
	}
}
