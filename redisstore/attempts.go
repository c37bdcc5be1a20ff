package redisstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/wardenkit/warden/core/attempt"
)

// Attempts is a attempt.Counter on Redis, shared by every replica that
// uses the same Redis and prefix: a lockout holds across them. Get it from
// Store.Attempts and pass it to core.WithAttemptCounter.
//
// It behaves exactly like attempt.Memory: every step (Reserve, Fail,
// Release, Status) is one Lua script call that settles the stored
// timestamps against the limits and policy passed in that call, the same
// steps in the same order as the memory counter, so a changed limit or
// cool-off applies to existing counters at once. Reset is one DEL.
//
// Time is the caller's: the now argument of each call, as the AttemptCounter
// contract requires (and as the memory counter does), never the Redis
// server's clock. Replicas must therefore keep their clocks in sync (NTP);
// a replica whose clock is ahead by d makes its failures last d longer.
// Times are exact to the nanosecond.
//
// Layout, per counter key K (K as the Lockout built it: "ui:{<ip>}:<user
// hash>", "ip:{<ip>}", "u:{<user hash>}", so usernames never appear in
// Redis), under "<prefix>att:" ("warden:att:" by default): K:f, a sorted set
// of failures, K:r, a sorted set of reservations (score: Unix seconds,
// member: "<nanoseconds, 9 digits>:<token>"), and K:l, the time the counter
// locked ("<Unix seconds>.<9 digits>"). They expire max(cool-off, 24 h) +
// the reservation timeout + 1 s after the counter last changed (PEXPIRE),
// or never while it is locked with a cool-off of 0 (PERSIST; until Reset).
// A key without a well-formed hash tag is hashed into one
// ("<prefix>att#{<hash>}"), so that its three parts share a slot.
//
// On Redis Cluster the keys of one attempt that share a hash tag (the
// address-bound ones) are decided by one script call; keys in other slots
// (the opt-in username-only key) by one more call each. Reserve is then
// all or nothing by compensation rather than atomically: when a later slot
// refuses, the reservations made in earlier slots are dropped by another
// call. Meanwhile a concurrent attempt may see them (and be refused when it
// would have fit), and if that call fails they time out into failures after
// the reservation timeout. Fail, Release and Status are atomic per slot.
//
// Deadlines hold whatever the client's options (ContextTimeoutEnabled or
// not). A step gives up when Redis has sent no reply at all since it was
// made, to it or to any other call of the Store, within WithLoginTimeout
// (default 250 ms), and in any case after WithLoginMaxWait (default 2 s): a
// step queued behind a burst waits while the burst is being answered, so
// load is not taken for an outage. Steps that wait at the same time share
// round trips (WithLoginPipeline): each is still one script call of its own,
// and a quiet counter sends each alone, at once. A step that gives up
// returns an error wrapping context.DeadlineExceeded. A circuit breaker
// (WithBreaker) stops calling a dead Redis, one that refuses connections or
// has sent no reply for WithSilence, and the steps it refuses return at once
// an error wrapping ErrCircuitOpen; a slow reply does not open it. On every
// error the Lockout applies its fail policy (core.WithLockoutFailPolicy). A
// step whose caller has left is not sent if it is still queued, but one
// already sent may still reach Redis: a reservation made so is counted as a
// failure once its reservation timeout passes, as for any attempt that never
// reports its outcome. Stats counts the calls, errors and breaker trips.
//
// Attempts never returns attempt.ErrFull: memory is bounded by the expiries
// and by Redis's maxmemory, which should use a noeviction or volatile-*
// policy (an evicted lock is a lifted lock).
//
// Where results can differ from the memory counter's: a cool-off raised
// above 24 h, or set to 0, does not bring back a counter that Redis already
// expired under the old one (the memory counter brings it back only if it
// has not swept it yet: its own results then depend on timing); and
// durations so long (centuries) that the memory counter's int64 arithmetic
// overflows.
//
// An Attempts is safe for concurrent use.
type Attempts struct {
	rdb          redis.UniversalClient
	prefix       string        // "<store prefix>att"
	timeout      time.Duration // patience: the longest a step waits with no reply from Redis
	maxWait      time.Duration // the longest a step waits
	startTimeout time.Duration
	split        bool // Cluster: one script call per hash slot
	guard        *guard
	batch        *batcher
	breaker      breaker
	st           counters
}

var _ attempt.Counter = (*Attempts)(nil)

// Attempts returns the shared login attempt counter, with a breaker of its
// own.
func (s *Store) Attempts() *Attempts {
	a := &Attempts{rdb: s.rdb, prefix: s.prefix + "att", timeout: s.loginTimeout, maxWait: s.loginMaxWait,
		startTimeout: s.startTimeout, guard: s.guard, breaker: breaker{max: s.breakMax, cooldown: s.breakCool}}
	_, a.split = s.rdb.(*redis.ClusterClient)
	a.batch = &batcher{g: s.guard, rdb: s.rdb, st: &a.st, calls: s.loginCalls, size: s.loginBatch}
	return a
}

// Start loads the script (SCRIPT LOAD), so that the first step takes one
// round trip rather than two. It is optional: a step whose script the server
// does not know sends it again. It returns by WithStartTimeout (default 1 s)
// with an error when Redis does not answer.
func (a *Attempts) Start(ctx context.Context) error {
	err := a.guarded(ctx, "Start", a.startTimeout, func(ctx context.Context) error {
		return attemptScript.Load(ctx, a.rdb).Err()
	})
	if err != nil {
		return fmt.Errorf("redisstore: Attempts.Start: script load: %w", err)
	}
	return nil
}

// Stats reports the counter's calls, errors and breaker trips.
func (a *Attempts) Stats() Stats { return a.st.stats(a.guard) }

// guarded runs fn under the breaker and deadline d. Errors come back
// unwrapped, but for the breaker's, which names method.
func (a *Attempts) guarded(ctx context.Context, method string, d time.Duration, fn func(context.Context) error) error {
	if !a.breaker.allow() {
		a.st.open.Add(1)
		return errorf(ErrCircuitOpen, "redisstore: Attempts.%s: circuit open: Redis is not called until the cool-down ends", method)
	}
	return a.guard.do(ctx, d, &a.breaker, &a.st, fn)
}

// hashTag is the part of key that Redis Cluster hashes: the text between the
// first '{' and the next '}', when not empty.
func hashTag(key string) string {
	i := strings.IndexByte(key, '{')
	if i < 0 {
		return ""
	}
	j := strings.IndexByte(key[i+1:], '}')
	if j <= 0 {
		return ""
	}
	return key[i+1 : i+1+j]
}

// base is the Redis name of counter k, without the ":f", ":r", ":l" suffix:
// "<prefix>att:<k>" when k has a hash tag (the prefix has no braces, so the
// tag is k's), else "<prefix>att#{<hash of k>}". The two forms cannot meet.
func (a *Attempts) base(k string) string {
	if hashTag(k) != "" {
		return a.prefix + ":" + k
	}
	sum := sha256.Sum256([]byte(k))
	return a.prefix + "#{" + hex.EncodeToString(sum[:16]) + "}"
}

func (a *Attempts) redisKeys(dst []string, k string) []string {
	b := a.base(k)
	return append(dst, b+":f", b+":r", b+":l")
}

// maxTTL bounds the expiry of counters, so absurd policies cannot overflow.
const maxTTL = 100 * 365 * 24 * time.Hour

// call is one step's arguments.
type call struct {
	name  string // the method, for errors: "Reserve"
	op    string // the script's operation: "reserve", "probe", "undo", ...
	now   time.Time
	p     attempt.Policy
	token uint64
}

// check refuses a step whose context has ended or whose arguments are out
// of range (errInvalidArg).
func (a *Attempts) check(ctx context.Context, c *call, keys []attempt.Key) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("redisstore: Attempts.%s: %w", c.name, err)
	}
	if s := c.now.Unix(); s < 0 || s > 1<<33 {
		return errorf(errInvalidArg, "redisstore: Attempts.%s: time %v out of range 1970..2242", c.name, c.now)
	}
	if c.p.Cooloff < 0 || c.p.ReservationTimeout < 0 {
		return errorf(errInvalidArg, "redisstore: Attempts.%s: policy cool-off %s, reservation timeout %s: negative duration",
			c.name, c.p.Cooloff, c.p.ReservationTimeout)
	}
	for i, k := range keys {
		if k.Key == "" || len(k.Key) > 256 || k.Limit < 1 {
			return errorf(errInvalidArg, "redisstore: Attempts.%s: key %d: %d bytes, limit %d: want a key of 1..256 bytes and a limit >= 1",
				c.name, i, len(k.Key), k.Limit)
		}
	}
	return nil
}

func splitDur(d time.Duration) (int64, int64) { return int64(d / time.Second), int64(d % time.Second) }

func (c *call) args(a *Attempts, keys []attempt.Key) ([]string, []any) {
	ks := make([]string, 0, 3*len(keys))
	for _, k := range keys {
		ks = a.redisKeys(ks, k.Key)
	}
	cs, cn := splitDur(c.p.Cooloff)
	ts, tn := splitDur(c.p.ReservationTimeout)
	win := c.p.Window()
	ws, wn := splitDur(win)
	ttl := maxTTL
	if win < maxTTL && c.p.ReservationTimeout < maxTTL-win {
		ttl = min(maxTTL, win+c.p.ReservationTimeout+time.Second)
	}
	expiry := 0
	if c.p.AttemptExpiry {
		expiry = 1
	}
	args := make([]any, 0, 12+2*len(keys))
	args = append(args, c.op, c.now.Unix(), c.now.Nanosecond(), cs, cn, ts, tn, ws, wn, expiry,
		strconv.FormatUint(c.token, 10), int64((ttl+time.Millisecond-1)/time.Millisecond))
	for _, k := range keys {
		reset := 0
		if k.ResetOnSuccess {
			reset = 1
		}
		args = append(args, k.Limit, reset)
	}
	return ks, args
}

// eval runs one script call for keys, all in one slot.
func (a *Attempts) eval(ctx context.Context, c *call, keys []attempt.Key) (bool, []attempt.State, error) {
	ks, args := c.args(a, keys)
	raw, err := a.batch.exec(ctx, a.timeout, ks, args)
	if err != nil {
		return false, nil, err
	}
	return decodeStates(raw, len(keys))
}

// decodeStates reads the script's reply for n keys.
func decodeStates(raw []int64, n int) (bool, []attempt.State, error) {
	if len(raw) != 1+9*n {
		return false, nil, fmt.Errorf("script returned %d values for %d keys", len(raw), n)
	}
	st := make([]attempt.State, n)
	for i := range st {
		v := raw[1+9*i : 10+9*i]
		st[i] = attempt.State{Failures: int(v[0]), Reserved: int(v[1]), Locked: v[2] == 1, LockedNow: v[8] == 1}
		if st[i].Locked {
			st[i].LockedAt = time.Unix(v[3], v[4]).UTC()
		}
		if v[5] == 1 {
			st[i].Until = time.Unix(v[6], v[7]).UTC()
		}
	}
	return raw[0] == 1, st, nil
}

// groups splits the keys by hash slot (by hash tag: keys with one tag share
// a slot), in order of first appearance. Without Cluster, one group.
func (a *Attempts) groups(keys []attempt.Key) [][]int {
	all := make([]int, len(keys))
	for i := range all {
		all[i] = i
	}
	if !a.split {
		return [][]int{all}
	}
	var out [][]int
	var tags []string
	for i, k := range keys {
		t := hashTag(a.base(k.Key))
		g := 0
		for g < len(tags) && tags[g] != t {
			g++
		}
		if g == len(tags) {
			tags = append(tags, t)
			out = append(out, nil)
		}
		out[g] = append(out[g], i)
	}
	return out
}

func pick(keys []attempt.Key, idx []int) []attempt.Key {
	if len(idx) == len(keys) {
		return keys
	}
	out := make([]attempt.Key, len(idx))
	for j, i := range idx {
		out[j] = keys[i]
	}
	return out
}

// run does one step under the deadline and the breaker.
func (a *Attempts) run(ctx context.Context, c *call, keys []attempt.Key) (bool, []attempt.State, error) {
	if len(keys) == 0 {
		return true, []attempt.State{}, nil
	}
	if !a.breaker.allow() {
		a.st.open.Add(1)
		return false, nil, errorf(ErrCircuitOpen, "redisstore: Attempts.%s: circuit open: Redis is not called until the cool-down ends", c.name)
	}
	sctx, cancel := context.WithTimeout(ctx, a.maxWait)
	ok, st, err := a.step(sctx, c, keys)
	cancel()
	if err = a.guard.report(ctx, a.maxWait, a.timeout, err, &a.breaker, &a.st); err != nil {
		return false, nil, fmt.Errorf("redisstore: Attempts.%s: %w", c.name, err)
	}
	return ok, st, nil
}

// step runs one step: one script call, or one per slot on Cluster.
func (a *Attempts) step(ctx context.Context, c *call, keys []attempt.Key) (bool, []attempt.State, error) {
	g := a.groups(keys)
	switch {
	case len(g) == 1:
		return a.eval(ctx, c, keys)
	case c.op == "reserve":
		return a.reserveSplit(ctx, c, keys, g)
	}
	st := make([]attempt.State, len(keys))
	for _, idx := range g {
		_, gst, err := a.eval(ctx, c, pick(keys, idx))
		if err != nil {
			return false, nil, err
		}
		for j, i := range idx {
			st[i] = gst[j]
		}
	}
	return true, st, nil
}

// reserveSplit reserves slot by slot. After a refusal the remaining slots
// are only settled (probe), and the reservations already made are dropped
// (undo), so the outcome is the one of an atomic Reserve.
func (a *Attempts) reserveSplit(ctx context.Context, c *call, keys []attempt.Key, groups [][]int) (bool, []attempt.State, error) {
	st := make([]attempt.State, len(keys))
	ok := true
	var made [][]int
	var err error
	for _, idx := range groups {
		gc := *c
		if !ok {
			gc.op = "probe"
		}
		var gok bool
		var gst []attempt.State
		if gok, gst, err = a.eval(ctx, &gc, pick(keys, idx)); err != nil {
			ok = false
			break
		}
		for j, i := range idx {
			st[i] = gst[j]
		}
		if gok && gc.op == "reserve" {
			made = append(made, idx)
		}
		ok = ok && gok
	}
	if ok {
		return true, st, nil
	}
	uc := *c
	uc.op = "undo"
	if err != nil { // the deadline may be spent: the undo goes on without the caller
		for _, idx := range made {
			ks, args := uc.args(a, pick(keys, idx))
			go func() {
				uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), a.timeout)
				defer cancel()
				a.batch.exec(uctx, a.timeout, ks, args) // on failure they time out into failures
			}()
		}
		return false, nil, err
	}
	for _, idx := range made {
		_, gst, uerr := a.eval(ctx, &uc, pick(keys, idx))
		if uerr != nil {
			return false, nil, fmt.Errorf("dropping the reservations of a refused attempt (they time out into failures): %w", uerr)
		}
		for j, i := range idx {
			ln := st[i].LockedNow
			st[i] = gst[j]
			st[i].LockedNow = ln
		}
	}
	return false, st, nil
}

// Reserve implements attempt.Counter: it reserves one attempt on every
// key or on none, in one round trip.
func (a *Attempts) Reserve(ctx context.Context, now time.Time, p attempt.Policy, token uint64, keys []attempt.Key) (bool, []attempt.State, error) {
	c := &call{name: "Reserve", op: "reserve", now: now, p: p, token: token}
	if err := a.check(ctx, c, keys); err != nil {
		return false, nil, err
	}
	return a.run(ctx, c, keys)
}

// Fail implements attempt.Counter, in one round trip.
func (a *Attempts) Fail(ctx context.Context, now time.Time, p attempt.Policy, token uint64, keys []attempt.Key) ([]attempt.State, error) {
	c := &call{name: "Fail", op: "fail", now: now, p: p, token: token}
	if err := a.check(ctx, c, keys); err != nil {
		return nil, err
	}
	_, st, err := a.run(ctx, c, keys)
	return st, err
}

// Release implements attempt.Counter, in one round trip.
func (a *Attempts) Release(ctx context.Context, now time.Time, p attempt.Policy, token uint64, keys []attempt.Key) ([]attempt.State, error) {
	c := &call{name: "Release", op: "release", now: now, p: p, token: token}
	if err := a.check(ctx, c, keys); err != nil {
		return nil, err
	}
	_, st, err := a.run(ctx, c, keys)
	return st, err
}

// Status implements attempt.Counter, in one round trip; it writes
// nothing.
func (a *Attempts) Status(ctx context.Context, now time.Time, p attempt.Policy, keys []attempt.Key) ([]attempt.State, error) {
	c := &call{name: "Status", op: "status", now: now, p: p}
	if err := a.check(ctx, c, keys); err != nil {
		return nil, err
	}
	_, st, err := a.run(ctx, c, keys)
	return st, err
}

// Reset implements attempt.Counter: one DEL (on Cluster, one DEL per
// slot in one pipeline), under the deadline WithLoginTimeout.
func (a *Attempts) Reset(ctx context.Context, keys []string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("redisstore: Attempts.Reset: %w", err)
	}
	if len(keys) == 0 {
		return nil
	}
	ks := make([]string, 0, 3*len(keys))
	for _, k := range keys {
		ks = a.redisKeys(ks, k)
	}
	err := a.guarded(ctx, "Reset", a.timeout, func(ctx context.Context) error {
		if !a.split {
			return a.rdb.Del(ctx, ks...).Err()
		}
		_, err := a.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i := 0; i < len(ks); i += 3 {
				p.Del(ctx, ks[i:i+3]...)
			}
			return nil
		})
		return err
	})
	if errors.Is(err, ErrCircuitOpen) {
		return err
	}
	if err != nil {
		return fmt.Errorf("redisstore: Attempts.Reset: %w", err)
	}
	return nil
}
