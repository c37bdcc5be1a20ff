package redisstore_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/wardenkit/warden/core"
	"github.com/wardenkit/warden/core/attempt"
	"github.com/wardenkit/warden/core/memstore"
	"github.com/wardenkit/warden/core/rule"
	"github.com/wardenkit/warden/core/tally"
	"github.com/wardenkit/warden/redisstore"
)

// master is one master of the test Cluster, with a client of its own.
type master struct {
	addr string
	id   string
	c    *redis.Client
}

// masters lists the Cluster's masters by address, each with a client of
// its own (closed with the test).
func masters(t *testing.T, rdb *redis.ClusterClient) map[string]*master {
	t.Helper()
	ctx := context.Background()
	var mu sync.Mutex
	out := map[string]*master{}
	err := rdb.ForEachMaster(ctx, func(ctx context.Context, n *redis.Client) error {
		addr := n.Options().Addr
		c := redis.NewClient(&redis.Options{Addr: addr, ReadTimeout: 10 * time.Second})
		id, err := c.ClusterMyID(ctx).Result()
		mu.Lock()
		defer mu.Unlock()
		out[addr] = &master{addr: addr, id: id, c: c}
		return err
	})
	for _, m := range out {
		t.Cleanup(func() { m.c.Close() })
	}
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// slotOwner is the address of the master that serves slot.
func slotOwner(t *testing.T, rdb *redis.ClusterClient, slot int) string {
	t.Helper()
	slots, err := rdb.ClusterSlots(context.Background()).Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range slots {
		if slot >= s.Start && slot <= s.End && len(s.Nodes) > 0 {
			return s.Nodes[0].Addr
		}
	}
	t.Fatalf("no master serves slot %d", slot)
	return ""
}

// calls records how long the calls of a load took and how many failed.
type calls struct {
	mu    sync.Mutex
	took  []time.Duration
	fails int
}

func (c *calls) add(d time.Duration, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.took = append(c.took, d)
	if err != nil {
		c.fails++
	}
}

// over reports how many calls took longer than bound, and the figures of
// all: count, p50, p99, max.
func (c *calls) over(bound time.Duration) (int, string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.took) == 0 {
		return 0, "no calls"
	}
	s := slices.Clone(c.took)
	slices.Sort(s)
	n := len(s) - 1
	for n >= 0 && s[n] > bound {
		n--
	}
	q := func(p float64) time.Duration { return s[int(p*float64(len(s)-1))].Round(100 * time.Microsecond) }
	return len(s) - 1 - n, fmt.Sprintf("%d calls (%d failed): p50 %v, p99 %v, max %v", len(s), c.fails, q(0.5), q(0.99), q(1))
}

// ipsOn returns n addresses whose attempt counters ("ip:{<addr>}") live on
// the master at addr (want true) or elsewhere (want false).
func ipsOn(t *testing.T, rdb *redis.ClusterClient, owners map[int]string, addr string, want bool, n int) []netip.Addr {
	t.Helper()
	var out []netip.Addr
	for i := 0; len(out) < n && i < 1<<16; i++ {
		ip := netip.AddrFrom4([4]byte{10, 77, byte(i >> 8), byte(i)})
		slot, err := rdb.ClusterKeySlot(context.Background(), "{"+ip.String()+"}").Result()
		if err != nil {
			t.Fatal(err)
		}
		if (owners[int(slot)] == addr) == want {
			out = append(out, ip)
		}
	}
	return out
}

// slotOwners maps every slot to its master's address.
func slotOwners(t *testing.T, rdb *redis.ClusterClient) map[int]string {
	t.Helper()
	slots, err := rdb.ClusterSlots(context.Background()).Result()
	if err != nil {
		t.Fatal(err)
	}
	out := map[int]string{}
	for _, s := range slots {
		for i := s.Start; i <= s.End; i++ {
			out[i] = s.Nodes[0].Addr
		}
	}
	return out
}

// A master that stops answering for 2 s (DEBUG SLEEP 2 on the owner of
// slot 8000: 7002 in CI) while four workers send requests through an engine
// whose limiter is on the Cluster with the default 50 ms deadline, and a
// fifth makes login attempts alternately from addresses whose counters are
// on the paused master and elsewhere:
//   - every Check returns within the 50 ms deadline (plus loadSlack); the
//     requests whose counter is on the paused master fall back to the
//     in-process counters, and every fallback is counted (the engine's
//     LimiterFailures is the limiter's errors and refusals);
//   - requests on the other masters still go to Redis meanwhile, and the
//     breaker stays closed: the others answer, so this is not an outage;
//   - a login step on the paused master returns by WithLoginMaxWait (plus
//     loadSlack) and the fail policy decides, counted; one elsewhere
//     succeeds at once;
//   - afterwards every master answers, the abandoned calls have ended, and
//     requests and logins on the formerly paused master go to Redis again.
func TestClusterMasterPausedKeepsDeadlines(t *testing.T) {
	rdb := clusterTB(t)
	ctx := context.Background()
	owners := slotOwners(t, rdb)
	paused := owners[8000]
	ms := masters(t, rdb)
	p := prefix()
	cleanPrefix(t, rdb, p)
	const maxWait = 300 * time.Millisecond
	s, err := redisstore.New(rdb, redisstore.WithPrefix(p), redisstore.WithLoginTimeout(100*time.Millisecond), redisstore.WithLoginMaxWait(maxWait))
	if err != nil {
		t.Fatal(err)
	}
	lim, att := s.Limiter(), s.Attempts()
	eng := newLoginEngine(t, memstore.New(), att, core.WithLimiter(lim), core.WithLockoutFailPolicy(core.FailClosed))
	if _, err := eng.Rules().RateLimitRules().Put(ctx, rule.RateLimitRule{Name: "per-ip", PathPattern: "/x", Rate: "100000/m"}); err != nil {
		t.Fatal(err)
	}
	onPaused, elsewhere := ipsOn(t, rdb, owners, paused, true, 50), ipsOn(t, rdb, owners, paused, false, 50)

	// The pause, from a client of the paused master's own.
	slept := make(chan error, 1)
	pauseStart := time.Now()
	go func() { slept <- ms[paused].c.Do(ctx, "DEBUG", "SLEEP", "2").Err() }()

	var checks, logins calls
	var loginErrs, loginOKDuringPause atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var next atomic.Int64
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				i := next.Add(1)
				ip := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
				start := time.Now()
				d, err := eng.Check(ctx, core.Request{HTTP: get(ip.String(), "/x")})
				checks.add(time.Since(start), err)
				if err == nil && !d.Allowed {
					t.Errorf("request %d denied: %+v", i, d)
				}
			}
		})
	}
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			ip := onPaused[i/2%len(onPaused)]
			if i%2 == 1 {
				ip = elsewhere[i/2%len(elsewhere)]
			}
			start := time.Now()
			_, err := eng.Lockout().Begin(ctx, core.Attempt{Username: fmt.Sprint("user", i), IP: ip})
			logins.add(time.Since(start), err)
			switch {
			case err != nil:
				loginErrs.Add(1)
			case i%2 == 1 && time.Since(pauseStart) < 1500*time.Millisecond:
				loginOKDuringPause.Add(1)
			}
		}
	})
	// Once the first deadline shows the pause, the calls the other masters
	// answer until it ends are counted.
	mid := waitStats(t, lim, func(st redisstore.Stats) bool { return st.Deadlines > 0 }, 2*time.Second)
	if err := <-slept; err != nil {
		close(stop)
		wg.Wait()
		t.Fatalf("DEBUG SLEEP on %s: %v (start the cluster with .ci/redis-cluster: it allows DEBUG from loopback)", paused, err)
	}
	end := lim.Stats()
	close(stop)
	wg.Wait()
	pauseTook := time.Since(pauseStart)

	n, figures := checks.over(50*time.Millisecond + loadSlack)
	t.Logf("master %s paused %v; Check: %s; limiter %+v", paused, pauseTook.Round(time.Millisecond), figures, end)
	if n > 0 {
		t.Errorf("%d Checks took longer than the 50 ms deadline + %v", n, loadSlack)
	}
	n, figures = logins.over(maxWait + loadSlack)
	t.Logf("Lockout.Begin: %s; %d failed, %d succeeded elsewhere during the pause; attempts %+v", figures, loginErrs.Load(), loginOKDuringPause.Load(), att.Stats())
	if n > 0 {
		t.Errorf("%d login steps took longer than the %v most wait + %v", n, maxWait, loadSlack)
	}
	if answered := (end.Calls - end.Errors) - (mid.Calls - mid.Errors); answered == 0 {
		t.Errorf("no request answered by the other masters during the pause (limiter at the first deadline %+v, at the end %+v)", mid, end)
	}
	if end.Trips != 0 || end.CircuitOpen != 0 {
		t.Errorf("the breaker opened while the other masters answered: %+v", end)
	}
	if loginErrs.Load() == 0 || loginOKDuringPause.Load() == 0 {
		t.Errorf("login steps: %d failed, %d succeeded elsewhere during the pause; want some of each", loginErrs.Load(), loginOKDuringPause.Load())
	}
	checkFallbacksCounted(t, eng, lim, att, loginErrs.Load())
	checkRecovered(t, rdb, eng, lim, att, onPaused)
}

// waitStats polls the limiter's Stats until ok, at most d, and returns
// them.
func waitStats(t *testing.T, l *redisstore.Limiter, ok func(redisstore.Stats) bool, d time.Duration) redisstore.Stats {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		st := l.Stats()
		if ok(st) || time.Now().After(deadline) {
			return st
		}
		time.Sleep(time.Millisecond)
	}
}

// checkFallbacksCounted: every limiter error or refusal is one fallback of
// the engine, counted in its Stats, and there were some; every login error
// is one counter error of the Lockout.
func checkFallbacksCounted(t *testing.T, eng *core.Engine, lim *redisstore.Limiter, att *redisstore.Attempts, loginErrs int64) {
	t.Helper()
	ls, as := lim.Stats(), att.Stats()
	if fb := eng.Stats().LimiterFailures; fb != ls.Errors+ls.CircuitOpen || fb == 0 || ls.Deadlines == 0 {
		t.Errorf("engine counted %d limiter fallbacks; limiter %+v: want errors + refusals, more than none, and deadlines", fb, ls)
	}
	if ce := eng.Lockout().Stats().CounterErrors; ce != loginErrs || ce != as.Errors+as.CircuitOpen {
		t.Errorf("Lockout counted %d counter errors; %d login steps failed; attempts %+v", ce, loginErrs, as)
	}
}

// checkRecovered: the cluster is healthy, the abandoned calls have ended,
// and requests and logins on every master go to Redis again.
func checkRecovered(t *testing.T, rdb *redis.ClusterClient, eng *core.Engine, lim *redisstore.Limiter, att *redisstore.Attempts, onPaused []netip.Addr) {
	t.Helper()
	ctx := context.Background()
	hctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := clusterHealthy(hctx, rdb); err != nil {
		t.Fatalf("after the pause: %v", err)
	}
	if st := waitStats(t, lim, func(st redisstore.Stats) bool { return st.Abandoned == 0 }, 5*time.Second); st.Abandoned != 0 {
		t.Errorf("%d calls still running 5 s after the pause", st.Abandoned)
	}
	before, beforeAtt := lim.Stats(), att.Stats()
	for i := range 100 {
		ip := netip.AddrFrom4([4]byte{10, 200, byte(i >> 8), byte(i)})
		if d, err := eng.Check(ctx, core.Request{HTTP: get(ip.String(), "/x")}); err != nil || !d.Allowed {
			t.Fatalf("after the pause: %+v, %v", d, err)
		}
	}
	for i, ip := range onPaused[:10] {
		if _, err := eng.Lockout().Begin(ctx, core.Attempt{Username: fmt.Sprint("after", i), IP: ip}); err != nil {
			t.Fatalf("login on the formerly paused master: %v", err)
		}
	}
	if after, afterAtt := lim.Stats(), att.Stats(); after.Errors != before.Errors || afterAtt.Errors != beforeAtt.Errors {
		t.Fatalf("calls failed after the pause: limiter %+v → %+v, attempts %+v → %+v", before, after, beforeAtt, afterAtt)
	}
}

// redirects counts the MOVED, ASK and TRYAGAIN replies that the Cluster's
// nodes sent, which go-redis follows or retries without telling its
// caller.
type redirects struct{ moved, ask, tryAgain atomic.Int64 }

func (r *redirects) note(err error) {
	var rerr redis.Error
	if !errors.As(err, &rerr) {
		return
	}
	switch msg := rerr.Error(); {
	case strings.HasPrefix(msg, "MOVED "):
		r.moved.Add(1)
	case strings.HasPrefix(msg, "ASK "):
		r.ask.Add(1)
	case strings.HasPrefix(msg, "TRYAGAIN"):
		r.tryAgain.Add(1)
	}
}

func (r *redirects) DialHook(next redis.DialHook) redis.DialHook { return next }
func (r *redirects) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := next(ctx, cmd)
		r.note(cmd.Err())
		return err
	}
}
func (r *redirects) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		err := next(ctx, cmds)
		for _, c := range cmds {
			r.note(c.Err())
		}
		return err
	}
}

// moveSlot moves slot from one master to another as redis-cli --cluster
// reshard does: IMPORTING on the target, MIGRATING on the source, its keys
// migrated one at a time (between, the caller's callback runs), then the
// slot given to the target on every master. It also finishes a move that
// was left half done.
func moveSlot(t *testing.T, ms map[string]*master, slot int, from, to *master, between func()) {
	t.Helper()
	ctx := context.Background()
	do := func(m *master, args ...any) {
		t.Helper()
		if err := m.c.Do(ctx, args...).Err(); err != nil {
			t.Fatalf("%s: %v: %v", m.addr, args, err)
		}
	}
	do(to, "CLUSTER", "SETSLOT", slot, "IMPORTING", from.id)
	do(from, "CLUSTER", "SETSLOT", slot, "MIGRATING", to.id)
	host, port, _ := net.SplitHostPort(to.addr)
	for {
		between()
		ks, err := from.c.ClusterGetKeysInSlot(ctx, slot, 1).Result()
		if err != nil {
			t.Fatal(err)
		}
		if len(ks) == 0 {
			break
		}
		args := []any{"MIGRATE", host, port, "", 0, 5000, "KEYS"}
		for _, k := range ks {
			args = append(args, k)
		}
		if err := from.c.Do(ctx, args...).Err(); err != nil && err.Error() != "NOKEY" {
			t.Fatalf("%v: %v", args, err)
		}
	}
	do(to, "CLUSTER", "SETSLOT", slot, "NODE", to.id)
	do(from, "CLUSTER", "SETSLOT", slot, "NODE", to.id)
	for _, m := range ms {
		if m != to && m != from {
			do(m, "CLUSTER", "SETSLOT", slot, "NODE", to.id)
		}
	}
}

// A slot moving to another master and back (CLUSTER SETSLOT MIGRATING and
// IMPORTING, MIGRATE one key at a time, SETSLOT NODE) while login steps and
// tally additions run on keys of that slot, through a client whose slot map
// goes stale: go-redis follows the MOVED and ASK replies; every step returns
// within its deadline; the counts are exact, no failure or addition lost or
// made twice by a redirection; the slot ends where it began.
//
// What fails, and is counted: while the slot is migrating, a login step
// whose counter's keys are partly on the source (the failures, without the
// reservations or the lock) is refused by Redis with TRYAGAIN (a script's
// keys must all be on one side), go-redis retries it a few times, and then
// it fails and the fail policy decides. A tally addition, one key a call,
// never fails.
func TestClusterReshardKeepsCounts(t *testing.T) {
	ctx := context.Background()
	ms := masters(t, clusterTB(t))
	var rd redirects // on every node client, from the first
	rdb := redis.NewClusterClient(&redis.ClusterOptions{Addrs: strings.Split(os.Getenv(clusterEnv), ","),
		NewClient: func(o *redis.Options) *redis.Client { c := redis.NewClient(o); c.AddHook(&rd); return c }})
	t.Cleanup(func() { rdb.Close() })
	p := prefix()
	cleanPrefix(t, rdb, p)
	tag := strconv.FormatUint(rand.Uint64(), 36)
	slotN, err := rdb.ClusterKeySlot(ctx, "{"+tag+"}").Result()
	if err != nil {
		t.Fatal(err)
	}
	slot := int(slotN)
	home := ms[slotOwner(t, rdb, slot)]
	var away *master
	for _, m := range ms {
		if m != home && (away == nil || m.addr < away.addr) {
			away = m
		}
	}
	t.Cleanup(func() { // never leave the slot half moved or away
		if owner := slotOwner(t, rdb, slot); owner != home.addr {
			moveSlot(t, ms, slot, ms[owner], home, func() {})
		}
	})
	s, err := redisstore.New(rdb, redisstore.WithPrefix(p))
	if err != nil {
		t.Fatal(err)
	}
	r := &reshardRun{a: s.Attempts(), tl: s.Tally(), key: attempt.Key{Key: "ip:{" + tag + "}", Limit: 1 << 30},
		tk:  "hits{" + tag + "}", // the tally's key, in the same slot
		pol: attempt.Policy{Cooloff: time.Hour, ReservationTimeout: attempt.ReservationTimeout}, errs: map[string]int{}}
	between := func() { // three rounds between each key migrated
		for range 3 {
			r.round(t)
		}
	}
	between()
	r.moving = true
	moveSlot(t, ms, slot, home, away, between)
	r.moving = false
	between()
	r.moving = true
	moveSlot(t, ms, slot, away, home, between)
	r.moving = false
	between()
	r.check(t, &rd)
	if owner := slotOwner(t, rdb, slot); owner != home.addr {
		t.Fatalf("slot %d ends on %s, want %s", slot, owner, home.addr)
	}
}

// reshardRun is the load of TestClusterReshardKeepsCounts: rounds of one
// login attempt (Reserve, then Fail) and one tally addition, on keys of
// one slot.
type reshardRun struct {
	a      *redisstore.Attempts
	tl     *redisstore.Tally
	key    attempt.Key
	tk     string
	pol    attempt.Policy
	moving bool // the slot is being migrated

	rounds   int
	steps    calls
	fails    int64          // Fails that returned nil
	reserved int64          // Reserves that returned nil whose Fail did not
	adds     int64          // tally additions that returned nil
	errs     map[string]int // errors by phase and kind
}

func (r *reshardRun) round(t *testing.T) {
	ctx := context.Background()
	now := at0.Add(time.Duration(r.rounds) * time.Millisecond)
	tok := uint64(r.rounds + 1)
	r.rounds++
	keys := []attempt.Key{r.key}
	start := time.Now()
	ok, _, err := r.a.Reserve(ctx, now, r.pol, tok, keys)
	if err == nil && !ok {
		t.Fatalf("round %d: refused under a limit of %d", r.rounds, r.key.Limit)
	}
	if err == nil {
		if _, err = r.a.Fail(ctx, now, r.pol, tok, keys); err == nil {
			r.fails++
		} else {
			r.reserved++
		}
	}
	r.steps.add(time.Since(start), err)
	r.noteErr("login step", err)
	tctx, cancel := context.WithTimeout(ctx, time.Second)
	_, err = r.tl.Add(tctx, at0, []tally.Inc{{Key: r.tk, N: 1, Window: 24 * time.Hour}})
	cancel()
	if err == nil {
		r.adds++
	}
	r.noteErr("tally", err)
}

func (r *reshardRun) noteErr(what string, err error) {
	if err == nil {
		return
	}
	phase, kind := "settled", err.Error()
	if r.moving {
		phase = "migrating"
	}
	if redis.IsTryAgainError(err) {
		kind = "TRYAGAIN"
	}
	r.errs[what+", "+phase+": "+kind]++
}

// check checks the deadlines and the counts of the run.
func (r *reshardRun) check(t *testing.T, rd *redirects) {
	t.Helper()
	ctx := context.Background()
	over, figures := r.steps.over(redisstore.DefaultLoginMaxWait + loadSlack)
	st := r.a.Stats()
	t.Logf("%d rounds: Reserve+Fail %s; errors %v; %d MOVED, %d ASK, %d TRYAGAIN replies; attempts %+v",
		r.rounds, figures, r.errs, rd.moved.Load(), rd.ask.Load(), rd.tryAgain.Load(), st)
	if over > 0 {
		t.Errorf("%d login steps took longer than their most wait", over)
	}
	if rd.moved.Load() == 0 || rd.ask.Load() == 0 {
		t.Errorf("%d MOVED and %d ASK replies: the run did not meet the reshard", rd.moved.Load(), rd.ask.Load())
	}
	failed := 0
	for k, n := range r.errs {
		failed += n
		if k != "login step, migrating: TRYAGAIN" {
			t.Errorf("%d × %s: want only login steps refused with TRYAGAIN while the slot migrates", n, k)
		}
	}
	if st.Errors != int64(failed) || int64(failed) != int64(r.rounds)-r.fails {
		t.Errorf("%d steps failed and %d of %d rounds failed; attempts counted %d errors", failed, int64(r.rounds)-r.fails, r.rounds, st.Errors)
	}
	states, err := r.a.Status(ctx, at0.Add(time.Duration(r.rounds)*time.Millisecond), r.pol, []attempt.Key{r.key})
	if err != nil {
		t.Fatal(err)
	}
	if got := states[0]; int64(got.Failures) != r.fails || int64(got.Reserved) != r.reserved {
		t.Errorf("counter %+v; want the %d failures and %d reservations whose steps returned nil", got, r.fails, r.reserved)
	}
	sum, err := r.tl.Add(ctx, at0, []tally.Inc{{Key: r.tk, Window: 24 * time.Hour}})
	if err != nil {
		t.Fatal(err)
	}
	if sum[0] != r.adds || r.adds != int64(r.rounds) {
		t.Errorf("tally %d after %d of %d additions returned nil, want all, each counted once", sum[0], r.adds, r.rounds)
	}
}
