package redisstore_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/jonboulle/clockwork"
	"github.com/redis/go-redis/v9"

	"github.com/wardenkit/warden/redisstore"
)

// leaseTTL is the TTL of the tests: renewals every 5 s, local lease 12 s.
const leaseTTL = 15 * time.Second

// electorBackend is a Redis on which the lease's time can be moved on.
type electorBackend struct {
	name    string
	clients func(t *testing.T, n int) []redis.UniversalClient
	// advance makes d pass for the lease key on the Redis side: miniredis
	// fast-forwards its clock; the real Redis and the Cluster have the
	// key's TTL cut by d (or the key deleted when less is left), which is
	// what waiting would do.
	advance func(t *testing.T, rdb redis.UniversalClient, key string, d time.Duration)
}

func electorBackends() []electorBackend {
	var mr *miniredis.Miniredis
	bs := []electorBackend{{
		name: "miniredis",
		clients: func(t *testing.T, n int) []redis.UniversalClient {
			mr = miniredis.RunT(t)
			out := make([]redis.UniversalClient, n)
			for i := range out {
				c := redis.NewClient(&redis.Options{Addr: mr.Addr()})
				t.Cleanup(func() { c.Close() })
				out[i] = c
			}
			return out
		},
		advance: func(_ *testing.T, _ redis.UniversalClient, _ string, d time.Duration) { mr.FastForward(d) },
	}}
	if os.Getenv("WARDEN_TEST_REDIS_URL") != "" {
		bs = append(bs, electorBackend{
			name: "redis",
			clients: func(t *testing.T, n int) []redis.UniversalClient {
				out := make([]redis.UniversalClient, n)
				for i := range out {
					out[i] = redisTB(t)
				}
				return out
			},
			advance: cutTTL,
		})
	}
	if os.Getenv(clusterEnv) != "" {
		bs = append(bs, electorBackend{
			name: "cluster",
			clients: func(t *testing.T, n int) []redis.UniversalClient {
				out := make([]redis.UniversalClient, n)
				for i := range out {
					out[i] = clusterTB(t)
				}
				return out
			},
			advance: cutTTL,
		})
	}
	return bs
}

// cutTTL makes d pass for key on a real server: its TTL cut by d, or the
// key deleted when less is left.
func cutTTL(t *testing.T, rdb redis.UniversalClient, key string, d time.Duration) {
	ctx := context.Background()
	left, err := rdb.PTTL(ctx, key).Result()
	if err != nil {
		t.Fatal(err)
	}
	switch {
	case left == -2*time.Nanosecond: // no key
	case left <= d:
		err = rdb.Del(ctx, key).Err()
	default:
		err = rdb.PExpire(ctx, key, left-d).Err()
	}
	if err != nil {
		t.Fatal(err)
	}
}

// replicas are electors of one lease on one Redis, each with its own
// client, all on one fake clock.
type replicas struct {
	t   *testing.T
	b   electorBackend
	rdb []redis.UniversalClient
	es  []*redisstore.Elector
	clk *clockwork.FakeClock
	key string
}

func newReplicas(t *testing.T, b electorBackend, n int) *replicas {
	t.Helper()
	p := prefix()
	r := &replicas{t: t, b: b, rdb: b.clients(t, n), clk: clockwork.NewFakeClock(), key: p + "scheduler:leader"}
	for i := range n {
		e, err := redisstore.NewElector(r.rdb[i], redisstore.WithElectorPrefix(p), redisstore.WithLeaseTTL(leaseTTL),
			redisstore.WithElectorClock(r.clk), redisstore.WithElectorLogger(slog.New(slog.DiscardHandler)))
		if err != nil {
			t.Fatal(err)
		}
		if e.Key() != r.key {
			t.Fatalf("key %q, want %q", e.Key(), r.key)
		}
		r.es = append(r.es, e)
		t.Cleanup(func() { e.Close(context.Background()) })
	}
	t.Cleanup(func() { r.rdb[n-1].Del(context.Background(), r.key) })
	return r
}

// start starts every elector in order: the first wins.
func (r *replicas) start() {
	for _, e := range r.es {
		if err := e.Start(context.Background()); err != nil {
			r.t.Fatal(err)
		}
	}
	r.settle(len(r.es))
}

// settle waits until the renewal loops of running electors are waiting on
// the clock again, that is, until their rounds are over.
func (r *replicas) settle(running int) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.clk.BlockUntilContext(ctx, running); err != nil {
		r.t.Fatalf("%d renewal loops not waiting: %v", running, err)
	}
}

// step makes a renewal period (5 s) pass in Redis and on the local clock,
// and waits for the running electors' rounds.
func (r *replicas) step(running int) {
	r.b.advance(r.t, r.rdb[len(r.rdb)-1], r.key, leaseTTL/3)
	r.clk.Advance(leaseTTL / 3)
	r.settle(running)
}

// leaders lists the electors whose IsLeader says nil; the others' errors
// must wrap ErrNotLeader.
func (r *replicas) leaders() []int {
	var out []int
	for i, e := range r.es {
		err := e.IsLeader(context.Background())
		if err == nil {
			out = append(out, i)
		} else if !errors.Is(err, redisstore.ErrNotLeader) {
			r.t.Fatalf("elector %d: %v, want ErrNotLeader", i, err)
		}
	}
	return out
}

func (r *replicas) oneLeader(when string) int {
	r.t.Helper()
	l := r.leaders()
	if len(l) != 1 {
		r.t.Fatalf("%s: leaders %v, want exactly one", when, l)
	}
	return l[0]
}

func eachElectorBackend(t *testing.T, f func(t *testing.T, b electorBackend)) {
	for _, b := range electorBackends() {
		t.Run(b.name, func(t *testing.T) { f(t, b) })
	}
}

func TestElectorOneOfThreeRenewedLease(t *testing.T) {
	eachElectorBackend(t, func(t *testing.T, b electorBackend) {
		r := newReplicas(t, b, 3)
		r.start()
		if l := r.oneLeader("after start"); l != 0 {
			t.Fatalf("leader %d, want 0 (started first)", l)
		}
		// Four TTLs: without renewals the key would have expired and the
		// others taken it.
		for i := range 12 {
			r.step(3)
			if l := r.oneLeader("step"); l != 0 {
				t.Fatalf("step %d: leader %d, want 0", i, l)
			}
		}
		st := r.es[0].Stats()
		if !st.Leader || st.Acquired != 1 || st.Renewed != 12 || st.Lost != 0 || st.Errors != 0 {
			t.Fatalf("leader stats %+v, want acquired 1, renewed 12", st)
		}
		left, err := r.rdb[0].PTTL(context.Background(), r.key).Result()
		if err != nil || left <= leaseTTL/2 || left > leaseTTL {
			t.Fatalf("lease PTTL %v (%v), want in (%v, %v]", left, err, leaseTTL/2, leaseTTL)
		}
	})
}

func TestElectorCloseReleases(t *testing.T) {
	eachElectorBackend(t, func(t *testing.T, b electorBackend) {
		r := newReplicas(t, b, 3)
		r.start()
		if err := r.es[0].Close(context.Background()); err != nil {
			t.Fatal(err)
		}
		if n, _ := r.rdb[0].Exists(context.Background(), r.key).Result(); n != 0 {
			t.Fatal("the lease key is still there after the leader closed")
		}
		if err := r.es[0].IsLeader(context.Background()); !errors.Is(err, redisstore.ErrNotLeader) {
			t.Fatalf("closed elector: IsLeader %v, want ErrNotLeader", err)
		}
		if len(r.leaders()) != 0 {
			t.Fatal("a leader before anyone tried again")
		}
		// One renewal period later, not a TTL: one of the others leads.
		r.step(2)
		if l := r.oneLeader("after release"); l == 0 {
			t.Fatal("the closed elector leads")
		}
		if err := r.es[0].Close(context.Background()); err != nil {
			t.Fatalf("second Close: %v", err)
		}
	})
}

// A closing elector that no longer holds the lease must not delete the
// holder's key.
func TestElectorCloseKeepsAnothersLease(t *testing.T) {
	eachElectorBackend(t, func(t *testing.T, b electorBackend) {
		r := newReplicas(t, b, 2)
		r.start()
		ctx := context.Background()
		if err := r.rdb[0].Set(ctx, r.key, "someone-else", leaseTTL).Err(); err != nil {
			t.Fatal(err)
		}
		// Still leader by its local lease until it next renews; Close
		// deletes only its own token.
		if err := r.es[0].Close(ctx); err != nil {
			t.Fatal(err)
		}
		if v, err := r.rdb[0].Get(ctx, r.key).Result(); err != nil || v != "someone-else" {
			t.Fatalf("key after Close: %q, %v; want the other holder's", v, err)
		}
	})
}

// A leader cut off from Redis keeps its local lease for four fifths of the
// TTL and steps down; the key expires at the TTL and another takes it at
// its next try. At no instant do two lead.
func TestElectorTakeoverAfterTTL(t *testing.T) {
	eachElectorBackend(t, func(t *testing.T, b electorBackend) {
		r := newReplicas(t, b, 3)
		r.start()
		r.oneLeader("start")
		r.rdb[0].Close() // the leader's connection is gone; the others' are not
		took := time.Duration(0)
		for took < 2*leaseTTL {
			r.step(3)
			took += leaseTTL / 3
			l := r.leaders()
			if len(l) > 1 {
				t.Fatalf("after %v: leaders %v", took, l)
			}
			if took <= 10*time.Second && (len(l) != 1 || l[0] != 0) {
				t.Fatalf("after %v: leaders %v, want [0] (local lease 12 s)", took, l)
			}
			if len(l) == 1 && l[0] != 0 {
				break
			}
		}
		if took != 15*time.Second {
			t.Fatalf("taken over after %v, want 15s (the TTL, at the next try)", took)
		}
		if err := r.es[0].IsLeader(context.Background()); err == nil || !strings.Contains(err.Error(), "not renewed") {
			t.Fatalf("cut-off leader: IsLeader %v, want an expired lease", err)
		}
		if st := r.es[0].Stats(); st.Errors != 3 || st.Leader {
			t.Fatalf("cut-off leader stats %+v, want 3 errors and not leader", st)
		}
	})
}

// A key overwritten by another holder (a stolen lease, or one that expired
// and was taken while this leader was paused) is noticed at the next
// renewal: the leader steps down at once.
func TestElectorStolenLease(t *testing.T) {
	eachElectorBackend(t, func(t *testing.T, b electorBackend) {
		r := newReplicas(t, b, 1)
		r.start()
		r.oneLeader("start")
		if err := r.rdb[0].Set(context.Background(), r.key, "thief", leaseTTL).Err(); err != nil {
			t.Fatal(err)
		}
		r.step(1)
		err := r.es[0].IsLeader(context.Background())
		if !errors.Is(err, redisstore.ErrNotLeader) || !strings.Contains(err.Error(), "not held") {
			t.Fatalf("IsLeader after theft: %v, want not held", err)
		}
		if st := r.es[0].Stats(); st.Lost != 1 || st.Leader {
			t.Fatalf("stats %+v, want lost 1", st)
		}
	})
}

func TestElectorRedisDownNeverLeads(t *testing.T) {
	clk := clockwork.NewFakeClock()
	e, err := redisstore.NewElector(deadRedis(t), redisstore.WithElectorClock(clk),
		redisstore.WithElectorLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start(context.Background()); err != nil {
		t.Fatalf("Start with Redis down: %v, want nil (not leader)", err)
	}
	defer e.Close(context.Background())
	if err := e.IsLeader(context.Background()); !errors.Is(err, redisstore.ErrNotLeader) {
		t.Fatalf("IsLeader with Redis down: %v", err)
	}
	if st := e.Stats(); st.Errors != 1 || st.Leader {
		t.Fatalf("stats %+v, want one error", st)
	}
}

func TestElectorLifecycle(t *testing.T) {
	ctx := context.Background()
	rdb := miniredisClients(t, 1)[0]
	e, err := redisstore.NewElector(rdb, redisstore.WithElectorClock(clockwork.NewFakeClock()),
		redisstore.WithElectorLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	if e.Key() != "warden:scheduler:leader" {
		t.Fatalf("default key %q", e.Key())
	}
	if err := e.IsLeader(ctx); !errors.Is(err, redisstore.ErrNotLeader) {
		t.Fatalf("before Start: %v", err)
	}
	if err := e.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := e.IsLeader(ctx); err != nil {
		t.Fatalf("alone after Start: %v", err)
	}
	if err := e.Start(ctx); err == nil {
		t.Fatal("second Start succeeded")
	}
	if err := e.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := e.Start(ctx); err == nil {
		t.Fatal("Start after Close succeeded")
	}
	if err := e.IsLeader(ctx); !errors.Is(err, redisstore.ErrNotLeader) {
		t.Fatalf("after Close: %v", err)
	}
	// Never started: Close is harmless.
	e2, _ := redisstore.NewElector(rdb)
	if err := e2.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestNewElectorRefusesBadOptions(t *testing.T) {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	defer rdb.Close()
	for _, c := range []struct {
		name string
		rdb  redis.UniversalClient
		opt  redisstore.ElectorOption
		want string
	}{
		{"nil_client", nil, nil, "nil client"},
		{"nil_option", rdb, nil, "option 0 is nil"},
		{"empty_prefix", rdb, redisstore.WithElectorPrefix(""), `WithElectorPrefix: ""`},
		{"brace_in_prefix", rdb, redisstore.WithElectorPrefix("a{b}"), "a{b}"},
		{"ttl_too_short", rdb, redisstore.WithLeaseTTL(500 * time.Millisecond), "500ms is out of range"},
		{"ttl_too_long", rdb, redisstore.WithLeaseTTL(time.Hour), "1h0m0s is out of range"},
		{"nil_clock", rdb, redisstore.WithElectorClock(nil), "nil clock"},
		{"nil_logger", rdb, redisstore.WithElectorLogger(nil), "nil logger"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var opts []redisstore.ElectorOption
			if c.name != "nil_client" {
				opts = append(opts, c.opt)
			}
			_, err := redisstore.NewElector(c.rdb, opts...)
			if !errors.Is(err, redisstore.ErrInvalidOption) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err %v, want ErrInvalidOption naming %q", err, c.want)
			}
		})
	}
}

// Two installations on one Redis lead apart.
func TestElectorPrefixesKeepApart(t *testing.T) {
	rdb := miniredisClients(t, 1)[0]
	ctx := context.Background()
	for _, p := range []string{"app1:", "app2:"} {
		e, err := redisstore.NewElector(rdb, redisstore.WithElectorPrefix(p),
			redisstore.WithElectorLogger(slog.New(slog.DiscardHandler)))
		if err != nil {
			t.Fatal(err)
		}
		if err := e.Start(ctx); err != nil {
			t.Fatal(err)
		}
		defer e.Close(ctx)
		if err := e.IsLeader(ctx); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
	}
}
