package redisstore_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/wardenkit/warden/core/attempt"
	"github.com/wardenkit/warden/core/attempt/attempttest"
	"github.com/wardenkit/warden/core/ratelimit/limitertest"
	"github.com/wardenkit/warden/redisstore"
)

// backend makes Redis clients of one kind, for the conformance suites and
// for every test that needs nothing but a Redis.
type backend struct {
	name string
	// clients returns n clients of one server: a new miniredis, or the test
	// Redis (tests keep apart by key prefix).
	clients func(t *testing.T, n int) []redis.UniversalClient
	// inProcess is miniredis: Lua that runs a script call in about half a
	// millisecond, so long random runs are cut to a tenth.
	inProcess bool
	// cluster is the Redis Cluster: keys of different hash tags live on
	// different masters, and the stores split their calls by slot.
	cluster bool
}

// client is one client of a new server.
func (b backend) client(t *testing.T) redis.UniversalClient { return b.clients(t, 1)[0] }

// backends returns miniredis, in process and always there, the real Redis
// at WARDEN_TEST_REDIS_URL and the Redis Cluster at
// WARDEN_TEST_REDIS_CLUSTER_ADDRS when they are set (CI sets both; a server
// that does not answer fails the test).
func backends() []backend {
	bs := []backend{{name: "miniredis", clients: miniredisClients, inProcess: true}}
	if os.Getenv("WARDEN_TEST_REDIS_URL") != "" {
		bs = append(bs, backend{name: "redis", clients: func(t *testing.T, n int) []redis.UniversalClient {
			out := make([]redis.UniversalClient, n)
			for i := range out {
				out[i] = redisTB(t)
			}
			return out
		}})
	}
	if os.Getenv(clusterEnv) != "" {
		bs = append(bs, backend{name: "cluster", cluster: true, clients: func(t *testing.T, n int) []redis.UniversalClient {
			out := make([]redis.UniversalClient, n)
			for i := range out {
				out[i] = clusterTB(t)
			}
			return out
		}})
	}
	return bs
}

// eachBackend runs f once per backend as a subtest.
func eachBackend(t *testing.T, f func(t *testing.T, b backend)) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) { f(t, b) })
	}
}

// eachServer runs f once per real server (Redis, Cluster) as a subtest, for
// what miniredis does not do (CLIENT KILL); skipped when none is set.
func eachServer(t *testing.T, f func(t *testing.T, b backend)) {
	n := 0
	for _, b := range backends() {
		if !b.inProcess {
			n++
			t.Run(b.name, func(t *testing.T) { f(t, b) })
		}
	}
	if n == 0 {
		t.Skip("neither WARDEN_TEST_REDIS_URL nor " + clusterEnv + " is set")
	}
}

// miniredisClients starts a miniredis, stopped with the test, and returns n
// clients of it.
func miniredisClients(t *testing.T, n int) []redis.UniversalClient {
	mr := miniredis.RunT(t)
	out := make([]redis.UniversalClient, n)
	for i := range out {
		c := redis.NewClient(&redis.Options{Addr: mr.Addr(), PoolSize: 64})
		t.Cleanup(func() { c.Close() })
		out[i] = c
	}
	return out
}

// On the Cluster the counter splits by slot by itself: keys of different
// hash tags are on different masters, and Reserve is all or none by
// compensation. The keys of the run must have reached every master.
func TestAttemptsConformance(t *testing.T) {
	for _, b := range backends() {
		for _, split := range []bool{false, true} {
			name := b.name
			var opts []attempttest.Option
			switch {
			case b.cluster && !split:
				continue // a Cluster client always splits
			case b.cluster:
				opts = append(opts, attempttest.AllOrNoneByCompensation())
			case split:
				name += "_cluster_slots" // keys decided slot by slot, as on Redis Cluster
				opts = append(opts, attempttest.AllOrNoneByCompensation())
			}
			t.Run(name, func(t *testing.T) {
				sp := newSpread()
				attempttest.Run(t, func(t *testing.T) attempt.Counter {
					rdb, p := b.client(t), prefix()
					a := newAttempts(t, rdb, p)
					if split {
						redisstore.SplitSlots(a)
					}
					if b.cluster {
						sp.count(t, rdb, p)
					}
					return a
				}, opts...)
				if b.cluster {
					sp.check(t, "attempt counters")
				}
			})
		}
	}
}

// The limiter reads Redis's clock, not the now it is given: the suite runs
// it on the wall clock, within bounds it measures, sleeping only for the
// RetryAfter of a 50 ms interval a few times. (A synctest bubble would make
// those sleeps free with miniredis's Dial, but go-redis v9.23 reuses timers
// across goroutines through a sync.Pool, which crashes a second bubble.)
//
// On the Cluster each key of a request is its own script call (each key
// hashes to a slot of its own): a request denied by one key still consumes
// from its others, as the package documents, so the suite's two cases of
// all or nothing across keys are skipped there and
// TestLimiterClusterAtomicPerKey checks what holds instead.
func TestLimiterConformance(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		sp := newSpread()
		limitertest.Run(t, func(t *testing.T) limitertest.Limiter {
			if b.cluster && strings.Contains(t.Name(), "AllOrNothing") {
				t.Skip("on Cluster a request is atomic per key, not across keys (see redisstore's doc)")
			}
			rdb, p := b.client(t), prefix()
			l := newLimiter(t, rdb, p)
			if b.cluster {
				sp.count(t, rdb, p)
			}
			return l
		}, limitertest.OwnClock())
		if b.cluster {
			sp.check(t, "rate-limit counters")
		}
	})
}

// newLimiter is a limiter with a generous deadline (the race detector is
// slow) whose keys, under p, are deleted when the test ends.
func newLimiter(t *testing.T, rdb redis.UniversalClient, p string) *redisstore.Limiter {
	cleanPrefix(t, rdb, p)
	s, err := redisstore.New(rdb, redisstore.WithPrefix(p), redisstore.WithLimiterTimeout(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	l := s.Limiter()
	if err := l.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	return l
}
