// Package tallytest is the conformance suite every tally.Counter runs.
//
//	func TestConformance(t *testing.T) {
//		tallytest.Run(t, func(t *testing.T) tally.Counter { m, _ := tally.NewMemory(0); return m })
//	}
package tallytest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/wardenkit/warden/core/tally"
)

// Run runs every case, each on a fresh counter from newCounter.
func Run(t *testing.T, newCounter func(t *testing.T) tally.Counter) {
	t.Run("Sums", func(t *testing.T) { testSums(t, newCounter(t)) })
	t.Run("Slides", func(t *testing.T) { testSlides(t, newCounter(t)) })
	t.Run("Invalid", func(t *testing.T) { testInvalid(t, newCounter(t)) })
	t.Run("Reset", func(t *testing.T) { testReset(t, newCounter(t)) })
	t.Run("Concurrent", func(t *testing.T) { testConcurrent(t, newCounter(t)) })
}

// t0 is the start of a bucket of every window the suite uses.
var t0 = time.UnixMilli(1_800_000_000_000 / 3_600_000 * 3_600_000).UTC()

func add(t *testing.T, c tally.Counter, now time.Time, incs ...tally.Inc) []int64 {
	t.Helper()
	got, err := c.Add(context.Background(), now, incs)
	if err != nil {
		t.Fatalf("Add: %v", err)
	}
	if len(got) != len(incs) {
		t.Fatalf("Add returned %d sums for %d incs", len(got), len(incs))
	}
	return got
}

func key(t *testing.T, s string) string { return fmt.Sprintf("%s:%s", t.Name(), s) }

func testSums(t *testing.T, c tally.Counter) {
	a, b := key(t, "a"), key(t, "b")
	h := time.Hour
	if got := add(t, c, t0, tally.Inc{Key: a, N: 2, Window: h}, tally.Inc{Key: b, N: 5, Window: h}, tally.Inc{Key: a, N: 3, Window: h}); got[0] != 2 || got[1] != 5 || got[2] != 5 {
		t.Fatalf("sums = %v, want [2 5 5] (a key given twice is added twice, in order)", got)
	}
	if got := add(t, c, t0.Add(time.Minute), tally.Inc{Key: a, N: 1, Window: h}); got[0] != 6 {
		t.Fatalf("a = %d, want 6", got[0])
	}
	if got := add(t, c, t0.Add(time.Minute), tally.Inc{Key: a, Window: h}, tally.Inc{Key: key(t, "none"), Window: h}); got[0] != 6 || got[1] != 0 {
		t.Fatalf("reads = %v, want [6 0]", got)
	}
}

func testSlides(t *testing.T, c tally.Counter) {
	k := key(t, "ip")
	w := time.Hour
	width := time.Duration(tally.Width(w)) * time.Millisecond
	add(t, c, t0, tally.Inc{Key: k, N: 4, Window: w})
	add(t, c, t0.Add(6*width), tally.Inc{Key: k, N: 1, Window: w})
	for _, tc := range []struct {
		at   time.Duration
		want int64
	}{
		{w - time.Millisecond, 5}, // the first bucket is still in the window
		{w, 1},                    // a window after it, the first addition is gone
		{w + 6*width - time.Millisecond, 1},
		{w + 6*width, 0},
		{10 * w, 0},
	} {
		if got := add(t, c, t0.Add(tc.at), tally.Inc{Key: k, Window: w}); got[0] != tc.want {
			t.Errorf("at t0+%v: %d, want %d", tc.at, got[0], tc.want)
		}
	}
	// Counting again after the window emptied starts from zero.
	if got := add(t, c, t0.Add(11*w), tally.Inc{Key: k, N: 2, Window: w}); got[0] != 2 {
		t.Errorf("after the window emptied: %d, want 2", got[0])
	}
}

func testInvalid(t *testing.T, c tally.Counter) {
	ok := tally.Inc{Key: key(t, "ok"), N: 1, Window: time.Hour}
	for name, bad := range map[string]tally.Inc{
		"empty_key":   {N: 1, Window: time.Hour},
		"long_key":    {Key: string(make([]byte, 513)), N: 1, Window: time.Hour},
		"negative_n":  {Key: key(t, "n"), N: -1, Window: time.Hour},
		"zero_window": {Key: key(t, "w"), N: 1},
		"huge_window": {Key: key(t, "w"), N: 1, Window: tally.MaxWindow + time.Hour},
		"huge_n":      {Key: key(t, "n"), N: 2e9, Window: time.Hour},
		"tiny_window": {Key: key(t, "w"), N: 1, Window: time.Millisecond},
	} {
		if _, err := c.Add(context.Background(), t0, []tally.Inc{ok, bad}); !errors.Is(err, tally.ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
	if got := add(t, c, t0, tally.Inc{Key: ok.Key, Window: time.Hour}); got[0] != 0 {
		t.Fatalf("a refused call added %d", got[0])
	}
}

func testReset(t *testing.T, c tally.Counter) {
	a, b := key(t, "a"), key(t, "b")
	add(t, c, t0, tally.Inc{Key: a, N: 3, Window: time.Hour}, tally.Inc{Key: b, N: 4, Window: time.Hour})
	if err := c.Reset(context.Background(), []string{a, key(t, "unknown")}); err != nil {
		t.Fatal(err)
	}
	if got := add(t, c, t0, tally.Inc{Key: a, Window: time.Hour}, tally.Inc{Key: b, Window: time.Hour}); got[0] != 0 || got[1] != 4 {
		t.Fatalf("after Reset(a): %v, want [0 4]", got)
	}
}

func testConcurrent(t *testing.T, c tally.Counter) {
	k := key(t, "k")
	const workers, each = 8, 50
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range each {
				if _, err := c.Add(context.Background(), t0, []tally.Inc{{Key: k, N: 1, Window: time.Hour}}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if got := add(t, c, t0, tally.Inc{Key: k, Window: time.Hour}); got[0] != workers*each {
		t.Fatalf("after %d concurrent adds: %d", workers*each, got[0])
	}
}
