package tally

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Memory is the in-process Counter, the engine's default. It holds at most
// maxKeys keys: when a new key finds it full, keys whose counts have all
// expired are swept, and if none has, the least recently added to of a
// sample of keys is dropped (as Redis's approximated LRU does), so a flood
// of new keys can cost old, quiet ones their counts but never stops the
// counting. Counts are per process: replicas that must share them need a
// shared Counter.
//
// A Memory is safe for concurrent use; one call is atomic across its keys.
type Memory struct {
	mu      sync.Mutex
	m       map[string]*ring
	max     int
	evicted int64
}

// ring is one key's buckets: counts[b % Buckets] holds bucket b when
// stamp[b % Buckets] == b.
type ring struct {
	counts [Buckets]int64
	stamps [Buckets]int64
	last   int64 // unix milliseconds of the newest addition
	window int64 // milliseconds, of the newest addition
}

// DefaultMaxKeys is the default cap of NewMemory.
const DefaultMaxKeys = 200_000

// NewMemory returns a Memory holding at most maxKeys keys (0 means
// DefaultMaxKeys).
func NewMemory(maxKeys int) (*Memory, error) {
	if maxKeys < 0 {
		return nil, fmt.Errorf("tally: NewMemory: maxKeys %d: %w", maxKeys, ErrInvalid)
	}
	if maxKeys == 0 {
		maxKeys = DefaultMaxKeys
	}
	return &Memory{m: make(map[string]*ring), max: maxKeys}, nil
}

var _ Counter = (*Memory)(nil)

// Add implements Counter.
func (m *Memory) Add(ctx context.Context, now time.Time, incs []Inc) ([]int64, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for _, in := range incs {
		if err := in.Validate(); err != nil {
			return nil, err
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.room(now, incs); err != nil {
		return nil, err
	}
	out := make([]int64, len(incs))
	for i, in := range incs {
		r := m.m[in.Key]
		if r == nil {
			if in.N == 0 {
				continue // a read of an unknown key
			}
			r = new(ring)
			m.m[in.Key] = r
		}
		b := Bucket(now, in.Window)
		if in.N > 0 {
			j := b % Buckets
			if r.stamps[j] != b {
				r.stamps[j], r.counts[j] = b, 0
			}
			r.counts[j] += in.N
			r.last, r.window = max(r.last, now.UnixMilli()), in.Window.Milliseconds()
		}
		out[i] = r.sum(b)
	}
	return out, nil
}

// sum adds the buckets of the window ending in bucket b.
func (r *ring) sum(b int64) int64 {
	var n int64
	for j := range Buckets {
		if s := r.stamps[j]; s > b-Buckets && s <= b {
			n += r.counts[j]
		}
	}
	return n
}

// room makes room for the new keys of incs: it sweeps expired keys, then
// evicts sampled ones.
func (m *Memory) room(now time.Time, incs []Inc) error {
	need := 0
	for _, in := range incs {
		if in.N > 0 && m.m[in.Key] == nil {
			need++
		}
	}
	if need > m.max {
		return fmt.Errorf("tally: Add: %d new keys in one call, more than the %d held: %w", need, m.max, ErrInvalid)
	}
	if len(m.m)+need <= m.max {
		return nil
	}
	m.sweep(now)
	for len(m.m)+need > m.max {
		m.evictOne()
	}
	return nil
}

// evictSample is how many keys evictOne compares.
const evictSample = 8

// evictOne drops the key added to least recently among a few taken in map
// order (random in Go).
func (m *Memory) evictOne() {
	var victim string
	oldest, seen := int64(0), 0
	for k, r := range m.m {
		if seen == 0 || r.last < oldest {
			victim, oldest = k, r.last
		}
		if seen++; seen == evictSample {
			break
		}
	}
	delete(m.m, victim)
	m.evicted++
}

// sweep drops the keys whose newest addition is a window old or more.
func (m *Memory) sweep(now time.Time) {
	ms := now.UnixMilli()
	for k, r := range m.m {
		if ms-r.last >= r.window {
			delete(m.m, k)
		}
	}
}

// Reset implements Counter.
func (m *Memory) Reset(ctx context.Context, keys []string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, k := range keys {
		delete(m.m, k)
	}
	return nil
}

// Evicted reports how many keys were dropped to make room for new ones.
func (m *Memory) Evicted() int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.evicted
}

// Len reports the keys held.
func (m *Memory) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.m)
}
