package redisstore_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/wardenkit/warden/core"
	"github.com/wardenkit/warden/core/memstore"
	"github.com/wardenkit/warden/core/ratelimit"
	"github.com/wardenkit/warden/core/rule"
	"github.com/wardenkit/warden/redisstore"
)

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

// On the Cluster, A and B each subscribe through the master of the
// channel's slot and publish through any node: PUBLISH reaches every node.
func TestBusPropagatesWrites(t *testing.T) {
	eachServer(t, func(t *testing.T, bk backend) {
		p := prefix()
		cs := bk.clients(t, 2)
		a, _ := redisstore.New(cs[0], redisstore.WithPrefix(p))
		b, _ := redisstore.New(cs[1], redisstore.WithPrefix(p))
		st := memstore.New()
		// A long poll: only the bus can deliver the change in time.
		engA := startEngine(t, st, a.Bus(), time.Hour)
		engB := startEngine(t, st, b.Bus(), time.Hour)
		if _, err := engA.Rules().BlockedIPs().Put(context.Background(), rule.BlockedIP{Network: "203.0.113.9"}); err != nil {
			t.Fatal(err)
		}
		took := waitBlocked(t, engB, "203.0.113.9", time.Second)
		t.Logf("enforced on B %v after A's write returned", took)
	})
}

func TestSubscribeReportsResubscribe(t *testing.T) { eachServer(t, testResubscribe) }

func testResubscribe(t *testing.T, b backend) {
	rdb := b.client(t)
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
	if err := killPubSub(context.Background(), rdb); err != nil {
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

// deadRedis is a client of a Redis that is not there.
func deadRedis(t *testing.T) redis.UniversalClient {
	dead := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", DialTimeout: 50 * time.Millisecond, MaxRetries: -1})
	t.Cleanup(func() { dead.Close() })
	return dead
}

func TestRedisDownWritesStillConverge(t *testing.T) {
	s, _ := redisstore.New(deadRedis(t))
	st := memstore.New()
	engA := startEngine(t, st, s.Bus(), 200*time.Millisecond)
	engB := startEngine(t, st, s.Bus(), 200*time.Millisecond)
	if _, err := engA.Rules().BlockedIPs().Put(context.Background(), rule.BlockedIP{Network: "203.0.113.10"}); err != nil {
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

// countingHook counts commands sent to Redis (a pipeline or script call is
// one round trip).
type countingHook struct{ n atomic.Int64 }

func (h *countingHook) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h *countingHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error { h.n.Add(1); return next(ctx, cmd) }
}
func (h *countingHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error { h.n.Add(1); return next(ctx, cmds) }
}

func get(ip, path string) *http.Request {
	r := httptest.NewRequest("GET", path, nil)
	r.RemoteAddr = ip + ":1000"
	return r
}

func TestLimiterOneRoundTripPerRequest(t *testing.T) { eachBackend(t, testLimiterOneRoundTrip) }

func testLimiterOneRoundTrip(t *testing.T, b backend) {
	rdb := b.client(t)
	hook := &countingHook{}
	rdb.AddHook(hook)
	s, _ := redisstore.New(rdb, redisstore.WithPrefix(prefix()))
	eng, err := core.New(memstore.New(), core.WithLimiter(s.Limiter()), core.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer eng.Close(context.Background())
	for i := range 5 {
		if _, err := eng.Rules().RateLimitRules().Put(context.Background(), rule.RateLimitRule{Name: fmt.Sprint("r", i), PathPattern: fmt.Sprintf("/a%s*", strings.Repeat("/", i%2)), Method: []string{"ALL", "GET"}[i%2], Rate: fmt.Sprintf("%d/m", 100+i)}); err != nil && !errors.Is(err, core.ErrInvalid) {
			t.Fatal(err)
		}
	}
	// Warm up, then count.
	eng.Check(context.Background(), core.Request{HTTP: get("3.3.3.3", "/a/x")})
	before := hook.n.Load()
	const n = 20
	for range n {
		d, err := eng.Check(context.Background(), core.Request{HTTP: get("3.3.3.3", "/a/x")})
		if err != nil || !d.Allowed || d.RateLimit.Quota == 0 {
			t.Fatalf("%+v, %v", d, err)
		}
	}
	if got := hook.n.Load() - before; got != n {
		t.Fatalf("%d round trips for %d requests matching several rules, want %d", got, n, n)
	}
}

func TestLimiterSharedByTwoEngines(t *testing.T) { eachBackend(t, testLimiterShared) }

func testLimiterShared(t *testing.T, b backend) {
	p := prefix()
	st := memstore.New()
	var engines []*core.Engine
	for _, rdb := range b.clients(t, 2) {
		// A generous deadline: a call that timed out on a busy machine
		// would be counted in process (the fallback), not shared.
		s, _ := redisstore.New(rdb, redisstore.WithPrefix(p), redisstore.WithLimiterTimeout(5*time.Second))
		eng, err := core.New(st, core.WithLimiter(s.Limiter()), core.WithLogger(slog.New(slog.DiscardHandler)))
		if err != nil {
			t.Fatal(err)
		}
		if err := eng.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		defer eng.Close(context.Background())
		engines = append(engines, eng)
	}
	if _, err := engines[0].Rules().RateLimitRules().Put(context.Background(), rule.RateLimitRule{Name: "x", PathPattern: "/x", Rate: "10/m"}); err != nil {
		t.Fatal(err)
	}
	if err := engines[1].Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	allowed := 0
	for i := range 30 {
		d, err := engines[i%2].Check(context.Background(), core.Request{HTTP: get("3.3.3.3", "/x")})
		if err != nil {
			t.Fatal(err)
		}
		if d.Allowed {
			allowed++
		} else if d.Status != 429 || d.RetryAfter <= 0 {
			t.Fatalf("denial %+v", d)
		}
	}
	if allowed != 10 {
		t.Fatalf("%d of 30 allowed across two engines, want 10 (one shared limit)", allowed)
	}
}

func TestLimiterBreaker(t *testing.T) {
	// One dial per call: go-redis reports the refused connection at once,
	// which the breaker counts, rather than dialling again past the deadline.
	dead := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", DialTimeout: 20 * time.Millisecond, DialerRetries: 1, MaxRetries: -1})
	defer dead.Close()
	s, _ := redisstore.New(dead, redisstore.WithBreaker(2, time.Hour))
	l := s.Limiter()
	keys := []ratelimit.Key{{Rule: 1, IP: netip.MustParseAddr("3.3.3.3"), Limit: ratelimit.Limit{N: 1, Period: time.Minute}}}
	for range 2 {
		if _, err := l.Allow(context.Background(), time.Now(), keys, nil); err == nil || errors.Is(err, redisstore.ErrCircuitOpen) {
			t.Fatalf("want a connection error, got %v", err)
		}
	}
	if _, err := l.Allow(context.Background(), time.Now(), keys, nil); !errors.Is(err, redisstore.ErrCircuitOpen) {
		t.Fatalf("third call: %v, want ErrCircuitOpen", err)
	}
}

// A Redis that accepts connections and never answers: the call ends at its
// deadline instead of stalling the request.
func TestLimiterDeadline(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close() // hold it open, say nothing
		}
	}()
	// No client-side read timeout: only the limiter's deadline can end the call.
	silent := redis.NewClient(&redis.Options{Addr: ln.Addr().String(), MaxRetries: -1, ReadTimeout: -1, WriteTimeout: -1, ContextTimeoutEnabled: true})
	defer silent.Close()
	s, _ := redisstore.New(silent, redisstore.WithLimiterTimeout(50*time.Millisecond))
	keys := []ratelimit.Key{{Rule: 1, IP: netip.MustParseAddr("3.3.3.3"), Limit: ratelimit.Limit{N: 1, Period: time.Minute}}}
	done := make(chan error, 1)
	go func() { _, err := s.Limiter().Allow(context.Background(), time.Now(), keys, nil); done <- err }()
	select { // a bound 100 times the deadline: fails only when no deadline applies
	case err = <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the call to a silent Redis did not end: no deadline")
	}
	var ne net.Error
	if !errors.Is(err, context.DeadlineExceeded) && !(errors.As(err, &ne) && ne.Timeout()) {
		t.Fatalf("silent Redis: %v, want a timeout from the 50 ms deadline", err)
	}
}
