package redisstore_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/wardenkit/warden/core"
	"github.com/wardenkit/warden/core/memstore"
	"github.com/wardenkit/warden/redisstore"
)

// redisClient connects to WARDEN_TEST_REDIS_URL; the test is skipped when
// it is unset and fails when Redis does not answer.
func redisClient(t *testing.T) redis.UniversalClient {
	t.Helper()
	url := os.Getenv("WARDEN_TEST_REDIS_URL")
	if url == "" {
		t.Skip("WARDEN_TEST_REDIS_URL not set")
	}
	opt, err := redis.ParseURL(url)
	if err != nil {
		t.Fatalf("WARDEN_TEST_REDIS_URL: %v", err)
	}
	rdb := redis.NewClient(opt)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := rdb.Ping(ctx).Err(); err != nil {
		t.Fatalf("Redis at %s does not answer: %v", opt.Addr, err)
	}
	t.Cleanup(func() { rdb.Close() })
	return rdb
}

func prefix() string { return fmt.Sprintf("wardentest%d:", rand.Int64()) }

func blocked(eng *core.Engine, ip string) bool {
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = ip + ":1000"
	d, _ := eng.Check(context.Background(), core.Request{HTTP: r})
	return !d.Allowed
}

func startEngine(t *testing.T, st core.Store, bus core.Bus, poll time.Duration) *core.Engine {
	t.Helper()
	eng, err := core.New(st, core.WithBus(bus), core.WithPollInterval(poll))
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close(context.Background()) })
	return eng
}

// waitBlocked polls eng until ip is blocked and returns how long it took.
func waitBlocked(t *testing.T, eng *core.Engine, ip string, limit time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for !blocked(eng, ip) {
		if time.Since(start) > limit {
			t.Fatalf("%s not blocked within %v", ip, limit)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return time.Since(start)
}

func TestBusPropagatesWrites(t *testing.T) {
	p := prefix()
	a, _ := redisstore.New(redisClient(t), redisstore.WithPrefix(p))
	b, _ := redisstore.New(redisClient(t), redisstore.WithPrefix(p))
	st := memstore.New()
	// A long poll: only the bus can deliver the change in time.
	engA := startEngine(t, st, a.Bus(), time.Hour)
	engB := startEngine(t, st, b.Bus(), time.Hour)
	if _, err := engA.Rules().BlockedIPs().Put(context.Background(), core.BlockedIP{Network: "203.0.113.9"}); err != nil {
		t.Fatal(err)
	}
	took := waitBlocked(t, engB, "203.0.113.9", time.Second)
	t.Logf("enforced on B %v after A's write returned", took)
}

func TestSubscribeReportsResubscribe(t *testing.T) {
	rdb := redisClient(t)
	s, _ := redisstore.New(rdb, redisstore.WithPrefix(prefix()))
	got := make(chan int64, 10)
	cancel, err := s.Bus().Subscribe(context.Background(), func(v int64) { got <- v })
	if err != nil {
		t.Fatal(err)
	}
	defer cancel()
	if v := <-got; v != 0 {
		t.Fatalf("first callback %d, want 0 (subscribed)", v)
	}
	if err := s.Bus().Publish(context.Background(), 42); err != nil {
		t.Fatal(err)
	}
	select {
	case v := <-got:
		if v != 42 {
			t.Fatalf("got %d, want 42", v)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("no message")
	}
	// Kill the subscriber's connection: go-redis reconnects, resubscribes, and
	// the bus reports it with 0.
	if err := rdb.ClientKillByFilter(context.Background(), "TYPE", "pubsub").Err(); err != nil {
		t.Fatal(err)
	}
	deadline := time.After(10 * time.Second)
	for {
		select {
		case v := <-got:
			if v == 0 {
				return
			}
		case <-deadline:
			t.Fatal("no resubscribe notice after the connection was killed")
		}
	}
}

func TestRedisDownWritesStillConverge(t *testing.T) {
	dead := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", DialTimeout: 50 * time.Millisecond, MaxRetries: -1})
	defer dead.Close()
	s, _ := redisstore.New(dead)
	st := memstore.New()
	engA := startEngine(t, st, s.Bus(), 200*time.Millisecond)
	engB := startEngine(t, st, s.Bus(), 200*time.Millisecond)
	if _, err := engA.Rules().BlockedIPs().Put(context.Background(), core.BlockedIP{Network: "203.0.113.10"}); err != nil {
		t.Fatalf("write with Redis down: %v", err)
	}
	if !blocked(engA, "203.0.113.10") {
		t.Fatal("writer does not enforce its own write")
	}
	waitBlocked(t, engB, "203.0.113.10", 3*time.Second)
}

func TestOptions(t *testing.T) {
	if _, err := redisstore.New(nil); err == nil {
		t.Fatal("nil client accepted")
	}
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	defer rdb.Close()
	for _, p := range []string{"", "a b", "{x}"} {
		if _, err := redisstore.New(rdb, redisstore.WithPrefix(p)); err == nil {
			t.Errorf("prefix %q accepted", p)
		}
	}
}
