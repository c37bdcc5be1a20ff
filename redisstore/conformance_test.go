package redisstore_test

import (
	"context"
	"os"
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
}

// client is one client of a new server.
func (b backend) client(t *testing.T) redis.UniversalClient { return b.clients(t, 1)[0] }

// backends returns miniredis, in process and always there, and the real
// Redis at WARDEN_TEST_REDIS_URL when it is set (CI sets it; a Redis that
// does not answer fails the test).
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
	return bs
}

// eachBackend runs f once per backend as a subtest.
func eachBackend(t *testing.T, f func(t *testing.T, b backend)) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) { f(t, b) })
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

func TestAttemptsConformance(t *testing.T) {
	for _, b := range backends() {
		for _, split := range []bool{false, true} {
			name := b.name
			var opts []attempttest.Option
			if split {
				name += "_cluster_slots" // keys decided slot by slot, as on Redis Cluster
				opts = append(opts, attempttest.AllOrNoneByCompensation())
			}
			t.Run(name, func(t *testing.T) {
				attempttest.Run(t, func(t *testing.T) attempt.Counter {
					a := newAttempts(t, b.client(t), prefix())
					if split {
						redisstore.SplitSlots(a)
					}
					return a
				}, opts...)
			})
		}
	}
}

// The limiter reads Redis's clock, not the now it is given: the suite runs
// it on the wall clock, within bounds it measures, sleeping only for the
// RetryAfter of a 50 ms interval a few times. (A synctest bubble would make
// those sleeps free with miniredis's Dial, but go-redis v9.23 reuses timers
// across goroutines through a sync.Pool, which crashes a second bubble.)
func TestLimiterConformance(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		limitertest.Run(t, func(t *testing.T) limitertest.Limiter { return newLimiter(t, b.client(t)) }, limitertest.OwnClock())
	})
}

// newLimiter is a limiter with a generous deadline (the race detector is
// slow) whose keys are deleted when the test ends.
func newLimiter(t *testing.T, rdb redis.UniversalClient) *redisstore.Limiter {
	p := prefix()
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
