package metrics

import (
	"runtime"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/wardenkit/warden/core"
)

// SampleEvery is the check latency sampling interval: about one Check in
// SampleEvery is timed (on each stripe of counters, the one after every
// SampleEvery-th decision of a kind). The others read no clock beyond the one
// the engine reads itself.
const SampleEvery = 64

// latencyBounds are the upper bounds of the check latency histogram, in
// nanoseconds: from the in-memory allow path (hundreds of nanoseconds) to a
// Redis round trip near the limiter's 50 ms deadline.
var latencyBounds = [...]int64{
	250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000,
	500_000, 1_000_000, 2_500_000, 5_000_000, 10_000_000, 25_000_000, 50_000_000, 100_000_000,
}

const (
	nBuckets = len(latencyBounds) + 1 // the last one is +Inf
	// shardWords is a shard's words: decisions, buckets, the sum and the flag.
	shardWords = numSlots + nBuckets + 2
	// shardPad rounds a shard up to whole 128-byte blocks (two cache lines,
	// as the adjacent-line prefetcher fetches them), so that two shards'
	// hot counters do not share one.
	shardPad  = (128 - shardWords*8%128) % 128
	maxShards = 256
)

// shard is one stripe of the counters. A request counts in the shard its
// goroutine's stack address picks, so goroutines on different CPUs rarely
// write the same cache line.
type shard struct {
	decisions [numSlots]atomic.Uint64
	buckets   [nBuckets]atomic.Uint64
	sumNanos  atomic.Int64
	sample    atomic.Bool // time the next Check that starts on this shard
	_         [shardPad]byte
}

// Recorder counts Check's decisions by outcome and rule kind and times a
// sample of them. It implements core.CheckObserver: give it to the engine
// with core.WithCheckObserver, and to New with WithRecorder so that a
// registry sees its counts.
//
// A Recorder is safe for concurrent use. Its per-request work is one atomic
// load and one atomic add, and for a sampled request two monotonic clock
// reads and a few more atomic operations; it never allocates, locks or
// blocks. A Recorder given to several engines counts them together.
type Recorder struct {
	shards []shard
	shift  uint      // 64 - log2(len(shards))
	origin time.Time // the monotonic origin of Begin's tokens
}

// NewRecorder returns a Recorder striped for the current GOMAXPROCS.
func NewRecorder() *Recorder {
	n, bits := 1, uint(0)
	for n < 4*runtime.GOMAXPROCS(0) && n < maxShards {
		n, bits = n*2, bits+1
	}
	return &Recorder{shards: make([]shard, n), shift: 64 - bits, origin: time.Now()}
}

var _ core.CheckObserver = (*Recorder)(nil)

// shard is the stripe of the calling goroutine, picked from its stack
// address (stacks are at least 8 KiB apart), hashed by Fibonacci hashing.
// The address is never dereferenced; a goroutine whose stack moved simply
// counts in another stripe.
func (r *Recorder) shard() *shard {
	var b byte
	h := uint64(uintptr(unsafe.Pointer(&b))>>13) * 0x9E3779B97F4A7C15
	return &r.shards[h>>r.shift] // a shift of 64 (one shard) gives 0
}

// Begin returns, for a Check to be timed, the monotonic time in nanoseconds
// since the Recorder was made (at least 1), and 0 for the others. It is
// meant to be called by the engine, and End to be given its result.
func (r *Recorder) Begin() int64 {
	s := r.shard()
	if !s.sample.Load() || !s.sample.CompareAndSwap(true, false) {
		return 0
	}
	return max(int64(time.Since(r.origin)), 1)
}

// End counts d and, when begin is a timed Begin's result, records how long
// the Check took. It is meant to be called by the engine.
func (r *Recorder) End(begin int64, d core.Decision) {
	s := r.shard()
	if s.decisions[slotOf(d)].Add(1)%SampleEvery == 0 {
		s.sample.Store(true)
	}
	if begin > 0 {
		r.observe(s, int64(time.Since(r.origin))-begin)
	}
}

// observe adds one latency sample of ns nanoseconds to s.
func (r *Recorder) observe(s *shard, ns int64) {
	ns = max(ns, 0)
	i := 0
	for i < len(latencyBounds) && ns > latencyBounds[i] {
		i++
	}
	s.buckets[i].Add(1)
	s.sumNanos.Add(ns)
}

// totals is the sum over the shards at one moment.
type totals struct {
	decisions [numSlots]uint64
	buckets   [nBuckets]uint64
	sumNanos  int64
}

// read sums the shards. Each counter is read atomically; a request counted
// while read runs may land in this scrape or the next, never in none.
func (r *Recorder) read() totals {
	var t totals
	for i := range r.shards {
		s := &r.shards[i]
		for j := range s.decisions {
			t.decisions[j] += s.decisions[j].Load()
		}
		for j := range s.buckets {
			t.buckets[j] += s.buckets[j].Load()
		}
		t.sumNanos += s.sumNanos.Load()
	}
	return t
}
