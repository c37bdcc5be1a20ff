// Package ratelimit holds warden's rate-limit syntax, the GCRA decision
// step, and Memory, the in-process limiter used when no Redis is configured.
//
// # Limits
//
// A Limit is N requests per Period with a burst of B (Burst, or N when Burst
// is 0). Its text form is "N/u" or "N/u;burst=B" with u one of s, m, h, d:
//
//	l, err := ratelimit.Parse("100/m;burst=20") // 100 a minute, 20 at once
//
// # Algorithm
//
// Counters use the generic cell rate algorithm (GCRA), which stores a single
// number per counter: the theoretical arrival time (TAT), in Unix
// nanoseconds, at which the counter would be idle. With the emission
// interval T = Period/N (Limit.Interval), a request at time now is allowed
// when
//
//	max(TAT, now) + T − now ≤ B·T
//
// and then TAT becomes max(TAT, now) + T; a denied request changes nothing.
// Consequences, each tested:
//
//   - From idle exactly B requests pass at once, however many arrive
//     concurrently.
//   - Sustained, the limit admits N requests per Period (one every T).
//   - No half-open window of length Period admits more than B + N − 1.
//   - A denied Result's RetryAfter is exactly the time until a request would
//     conform; the Retry-After header is its ceiling in whole seconds
//     (RetryAfterSeconds).
//
// Arithmetic is on integer nanoseconds computed from Period and N, never on a
// float rate, so there is no drift: T is exact whenever N divides Period in
// nanoseconds, and otherwise rounded up, which errs on the strict side by
// under 1 ns per request. GCRA is a pure function so that other stores (the
// Redis limiter's script) can share its definition and its tests.
//
// # Memory
//
//	m, err := ratelimit.NewMemory()            // no goroutine yet
//	if err := m.Start(ctx); err != nil { … }   // background sweeper
//	defer m.Close()
//	res, err := m.Allow(now, keys, res[:0])   // every key of one request
//
// Counters live in a power-of-two number of shards (WithShards), each a
// mutex and an open-addressing table, padded against false sharing. One
// 64-bit hash per key, keyed with secrets drawn per Memory, picks both the
// shard and the slot, so clients cannot aim their keys at one shard or one
// probe chain. (A Go map was measured first: hashing the 72-byte Key field
// by field on lookup and again on store was most of the cost of a call.)
// There is no global lock, and an allowed request writes nothing shared
// beyond its own counter and the lock of its shard. Allow takes every key of
// one request: it locks the shards involved in ascending shard order, checks
// all keys, and commits only if all conform. A request denied by any key
// consumes from none; its Retry-After is the largest RetryAfter among the
// denied keys.
//
// Memory is bounded twice. Idle counters (TAT at or before now) are removed
// by Sweep, called every sweep interval by the goroutine Start starts
// (WithSweepInterval, default 1 minute, clock set by WithClock), never on
// the request path of an existing key. An idle counter behaves exactly like
// an absent one, so removing it never changes a decision; tables shrink
// again after a spike. And there is a hard cap on live counters
// (WithMaxKeys, default 1,000,000), divided evenly among the shards, so the
// fullest shard reaches its share a few per cent before the total does. A
// counter takes about 120 to 250 bytes plus its Value (at most MaxValueLen
// bytes, copied on insert so that a caller's buffer is never pinned): about
// 250 MB at the default cap, in the worst case.
//
// # Overflow policy
//
// A full shard means that many counters in debt at once, not that many
// clients seen: when a new key arrives at a full shard, Allow first evicts
// idle counters from it, as many as the new keys need. Each shard files its
// counters in a min-heap by the TAT they had when filed (TATs only grow, so
// that is a lower bound): seeing that nothing is idle costs O(1), and each
// eviction O(log n). A counter renewed since it was filed is filed again,
// work paid for by the request that renewed it; the hot path of an existing
// key never touches the heap. So a flood of unique keys whose counters go
// idle as fast as new ones arrive costs a few hundred nanoseconds per key at
// a full shard, not a scan of the shard. If every counter of the shard is in
// debt, the new key is refused with an error wrapping ErrFull, nothing is
// consumed, and Stats().Overflows counts it. A live counter is never evicted
// or reset to make room: that would hand a fresh burst to whoever is being
// limited, and let a client with many addresses wipe the counters of others.
// Requests on existing keys are unaffected. The engine answers the error
// with its FailPolicy (deny with 503 by default, or let the request through
// if the operator chose to fail open), so a flood of new keys costs at most
// the service to new clients, and shows in Stats.
//
// # Concurrency
//
// GCRA, Parse and Limit are pure. A Memory is safe for concurrent use.
// NewMemory starts no goroutine; Start starts the sweeper and Close stops it
// and waits for it.
//
// # Security
//
// The limiter is only as good as its keys: Key.IP must come from a trusted
// client-IP resolution (core/clientip) and be grouped by the caller (IPv6 by
// /64), or a client rotates addresses to get fresh counters. The time passed
// to Allow and the sweeper's clock must be the same clock; a sweeper running
// ahead would remove live counters.
package ratelimit
