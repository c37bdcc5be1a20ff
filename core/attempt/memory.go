package attempt

import (
	"context"
	"fmt"
	"hash/maphash"
	"runtime"
	"slices"
	"sync"
	"time"
)

// Memory is the in-process Counter, the engine's default.
// Counters live in sharded maps; one call locks the shards of its keys in
// ascending order, so it is atomic across its keys and cannot deadlock with
// another call.
//
// Memory is bounded twice. A key holds at most twice the largest limit it was
// given in timestamps (a reservation made before a lock may still turn into a
// failure after it),
// and keys whose attempts have all expired are swept: a shard is swept when
// it has seen as many calls as it holds keys (at least 1,024), and before a
// new key is refused for lack of room. A key that is locked for good
// (cool-off 0) is kept until Reset. When maxKeys are live, Reserve of a new
// key fails with ErrFull and Lockout applies its fail policy.
//
// A Memory is safe for concurrent use. Counters are per process:
// replicas that must share them need a shared counter (redisstore).
type Memory struct {
	shards []attemptShard
	mask   uint64
	seed   maphash.Seed
	max    int // keys per shard

	polMu sync.Mutex
	pol   Policy // the last policy seen, for Sweep
	seen  bool
}

// DefaultMaxKeys is the default cap of NewMemory.
const DefaultMaxKeys = 1_000_000

type attemptShard struct {
	mu      sync.Mutex
	m       map[string]*attemptEntry
	ops     int
	scratch attemptEntry
	_       [64]byte // keep neighbouring shards' locks off one cache line
}

// attemptEntry is one key. fails is sorted by time; res is in arrival order.
type attemptEntry struct {
	fails    []stamp
	res      []stamp
	locked   bool
	lockedAt int64 // unix ns
	limit    int   // the limit of the last call, for sweeps
}

type stamp struct {
	at    int64 // unix ns
	token uint64
}

// NewMemory returns an empty counter that holds at most maxKeys keys
// (0 means DefaultMaxKeys). It starts no goroutine.
func NewMemory(maxKeys int) (*Memory, error) {
	if maxKeys == 0 {
		maxKeys = DefaultMaxKeys
	}
	n := 16
	for n < 4*runtime.GOMAXPROCS(0) && n < 1024 {
		n <<= 1
	}
	for n > 1 && maxKeys/n < 64 {
		n >>= 1
	}
	if maxKeys < 1 || maxKeys > 1<<31-1 {
		return nil, fmt.Errorf("attempt: NewMemory: max keys %d out of range 1..%d: %w", maxKeys, 1<<31-1, ErrInvalid)
	}
	m := &Memory{shards: make([]attemptShard, n), mask: uint64(n - 1), seed: maphash.MakeSeed(), max: max(1, maxKeys/n)}
	for i := range m.shards {
		m.shards[i].m = map[string]*attemptEntry{}
	}
	return m, nil
}

var _ Counter = (*Memory)(nil)

// Len reports how many keys are held.
func (m *Memory) Len() int {
	n := 0
	for i := range m.shards {
		s := &m.shards[i]
		s.mu.Lock()
		n += len(s.m)
		s.mu.Unlock()
	}
	return n
}

// Sweep removes every key whose attempts have all expired at now, judged by
// the policy of the last call, and reports how many it removed. Calls sweep
// on their own; Sweep is for tests and for callers that want memory back
// sooner.
func (m *Memory) Sweep(now time.Time) int {
	m.polMu.Lock()
	p, ok := m.pol, m.seen
	m.polMu.Unlock()
	if !ok {
		return 0
	}
	n := 0
	for i := range m.shards {
		s := &m.shards[i]
		s.mu.Lock()
		n += s.sweep(now.UnixNano(), &p)
		s.mu.Unlock()
	}
	return n
}

func (m *Memory) shardOf(key string) int { return int(maphash.String(m.seed, key) & m.mask) }

// lock locks the shards of keys in ascending order and returns the shard of
// each key and the locked shards.
func (m *Memory) lock(keys []Key) (idx []int, order []int) {
	idx = make([]int, len(keys))
	for i, k := range keys {
		idx[i] = m.shardOf(k.Key)
		if !slices.Contains(order, idx[i]) {
			order = append(order, idx[i])
		}
	}
	slices.Sort(order)
	for _, si := range order {
		m.shards[si].mu.Lock()
	}
	return idx, order
}

func (m *Memory) unlock(order []int, now int64, p *Policy) {
	for _, si := range order {
		s := &m.shards[si]
		s.ops++
		if s.ops >= max(1024, len(s.m)) {
			s.sweep(now, p)
		}
		s.mu.Unlock()
	}
}

func (m *Memory) begin(ctx context.Context, op string, now time.Time, p Policy, keys []Key) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if s := now.Unix(); s < 0 || s > 1<<33 {
		return 0, fmt.Errorf("attempt: Memory.%s: time %v out of range: %w", op, now, ErrInvalid)
	}
	if p.Cooloff < 0 || p.ReservationTimeout < 0 {
		return 0, fmt.Errorf("attempt: Memory.%s: negative duration in policy: %w", op, ErrInvalid)
	}
	for i, k := range keys {
		if k.Key == "" || len(k.Key) > 256 || k.Limit < 1 {
			return 0, fmt.Errorf("attempt: Memory.%s: key %d: want a key of 1..256 bytes and a limit >= 1: %w", op, i, ErrInvalid)
		}
	}
	m.polMu.Lock()
	m.pol, m.seen = p, true
	m.polMu.Unlock()
	return now.UnixNano(), nil
}

// Reserve implements Counter.
func (m *Memory) Reserve(ctx context.Context, now time.Time, p Policy, token uint64, keys []Key) (bool, []State, error) {
	ns, err := m.begin(ctx, "Reserve", now, p, keys)
	if err != nil {
		return false, nil, err
	}
	idx, order := m.lock(keys)
	defer m.unlock(order, ns, &p)

	// Room for new keys first, so that a refusal changes nothing.
	for _, si := range order {
		s := &m.shards[si]
		fresh := 0
		for i, k := range keys {
			if idx[i] == si && s.m[k.Key] == nil {
				fresh++
			}
		}
		if fresh > 0 && len(s.m)+fresh > m.max {
			s.sweep(ns, &p)
			if len(s.m)+fresh > m.max {
				return false, nil, fmt.Errorf("attempt: Memory.Reserve: at most %d keys: %w", m.max*len(m.shards), ErrFull)
			}
		}
	}

	st := make([]State, len(keys))
	ok := true
	for i, k := range keys {
		e := m.shards[idx[i]].m[k.Key]
		if e == nil {
			continue
		}
		st[i].LockedNow = e.settle(ns, &p, k.Limit)
		e.limit = k.Limit
		if e.locked || len(e.fails)+len(e.res) >= k.Limit {
			ok = false
		}
	}
	for i, k := range keys {
		s := &m.shards[idx[i]]
		e := s.m[k.Key]
		if ok {
			if e == nil {
				e = &attemptEntry{limit: k.Limit}
				s.m[k.Key] = e
			}
			e.res = append(e.res, stamp{ns, token})
		}
		if e == nil {
			continue
		}
		ln := st[i].LockedNow
		st[i] = e.state(&p, k.Limit)
		st[i].LockedNow = ln
		if e.empty() {
			delete(s.m, k.Key)
		}
	}
	return ok, st, nil
}

// Fail implements Counter.
func (m *Memory) Fail(ctx context.Context, now time.Time, p Policy, token uint64, keys []Key) ([]State, error) {
	return m.finish(ctx, "Fail", now, p, token, keys, true)
}

// Release implements Counter.
func (m *Memory) Release(ctx context.Context, now time.Time, p Policy, token uint64, keys []Key) ([]State, error) {
	return m.finish(ctx, "Release", now, p, token, keys, false)
}

func (m *Memory) finish(ctx context.Context, op string, now time.Time, p Policy, token uint64, keys []Key, failed bool) ([]State, error) {
	ns, err := m.begin(ctx, op, now, p, keys)
	if err != nil {
		return nil, err
	}
	idx, order := m.lock(keys)
	defer m.unlock(order, ns, &p)
	st := make([]State, len(keys))
	for i, k := range keys {
		s := &m.shards[idx[i]]
		e := s.m[k.Key]
		if e == nil {
			continue
		}
		// Take the token's own reservation out before settling, so that a
		// late outcome replaces its timeout instead of following it.
		var mine *stamp
		if r := slices.IndexFunc(e.res, func(x stamp) bool { return x.token == token }); r >= 0 {
			x := e.res[r]
			mine = &x
			e.res = slices.Delete(e.res, r, r+1)
		}
		ln := e.settle(ns, &p, k.Limit)
		e.limit = k.Limit
		switch {
		case failed && mine != nil:
			at := ns
			if to := int64(p.ReservationTimeout); to > 0 && mine.at+to < ns {
				at = mine.at + to // it had timed out: it failed then
			}
			e.fails = insertStamp(e.fails, stamp{at, token})
		case !failed && mine == nil: // another call timed it out into a failure: take it back
			if f := slices.IndexFunc(e.fails, func(x stamp) bool { return x.token == token }); f >= 0 {
				e.fails = slices.Delete(e.fails, f, f+1)
			}
		}
		if !failed && k.ResetOnSuccess {
			e.fails, e.locked, e.lockedAt = e.fails[:0], false, 0
		}
		ln = e.settle(ns, &p, k.Limit) || ln
		st[i] = e.state(&p, k.Limit)
		st[i].LockedNow = ln
		if e.empty() {
			delete(s.m, k.Key)
		}
	}
	return st, nil
}

// Reset implements Counter.
func (m *Memory) Reset(ctx context.Context, keys []string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	for _, k := range keys {
		s := &m.shards[m.shardOf(k)]
		s.mu.Lock()
		delete(s.m, k)
		s.mu.Unlock()
	}
	return nil
}

// Status implements Counter.
func (m *Memory) Status(ctx context.Context, now time.Time, p Policy, keys []Key) ([]State, error) {
	ns, err := m.begin(ctx, "Status", now, p, keys)
	if err != nil {
		return nil, err
	}
	st := make([]State, len(keys))
	for i, k := range keys {
		s := &m.shards[m.shardOf(k.Key)]
		s.mu.Lock()
		if e := s.m[k.Key]; e != nil {
			s.scratch.copyFrom(e)
			s.scratch.settle(ns, &p, k.Limit)
			st[i] = s.scratch.state(&p, k.Limit)
		}
		s.mu.Unlock()
	}
	return st, nil
}

// sweep removes the keys that would be empty if they were touched at now.
func (s *attemptShard) sweep(now int64, p *Policy) int {
	n := 0
	for k, e := range s.m {
		s.scratch.copyFrom(e)
		s.scratch.settle(now, p, e.limit)
		if s.scratch.empty() {
			delete(s.m, k)
			n++
		}
	}
	s.ops = 0
	return n
}

func (e *attemptEntry) copyFrom(o *attemptEntry) {
	e.fails = append(e.fails[:0], o.fails...)
	e.res = append(e.res[:0], o.res...)
	e.locked, e.lockedAt, e.limit = o.locked, o.lockedAt, o.limit
}

func (e *attemptEntry) empty() bool { return !e.locked && len(e.fails) == 0 && len(e.res) == 0 }

// settle brings the key up to now under the current policy and limit:
// timed-out reservations become failures, a lock that ended (or whose limit
// was raised above the failures) is lifted, failures below the limit expire,
// and failures at the limit lock the key. It reports whether it locked it.
//
// A Redis implementation runs the same steps in its scripts.
func (e *attemptEntry) settle(now int64, p *Policy, limit int) (lockedNow bool) {
	cool := int64(p.Cooloff)
	if to := int64(p.ReservationTimeout); to > 0 && len(e.res) > 0 {
		kept := e.res[:0]
		for _, r := range e.res {
			if r.at+to <= now {
				e.fails = insertStamp(e.fails, stamp{r.at + to, r.token})
			} else {
				kept = append(kept, r)
			}
		}
		e.res = kept
	}
	if e.locked {
		switch {
		case len(e.fails) < limit: // limit raised, or a failure taken back
			e.locked, e.lockedAt = false, 0
		case cool > 0 && now >= e.lockedAt+cool: // the lock is over: start afresh
			e.fails, e.locked, e.lockedAt = e.fails[:0], false, 0
		}
	}
	if e.locked {
		return false
	}
	if n := len(e.fails); n > 0 {
		if p.AttemptExpiry && cool > 0 {
			i := 0
			for i < n && e.fails[i].at+cool <= now {
				i++
			}
			e.fails = append(e.fails[:0], e.fails[i:]...)
		} else if e.fails[n-1].at+int64(p.Window()) <= now {
			e.fails = e.fails[:0]
		}
	}
	if len(e.fails) >= limit {
		at := e.fails[limit-1].at // the failure that reached the limit
		if cool > 0 && now >= at+cool {
			// A lowered limit that would have locked the key long enough ago
			// that the lock would be over by now.
			e.fails = e.fails[:0]
			return false
		}
		e.locked, e.lockedAt = true, at
		return true
	}
	return false
}

func (e *attemptEntry) state(p *Policy, limit int) State {
	st := State{Failures: len(e.fails), Reserved: len(e.res)}
	switch {
	case e.locked:
		st.Locked, st.LockedAt = true, time.Unix(0, e.lockedAt).UTC()
		if p.Cooloff > 0 {
			st.Until = time.Unix(0, e.lockedAt+int64(p.Cooloff)).UTC()
		}
	case len(e.res) > 0 && len(e.fails)+len(e.res) >= limit:
		oldest := e.res[0].at
		for _, r := range e.res {
			oldest = min(oldest, r.at)
		}
		st.Until = time.Unix(0, oldest+int64(p.ReservationTimeout)).UTC()
	}
	return st
}

func insertStamp(s []stamp, x stamp) []stamp {
	i := len(s)
	for i > 0 && s[i-1].at > x.at {
		i--
	}
	return slices.Insert(s, i, x)
}
