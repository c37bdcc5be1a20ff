package scheduler_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/jonboulle/clockwork"
	"github.com/redis/go-redis/v9"

	"github.com/wardenkit/warden/core/memstore"
	"github.com/wardenkit/warden/redisstore"
	"github.com/wardenkit/warden/scheduler"
)

// redisstore's Elector is a scheduler Elector, without importing gocron.
var _ scheduler.Elector = (*redisstore.Elector)(nil)

// redisBackend is a Redis for three replicas: n clients, and a way to make
// time pass on the server (miniredis only; the 15 s lease of the real Redis
// and of the Cluster outlives the test).
type redisBackend struct {
	name    string
	clients func(t *testing.T, n int) []redis.UniversalClient
	advance func(d time.Duration)
}

func redisBackends() []redisBackend {
	var mr *miniredis.Miniredis
	bs := []redisBackend{{name: "miniredis", clients: func(t *testing.T, n int) []redis.UniversalClient {
		mr = miniredis.RunT(t)
		out := make([]redis.UniversalClient, n)
		for i := range out {
			out[i] = redis.NewClient(&redis.Options{Addr: mr.Addr()})
			t.Cleanup(func() { out[i].Close() })
		}
		return out
	}, advance: func(d time.Duration) { mr.FastForward(d) }}}
	if url := os.Getenv("WARDEN_TEST_REDIS_URL"); url != "" {
		bs = append(bs, redisBackend{name: "redis", clients: func(t *testing.T, n int) []redis.UniversalClient {
			opt, err := redis.ParseURL(url)
			if err != nil {
				t.Fatalf("WARDEN_TEST_REDIS_URL: %v", err)
			}
			out := make([]redis.UniversalClient, n)
			for i := range out {
				c := redis.NewClient(opt)
				if err := c.Ping(context.Background()).Err(); err != nil {
					t.Fatalf("Redis at %s does not answer: %v", opt.Addr, err)
				}
				t.Cleanup(func() { c.Close() })
				out[i] = c
			}
			return out
		}, advance: func(time.Duration) {}})
	}
	// The Redis Cluster of .ci/redis-cluster: the lease key lives on the
	// master of its slot, and each replica's client finds it there.
	if addrs := os.Getenv("WARDEN_TEST_REDIS_CLUSTER_ADDRS"); addrs != "" {
		bs = append(bs, redisBackend{name: "cluster", clients: func(t *testing.T, n int) []redis.UniversalClient {
			out := make([]redis.UniversalClient, n)
			for i := range out {
				c := redis.NewClusterClient(&redis.ClusterOptions{Addrs: strings.Split(addrs, ",")})
				t.Cleanup(func() { c.Close() })
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				err := c.ForEachMaster(ctx, func(ctx context.Context, m *redis.Client) error { return m.Ping(ctx).Err() })
				cancel()
				if err != nil {
					t.Fatalf("Redis Cluster at %s does not answer: %v", addrs, err)
				}
				out[i] = c
			}
			return out
		}, advance: func(time.Duration) {}})
	}
	return bs
}

// Three replicas elect a leader through redisstore's lease, on one fake
// clock: a sweep every minute runs once per minute on the leader; the
// leader stops half-way through a minute (its scheduler shuts down, its
// elector releases the lease), and from the next minute on each tick runs
// once on another replica.
func TestThreeReplicasWithRedisElector(t *testing.T) {
	for _, b := range redisBackends() {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			clk := clockwork.NewFakeClockAt(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
			rdb := b.clients(t, 3)
			prefix := fmt.Sprintf("wardentest%d:", rand.Int64())
			st := memstore.New()
			var mu sync.Mutex
			runs := map[time.Time][]int{} // tick → replicas that ran it
			var es []*redisstore.Elector
			var ss []*scheduler.Scheduler
			for i := range 3 {
				e, err := redisstore.NewElector(rdb[i], redisstore.WithElectorPrefix(prefix),
					redisstore.WithElectorClock(clk), redisstore.WithElectorLogger(discard))
				if err != nil {
					t.Fatal(err)
				}
				if err := e.Start(ctx); err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { e.Close(ctx) })
				s, err := scheduler.New(newEngine(t, st), scheduler.WithElector(e), scheduler.WithClock(clk),
					scheduler.WithLogger(discard), scheduler.WithoutJob(scheduler.JobExpiry), scheduler.WithoutJob(scheduler.JobRetention),
					scheduler.WithSchedule(scheduler.JobSweep, time.Minute),
					scheduler.WithSweep(func(context.Context) error {
						mu.Lock()
						defer mu.Unlock()
						tick := clk.Now().Truncate(time.Minute)
						runs[tick] = append(runs[tick], i)
						return nil
					}))
				if err != nil {
					t.Fatal(err)
				}
				if err := s.Start(ctx); err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { s.Shutdown(ctx) })
				es, ss = append(es, e), append(ss, s)
			}
			// waiters: each running elector's renewal timer and each running
			// scheduler's next tick.
			waiters, running := 6, ss
			settle := func() {
				wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
				defer cancel()
				if err := clk.BlockUntilContext(wctx, waiters); err != nil {
					t.Fatalf("timers not re-armed: %v", err)
				}
			}
			// ticked waits until every running scheduler has dealt with n
			// ticks in all: run them (finished) or skipped them.
			dealt := int64(0)
			ticked := func() {
				dealt += int64(len(running))
				deadline := time.Now().Add(10 * time.Second)
				for {
					var n int64
					for _, s := range ss {
						st := stat(t, s, scheduler.JobSweep)
						n += st.Runs + st.NotLeader + st.Overlapped
					}
					if n == dealt {
						return
					}
					if time.Now().After(deadline) {
						t.Fatalf("%d ticks dealt with, want %d", n, dealt)
					}
					runtime.Gosched()
				}
			}
			step := func() { // one renewal period
				b.advance(5 * time.Second)
				clk.Advance(5 * time.Second)
				settle()
				if clk.Now().Second() == 0 {
					ticked()
				}
			}
			settle()
			for range 3*12 + 6 { // to 00:03:30
				step()
			}
			if err := ss[0].Shutdown(ctx); err != nil {
				t.Fatal(err)
			}
			if err := es[0].Close(ctx); err != nil {
				t.Fatal(err)
			}
			waiters, running = 4, ss[1:]
			for range 3*12 - 6 + 1 { // to 00:06:05
				step()
			}
			for _, s := range ss[1:] {
				if err := s.Shutdown(ctx); err != nil { // waits for running sweeps
					t.Fatal(err)
				}
			}
			mu.Lock()
			defer mu.Unlock()
			next := -1
			for m := 1; m <= 6; m++ {
				tick := time.Date(2030, 1, 1, 0, m, 0, 0, time.UTC)
				got := runs[tick]
				if len(got) != 1 {
					for i, e := range es {
						t.Logf("elector %d: %+v; sweep %+v", i, e.Stats(), stat(t, ss[i], scheduler.JobSweep))
					}
					t.Logf("runs %v", runs)
					t.Fatalf("tick %s ran on replicas %v, want exactly one", tick.Format("15:04"), got)
				}
				switch {
				case m <= 3 && got[0] != 0:
					t.Fatalf("tick %s ran on %d while 0 led", tick.Format("15:04"), got[0])
				case m > 3 && got[0] == 0:
					t.Fatalf("tick %s ran on the stopped leader", tick.Format("15:04"))
				case m > 3 && next >= 0 && got[0] != next:
					t.Fatalf("tick %s ran on %d, the one before on %d: leadership moved again", tick.Format("15:04"), got[0], next)
				}
				if m > 3 {
					next = got[0]
				}
			}
			if len(runs) != 6 {
				t.Fatalf("runs at %d ticks, want 6: %v", len(runs), runs)
			}
			var notLeader int64
			for _, s := range ss {
				notLeader += stat(t, s, scheduler.JobSweep).NotLeader
			}
			if notLeader != 3*2+3*1 {
				t.Fatalf("%d ticks skipped as not leader, want 9 (two followers for 3 ticks, one for 3)", notLeader)
			}
		})
	}
}
