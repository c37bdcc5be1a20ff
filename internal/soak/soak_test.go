// Package soak runs three processes of the gin example on one PostgreSQL
// and one Redis Cluster under load, through steady traffic, faults (a
// Redis master paused, stopped and restarted; PostgreSQL stalled) and
// recovery, and checks what every replica decided. It holds only this
// test, which runs when WARDEN_SOAK is a duration of at least 2m:
//
//	bash .ci/redis-cluster start
//	WARDEN_SOAK=2m WARDEN_TEST_POSTGRES_DSN=postgres://postgres@127.0.0.1:5432/test?sslmode=disable \
//	WARDEN_TEST_REDIS_CLUSTER_ADDRS=127.0.0.1:7001,127.0.0.1:7002,127.0.0.1:7003 \
//	go test -count=1 -run TestSoak -v -timeout 30m ./internal/soak/
//
// It stops and restarts one master of that cluster: run nothing else on it
// meanwhile.
package soak

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wardenkit/warden/bunstore"
	"github.com/wardenkit/warden/core"
	"github.com/wardenkit/warden/core/rule"
	"github.com/wardenkit/warden/redisstore"
)

const (
	limitRate  = 10 // the shared rate limit on GET /: 10/s per address, burst 10
	limitBurst = 10
	maxLogins  = 5 // the max_login_attempts setting (its default)
	victims    = 30
	attempts   = 8 // per victim, at once over the three replicas
	jobEvery   = time.Minute
)

// soak is one run: what it started and what it saw.
type soak struct {
	t       *testing.T
	d       time.Duration
	phase   [phases]time.Duration
	run     string // random, in the names a run uses
	cluster *cluster
	proxy   *pgProxy
	store   *bunstore.Store // the test's own, straight to PostgreSQL
	writer  *core.Engine    // writes rules as an admin or the CLI would
	cli     []string        // the warden command and its environment
	reps    []*replica
	cl      *client
	rec     *recorder
	ips     addrs

	hotIP, scanIP, scanUA, demoPassword string
	target                              string // the Redis master the faults hit: the bus channel's
	leaseOwner                          string // the master of the scheduler's lease
	masterArgs                          []string
	masterDown                          atomic.Bool
	cycles                              int          // fault cycles to run
	cyclesDone                          atomic.Int32 // fault cycles run to their end

	mu     sync.Mutex
	notes  []string
	rounds []round
	brute  [phases]map[string]map[int]int
	faultT [2]time.Time // the faults phase
	final  [replicas]map[string]float64
	exits  [replicas]error
	db     dbCounts
	runs   []jobRun
}

func TestSoak(t *testing.T) {
	s := setUp(t)
	s.drive()
	s.finish()
	s.report(os.Stdout)
	s.check()
}

// setUp reads the environment, builds the example and the warden command,
// prepares a fresh schema, writes the rules and settings, and starts the
// replicas.
func setUp(t *testing.T) *soak {
	v := os.Getenv("WARDEN_SOAK")
	if v == "" {
		t.Skip("WARDEN_SOAK is not set (a duration such as 2m runs the soak)")
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 2*time.Minute {
		t.Fatalf("WARDEN_SOAK=%q: want a duration of at least 2m", v)
	}
	pgBase, addrList := os.Getenv("WARDEN_TEST_POSTGRES_DSN"), os.Getenv("WARDEN_TEST_REDIS_CLUSTER_ADDRS")
	if pgBase == "" || addrList == "" {
		t.Fatal("WARDEN_SOAK needs WARDEN_TEST_POSTGRES_DSN and WARDEN_TEST_REDIS_CLUSTER_ADDRS (bash .ci/redis-cluster start)")
	}
	s := &soak{t: t, d: d, run: strings.ToLower(rand.Text()[:6]), rec: newRecorder(),
		cluster: &cluster{addrs: strings.Split(addrList, ",")}, demoPassword: "demo-" + rand.Text()[:10]}
	s.cycles = max(1, int(d/3/faultCycleLen))
	s.phase[faults] = time.Duration(s.cycles) * faultCycleLen
	s.phase[steady] = (d - s.phase[faults]) / 2
	s.phase[recovery] = d - s.phase[faults] - s.phase[steady]
	ctx := context.Background()
	if err := s.cluster.healthy(ctx); err != nil {
		t.Fatalf("Redis Cluster at %s: %v", addrList, err)
	}
	redisURL := "redis+cluster://" + addrList

	dir := t.TempDir()
	bins := build(t, dir, "github.com/wardenkit/warden/examples/gin", "github.com/wardenkit/warden/cmd/warden")
	direct := s.schema(pgBase)
	s.proxy = startProxy(t, hostOf(t, direct))
	proxied := withHost(t, direct, s.proxy.addr())
	s.cli = []string{bins[1], "WARDEN_DSN=" + direct, "WARDEN_REDIS_URL=" + redisURL}
	s.startWriter(ctx, direct, redisURL)
	s.hotIP, s.scanIP, s.scanUA = s.ips.public(), s.ips.public(), "soak-scanner-"+s.run
	s.writeRules(ctx)

	s.target, err = s.cluster.ownerOf(ctx, "warden:version") // the bus channel's master
	if err != nil {
		t.Fatal(err)
	}
	if s.leaseOwner, err = s.cluster.ownerOf(ctx, "warden:scheduler:leader"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.restartMaster(context.Background(), s.target, s.masterArgs) })
	args := []string{"-addr", "127.0.0.1:0", "-dsn", proxied, "-redis", redisURL, "-trust-proxy", "127.0.0.1/32",
		"-demo-password", s.demoPassword}
	env := []string{"WARDEN_EXAMPLE_JOB_EVERY=" + jobEvery.String()}
	s.reps = make([]*replica, replicas)
	var wg sync.WaitGroup
	for i := range replicas {
		wg.Go(func() { s.reps[i] = startReplica(t, i, bins[0], args, env) })
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	bases := make([]string, replicas)
	for i, r := range s.reps {
		bases[i] = r.base
	}
	s.cl = newClient(bases, s.rec)
	return s
}

// schema creates a schema of its own on PostgreSQL, migrates it through
// the test's store and returns its DSN.
func (s *soak) schema(base string) string {
	ctx := context.Background()
	admin, err := bunstore.Open(ctx, base)
	if err != nil {
		s.t.Fatalf("PostgreSQL does not answer: %v", err)
	}
	name := "warden_soak_" + s.run
	if _, err := admin.DB().ExecContext(ctx, "CREATE SCHEMA "+name); err != nil {
		s.t.Fatal(err)
	}
	s.t.Cleanup(func() {
		_, _ = admin.DB().ExecContext(context.Background(), "DROP SCHEMA "+name+" CASCADE")
		_ = admin.Close()
	})
	u, err := url.Parse(base)
	if err != nil {
		s.t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", name)
	u.RawQuery = q.Encode()
	s.store, err = bunstore.Open(ctx, u.String(), bunstore.WithAutoMigrate())
	if err != nil {
		s.t.Fatal(err)
	}
	s.t.Cleanup(func() { _ = s.store.Close() })
	return u.String()
}

func hostOf(t *testing.T, dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	return u.Host
}

func withHost(t *testing.T, dsn, host string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	u.Host = host
	return u.String()
}

// startWriter starts the engine the test writes rules through: on the
// store, with the replicas' Redis bus, as an admin page or the warden
// command in another process writes them.
func (s *soak) startWriter(ctx context.Context, dsn, redisURL string) {
	rdb, err := redisstore.ParseURL(redisURL)
	if err != nil {
		s.t.Fatal(err)
	}
	s.t.Cleanup(func() { _ = rdb.Close() })
	rs, err := redisstore.New(rdb)
	if err != nil {
		s.t.Fatal(err)
	}
	s.writer, err = core.New(s.store, core.WithBus(rs.Bus()), core.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		s.t.Fatal(err)
	}
	if err := s.writer.Start(ctx); err != nil {
		s.t.Fatal(err)
	}
	s.t.Cleanup(func() { _ = s.writer.Close(context.Background()) })
}

// writeRules stores, before any replica starts, the shared rate limit on
// GET /, the scanner's User-Agent block, and (with the warden command)
// auto-block weights that leave rate-limit denials out, so that the hot
// address is limited and never blocked.
func (s *soak) writeRules(ctx context.Context) {
	rl := rule.RateLimitRule{Name: "soak", PathPattern: "/", Method: "GET", Rate: fmt.Sprintf("%d/s", limitRate), Burst: limitBurst}
	if _, err := s.writer.Rules().RateLimitRules().Put(ctx, rl); err != nil {
		s.t.Fatal(err)
	}
	if _, err := s.writer.Rules().BlockedUserAgents().Put(ctx, rule.BlockedUserAgent{Pattern: s.scanUA}); err != nil {
		s.t.Fatal(err)
	}
	if out, err := s.warden(ctx, "settings", "set", "auto_block_weights", "LOCKOUT=1,RATE_LIMIT=0,USER_AGENT_BLOCK=1"); err != nil {
		s.t.Fatalf("warden settings set: %v\n%s", err, out)
	}
}

// warden runs the warden command on the soak's database and Redis.
func (s *soak) warden(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, s.cli[0], args...)
	cmd.Env = append(os.Environ(), s.cli[1:]...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// note records a line of the fault timeline, with the time into the run.
func (s *soak) note(format string, args ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.notes = append(s.notes, time.Now().Format("15:04:05.000")+"  "+fmt.Sprintf(format, args...))
}

// drive runs the three phases under load: the paced stream and the logins
// throughout, a rule round every few seconds, the brute force at the
// start of the steady and recovery phases, the faults in theirs.
func (s *soak) drive() {
	ctx, cancel := context.WithTimeout(context.Background(), s.d)
	defer cancel()
	var wg sync.WaitGroup
	for i := range replicas {
		wg.Go(func() { s.cl.pace(ctx, i, &s.ips, s.hotIP, s.scanIP, s.scanUA) })
	}
	wg.Go(func() { s.cl.logins(ctx, &s.ips, s.run, s.demoPassword) })
	wg.Go(func() { s.roundsUntil(ctx) })
	start := time.Now()
	s.note("steady: %d replicas, %d requests/s each", replicas, perRate)
	s.bruteForce(ctx, &wg, steady)
	sleepUntil(ctx, start.Add(s.phase[steady]))

	s.rec.cur.Store(int32(faults))
	s.faultT[0] = time.Now()
	s.note("faults")
	for k := range s.cycles {
		s.faultCycle(ctx, s.faultT[0].Add(time.Duration(k)*faultCycleLen), s.target)
	}
	sleepUntil(ctx, start.Add(s.phase[steady]+s.phase[faults]))
	s.faultT[1] = time.Now()

	s.rec.cur.Store(int32(recovery))
	s.note("recovery")
	s.bruteForce(ctx, &wg, recovery)
	<-ctx.Done()
	wg.Wait()
	s.note("load stopped")
}

func sleepUntil(ctx context.Context, t time.Time) {
	select {
	case <-time.After(time.Until(t)):
	case <-ctx.Done():
	}
}

// bruteForce starts the brute force on new victims 3 s into phase p.
func (s *soak) bruteForce(ctx context.Context, wg *sync.WaitGroup, p phase) {
	names := make([]string, victims)
	for i := range names {
		names[i] = fmt.Sprintf("victim-%s-%s-%02d", s.run, p, i)
	}
	wg.Go(func() {
		sleepUntil(ctx, time.Now().Add(3*time.Second))
		got := s.cl.bruteForce(ctx, &s.ips, names, attempts)
		s.mu.Lock()
		s.brute[p] = got
		s.mu.Unlock()
	})
}

// finish waits for the replicas' queues to empty, reads their metrics,
// stops them, and counts what the database holds.
func (s *soak) finish() {
	ctx := context.Background()
	for i, r := range s.reps {
		for end := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
			m, err := r.metrics(s.cl.http)
			if err == nil && m["warden_events_queued"] == 0 || time.Now().After(end) {
				s.final[i] = m
				if err != nil {
					s.t.Errorf("replica %d: %v", i, err)
				}
				break
			}
		}
	}
	for i, r := range s.reps {
		s.exits[i] = r.stop(30 * time.Second)
		s.runs = append(s.runs, r.jobRuns()...)
	}
	if err := s.writer.Close(ctx); err != nil {
		s.t.Errorf("closing the writer: %v", err)
	}
	s.db = s.countEvents(ctx)
}
