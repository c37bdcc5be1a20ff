package redisstore_test

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http/httptest"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/wardenkit/warden/bunstore"
	"github.com/wardenkit/warden/core"
	"github.com/wardenkit/warden/core/rule"
	"github.com/wardenkit/warden/redisstore"
)

// postgresStore opens a fresh schema on WARDEN_TEST_POSTGRES_DSN; skipped
// when it is unset, failed when PostgreSQL does not answer.
func postgresStore(t *testing.T) (dsn string) {
	t.Helper()
	base := os.Getenv("WARDEN_TEST_POSTGRES_DSN")
	if base == "" {
		t.Skip("WARDEN_TEST_POSTGRES_DSN not set")
	}
	ctx := context.Background()
	admin, err := bunstore.Open(ctx, base)
	if err != nil {
		t.Fatalf("PostgreSQL does not answer: %v", err)
	}
	schema := fmt.Sprintf("warden_replicas_%d", rand.Uint32())
	if _, err := admin.DB().ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = admin.DB().ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
		_ = admin.Close()
	})
	u, _ := url.Parse(base)
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

func replica(t *testing.T, dsn string, opts ...core.Option) *core.Engine {
	t.Helper()
	st, err := bunstore.Open(context.Background(), dsn, bunstore.WithAutoMigrate())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	eng, err := core.New(st, append([]core.Option{core.WithLogger(slog.New(slog.DiscardHandler))}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close(context.Background()) })
	return eng
}

// Two replicas sharing one PostgreSQL and one Redis (or Cluster): a block
// written through A is enforced by B in under a second (the poll is an
// hour: only the bus can deliver it).
func TestReplicasPostgresAndRedis(t *testing.T) { eachServer(t, testReplicasPostgresAndRedis) }

func testReplicasPostgresAndRedis(t *testing.T, bk backend) {
	dsn := postgresStore(t)
	p := prefix()
	cs := bk.clients(t, 2)
	ra, _ := redisstore.New(cs[0], redisstore.WithPrefix(p))
	rb, _ := redisstore.New(cs[1], redisstore.WithPrefix(p))
	a := replica(t, dsn, core.WithBus(ra.Bus()), core.WithPollInterval(time.Hour))
	b := replica(t, dsn, core.WithBus(rb.Bus()), core.WithPollInterval(time.Hour))
	start := time.Now()
	if _, err := a.Rules().BlockedIPs().Put(context.Background(), rule.BlockedIP{Network: "203.0.113.0/24"}); err != nil {
		t.Fatal(err)
	}
	took := waitBlocked(t, b, "203.0.113.77", time.Second)
	t.Logf("write + enforcement on B: %v (B saw it %v after A's Put returned)", time.Since(start), took)
}

// With Redis unreachable, writes succeed and the other replica converges
// through the version poll.
func TestReplicasPostgresRedisDown(t *testing.T) {
	dsn := postgresStore(t)
	dead, _ := redisstore.New(deadRedis(t))
	a := replica(t, dsn, core.WithBus(dead.Bus()), core.WithPollInterval(200*time.Millisecond))
	b := replica(t, dsn, core.WithBus(dead.Bus()), core.WithPollInterval(200*time.Millisecond))
	if _, err := a.Rules().BlockedIPs().Put(context.Background(), rule.BlockedIP{Network: "203.0.113.5"}); err != nil {
		t.Fatalf("write with Redis down: %v", err)
	}
	waitBlocked(t, b, "203.0.113.5", 3*time.Second)
}

// Ten attack events drawn through replica A block the attacker on replica B
// within a second: A and B share their counts through Redis or the Cluster
// (each saw five) and the block travels on the bus.
func TestReplicasAutoBlock(t *testing.T) { eachServer(t, testReplicasAutoBlock) }

func testReplicasAutoBlock(t *testing.T, bk backend) {
	dsn := postgresStore(t)
	p := prefix()
	cs := bk.clients(t, 2)
	cleanPrefix(t, cs[0], p)
	ra, _ := redisstore.New(cs[0], redisstore.WithPrefix(p))
	rb, _ := redisstore.New(cs[1], redisstore.WithPrefix(p))
	a := replica(t, dsn, core.WithBus(ra.Bus()), core.WithTallyCounter(ra.Tally()), core.WithPollInterval(time.Hour))
	b := replica(t, dsn, core.WithBus(rb.Bus()), core.WithTallyCounter(rb.Tally()), core.WithPollInterval(time.Hour))
	ctx := context.Background()
	if _, err := a.Rules().BlockedUserAgents().Put(ctx, rule.BlockedUserAgent{Pattern: "sqlmap"}); err != nil {
		t.Fatal(err)
	}
	waitReason := func(eng *core.Engine, action core.Action) {
		t.Helper()
		deadline := time.Now().Add(2 * time.Second)
		for {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = "198.51.100.66:4000"
			r.Header.Set("User-Agent", "sqlmap/1.8")
			d, _ := eng.Check(ctx, core.Request{HTTP: r})
			if d.Action == action {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("no %s from the replica (got %q)", action, d.Action)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	waitReason(b, core.ActionUserAgentBlock) // B has the UA rule
	// Five events on each replica: neither alone reaches 10.
	for _, eng := range []*core.Engine{a, b} {
		for range 5 {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = "198.51.100.7:4000"
			r.Header.Set("User-Agent", "sqlmap/1.8")
			if d, _ := eng.Check(ctx, core.Request{HTTP: r}); d.Action != core.ActionUserAgentBlock {
				t.Fatalf("attack request: %+v", d)
			}
		}
	}
	start := time.Now()
	took := waitBlocked(t, b, "198.51.100.7", time.Second)
	t.Logf("10 events over two replicas -> blocked on B %v after the last (%v)", time.Since(start), took)
	deadline := time.Now().Add(time.Second) // the replica that blocked counts it after its Put returns
	n := int64(0)
	for n == 0 && time.Now().Before(deadline) {
		n = a.Stats().AutoBlock.IPsBlocked + b.Stats().AutoBlock.IPsBlocked
		time.Sleep(5 * time.Millisecond)
	}
	if n != 1 {
		t.Errorf("%d auto-blocks across the replicas, want 1", n)
	}
}
