package ratelimit

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/maphash"
	"math"
	"net/netip"
	"runtime"
	"strings"
	"sync"
	"time"
	"unsafe"
)

// MaxValueLen is the longest Key.Value Memory accepts, in bytes. A longer
// value (a token in a header, say) should be hashed by the caller first; it
// is refused with ErrInvalid so that memory stays bounded.
const MaxValueLen = 256

// Key identifies one counter: a rule and a client. It is comparable, so it is
// a map key with no allocation.
type Key struct {
	// Rule is the rule's ID.
	Rule int64
	// IP is the client address, already grouped by the caller (IPv6 by its
	// /64, NAT64 by the embedded IPv4). The zero Addr when keyed by Value only.
	IP netip.Addr
	// Value is the user ID or header value, "" when keyed by IP. At most
	// MaxValueLen bytes.
	Value string
	// Limit is the rule's limit; it decides, and it is part of the identity.
	Limit Limit
}

// Clock tells the time. core.Clock and clockwork's clocks satisfy it.
type Clock interface{ Now() time.Time }

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

// Stats are Memory's counters.
type Stats struct {
	Keys      int    // live counters now
	Swept     uint64 // idle counters removed, by Sweep, the sweeper and inline sweeps
	Overflows uint64 // new keys refused with ErrFull
}

// Option configures a Memory. Options validate themselves.
type Option func(*config) error

type config struct {
	shards     int
	maxKeys    int
	sweepEvery time.Duration
	clock      Clock
}

// Defaults and bounds of the options.
const (
	DefaultMaxKeys       = 1_000_000
	DefaultSweepInterval = time.Minute
	maxShards            = 1 << 16
)

// WithShards sets the number of shards, a power of two from 1 to 65536.
// The default is 64, or 4 × GOMAXPROCS rounded up to a power of two when
// that is larger (at most 4096).
func WithShards(n int) Option {
	return func(c *config) error {
		if n < 1 || n > maxShards || n&(n-1) != 0 {
			return &inputError{op: "WithShards", problem: fmt.Sprintf("%d is not a power of two from 1 to %d", n, maxShards)}
		}
		c.shards = n
		return nil
	}
}

// WithMaxKeys sets the hard cap on live counters (default 1,000,000). Each
// shard holds at most maxKeys/shards of them; see Memory for what happens
// when a shard is full. It must be at least the number of shards.
func WithMaxKeys(n int) Option {
	return func(c *config) error {
		if n < 1 || n > math.MaxInt32 {
			return &inputError{op: "WithMaxKeys", problem: fmt.Sprintf("%d is not from 1 to %d", n, math.MaxInt32)}
		}
		c.maxKeys = n
		return nil
	}
}

// WithSweepInterval sets how often the sweeper started by Start removes idle
// counters (default 1 minute). It must be positive.
func WithSweepInterval(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 {
			return &inputError{op: "WithSweepInterval", problem: fmt.Sprintf("%v is not positive", d)}
		}
		c.sweepEvery = d
		return nil
	}
}

// WithClock sets the clock the sweeper reads (default: the system clock). It
// must be the clock whose time the caller passes to Allow; a sweeper whose
// clock runs ahead would remove counters that are still live.
func WithClock(clk Clock) Option {
	return func(c *config) error {
		if clk == nil {
			return &inputError{op: "WithClock", problem: "nil clock"}
		}
		c.clock = clk
		return nil
	}
}

func defaultShards() int {
	n := 64
	for n < 4*runtime.GOMAXPROCS(0) && n < 4096 {
		n <<= 1
	}
	return n
}

// Memory is the in-process Limiter: GCRA counters in sharded maps.
//
// A Memory is safe for concurrent use. See the package documentation for
// the locking, the memory bound and the overflow policy.
type Memory struct {
	shards []paddedShard
	mask   uint64
	seed   maphash.Seed
	clock  Clock
	every  time.Duration

	life    sync.Mutex // guards the fields below
	started bool
	closed  bool
	cancel  context.CancelFunc
	done    chan struct{}
}

// shard holds a share of the counters. The map holds an index into tats
// rather than the TAT itself, so updating an existing counter is one map
// lookup and a slice store, and never rewrites the stored key.
type shard struct {
	mu        sync.Mutex
	m         map[Key]int32
	tats      []int64
	free      []int32 // indices of tats no key uses
	low       int64   // lower bound on every TAT in m (TATs only grow); MaxInt64 when empty
	max       int     // per-shard cap
	peak      int     // largest len(m) since the map was last rebuilt
	swept     uint64
	overflows uint64
}

// paddedShard rounds a shard up to 128 bytes (two cache lines, against
// adjacent-line prefetch), so neighbouring shards never share a line.
type paddedShard struct {
	shard
	_ [(128 - unsafe.Sizeof(shard{})%128) % 128]byte
}

// NewMemory returns an empty Memory. It starts no goroutine: call Start for
// the background sweeper, or call Sweep yourself.
func NewMemory(opts ...Option) (*Memory, error) {
	c := config{shards: defaultShards(), maxKeys: DefaultMaxKeys, sweepEvery: DefaultSweepInterval, clock: systemClock{}}
	for _, o := range opts {
		if o == nil {
			return nil, &inputError{op: "NewMemory", problem: "nil option"}
		}
		if err := o(&c); err != nil {
			return nil, err
		}
	}
	if c.maxKeys < c.shards {
		return nil, &inputError{op: "NewMemory", problem: fmt.Sprintf("max keys %d is below the shard count %d", c.maxKeys, c.shards)}
	}
	m := &Memory{
		shards: make([]paddedShard, c.shards),
		mask:   uint64(c.shards - 1),
		seed:   maphash.MakeSeed(),
		clock:  c.clock,
		every:  c.sweepEvery,
	}
	for i := range m.shards {
		m.shards[i].shard = shard{m: make(map[Key]int32), low: math.MaxInt64, max: c.maxKeys / c.shards}
	}
	return m, nil
}

// shardOf picks a shard with a seeded hash of the key's rule, address and
// value, so that clients cannot aim their keys at one shard.
func (m *Memory) shardOf(k *Key) uint32 {
	var b [24]byte
	binary.LittleEndian.PutUint64(b[:8], uint64(k.Rule))
	a := k.IP.As16()
	copy(b[8:], a[:])
	h := maphash.Bytes(m.seed, b[:])
	if k.Value != "" {
		h ^= maphash.String(m.seed, k.Value) * 0x9e3779b97f4a7c15
	}
	return uint32(h & m.mask)
}

// checkKey returns the key's interval and burst window, or an error.
func checkKey(i int, k *Key) (t, w int64, err error) {
	t, w, ok := k.Limit.params()
	if !ok {
		return 0, 0, &inputError{op: "Memory.Allow", problem: fmt.Sprintf("key %d: %s (limit %s)", i, k.Limit.problem(), k.Limit)}
	}
	if len(k.Value) > MaxValueLen {
		return 0, 0, &inputError{op: "Memory.Allow", problem: fmt.Sprintf("key %d: value longer than %d bytes", i, MaxValueLen)}
	}
	return t, w, nil
}

func checkNow(now time.Time) (int64, error) {
	// Unix seconds first: UnixNano is undefined outside 1678..2262.
	if s := now.Unix(); s < 0 || s >= MaxUnixNano/int64(time.Second) {
		return 0, &inputError{op: "Memory.Allow", problem: "time " + now.String() + " out of range"}
	}
	return now.UnixNano(), nil
}

// Allow checks one request against every key that applies to it and appends
// one Result per key, in order, to dst. The request is allowed when every
// Result is Allowed; then each key consumes one request. If any key denies,
// no key consumes, and the Results of the conforming keys describe them as
// they are (Remaining counts this request as not made).
//
// Allow does not allocate when dst has room and every key exists; a new key
// allocates its map entry and a copy of its Value.
//
// On error nothing is consumed and dst is returned as it was. Errors: a key
// with an invalid Limit or a Value over MaxValueLen, or a now outside
// 1970..MaxUnixNano (ErrInvalid); a new key meeting a full shard (ErrFull,
// counted in Stats().Overflows).
func (m *Memory) Allow(now time.Time, keys []Key, dst []Result) ([]Result, error) {
	switch len(keys) {
	case 0:
		return dst, nil
	case 1:
		return m.allowOne(now, &keys[0], dst)
	}
	return m.allowMany(now, keys, dst)
}

func (m *Memory) allowOne(now time.Time, k *Key, dst []Result) ([]Result, error) {
	ns, err := checkNow(now)
	if err != nil {
		return dst, err
	}
	t, w, err := checkKey(0, k)
	if err != nil {
		return dst, err
	}
	s := &m.shards[m.shardOf(k)]
	s.mu.Lock()
	idx, ok := s.m[*k]
	var tat int64
	if ok {
		tat = s.tats[idx]
	}
	newTAT, r := gcra(tat, ns, k.Limit, t, w)
	if r.Allowed {
		if ok {
			s.tats[idx] = newTAT
		} else {
			if len(s.m) >= s.max {
				s.sweep(ns)
			}
			if len(s.m) >= s.max {
				s.overflows++
				s.mu.Unlock()
				return dst, errFull
			}
			s.insert(k, newTAT)
		}
	}
	s.mu.Unlock()
	return append(dst, r), nil
}

var errFull = fmt.Errorf("ratelimit: Memory.Allow: new key refused, counters at the cap: %w", ErrFull)

// entry is allowMany's working state for one key.
type entry struct {
	si     uint32
	dup    int32 // index of the previous occurrence of the same key in this call, or -1
	idx    int32 // index in the shard's tats, or -1 when the key is not stored
	t, w   int64
	stored int64 // TAT before this call (0 when not stored)
	newTAT int64 // TAT after this request if it is allowed (the stored one otherwise)
}

const stackKeys = 8

func (m *Memory) allowMany(now time.Time, keys []Key, dst []Result) ([]Result, error) {
	ns, err := checkNow(now)
	if err != nil {
		return dst, err
	}
	var ebuf [stackKeys]entry
	var obuf [stackKeys]uint32
	es, order := ebuf[:0], obuf[:0]
	if len(keys) > stackKeys {
		es, order = make([]entry, 0, len(keys)), make([]uint32, 0, len(keys))
	}
	for i := range keys {
		t, w, err := checkKey(i, &keys[i])
		if err != nil {
			return dst, err
		}
		si := m.shardOf(&keys[i])
		es = append(es, entry{si: si, dup: -1, idx: -1, t: t, w: w})
		order = insertSorted(order, si)
	}

	// Lock every shard involved in ascending order: no deadlock with another
	// Allow, and the check and the commit see the same state.
	for _, si := range order {
		m.shards[si].mu.Lock()
	}
	unlock := func() {
		for _, si := range order {
			m.shards[si].mu.Unlock()
		}
	}

	// Check every key, as if the earlier ones had consumed.
	base := len(dst)
	allowed := true
	for i := range keys {
		e, k := &es[i], &keys[i]
		s := &m.shards[e.si]
		var tat int64
		for j := i - 1; j >= 0; j-- {
			if es[j].si == e.si && keys[j] == *k {
				e.dup = int32(j)
				break
			}
		}
		if e.dup >= 0 {
			prev := &es[e.dup]
			e.idx, e.stored, tat = prev.idx, prev.stored, prev.newTAT
		} else if idx, ok := s.m[*k]; ok {
			e.idx, e.stored = idx, s.tats[idx]
			tat = e.stored
		}
		var r Result
		e.newTAT, r = gcra(tat, ns, k.Limit, e.t, e.w)
		allowed = allowed && r.Allowed
		dst = append(dst, r)
	}
	if !allowed {
		// Nothing is consumed: report the conforming keys as they stand.
		for i := range es {
			r := &dst[base+i]
			if r.Allowed {
				e := &es[i]
				d := max(e.stored-ns, 0)
				r.Remaining, r.ResetAfter = (e.w-d)/e.t, time.Duration(d)
			}
		}
		unlock()
		return dst, nil
	}

	// Room for the new keys, shard by shard.
	for _, si := range order {
		s := &m.shards[si]
		if len(s.m)+newKeys(es, si) <= s.max {
			continue
		}
		if s.sweep(ns) > 0 {
			// Sweeping may have removed keys of this call (idle ones, whose
			// decision does not change); look them up again.
			for i := range es {
				if e := &es[i]; e.si == si {
					if e.dup >= 0 {
						e.idx = es[e.dup].idx
					} else if idx, ok := s.m[keys[i]]; ok {
						e.idx = idx
					} else {
						e.idx = -1
					}
				}
			}
		}
		if len(s.m)+newKeys(es, si) > s.max {
			s.overflows++
			unlock()
			return dst[:base], errFull
		}
	}

	// Commit, in order, so a repeated key ends with its last TAT.
	for i := range es {
		e := &es[i]
		s := &m.shards[e.si]
		switch {
		case e.dup >= 0:
			e.idx = es[e.dup].idx
			s.tats[e.idx] = e.newTAT
		case e.idx < 0:
			e.idx = s.insert(&keys[i], e.newTAT)
		default:
			s.tats[e.idx] = e.newTAT
		}
	}
	unlock()
	return dst, nil
}

func newKeys(es []entry, si uint32) int {
	n := 0
	for i := range es {
		if es[i].si == si && es[i].dup < 0 && es[i].idx < 0 {
			n++
		}
	}
	return n
}

// insertSorted adds v to the ascending set s.
func insertSorted(s []uint32, v uint32) []uint32 {
	i := len(s)
	for i > 0 && s[i-1] >= v {
		if s[i-1] == v {
			return s
		}
		i--
	}
	s = append(s, 0)
	copy(s[i+1:], s[i:])
	s[i] = v
	return s
}

// insert stores a new key with a private copy of its Value, so the map never
// pins a caller's larger buffer. Called with s.mu held.
func (s *shard) insert(k *Key, tat int64) int32 {
	var idx int32
	if n := len(s.free); n > 0 {
		idx = s.free[n-1]
		s.free = s.free[:n-1]
		s.tats[idx] = tat
	} else {
		idx = int32(len(s.tats))
		s.tats = append(s.tats, tat)
	}
	key := *k
	key.Value = strings.Clone(k.Value)
	s.m[key] = idx
	s.low = min(s.low, tat)
	s.peak = max(s.peak, len(s.m))
	return idx
}

// compactMin is the peak size from which a shard that shrank to a quarter
// of it is rebuilt, since Go maps do not give memory back.
const compactMin = 1024

// sweep removes the keys whose TAT is at or before now: their counters are
// idle, and an absent key behaves exactly like one, so no decision changes.
// It returns the number removed. Called with s.mu held.
func (s *shard) sweep(now int64) int {
	if now < s.low {
		return 0 // every TAT is later than now
	}
	n := 0
	low := int64(math.MaxInt64)
	for k, i := range s.m {
		if t := s.tats[i]; t <= now {
			delete(s.m, k)
			s.free = append(s.free, i)
			n++
		} else if t < low {
			low = t
		}
	}
	s.low = low
	s.swept += uint64(n)
	if s.peak >= compactMin && len(s.m) <= s.peak/4 {
		s.compact()
	}
	return n
}

// compact rebuilds the map and the TAT slice at the current size.
func (s *shard) compact() {
	m := make(map[Key]int32, len(s.m))
	tats := make([]int64, 0, len(s.m))
	for k, i := range s.m {
		m[k] = int32(len(tats))
		tats = append(tats, s.tats[i])
	}
	s.m, s.tats, s.free, s.peak = m, tats, nil, len(m)
}

// Sweep removes every idle counter (TAT at or before now) and returns how
// many it removed; a now outside 1970..MaxUnixNano removes nothing. It
// locks one shard at a time, for a scan of that shard. Removing an idle counter
// never changes a decision; a live counter is never removed.
func (m *Memory) Sweep(now time.Time) int {
	ns, err := checkNow(now)
	if err != nil {
		return 0
	}
	n := 0
	for i := range m.shards {
		s := &m.shards[i]
		s.mu.Lock()
		n += s.sweep(ns)
		s.mu.Unlock()
	}
	return n
}

// Len is the number of live counters.
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

// Stats returns the counters, summed over the shards.
func (m *Memory) Stats() Stats {
	var st Stats
	for i := range m.shards {
		s := &m.shards[i]
		s.mu.Lock()
		st.Keys += len(s.m)
		st.Swept += s.swept
		st.Overflows += s.overflows
		s.mu.Unlock()
	}
	return st
}

// Start starts the sweeper: a goroutine that calls Sweep with the clock's
// time every sweep interval until ctx ends or Close is called. It returns an
// error if already started or closed.
func (m *Memory) Start(ctx context.Context) error {
	m.life.Lock()
	defer m.life.Unlock()
	switch {
	case m.closed:
		return fmt.Errorf("ratelimit: Memory.Start: %w", ErrClosed)
	case m.started:
		return errors.New("ratelimit: Memory.Start: already started")
	}
	ctx, cancel := context.WithCancel(ctx)
	m.started, m.cancel, m.done = true, cancel, make(chan struct{})
	go m.sweeper(ctx, m.done)
	return nil
}

func (m *Memory) sweeper(ctx context.Context, done chan<- struct{}) {
	defer close(done)
	tick := time.NewTicker(m.every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			m.Sweep(m.clock.Now())
		}
	}
}

// Close stops the sweeper, if started, and waits for it to return. The
// Memory keeps working (Allow, Sweep); it cannot be started again. Close is
// idempotent and returns nil.
func (m *Memory) Close() error {
	m.life.Lock()
	defer m.life.Unlock()
	if m.closed {
		return nil
	}
	m.closed = true
	if m.started {
		m.cancel()
		<-m.done
	}
	return nil
}
