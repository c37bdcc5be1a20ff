// Package tally keeps weighted event counts per key over sliding windows: the
// counts the AutoBlocker judges against its thresholds. It holds the Counter
// interface, its contract, and Memory, the in-process implementation;
// redisstore.Tally implements Counter for replicas that must share counts.
//
//	m, _ := tally.NewMemory(0)
//	sums, err := m.Add(ctx, now, []tally.Inc{{Key: "ip:203.0.113.9", N: 1, Window: time.Hour}})
//
// A window is kept as Buckets buckets of Window/Buckets each; the sum covers
// the bucket of now and the Buckets-1 before it, so an event stops counting
// between (Buckets-1)/Buckets of a window and one window after it was added,
// never later. Every implementation is safe for concurrent use. The package
// imports only the standard library.
package tally

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Buckets is the number of buckets a window is kept in.
const Buckets = 12

// MaxWindow bounds Inc.Window.
const MaxWindow = 366 * 24 * time.Hour

// Inc adds N to Key's count over the window Window. N = 0 only reads.
type Inc struct {
	Key    string
	N      int64
	Window time.Duration
}

// Counter keeps the counts.
//
// Contract for every implementation:
//   - Add adds every Inc at now and returns, in order, each key's sum over its
//     window ending at now, this call's additions included. An Inc is
//     validated first (Validate); an invalid one fails the call with an error
//     wrapping ErrInvalid and nothing is added. The same key given twice in one
//     call is added twice.
//   - A key is judged with the window of each call: a key should always be
//     given the same window (a changed window applies from its next bucket).
//   - Reset forgets keys; unknown keys are ignored.
//   - Errors other than ErrInvalid are system failures (the count is unknown).
type Counter interface {
	Add(ctx context.Context, now time.Time, incs []Inc) ([]int64, error)
	Reset(ctx context.Context, keys []string) error
}

// Sentinel errors.
var (
	// ErrInvalid is wrapped by the error of an invalid Inc.
	ErrInvalid = errors.New("tally: invalid input")
)

// Validate checks an Inc: a key of 1 to 512 bytes, 0 <= N <= 1e9, a window
// of Buckets milliseconds to MaxWindow.
func (i Inc) Validate() error {
	switch {
	case i.Key == "" || len(i.Key) > 512:
		return fmt.Errorf("tally: key of %d bytes, want 1 to 512: %w", len(i.Key), ErrInvalid)
	case i.N < 0 || i.N > 1e9:
		return fmt.Errorf("tally: key %q: N %d out of 0..1e9: %w", i.Key, i.N, ErrInvalid)
	case i.Window < Buckets*time.Millisecond || i.Window > MaxWindow:
		return fmt.Errorf("tally: key %q: window %v out of %v..%v: %w", i.Key, i.Window, Buckets*time.Millisecond, MaxWindow, ErrInvalid)
	}
	return nil
}

// Width is the bucket width of a window, in milliseconds.
func Width(window time.Duration) int64 { return max(1, window.Milliseconds()/Buckets) }

// Bucket is the index of the bucket of now in a window: unix milliseconds
// divided by Width. The sum at now covers buckets Bucket-Buckets+1 to Bucket.
func Bucket(now time.Time, window time.Duration) int64 { return now.UnixMilli() / Width(window) }
