package bunstore_test

import (
	"flag"
	"fmt"
	"testing"
	"time"

	"github.com/uptrace/bun/dialect"

	"github.com/wardenkit/warden/bunstore"
	"github.com/wardenkit/warden/core"
)

// seedRows is how many events the table holds before the benchmark appends.
var seedRows = flag.Int("bunstore.seed", 1_000_000, "events in the table before BenchmarkAppendEvents appends")

// BenchmarkAppendEvents appends batches of 500 events (the event writer's
// batch) to a table that already holds a million rows, on SQLite and on the
// servers whose variables are set, and reports events/s. The table is
// seeded with one INSERT … SELECT before the timer starts, so the seeding
// runs only under -bench:
//
//	go test -run '^$' -bench AppendEvents -benchtime 20x ./bunstore/
func BenchmarkAppendEvents(b *testing.B) {
	for _, be := range backends() {
		b.Run(be.name, func(b *testing.B) {
			ctx := testCtx(b)
			s := newStore(b, be)
			start := time.Now()
			seed(b, s, *seedRows)
			b.Logf("seeded %d events in %v", *seedRows, time.Since(start).Round(time.Millisecond))
			base := time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC)
			batch := make([]core.Event, 500)
			for i := range batch {
				batch[i] = core.Event{
					CreatedAt: base.Add(time.Duration(i) * time.Millisecond), IP: fmt.Sprintf("203.0.113.%d", i%250),
					CountryCode: "DE", Action: core.ActionUserAgentBlock, Path: "/wp-login.php", Method: "GET",
					UserAgent: "Mozilla/5.0 (compatible; BadBot/2.1)", RuleID: int64(i % 7), Count: 1,
				}
			}
			b.ReportAllocs()
			cpu0, cpuOK := cpuTime()
			for b.Loop() {
				// Time moves on between batches, as it does for real events.
				base = base.Add(time.Second)
				for i := range batch {
					batch[i].CreatedAt = base.Add(time.Duration(i) * time.Millisecond)
				}
				if err := s.AppendEvents(ctx, batch); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*len(batch))/b.Elapsed().Seconds(), "events/s")
			// Events per second of this process's CPU time (the driver's and
			// bun's share; for SQLite the whole cost): a figure that the
			// other load on a shared machine disturbs less.
			if cpu1, ok := cpuTime(); ok && cpuOK && cpu1 > cpu0 {
				b.ReportMetric(float64(b.N*len(batch))/(cpu1-cpu0).Seconds(), "events/cpu-s")
			}
		})
	}
}

// seed fills the events table with n rows in one statement.
func seed(b *testing.B, s *bunstore.Store, n int) {
	b.Helper()
	const cols = "created_at, ip_address, country_code, action, severity, path, method, user_agent, details, user_email, rule_id, count"
	var q string
	switch s.DB().Dialect().Name() {
	case dialect.SQLite:
		// Times in the text form the store writes, so they compare in order.
		q = `WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < ?)
			INSERT INTO security_security_log (` + cols + `)
			SELECT strftime('%Y-%m-%d %H:%M:%S', 1893456000 + n, 'unixepoch') || '+00:00',
				'198.51.' || (n % 256) || '.' || (n / 256 % 256), 'FR',
				CASE n % 3 WHEN 0 THEN 'IP_BLOCK' WHEN 1 THEN 'USER_AGENT_BLOCK' ELSE 'RATE_LIMIT' END,
				'low', '/login', 'POST', 'Mozilla/5.0 (seed)', '', '', 0, 1
			FROM seq`
	case dialect.PG:
		q = `INSERT INTO security_security_log (` + cols + `)
			SELECT to_timestamp(1893456000 + n), '198.51.' || (n % 256) || '.' || (n / 256 % 256), 'FR',
				CASE n % 3 WHEN 0 THEN 'IP_BLOCK' WHEN 1 THEN 'USER_AGENT_BLOCK' ELSE 'RATE_LIMIT' END,
				'low', '/login', 'POST', 'Mozilla/5.0 (seed)', '', '', 0, 1
			FROM generate_series(1, ?) AS n`
	case dialect.MySQL:
		q = `INSERT INTO security_security_log (` + cols + `)
			SELECT FROM_UNIXTIME(1893456000 + n), CONCAT('198.51.', n % 256, '.', n DIV 256 % 256), 'FR',
				CASE n % 3 WHEN 0 THEN 'IP_BLOCK' WHEN 1 THEN 'USER_AGENT_BLOCK' ELSE 'RATE_LIMIT' END,
				'low', '/login', 'POST', 'Mozilla/5.0 (seed)', '', '', 0, 1
			FROM (SELECT a.d + 10*b.d + 100*c.d + 1000*d.d + 10000*e.d + 100000*f.d + 1 AS n
				FROM (SELECT 0 d UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4
					UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9) a,
					(SELECT 0 d UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4
					UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9) b,
					(SELECT 0 d UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4
					UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9) c,
					(SELECT 0 d UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4
					UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9) d,
					(SELECT 0 d UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4
					UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9) e,
					(SELECT 0 d UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4
					UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9) f) seq
			WHERE n <= ?`
	}
	if _, err := s.DB().ExecContext(testCtx(b), q, n); err != nil {
		b.Fatalf("seed: %v", err)
	}
	// Leave no seeding work for the timed appends: the SQLite WAL
	// checkpointed, PostgreSQL's visibility map and statistics up to date.
	var after string
	switch s.DB().Dialect().Name() {
	case dialect.SQLite:
		after = "PRAGMA wal_checkpoint(TRUNCATE)"
	case dialect.PG:
		after = "VACUUM ANALYZE security_security_log"
	case dialect.MySQL:
		after = "ANALYZE TABLE security_security_log"
	}
	if _, err := s.DB().ExecContext(testCtx(b), after); err != nil {
		b.Fatalf("%s: %v", after, err)
	}
	var got int
	if err := s.DB().NewRaw("SELECT COUNT(*) FROM security_security_log").Scan(testCtx(b), &got); err != nil || got != n {
		b.Fatalf("seeded %d rows (%v), want %d", got, err, n)
	}
}
