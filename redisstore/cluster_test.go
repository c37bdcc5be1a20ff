package redisstore_test

import (
	"context"
	"fmt"
	"maps"
	"net/netip"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/wardenkit/warden/core/ratelimit"
	"github.com/wardenkit/warden/core/tally"
	"github.com/wardenkit/warden/redisstore"
)

// clusterEnv names the Redis Cluster of the tests: comma-separated
// addresses of its nodes (.ci/redis-cluster starts one on 7001-7003).
const clusterEnv = "WARDEN_TEST_REDIS_CLUSTER_ADDRS"

// clusterTB connects to the Redis Cluster at WARDEN_TEST_REDIS_CLUSTER_ADDRS;
// the test is skipped when it is unset and fails when a master does not
// answer or the cluster's state is not ok.
func clusterTB(tb testing.TB) *redis.ClusterClient {
	tb.Helper()
	addrs := os.Getenv(clusterEnv)
	if addrs == "" {
		tb.Skip(clusterEnv + " not set")
	}
	rdb := redis.NewClusterClient(&redis.ClusterOptions{Addrs: strings.Split(addrs, ","), PoolSize: 64})
	tb.Cleanup(func() { rdb.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := clusterHealthy(ctx, rdb); err != nil {
		tb.Fatalf("Redis Cluster at %s: %v", addrs, err)
	}
	return rdb
}

// clusterHealthy asks every master for its view of the cluster: an error
// unless each answers cluster_state:ok.
func clusterHealthy(ctx context.Context, rdb *redis.ClusterClient) error {
	return rdb.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error {
		info, err := c.ClusterInfo(ctx).Result()
		if err != nil {
			return fmt.Errorf("master %s does not answer: %w", c.Options().Addr, err)
		}
		if !strings.Contains(info, "cluster_state:ok") {
			return fmt.Errorf("master %s: cluster_state is not ok", c.Options().Addr)
		}
		return nil
	})
}

// keysByMaster lists the keys matching pattern on each master (SCAN), by
// the master's address: one entry for a single server, one per master of a
// Cluster, those without keys included.
func keysByMaster(ctx context.Context, rdb redis.UniversalClient, pattern string) (map[string][]string, error) {
	scan := func(ctx context.Context, c *redis.Client) ([]string, error) {
		var ks []string
		iter := c.Scan(ctx, 0, pattern, 1000).Iterator()
		for iter.Next(ctx) {
			ks = append(ks, iter.Val())
		}
		return ks, iter.Err()
	}
	out := map[string][]string{}
	switch c := rdb.(type) {
	case *redis.Client:
		ks, err := scan(ctx, c)
		out[c.Options().Addr] = ks
		return out, err
	case *redis.ClusterClient:
		var mu sync.Mutex
		err := c.ForEachMaster(ctx, func(ctx context.Context, n *redis.Client) error {
			ks, err := scan(ctx, n)
			mu.Lock()
			defer mu.Unlock()
			out[n.Options().Addr] = ks
			return err
		})
		return out, err
	}
	return nil, fmt.Errorf("keysByMaster: client %T", rdb)
}

// deletePrefix deletes every key under p, on every master of a Cluster.
func deletePrefix(ctx context.Context, rdb redis.UniversalClient, p string) error {
	by, err := keysByMaster(ctx, rdb, p+"*")
	if err != nil {
		return err
	}
	_, err = rdb.Pipelined(ctx, func(pl redis.Pipeliner) error {
		for _, ks := range by {
			for _, k := range ks {
				pl.Del(ctx, k) // one key a command: each goes to its own slot's master
			}
		}
		return nil
	})
	return err
}

// spread adds up, per master of a Cluster, the keys that the tests of a
// run left under their prefixes.
type spread struct {
	mu   sync.Mutex
	keys map[string]int
}

func newSpread() *spread { return &spread{keys: map[string]int{}} }

// count counts the keys under p on each master when t ends, before
// cleanPrefix deletes them (cleanups run last first: call count after
// cleanPrefix).
func (s *spread) count(t *testing.T, rdb redis.UniversalClient, p string) {
	t.Cleanup(func() {
		by, err := keysByMaster(context.Background(), rdb, p+"*")
		if err != nil {
			t.Errorf("counting the keys under %s: %v", p, err)
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		for addr, ks := range by {
			s.keys[addr] += len(ks)
		}
	})
}

// check fails t unless the run left keys on every master of a cluster of
// at least three.
func (s *spread) check(t *testing.T, what string) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	t.Logf("%s per master: %v", what, s.keys)
	if len(s.keys) < 3 {
		t.Errorf("%s: %d masters seen (%v), want at least 3", what, len(s.keys), s.keys)
	}
	for addr, n := range s.keys {
		if n == 0 {
			t.Errorf("%s: no key on master %s (%v): the keys do not spread over the cluster", what, addr, s.keys)
		}
	}
}

// killPubSub closes every pub/sub connection of the server, or of every
// master of a Cluster.
func killPubSub(ctx context.Context, rdb redis.UniversalClient) error {
	if c, ok := rdb.(*redis.ClusterClient); ok {
		return c.ForEachShard(ctx, func(ctx context.Context, n *redis.Client) error {
			return n.ClientKillByFilter(ctx, "TYPE", "pubsub").Err()
		})
	}
	return rdb.ClientKillByFilter(ctx, "TYPE", "pubsub").Err()
}

// Cleanup by prefix reaches every master: keys of sixty hash tags, written
// through the cluster client, are all gone after deletePrefix, and the
// keys of another prefix are kept.
func TestDeletePrefixOnCluster(t *testing.T) {
	rdb := clusterTB(t)
	ctx := context.Background()
	p, other := prefix(), prefix()
	t.Cleanup(func() { deletePrefix(ctx, rdb, other) })
	for i := range 60 {
		for _, q := range []string{p, other} {
			if err := rdb.Set(ctx, fmt.Sprintf("%sk{%d}", q, i), 1, time.Minute).Err(); err != nil {
				t.Fatal(err)
			}
		}
	}
	by, err := keysByMaster(ctx, rdb, p+"*")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for addr, ks := range by {
		if len(ks) == 0 {
			t.Errorf("no key on master %s", addr)
		}
		n += len(ks)
	}
	if n != 60 {
		t.Fatalf("%d keys found under the prefix, want 60", n)
	}
	if err := deletePrefix(ctx, rdb, p); err != nil {
		t.Fatal(err)
	}
	for _, q := range []struct {
		p    string
		want int
	}{{p, 0}, {other, 60}} {
		by, err := keysByMaster(ctx, rdb, q.p+"*")
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, ks := range by {
			n += len(ks)
		}
		if n != q.want {
			t.Errorf("after deleting %s: %d keys under %s, want %d", p, n, q.p, q.want)
		}
	}
}

// On the Cluster each key of a request is decided by a script call of its
// own (each key hashes to a slot of its own): a key over its limit is never
// consumed, but a request it denies still consumes from the request's other
// keys. (On a single server such a request consumes from none:
// limitertest's AllOrNothing.)
func TestLimiterClusterAtomicPerKey(t *testing.T) {
	rdb := clusterTB(t)
	l := newLimiter(t, rdb, prefix())
	ip := netip.MustParseAddr("203.0.113.9")
	tight := ratelimit.Key{Rule: 1, IP: ip, Limit: ratelimit.Limit{N: 1, Period: time.Hour}}
	wide := ratelimit.Key{Rule: 2, IP: ip, Limit: ratelimit.Limit{N: 5, Period: time.Hour}}
	allow := func(keys ...ratelimit.Key) []ratelimit.Result {
		t.Helper()
		rs, err := l.Allow(context.Background(), time.Now(), keys, nil)
		if err != nil || len(rs) != len(keys) {
			t.Fatalf("Allow: %v, %v", rs, err)
		}
		return rs
	}
	if r := allow(tight)[0]; !r.Allowed {
		t.Fatalf("tight key alone: %+v", r)
	}
	for i := range 3 {
		rs := allow(tight, wide)
		if rs[0].Allowed || rs[0].RetryAfter <= 59*time.Minute || rs[0].RetryAfter > time.Hour {
			t.Fatalf("request %d: tight key %+v, want denied for about an hour", i, rs[0])
		}
		if !rs[1].Allowed || rs[1].Remaining != int64(4-i) {
			t.Fatalf("request %d: wide key %+v, want allowed and consumed (%d remaining)", i, rs[1], 4-i)
		}
	}
	if r := allow(wide)[0]; !r.Allowed || r.Remaining != 1 {
		t.Fatalf("wide key alone after 3 denied requests: %+v, want allowed with 1 remaining (the denied requests consumed it)", r)
	}
	if r := allow(tight)[0]; r.Allowed || r.RetryAfter <= 59*time.Minute {
		t.Fatalf("tight key after the denied requests: %+v, want denied, its first use still the only one", r)
	}
}

// The Tally's keys, one script call each, spread over the masters: one Add
// of sixty keys across slots counts every key once, and every master holds
// some of them.
func TestTallyOnClusterSpreads(t *testing.T) {
	rdb := clusterTB(t)
	p := prefix()
	cleanPrefix(t, rdb, p)
	s, err := redisstore.New(rdb, redisstore.WithPrefix(p))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 2, 5, 0, 0, 0, time.UTC)
	incs := make([]tally.Inc, 60)
	for i := range incs {
		incs[i] = tally.Inc{Key: fmt.Sprintf("ip:192.0.2.%d", i), N: int64(i + 1), Window: time.Hour}
	}
	for round := range 2 {
		got, err := s.Tally().Add(context.Background(), now, incs)
		if err != nil {
			t.Fatal(err)
		}
		for i, n := range got {
			if want := int64((round + 1) * (i + 1)); n != want {
				t.Fatalf("round %d, key %d: %d, want %d", round, i, n, want)
			}
		}
	}
	by, err := keysByMaster(context.Background(), rdb, p+"*")
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	for addr, ks := range by {
		counts[addr] = len(ks)
	}
	t.Logf("tally keys per master: %v", counts)
	if len(counts) < 3 || slices.Contains(slices.Collect(maps.Values(counts)), 0) {
		t.Errorf("tally keys per master %v, want some on each of at least 3 masters", counts)
	}
}
