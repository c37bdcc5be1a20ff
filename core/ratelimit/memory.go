package ratelimit

import (
	"context"
	"encoding/binary"
	"fmt"
	"hash/maphash"
	"math"
	"math/bits"
	"math/rand/v2"
	"net/netip"
	"runtime"
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
	Swept     uint64 // idle counters removed, by Sweep, the sweeper and evictions at a full shard
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
			return invalid("WithShards", fmt.Sprintf("%d is not a power of two from 1 to %d", n, maxShards))
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
			return invalid("WithMaxKeys", fmt.Sprintf("%d is not from 1 to %d", n, math.MaxInt32))
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
			return invalid("WithSweepInterval", fmt.Sprintf("%v is not positive", d))
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
			return invalid("WithClock", "nil clock")
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

// Memory is the in-process Limiter: GCRA counters in sharded hash tables.
//
// A Memory is safe for concurrent use. See the package documentation for
// the locking, the memory bound and the overflow policy.
type Memory struct {
	shards []paddedShard
	mask   uint64
	seed   maphash.Seed
	key    [4]uint64 // secret keys of the hash
	clock  Clock
	every  time.Duration

	life    sync.Mutex // guards the fields below
	started bool
	closed  bool
	cancel  context.CancelFunc
	done    chan struct{}
}

// shard holds a share of the counters: a mutex and a table.
type shard struct {
	mu        sync.Mutex
	t         table
	max       int // per-shard cap
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
	for i, o := range opts {
		if o == nil {
			return nil, invalid("NewMemory", fmt.Sprintf("option %d is nil", i))
		}
		if err := o(&c); err != nil {
			return nil, err
		}
	}
	if c.maxKeys < c.shards {
		return nil, invalid("NewMemory", fmt.Sprintf("WithMaxKeys(%d) is below the shard count %d", c.maxKeys, c.shards))
	}
	m := &Memory{
		shards: make([]paddedShard, c.shards),
		mask:   uint64(c.shards - 1),
		seed:   maphash.MakeSeed(),
		key:    [4]uint64{rand.Uint64(), rand.Uint64(), rand.Uint64(), rand.Uint64()},
		clock:  c.clock,
		every:  c.sweepEvery,
	}
	for i := range m.shards {
		m.shards[i].shard = shard{t: newTable(), max: c.maxKeys / c.shards}
	}
	return m, nil
}

// hash is a seeded 64-bit hash of the key's rule, address, limit and value:
// its low bits pick the shard, its high bits the slot in the shard's table.
// It is keyed with secrets drawn per Memory, so clients cannot aim their keys
// at one shard or one probe sequence.
func (m *Memory) hash(k *Key) uint64 {
	var hi, lo uint64
	switch {
	case k.IP.Is4(): // As4 is much cheaper than As16, whose copy stalls store forwarding
		a := k.IP.As4()
		lo = 0xffff<<32 | uint64(binary.BigEndian.Uint32(a[:]))
	case k.IP.IsValid():
		a := k.IP.As16()
		hi, lo = binary.BigEndian.Uint64(a[:8]), binary.BigEndian.Uint64(a[8:])
	}
	l := uint64(k.Limit.N) ^ uint64(k.Limit.Period)<<8 ^ uint64(k.Limit.Burst)<<32
	h := mix(uint64(k.Rule)^m.key[0], hi^m.key[1]) ^ mix(lo^m.key[2], l^m.key[3])
	if k.Value != "" {
		h ^= maphash.String(m.seed, k.Value)
	}
	return mix(h^m.key[0], m.key[3]^0x9e3779b97f4a7c15)
}

// mix is wyhash's folded 128-bit multiply.
func mix(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	return hi ^ lo
}

// checkKey returns the key's interval and burst window, or an error.
func checkKey(i int, k *Key) (t, w int64, err error) {
	t, w, ok := k.Limit.params()
	if !ok {
		return 0, 0, invalid("Memory.Allow", fmt.Sprintf("key %d: limit %s: %s", i, k.Limit, k.Limit.problem()))
	}
	if len(k.Value) > MaxValueLen {
		return 0, 0, invalid("Memory.Allow", fmt.Sprintf("key %d: value of %d bytes, longer than %d", i, len(k.Value), MaxValueLen))
	}
	return t, w, nil
}

func checkNow(now time.Time) (int64, error) {
	// Unix seconds first: UnixNano is undefined outside 1678..2262.
	if s := now.Unix(); s < 0 || s >= MaxUnixNano/int64(time.Second) {
		return 0, invalid("Memory.Allow", "time "+now.String()+" out of range")
	}
	return now.UnixNano(), nil
}

// Allow checks one request against every key that applies to it and appends
// one Result per key, in order, to dst. The request is allowed when every
// Result is Allowed; then each key consumes one request. If any key denies,
// no key consumes, and the Results of the conforming keys describe them as
// they are (Remaining counts this request as not made). The Retry-After of
// a denied request is the largest RetryAfter among its Results.
//
// Allow does not allocate when dst has room, every key exists, and there
// are at most 8 keys; a new key may grow its shard's table and allocates a
// copy of its Value.
//
// On error nothing is consumed and dst is returned as it was. Errors: a key
// with an invalid Limit or a Value over MaxValueLen, or a now outside
// 1970..MaxUnixNano (ErrInvalid); a new key meeting a full shard whose
// counters are all in debt (ErrFull, counted in Stats().Overflows): idle
// counters make room first.
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
	h := m.hash(k)
	s := &m.shards[h&m.mask]
	s.mu.Lock()
	e := s.t.find(k, h)
	var tat int64
	if e >= 0 {
		tat = s.t.ents[e].tat
	}
	newTAT, r := gcra(tat, ns, k.Limit, t, w)
	if r.Allowed {
		if e >= 0 {
			s.t.ents[e].tat = newTAT
		} else {
			if len(s.t.ents) >= s.max {
				s.swept += uint64(s.t.evict(ns, len(s.t.ents)-s.max+1))
			}
			if len(s.t.ents) >= s.max {
				s.overflows++
				s.mu.Unlock()
				return dst, errFull
			}
			s.t.insert(k, h, newTAT)
		}
	}
	s.mu.Unlock()
	return append(dst, r), nil
}

// errFull is the error of a new key refused at a full shard. It is a value,
// so that a flood of new keys costs no allocation.
var errFull error = &opError{kind: ErrFull, op: "Memory.Allow", problem: "new key refused: counters at their cap"}

// pending is allowMany's working state for one key.
type pending struct {
	h      uint64
	si     uint32
	dup    int32 // index of the previous occurrence of the same key in this call, or -1
	idx    int   // position in the shard's table, or -1 when the key is not stored
	t, w   int64
	stored int64 // TAT before this call (0 when not stored)
	newTAT int64 // TAT after this request if it is allowed (the stored one otherwise)
}

const stackKeys = 8

// allowMany is Allow for two keys or more: it locks every shard involved,
// checks every key, and commits only if all conform and the new keys fit.
func (m *Memory) allowMany(now time.Time, keys []Key, dst []Result) ([]Result, error) {
	ns, err := checkNow(now)
	if err != nil {
		return dst, err
	}
	var ebuf [stackKeys]pending
	var obuf [stackKeys]uint32
	es, order := ebuf[:0], obuf[:0]
	if len(keys) > stackKeys {
		es, order = make([]pending, 0, len(keys)), make([]uint32, 0, len(keys))
	}
	if es, order, err = m.prepare(keys, es, order); err != nil {
		return dst, err
	}
	// Lock every shard involved in ascending order: no deadlock with another
	// Allow, and the check and the commit see the same state.
	for _, si := range order {
		m.shards[si].mu.Lock()
	}
	base := len(dst)
	dst, allowed, anyNew := m.check(ns, keys, es, dst)
	switch {
	case !allowed:
		// Nothing is consumed: report the conforming keys as they stand.
		unconsumed(ns, es, dst[base:])
	case anyNew && !m.makeRoom(ns, keys, es, order):
		m.unlockShards(order)
		return dst[:base], errFull
	default:
		m.commit(keys, es)
	}
	for _, si := range order {
		m.shards[si].mu.Unlock()
	}
	return dst, nil
}

// prepare validates every key and appends its pending state to es and its
// shard to the ascending set order.
func (m *Memory) prepare(keys []Key, es []pending, order []uint32) ([]pending, []uint32, error) {
	for i := range keys {
		t, w, err := checkKey(i, &keys[i])
		if err != nil {
			return es, order, err
		}
		h := m.hash(&keys[i])
		si := uint32(h & m.mask)
		es = append(es, pending{h: h, si: si, dup: -1, idx: -1, t: t, w: w})
		order = insertSorted(order, si)
	}
	return es, order, nil
}

func (m *Memory) unlockShards(order []uint32) {
	for _, si := range order {
		m.shards[si].mu.Unlock()
	}
}

// check decides every key, as if the earlier ones had consumed, and appends
// one Result per key to dst. It reports whether all keys conform and whether
// any of them is not stored yet. The shards of the keys are locked.
func (m *Memory) check(ns int64, keys []Key, es []pending, dst []Result) ([]Result, bool, bool) {
	allowed, anyNew := true, false
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
		} else if idx := s.t.find(k, e.h); idx >= 0 {
			e.idx, e.stored = idx, s.t.ents[idx].tat
			tat = e.stored
		} else {
			anyNew = true
		}
		var r Result
		e.newTAT, r = gcra(tat, ns, k.Limit, e.t, e.w)
		allowed = allowed && r.Allowed
		dst = append(dst, r)
	}
	return dst, allowed, anyNew
}

// unconsumed rewrites the Results of the conforming keys of a denied request
// to describe them as they stand, since nothing is consumed.
func unconsumed(ns int64, es []pending, rs []Result) {
	for i := range es {
		r := &rs[i]
		if r.Allowed {
			e := &es[i]
			d := max(e.stored-ns, 0)
			r.Remaining, r.ResetAfter = (e.w-d)/e.t, time.Duration(d)
		}
	}
}

// makeRoom makes room for the new keys, shard by shard, evicting idle
// counters (TAT at or before now, the same as no counter) from a shard that
// would go over its cap. It reports false, and counts an overflow, when a
// shard is still too full: every counter in it is live. The shards of the
// keys are locked.
func (m *Memory) makeRoom(ns int64, keys []Key, es []pending, order []uint32) bool {
	for _, si := range order {
		s := &m.shards[si]
		for {
			over := len(s.t.ents) + newKeys(es, si) - s.max
			if over <= 0 {
				break
			}
			n := s.t.evict(ns, over)
			if n == 0 {
				s.overflows++
				return false
			}
			s.swept += uint64(n)
			// Eviction moves entries, and may have removed idle keys of
			// this call (whose decision does not change): look them up
			// again. A key removed is new now, so the loop checks again.
			for i := range es {
				if e := &es[i]; e.si == si {
					if e.dup >= 0 {
						e.idx = es[e.dup].idx
					} else {
						e.idx = s.t.find(&keys[i], e.h)
					}
				}
			}
		}
	}
	return true
}

// commit stores every key's new TAT, in order, so a repeated key ends with
// its last TAT. The shards of the keys are locked.
func (m *Memory) commit(keys []Key, es []pending) {
	for i := range es {
		e := &es[i]
		s := &m.shards[e.si]
		switch {
		case e.dup >= 0:
			e.idx = es[e.dup].idx
			s.t.ents[e.idx].tat = e.newTAT
		case e.idx < 0:
			e.idx = s.t.insert(&keys[i], e.h, e.newTAT)
		default:
			s.t.ents[e.idx].tat = e.newTAT
		}
	}
}

func newKeys(es []pending, si uint32) int {
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

// Sweep removes every idle counter (TAT at or before now) and returns how
// many it removed; a now outside 1970..MaxUnixNano removes nothing. It
// locks one shard at a time, for O(log n) per counter removed (or renewed
// since it was last looked at). Removing an idle counter never changes a
// decision; a live counter is never removed.
func (m *Memory) Sweep(now time.Time) int {
	ns, err := checkNow(now)
	if err != nil {
		return 0
	}
	n := 0
	for i := range m.shards {
		s := &m.shards[i]
		s.mu.Lock()
		removed := s.t.sweep(ns)
		s.swept += uint64(removed)
		n += removed
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
		n += len(s.t.ents)
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
		st.Keys += len(s.t.ents)
		st.Swept += s.swept
		st.Overflows += s.overflows
		s.mu.Unlock()
	}
	return st
}

var (
	errStartClosed  error = &opError{kind: ErrClosed, op: "Memory.Start", problem: "Close was called"}
	errStartStarted error = &opError{kind: ErrStarted, op: "Memory.Start", problem: "sweeper already running"}
)

// Start starts the sweeper: a goroutine that calls Sweep with the clock's
// time every sweep interval until ctx ends or Close is called. A second
// Start returns an error wrapping ErrStarted; a Start after Close, one
// wrapping ErrClosed.
func (m *Memory) Start(ctx context.Context) error {
	m.life.Lock()
	defer m.life.Unlock()
	switch {
	case m.closed:
		return errStartClosed
	case m.started:
		return errStartStarted
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
