package tally_test

import (
	"context"
	"errors"
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

// A flood of distinct keys fills the counter; expired keys make room, live
// ones do not.
func TestMemoryBounded(t *testing.T) {
	ctx := context.Background()
	m, _ := tally.NewMemory(3)
	now := time.Date(2026, 12, 2, 5, 0, 0, 0, time.UTC)
	for _, k := range []string{"a", "b", "c"} {
		if _, err := m.Add(ctx, now, []tally.Inc{{Key: k, N: 1, Window: time.Minute}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := m.Add(ctx, now, []tally.Inc{{Key: "d", N: 1, Window: time.Minute}}); !errors.Is(err, tally.ErrFull) {
		t.Fatalf("a fourth live key: %v, want ErrFull", err)
	}
	if _, err := m.Add(ctx, now, []tally.Inc{{Key: "a", N: 1, Window: time.Minute}}); err != nil {
		t.Fatalf("a held key when full: %v", err)
	}
	if got, err := m.Add(ctx, now, []tally.Inc{{Key: "zz", Window: time.Minute}}); err != nil || got[0] != 0 {
		t.Fatalf("a read of an unknown key when full: %v, %v", got, err)
	}
	later := now.Add(time.Minute)
	if _, err := m.Add(ctx, later, []tally.Inc{{Key: "d", N: 1, Window: time.Minute}}); err != nil {
		t.Fatalf("after the keys expired: %v", err)
	}
	if m.Len() != 1 {
		t.Fatalf("%d keys held after the sweep, want 1", m.Len())
	}
}
