package redisstore_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/netip"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/wardenkit/warden/core"
	"github.com/wardenkit/warden/core/attempt"
	"github.com/wardenkit/warden/core/memstore"
	"github.com/wardenkit/warden/redisstore"
)

var (
	at0 = time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	pol = attempt.Policy{Cooloff: 15 * time.Minute, ReservationTimeout: attempt.ReservationTimeout}
)

// redisTB is redisClient for tests and benchmarks.
func redisTB(tb testing.TB) *redis.Client {
	tb.Helper()
	url := os.Getenv("WARDEN_TEST_REDIS_URL")
	if url == "" {
		tb.Skip("WARDEN_TEST_REDIS_URL not set")
	}
	opt, err := redis.ParseURL(url)
	if err != nil {
		tb.Fatalf("WARDEN_TEST_REDIS_URL: %v", err)
	}
	opt.PoolSize = 64
	rdb := redis.NewClient(opt)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := rdb.Ping(ctx).Err(); err != nil {
		tb.Fatalf("Redis at %s does not answer: %v", opt.Addr, err)
	}
	tb.Cleanup(func() { rdb.Close() })
	return rdb
}

// cleanPrefix deletes the keys under p when the test ends (locks without
// end never expire), on every master of a Cluster.
func cleanPrefix(tb testing.TB, rdb redis.UniversalClient, p string) {
	tb.Cleanup(func() {
		if err := deletePrefix(context.Background(), rdb, p); err != nil {
			tb.Errorf("deleting the keys under %s: %v", p, err)
		}
	})
}

// newAttempts is a counter with a generous deadline (the race detector and
// 1,000 goroutines are slow) whose keys under p are deleted at the end.
func newAttempts(tb testing.TB, rdb redis.UniversalClient, p string) *redisstore.Attempts {
	tb.Helper()
	cleanPrefix(tb, rdb, p)
	s, err := redisstore.New(rdb, redisstore.WithPrefix(p), redisstore.WithLoginTimeout(5*time.Second))
	if err != nil {
		tb.Fatal(err)
	}
	a := s.Attempts()
	if err := a.Start(context.Background()); err != nil {
		tb.Fatal(err)
	}
	return a
}

// keysOf lists the Redis keys under prefix p, of every master of a
// Cluster.
func keysOf(t *testing.T, rdb redis.UniversalClient, p string) []string {
	t.Helper()
	by, err := keysByMaster(context.Background(), rdb, p+"*")
	if err != nil {
		t.Fatal(err)
	}
	var ks []string
	for _, m := range by {
		ks = append(ks, m...)
	}
	slices.Sort(ks)
	return ks
}

func sameStates(a, b []attempt.State) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		if x.Failures != y.Failures || x.Reserved != y.Reserved || x.Locked != y.Locked || x.LockedNow != y.LockedNow ||
			!x.LockedAt.Equal(y.LockedAt) || !x.Until.Equal(y.Until) || x.LockedAt.IsZero() != y.LockedAt.IsZero() || x.Until.IsZero() != y.Until.IsZero() {
			return false
		}
	}
	return true
}

// parityKeys are the counters of the parity test: the address-bound keys of
// two addresses (a shared hash tag each), username keys, and keys without a
// hash tag (hashed into one).
var parityKeys = []struct {
	key   string
	limit int
	reset bool
}{
	{"ui:{203.0.113.7}:0123456789abcdef0123456789abcdef", 3, true},
	{"ip:{203.0.113.7}", 7, false},
	{"ui:{198.51.100.9}:0123456789abcdef0123456789abcdef", 3, true},
	{"ip:{198.51.100.9}", 7, false},
	{"u:{0123456789abcdef0123456789abcdef}", 4, true},
	{"no-tag", 2, false},
	{"}{odd", 1, true},
}

// steps are the clock's moves, from nothing to beyond every window, with odd
// nanoseconds so that times are exercised exactly; shortSteps are for
// policies of seconds.
var shortSteps = []time.Duration{0, 0, 1, 999, 1001, time.Millisecond, 100 * time.Millisecond, 333*time.Millisecond + 7,
	999999999, time.Second, time.Second + 1, 2 * time.Second, 2*time.Second + 1, 3 * time.Second}

var steps = []time.Duration{0, 0, 1, 999, 1001, time.Millisecond, time.Second, 7 * time.Second, 30 * time.Second,
	59*time.Second + 999999999, time.Minute, 61 * time.Second, 5 * time.Minute, 14*time.Minute + 59*time.Second,
	15 * time.Minute, 16 * time.Minute, time.Hour, 2 * time.Hour, 23 * time.Hour, 24 * time.Hour, 25 * time.Hour}

// parityRun drives the same random sequence of steps through a memory
// counter and a Redis counter and compares every result. vary changes the
// limits and the policy at every step (then the run must stay under 1,024
// calls, or the memory counter's sweeps, which judge keys by the last
// policy seen, make its own results depend on timing).
func parityRun(t *testing.T, red attempt.Counter, seed uint64, n int, p attempt.Policy, vary bool, steps []time.Duration) {
	t.Helper()
	mem, err := attempt.NewMemory(0)
	if err != nil {
		t.Fatal(err)
	}
	q := &parity{mem: mem, red: red, ctx: context.Background(), rng: rand.New(rand.NewPCG(seed, 42)),
		now: at0, p: p, nextTok: 1, stats: map[string]int{}}
	for step := range n {
		q.now = q.now.Add(steps[q.rng.IntN(len(steps))])
		if q.rng.IntN(4) == 0 {
			q.now = q.now.Add(time.Duration(q.rng.Int64N(int64(steps[len(steps)-1] / 8))))
		}
		if vary {
			q.mult = 1 + q.rng.IntN(4)
			q.p = parityPolicies[q.rng.IntN(len(parityPolicies))]
		} else {
			q.mult = 2
		}
		o := q.step()
		if o.merr != nil || o.rerr != nil {
			t.Fatalf("step %d %s: errors memory %v, redis %v", step, o.what, o.merr, o.rerr)
		}
		for _, s := range o.mst {
			if s.LockedNow {
				q.stats["locks"]++
			}
			if s.Locked {
				q.stats["locked"]++
			}
		}
		if o.mok != o.rok || !sameStates(o.mst, o.rst) {
			t.Fatalf("step %d at %v (+%v), policy %+v, limits ×%d/2: %s\nmemory %v %+v\nredis  %v %+v",
				step, q.now.Format(time.RFC3339Nano), q.now.Sub(at0), q.p, q.mult, o.what, o.mok, o.mst, o.rok, o.rst)
		}
	}
	// A run that never locks or refuses proves little.
	if q.stats["locks"] < n/100 || q.stats["refused"] < n/100 || q.stats["reserved"] < n/10 {
		t.Fatalf("weak run: %v", q.stats)
	}
	t.Logf("%d steps: %v", n, q.stats)
}

// parityPolicies are the policies of a run whose policy changes at every
// step.
var parityPolicies = []attempt.Policy{
	pol,
	{ReservationTimeout: attempt.ReservationTimeout},
	{Cooloff: 15 * time.Minute, AttemptExpiry: true, ReservationTimeout: attempt.ReservationTimeout},
	{Cooloff: 30 * time.Hour, ReservationTimeout: attempt.ReservationTimeout},
	{Cooloff: 2 * time.Second, ReservationTimeout: time.Second},
	{Cooloff: time.Hour},
}

// parity is a parity run's state: the two counters, the clock, the policy
// and limits of the step, and the attempts made so far.
type parity struct {
	mem, red attempt.Counter
	ctx      context.Context
	rng      *rand.Rand
	now      time.Time
	p        attempt.Policy
	mult     int // limits are parityKeys' × mult/2
	nextTok  uint64
	lives    []parityAttempt // reserved, without an outcome yet
	done     []uint64        // tokens given an outcome
	stats    map[string]int
}

type parityAttempt struct {
	tok  uint64
	keys []int
}

// parityStep is what one step returned from both counters.
type parityStep struct {
	what       string
	mok, rok   bool
	mst, rst   []attempt.State
	merr, rerr error
}

func (q *parity) pickKeys() []int {
	k := q.rng.Perm(len(parityKeys))[:1+q.rng.IntN(3)]
	if q.rng.IntN(50) == 0 {
		k = append(k, k[0]) // a key given twice
	}
	return k
}

func (q *parity) build(idx []int) []attempt.Key {
	out := make([]attempt.Key, len(idx))
	for j, i := range idx {
		pk := parityKeys[i]
		out[j] = attempt.Key{Key: pk.key, Limit: max(1, pk.limit*q.mult/2), ResetOnSuccess: pk.reset}
	}
	return out
}

// step makes one random call on both counters.
func (q *parity) step() parityStep {
	var o parityStep
	switch r := q.rng.IntN(100); {
	case r < 40:
		return q.reserve()
	case r < 80:
		return q.outcome(r < 62)
	case r < 97:
		idx := q.pickKeys()
		keys := q.build(idx)
		o.mst, o.merr = q.mem.Status(q.ctx, q.now, q.p, keys)
		o.rst, o.rerr = q.red.Status(q.ctx, q.now, q.p, keys)
		o.what = fmt.Sprintf("Status(%v)", idx)
	default:
		idx := q.pickKeys()
		var names []string
		for _, i := range idx {
			names = append(names, parityKeys[i].key)
		}
		o.merr = q.mem.Reset(q.ctx, names)
		o.rerr = q.red.Reset(q.ctx, names)
		o.what = fmt.Sprintf("Reset(%v)", idx)
	}
	return o
}

// reserve is a Reserve with a new token.
func (q *parity) reserve() parityStep {
	var o parityStep
	idx := q.pickKeys()
	tok := q.nextTok
	q.nextTok += 1 + uint64(q.rng.IntN(1<<20))
	keys := q.build(idx)
	o.mok, o.mst, o.merr = q.mem.Reserve(q.ctx, q.now, q.p, tok, keys)
	o.rok, o.rst, o.rerr = q.red.Reserve(q.ctx, q.now, q.p, tok, keys)
	o.what = fmt.Sprintf("Reserve(%d, %v)", tok, idx)
	if o.mok {
		q.lives = append(q.lives, parityAttempt{tok, idx})
		q.stats["reserved"]++
	} else {
		q.stats["refused"]++
	}
	return o
}

// outcome is the Fail (or Release) of a live attempt, or of a stale or
// unknown token.
func (q *parity) outcome(fail bool) parityStep {
	var o parityStep
	tok, idx := uint64(1<<62), q.pickKeys()
	if len(q.lives) > 0 && q.rng.IntN(10) != 0 {
		i := q.rng.IntN(len(q.lives))
		tok, idx = q.lives[i].tok, q.lives[i].keys
		if q.rng.IntN(10) == 0 {
			idx = q.pickKeys() // other keys than it was reserved on
		}
		q.lives = slices.Delete(q.lives, i, i+1)
		q.done = append(q.done, tok)
	} else if len(q.done) > 0 && q.rng.IntN(2) == 0 {
		tok = q.done[q.rng.IntN(len(q.done))]
	}
	keys := q.build(idx)
	if fail {
		o.mst, o.merr = q.mem.Fail(q.ctx, q.now, q.p, tok, keys)
		o.rst, o.rerr = q.red.Fail(q.ctx, q.now, q.p, tok, keys)
		o.what = fmt.Sprintf("Fail(%d, %v)", tok, idx)
	} else {
		o.mst, o.merr = q.mem.Release(q.ctx, q.now, q.p, tok, keys)
		o.rst, o.rerr = q.red.Release(q.ctx, q.now, q.p, tok, keys)
		o.what = fmt.Sprintf("Release(%d, %v)", tok, idx)
	}
	return o
}

func TestAttemptsParityWithMemory(t *testing.T) {
	eachBackend(t, testParity)
}

func testParity(t *testing.T, b backend) {
	fixed := []struct {
		name  string
		p     attempt.Policy
		steps []time.Duration
	}{
		{"cooloff_15m", pol, steps},
		{"cooloff_0_locks_until_reset", attempt.Policy{ReservationTimeout: attempt.ReservationTimeout}, steps},
		{"attempt_expiry", attempt.Policy{Cooloff: 15 * time.Minute, AttemptExpiry: true, ReservationTimeout: attempt.ReservationTimeout}, steps},
		{"cooloff_30h_window_30h", attempt.Policy{Cooloff: 30 * time.Hour, ReservationTimeout: attempt.ReservationTimeout}, steps},
		{"seconds_and_nanoseconds", attempt.Policy{Cooloff: 2*time.Second + 1, AttemptExpiry: true, ReservationTimeout: time.Second - 1}, shortSteps},
		{"seconds_window", attempt.Policy{Cooloff: 3*time.Second - 1, ReservationTimeout: time.Second + 1}, shortSteps},
		{"no_reservation_timeout", attempt.Policy{Cooloff: time.Hour}, steps},
	}
	for _, mode := range []string{"single", "cluster_slots"} {
		if b.cluster && mode == "single" {
			continue // a Cluster client always splits by slot
		}
		t.Run(mode, func(t *testing.T) {
			counter := func(t *testing.T) attempt.Counter {
				a := newAttempts(t, b.client(t), prefix())
				if mode == "cluster_slots" {
					redisstore.SplitSlots(a)
				}
				return a
			}
			n, changing := 3000, 1000
			if mode == "cluster_slots" {
				n = 1500
			}
			if b.inProcess { // a script call takes about 0.5 ms in miniredis's Lua
				n, changing = n/10, changing/4
			}
			for i, c := range fixed {
				t.Run(c.name, func(t *testing.T) {
					parityRun(t, counter(t), uint64(100+i), n, c.p, false, c.steps)
				})
			}
			// Limits and policy changing at every step apply to the
			// counters as they stand.
			t.Run("changing_limits_and_policy", func(t *testing.T) {
				for seed := range uint64(4) {
					parityRun(t, counter(t), 200+seed, changing, pol, true, steps)
				}
			})
		})
	}
}

// The counter's keys expire, and nothing of a username appears in Redis.
func TestAttemptsKeysAndExpiry(t *testing.T) { eachBackend(t, testKeysAndExpiry) }

func testKeysAndExpiry(t *testing.T, b backend) {
	rdb := b.client(t)
	p := prefix()
	cleanPrefix(t, rdb, p)
	s, _ := redisstore.New(rdb, redisstore.WithPrefix(p))
	st := memstore.New()
	clk := &testClock{t: at0}
	eng := newLoginEngine(t, st, s.Attempts(), core.WithClock(clk), core.WithLockoutKeys(core.LockoutByUserAndIP, core.LockoutByIP, core.LockoutByUser))
	lo := eng.Lockout()
	ctx := context.Background()
	a := core.Attempt{Username: "Alice.Secret@example.com", IP: netip.MustParseAddr("203.0.113.7")}
	tk, err := lo.Begin(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	if err := lo.Fail(ctx, tk); err != nil {
		t.Fatal(err)
	}
	ks := keysOf(t, rdb, p)
	if len(ks) != 3 { // the failures of three counters; no reservation, no lock
		t.Fatalf("keys %q, want the failures of 3 counters", ks)
	}
	want := (24*time.Hour + attempt.ReservationTimeout + time.Second)
	for _, k := range ks {
		if strings.Contains(strings.ToLower(k), "alice") || strings.Contains(k, "example") {
			t.Errorf("key %q shows the username", k)
		}
		if !strings.HasSuffix(k, ":f") || !strings.Contains(k, "{") {
			t.Errorf("key %q: want a hash-tagged failure set", k)
		}
		ttl, err := rdb.PTTL(ctx, k).Result()
		if err != nil || ttl <= want-time.Minute || ttl > want {
			t.Errorf("PTTL %s = %v, %v; want about %v", k, ttl, err, want)
		}
	}
	if !slices.ContainsFunc(ks, func(k string) bool { return strings.HasPrefix(k, p+"att:ip:{203.0.113.7}") }) {
		t.Errorf("keys %q: no address key", ks)
	}
	// A success clears the username keys; the address key keeps its failure.
	tk, _ = lo.Begin(ctx, a)
	if _, err := lo.Succeed(ctx, tk, core.Success{UserID: "1"}); err != nil {
		t.Fatal(err)
	}
	if ks := keysOf(t, rdb, p); len(ks) != 1 || !strings.Contains(ks[0], "att:ip:{203.0.113.7}:f") {
		t.Fatalf("after a success: keys %q, want only the address's failures", ks)
	}
}

// A lock without end (cool-off 0) is kept until Reset, whatever the TTLs;
// a cool-off set later ends it, and its keys expire again.
func TestAttemptsLockWithoutEndKeys(t *testing.T) { eachBackend(t, testLockWithoutEndKeys) }

func testLockWithoutEndKeys(t *testing.T, b backend) {
	rdb := b.client(t)
	p := prefix()
	c := newAttempts(t, rdb, p)
	ctx := context.Background()
	perm := attempt.Policy{ReservationTimeout: attempt.ReservationTimeout}
	k := []attempt.Key{{Key: "ui:{198.51.100.1}:00112233445566778899aabbccddeeff", Limit: 1, ResetOnSuccess: true}}
	if ok, _, err := c.Reserve(ctx, at0, perm, 7, k); !ok || err != nil {
		t.Fatal(ok, err)
	}
	if ok, _, _ := c.Reserve(ctx, at0, perm, 8, k); ok {
		t.Fatal("reserved beyond the limit")
	}
	res, err := c.Fail(ctx, at0, perm, 7, k)
	if err != nil || !res[0].LockedNow || !res[0].Until.IsZero() {
		t.Fatalf("Fail = %+v, %v; want a lock without end", res, err)
	}
	base := p + "att:" + k[0].Key
	for _, sfx := range []string{":f", ":l"} {
		if ttl, _ := rdb.PTTL(ctx, base+sfx).Result(); ttl != -1 {
			t.Errorf("PTTL %s = %v, want none (-1)", sfx, ttl)
		}
	}
	if n, _ := rdb.Exists(ctx, base+":r").Result(); n != 0 {
		t.Error("an empty reservation set is left behind")
	}
	// A cool-off set later ends it; the keys expire again.
	if ok, res, _ := c.Reserve(ctx, at0.Add(time.Hour), pol, 9, k); !ok || res[0].Locked || res[0].Failures != 0 {
		t.Fatalf("Reserve with a 15 min cool-off an hour later: %v %+v", ok, res[0])
	}
	if ttl, _ := rdb.PTTL(ctx, base+":r").Result(); ttl <= 0 {
		t.Errorf("PTTL :r = %v, want an expiry", ttl)
	}
	if n, _ := rdb.Exists(ctx, base+":f", base+":l").Result(); n != 0 {
		t.Error("the ended lock left keys")
	}
	if err := c.Reset(ctx, []string{k[0].Key}); err != nil {
		t.Fatal(err)
	}
	if ks := keysOf(t, rdb, base); len(ks) != 0 {
		t.Errorf("Reset left %q", ks)
	}
}

// On Cluster, keys in other slots (the username-only key) are decided by a
// second call; a refusal there drops the reservation made in the first.
func TestAttemptsClusterCompensation(t *testing.T) {
	eachBackend(t, testClusterCompensation)
}

func testClusterCompensation(t *testing.T, b backend) {
	a := redisstore.SplitSlots(newAttempts(t, b.client(t), prefix()))
	ctx := context.Background()
	ui := attempt.Key{Key: "ui:{203.0.113.7}:0123456789abcdef0123456789abcdef", Limit: 5, ResetOnSuccess: true}
	ip := attempt.Key{Key: "ip:{203.0.113.7}", Limit: 50}
	u := attempt.Key{Key: "u:{0123456789abcdef0123456789abcdef}", Limit: 1, ResetOnSuccess: true}
	if ok, _, _ := a.Reserve(ctx, at0, pol, 1, []attempt.Key{u}); !ok {
		t.Fatal("not reserved")
	}
	ok, st, err := a.Reserve(ctx, at0, pol, 2, []attempt.Key{ui, ip, u})
	if err != nil || ok {
		t.Fatalf("Reserve with the username key full = %v, %v", ok, err)
	}
	if st[0].Reserved != 0 || st[1].Reserved != 0 || st[2].Reserved != 1 || st[2].Until.IsZero() {
		t.Fatalf("states %+v; want the address keys untouched", st)
	}
	st, _ = a.Status(ctx, at0, pol, []attempt.Key{ui, ip})
	if st[0].Reserved != 0 || st[1].Reserved != 0 {
		t.Fatalf("the first slot's reservation was not dropped: %+v", st)
	}
}

type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newLoginEngine(tb testing.TB, st core.Store, c attempt.Counter, opts ...core.Option) *core.Engine {
	tb.Helper()
	eng, err := core.New(st, append([]core.Option{core.WithAttemptCounter(c), core.WithLogger(slog.New(slog.DiscardHandler))}, opts...)...)
	if err != nil {
		tb.Fatal(err)
	}
	if err := eng.Start(context.Background()); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { eng.Close(context.Background()) })
	return eng
}

// 1,000 concurrent attempts on one account through four engines (four
// replicas) sharing the Redis counter, with the default deadlines and fail
// policy (closed): exactly the limit reach the password check, every other
// attempt is refused as locked (none fails for want of a reply: load is not
// an outage), and the lockout is recorded once.
func TestAttemptsConcurrentBeginAcrossEngines(t *testing.T) { eachBackend(t, testConcurrentBegin) }

func testConcurrentBegin(t *testing.T, b backend) {
	cases := []struct {
		name  string
		keys  []core.LockoutKey
		ip    func(i int) string
		split bool
	}{
		{"one_address", nil, func(int) string { return "203.0.113.7" }, false},
		{"distributed_username_key", []core.LockoutKey{core.LockoutByUser, core.LockoutByUserAndIP, core.LockoutByIP},
			func(i int) string { return fmt.Sprintf("10.%d.%d.1", i/250, i%250) }, false},
		{"distributed_username_key_cluster_slots", []core.LockoutKey{core.LockoutByUserAndIP, core.LockoutByIP, core.LockoutByUser},
			func(i int) string { return fmt.Sprintf("10.%d.%d.1", i/250, i%250) }, true},
	}
	const limit = 5
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := prefix()
			st := memstore.New()
			var engines []*core.Engine
			var counters []*redisstore.Attempts
			for _, rdb := range b.clients(t, 4) {
				cleanPrefix(t, rdb, p)
				s, err := redisstore.New(rdb, redisstore.WithPrefix(p)) // default deadlines
				if err != nil {
					t.Fatal(err)
				}
				a := s.Attempts()
				if c.split {
					redisstore.SplitSlots(a)
				}
				var opts []core.Option
				if c.keys != nil {
					opts = append(opts, core.WithLockoutKeys(c.keys...))
				}
				engines = append(engines, newLoginEngine(t, st, a, opts...)) // Start loads the script
				counters = append(counters, a)
			}
			n := 1000
			if b.inProcess {
				// miniredis parses and compiles the script in a fresh Lua
				// state for every call, one call at a time: 3 to 8 ms a
				// step under -race on a busy 2-core machine, so a burst of
				// 1,000 takes seconds and 60 left an engine 250 ms without
				// a reply now and then. The same burst at a size it holds.
				n = 40
			}
			start := time.Now()
			r := beginAll(engines, n, c.ip)
			t.Logf("%d attempts in %v: %d checked, %d locked, %d other errors %v", n, time.Since(start).Round(time.Millisecond),
				len(r.tickets), r.locked, len(r.other), r.other[:min(len(r.other), 3)])
			if len(r.tickets) != limit || len(r.other) != 0 {
				t.Fatalf("%d attempts reached the password check and %d failed otherwise than locked; want exactly %d and none",
					len(r.tickets), len(r.other), limit)
			}
			for i, tk := range r.tickets {
				if err := r.owner[i].Lockout().Fail(context.Background(), tk); err != nil {
					t.Fatal(err)
				}
			}
			for _, eng := range engines {
				if _, err := eng.Lockout().Begin(context.Background(), core.Attempt{Username: "alice", IP: netip.MustParseAddr(c.ip(0))}); !errors.Is(err, core.ErrLocked) {
					t.Fatalf("after the limit: %v", err)
				}
			}
			var trips int64
			for _, a := range counters {
				trips += a.Stats().RoundTrips
			}
			t.Logf("%d round trips", trips)
			var locks, refused int64
			for i, eng := range engines {
				s := eng.Lockout().Stats()
				locks += s.Lockouts
				refused += s.Refused
				if cs := counters[i].Stats(); cs.Errors != 0 || s.CounterErrors != 0 {
					t.Errorf("engine %d: counter %+v, lockout %+v", i, cs, s)
				}
			}
			if want := int64(n - limit + 4); locks != 1 || refused != want {
				t.Fatalf("%d lockouts, %d refused; want 1 and %d", locks, refused, want)
			}
		})
	}
}

// burst is how a burst of attempts ended.
type burst struct {
	tickets []*core.Ticket // the attempts that reached the password check
	owner   []*core.Engine // the engine of each
	locked  int            // refused as locked
	other   []error        // any other error
}

// beginAll begins n attempts on "alice" at once, attempt i through engine
// i%len(engines) from address ip(i).
func beginAll(engines []*core.Engine, n int, ip func(i int) string) burst {
	var mu sync.Mutex
	var r burst
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			eng := engines[i%len(engines)]
			tk, err := eng.Lockout().Begin(context.Background(), core.Attempt{Username: "alice", IP: netip.MustParseAddr(ip(i))})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				r.tickets, r.owner = append(r.tickets, tk), append(r.owner, eng)
			case errors.Is(err, core.ErrLocked):
				r.locked++
			default:
				r.other = append(r.other, err)
			}
		})
	}
	close(start)
	wg.Wait()
	return r
}

// One round trip per Begin, Fail and Succeed; on the Cluster, one per slot
// (the username-only key has a slot of its own).
func TestAttemptsOneRoundTripPerStep(t *testing.T) {
	for _, keys := range [][]core.LockoutKey{core.DefaultLockoutKeys(), {core.LockoutByUserAndIP, core.LockoutByIP, core.LockoutByUser}} {
		t.Run(fmt.Sprint(len(keys), "_keys"), func(t *testing.T) {
			eachBackend(t, func(t *testing.T, b backend) { testOneRoundTrip(t, b, keys) })
		})
	}
}

func testOneRoundTrip(t *testing.T, b backend, keys []core.LockoutKey) {
	rdb := b.client(t)
	hook := &countingHook{}
	rdb.AddHook(hook)
	p := prefix()
	cleanPrefix(t, rdb, p)
	s, _ := redisstore.New(rdb, redisstore.WithPrefix(p))
	eng := newLoginEngine(t, memstore.New(), s.Attempts(), core.WithLockoutKeys(keys...))
	lo := eng.Lockout()
	ctx := context.Background()
	attempt := func(i int) core.Attempt {
		return core.Attempt{Username: fmt.Sprint("user", i), IP: netip.AddrFrom4([4]byte{10, 0, byte(i / 200), byte(i % 200)})}
	}
	// Warm up: the script is sent once.
	tk, err := lo.Begin(ctx, attempt(-1))
	if err != nil {
		t.Fatal(err)
	}
	lo.Fail(ctx, tk)
	want := int64(1)
	if b.cluster && slices.Contains(keys, core.LockoutByUser) {
		want = 2
	}
	const n = 50
	for i := range n {
		before := hook.n.Load()
		tk, err := lo.Begin(ctx, attempt(i))
		if err != nil {
			t.Fatal(err)
		}
		if got := hook.n.Load() - before; got != want {
			t.Fatalf("Begin: %d round trips, want %d", got, want)
		}
		before = hook.n.Load()
		if i%2 == 0 {
			err = lo.Fail(ctx, tk)
		} else {
			_, err = lo.Succeed(ctx, tk, core.Success{UserID: fmt.Sprint(i)})
		}
		if err != nil {
			t.Fatal(err)
		}
		if got := hook.n.Load() - before; got != want {
			t.Fatalf("Fail/Succeed: %d round trips, want %d", got, want)
		}
	}
	if st := lo.Stats(); st.CounterErrors != 0 || st.Attempts != n+1 {
		t.Fatalf("stats %+v", st)
	}
}

// Redis down: the counter returns an error, the Lockout's fail policy
// decides, and the breaker stops calling Redis.
func TestAttemptsRedisDown(t *testing.T) {
	// One dial per call: go-redis reports the refused connection at once,
	// which the breaker counts, rather than dialling again past the deadline.
	dead := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", DialTimeout: 20 * time.Millisecond, DialerRetries: 1, MaxRetries: -1})
	defer dead.Close()
	ctx := context.Background()
	a := core.Attempt{Username: "alice", IP: netip.MustParseAddr("203.0.113.7")}
	newEng := func(t *testing.T, opts ...core.Option) *core.Engine {
		s, _ := redisstore.New(dead, redisstore.WithBreaker(3, time.Hour))
		return newLoginEngine(t, memstore.New(), s.Attempts(), opts...)
	}
	t.Run("closed", func(t *testing.T) {
		lo := newEng(t, core.WithLockoutFailPolicy(core.FailClosed)).Lockout()
		for i := range 5 {
			tk, err := lo.Begin(ctx, a)
			if err == nil || tk != nil || errors.Is(err, core.ErrLocked) {
				t.Fatalf("Begin with Redis down = %v, %v; want an error, not a lockout", tk, err)
			}
			if i >= 3 && !errors.Is(err, redisstore.ErrCircuitOpen) {
				t.Fatalf("call %d: %v; want the circuit open", i, err)
			}
		}
		if st := lo.Stats(); st.CounterErrors != 5 {
			t.Fatalf("stats %+v", st)
		}
	})
	t.Run("open", func(t *testing.T) {
		lo := newEng(t, core.WithLockoutFailPolicy(core.FailOpen)).Lockout()
		for range 10 {
			tk, err := lo.Begin(ctx, a)
			if err != nil {
				t.Fatal(err)
			}
			if err := lo.Fail(ctx, tk); err != nil {
				t.Fatal(err)
			}
		}
	})
	t.Run("fallback_still_locks", func(t *testing.T) {
		lo := newEng(t, core.WithLockoutFailPolicy(core.FailFallback)).Lockout()
		for range 5 {
			tk, err := lo.Begin(ctx, a)
			if err != nil {
				t.Fatal(err)
			}
			if err := lo.Fail(ctx, tk); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := lo.Begin(ctx, a); !errors.Is(err, core.ErrLocked) {
			t.Fatalf("6th attempt: %v; want locked by the in-process fallback", err)
		}
	})
	t.Run("counter_errors", func(t *testing.T) {
		s, _ := redisstore.New(dead)
		c := s.Attempts()
		k := []attempt.Key{{Key: "ip:{203.0.113.7}", Limit: 5}}
		if _, _, err := c.Reserve(ctx, at0, pol, 1, k); err == nil {
			t.Error("Reserve: no error")
		}
		if _, err := c.Status(ctx, at0, pol, k); err == nil {
			t.Error("Status: no error")
		}
		if err := c.Reset(ctx, []string{k[0].Key}); err == nil {
			t.Error("Reset: no error")
		}
	})
}

// BenchmarkLockoutBegin is a Begin through the engine: one script call on
// the two default counters of a new username and address.
func BenchmarkLockoutBegin(b *testing.B) {
	rdb := redisTB(b)
	a := newAttempts(b, rdb, prefix())
	eng := newLoginEngine(b, memstore.New(), a)
	lo := eng.Lockout()
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		if _, err := lo.Begin(ctx, core.Attempt{Username: "alice", IP: netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAttemptsReserve(b *testing.B) {
	rdb := redisTB(b)
	a := newAttempts(b, rdb, prefix())
	ctx := context.Background()
	keys := []attempt.Key{{Key: "ui:{203.0.113.7}:0123456789abcdef0123456789abcdef", Limit: 5, ResetOnSuccess: true}, {Key: "ip:{203.0.113.7}", Limit: 50}}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		now := at0.Add(time.Duration(i) * time.Second)
		if _, _, err := a.Reserve(ctx, now, pol, uint64(i), keys); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		a.Release(ctx, now, pol, uint64(i), keys)
		b.StartTimer()
	}
}
