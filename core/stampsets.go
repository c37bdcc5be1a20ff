package core

import "time"

// stampSets remembers, per key, a bounded set of values with the time each
// was last seen: the usernames an address tried (lockout_sources.go), the
// header values a client sent (step_ratelimit_cap.go). It is not safe for
// concurrent use; its owner locks.
type stampSets[K, V comparable] struct {
	sets    map[K]map[V]int64 // key -> value -> last seen (unix ns)
	entries int
	swept   int64 // unix ns of the last sweep of every set
}

// admit notes v under k at now and reports whether v has a place there:
// false when k's set already holds limit other values, or every set
// together holds max, after the values last seen at or before expired are
// forgotten (the whole table at most once per sweepEvery).
func (t *stampSets[K, V]) admit(k K, v V, now, expired int64, limit, max int, sweepEvery time.Duration) bool {
	set := t.sets[k]
	if _, ok := set[v]; ok {
		set[v] = now
		return true
	}
	if len(set) >= limit {
		t.expire(k, set, expired)
	}
	if t.entries >= max && now-t.swept >= int64(sweepEvery) {
		t.swept = now
		for key, s := range t.sets {
			t.expire(key, s, expired)
		}
	}
	if len(set) >= limit || t.entries >= max {
		return false
	}
	if set == nil {
		if t.sets == nil {
			t.sets = map[K]map[V]int64{}
		}
		set = map[V]int64{}
		t.sets[k] = set
	}
	set[v] = now
	t.entries++
	return true
}

func (t *stampSets[K, V]) expire(k K, set map[V]int64, expired int64) {
	for v, seen := range set {
		if seen <= expired {
			delete(set, v)
			t.entries--
		}
	}
	if len(set) == 0 {
		delete(t.sets, k)
	}
}
