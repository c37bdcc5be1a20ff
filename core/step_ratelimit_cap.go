package core

import (
	"hash/maphash"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// Distinct header or user values per source. A rule keyed by a header the
// client chooses (X-API-Key) gives each value its own counter; one client
// sending a new value with every request would make as many counters as
// requests and fill the limiter. valueCap remembers, per rule and source
// address (IPv6: its /64), the values seen within the rule's period; past
// defaultRateValuesPerSource of them, the source's further new values share
// one counter, so the Redis limiter sees the same keys as the memory one.

// defaultRateValuesPerSource is how many distinct header or user values one
// address may have counted apart per rate-limit rule.
const defaultRateValuesPerSource = 1000

// maxCappedValues bounds the values remembered over all sources; when it is
// full and nothing has expired, new values share their source's counter.
const maxCappedValues = 2_000_000

// overflowValue is the Value of a source's shared counter.
const overflowValue = "\x00overflow"

type capKey struct {
	rule int64
	ip   netip.Addr
}

type valueCap struct {
	seed      maphash.Seed
	limit     int
	overflows atomic.Int64 // values that shared their source's counter
	shards    [64]capShard
}

type capShard struct {
	mu   sync.Mutex
	sets stampSets[capKey, uint64] // value hashes per rule and source
}

func newValueCap(limit int) *valueCap {
	c := &valueCap{seed: maphash.MakeSeed(), limit: limit}
	return c
}

// admit reports whether value may have its own counter for rule and the
// source ip at now; false means it shares the source's overflow counter.
// period is the rule's window: a value unseen for longer is forgotten.
func (c *valueCap) admit(rule int64, ip netip.Addr, value string, now time.Time, period time.Duration) bool {
	h := maphash.String(c.seed, value)
	k := capKey{rule, ip}
	s := &c.shards[(maphash.Comparable(c.seed, k))%uint64(len(c.shards))]
	s.mu.Lock()
	defer s.mu.Unlock()
	ok := s.sets.admit(k, h, now.UnixNano(), now.Add(-period).UnixNano(), c.limit, maxCappedValues/len(c.shards), time.Second)
	if !ok {
		c.overflows.Add(1)
	}
	return ok
}
