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
	mu      sync.Mutex
	sets    map[capKey]map[uint64]int64 // value hash -> last seen (unix ns)
	entries int
	swept   int64
}

func newValueCap(limit int) *valueCap {
	c := &valueCap{seed: maphash.MakeSeed(), limit: limit}
	for i := range c.shards {
		c.shards[i].sets = map[capKey]map[uint64]int64{}
	}
	return c
}

// admit reports whether value may have its own counter for rule and the
// source ip at now; false means it shares the source's overflow counter.
// period is the rule's window: a value unseen for longer is forgotten.
func (c *valueCap) admit(rule int64, ip netip.Addr, value string, now time.Time, period time.Duration) bool {
	h := maphash.String(c.seed, value)
	k := capKey{rule, ip}
	s := &c.shards[(maphash.Comparable(c.seed, k))%uint64(len(c.shards))]
	ns, expired := now.UnixNano(), now.Add(-period).UnixNano()
	s.mu.Lock()
	defer s.mu.Unlock()
	set := s.sets[k]
	if _, ok := set[h]; ok {
		set[h] = ns
		return true
	}
	if len(set) >= c.limit {
		s.expire(k, set, expired)
	}
	perShard := maxCappedValues / len(c.shards)
	if s.entries >= perShard && ns-s.swept >= int64(time.Second) {
		s.swept = ns
		for key, vs := range s.sets {
			s.expire(key, vs, expired)
		}
	}
	if len(set) >= c.limit || s.entries >= perShard {
		c.overflows.Add(1)
		return false
	}
	if set == nil {
		set = map[uint64]int64{}
		s.sets[k] = set
	}
	set[h] = ns
	s.entries++
	return true
}

func (s *capShard) expire(k capKey, set map[uint64]int64, expired int64) {
	for h, seen := range set {
		if seen <= expired {
			delete(set, h)
			s.entries--
		}
	}
	if len(set) == 0 {
		delete(s.sets, k)
	}
}
