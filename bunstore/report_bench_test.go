package bunstore_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/wardenkit/warden/bunstore"
	"github.com/wardenkit/warden/report"
)

// envBenchReport turns BenchmarkReportBuild on: loading its million events
// takes a minute, too long for every benchmark run.
const envBenchReport = "WARDEN_BENCH_REPORT"

// reportEvents is how many events BenchmarkReportBuild loads, all inside
// the day it reports on.
const reportEvents = 1_000_000

// BenchmarkReportBuild measures report.Build over one day of a table of a
// million events on PostgreSQL (the budget: 1 s): "day" puts all of them in
// that day, the worst case; "month" spreads them over 30 days around it, as
// a log kept for a while holds them. It runs only when
// WARDEN_TEST_POSTGRES_DSN is set and WARDEN_BENCH_REPORT=1:
//
//	WARDEN_BENCH_REPORT=1 go test -run '^$' -bench ReportBuild -benchtime 10x ./bunstore/
func BenchmarkReportBuild(b *testing.B) {
	dsn := os.Getenv(envPostgres)
	if dsn == "" || os.Getenv(envBenchReport) != "1" {
		b.Skipf("set %s and %s=1 to load %d events into PostgreSQL", envPostgres, envBenchReport, reportEvents)
	}
	since := time.Date(2030, 6, 1, 6, 0, 0, 0, time.UTC)
	until := since.Add(24 * time.Hour)
	for _, bc := range []struct {
		name  string
		first time.Time
		span  time.Duration
	}{
		{"day", since, 24 * time.Hour},
		{"month", since.Add(-15 * 24 * time.Hour), 30 * 24 * time.Hour},
	} {
		b.Run(bc.name, func(b *testing.B) {
			ctx := testCtx(b)
			s := newStore(b, backend{name: "postgres", newDSN: func(t testing.TB) string { return postgresDSN(t, dsn) }})
			start := time.Now()
			loadReportEvents(b, s, bc.first, bc.span, reportEvents)
			b.Logf("loaded %d events over %v in %v", reportEvents, bc.span, time.Since(start).Round(time.Millisecond))
			r, err := report.Build(ctx, s, since, until)
			if err != nil {
				b.Fatal(err)
			}
			inDay := int64(float64(reportEvents) * float64(24*time.Hour) / float64(bc.span))
			if r.Total < inDay || len(r.TopIPs) != 10 || len(r.TopPaths) != 10 || len(r.PerHour) != 24 ||
				r.PerHour[23].Count == 0 {
				b.Fatalf("the report does not cover the %d events loaded in the day: %+v", inDay, r)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := report.Build(ctx, s, since, until); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// loadReportEvents inserts n events spread evenly over span from first,
// with skewed IPs (a few heavy hitters among ~20,000), ~60 countries, ~300
// paths and the actions' mix of a site under steady attack, then lets
// PostgreSQL catch up as autovacuum would (VACUUM ANALYZE).
func loadReportEvents(b *testing.B, s *bunstore.Store, first time.Time, span time.Duration, n int) {
	b.Helper()
	ctx := testCtx(b)
	const q = `INSERT INTO security_security_log
		(created_at, ip_address, country_code, action, severity, path, method, user_agent, details, user_email, rule_id, count)
	SELECT to_timestamp(?0 + n * ?2::float8 / ?1),
		'198.51.' || (ip % 80) || '.' || (ip / 80),
		CASE WHEN random() < 0.05 THEN '' ELSE chr(65 + cc % 26) || chr(65 + cc / 26) END,
		a.action, 'low', '/p/' || floor(300 * random() ^ 2)::int, 'GET',
		'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/' || (100 + n % 30) || '.0 Safari/537.36',
		'', '', 0, CASE WHEN random() < 0.1 THEN 2 + floor(random() * 4)::int ELSE 1 END
	FROM (SELECT n, floor(20000 * random() ^ 3)::int AS ip, floor(60 * random() ^ 2)::int AS cc, random() AS r
		FROM generate_series(0, ?1 - 1) AS n) g
	CROSS JOIN LATERAL (SELECT CASE
		WHEN g.r < 0.40 THEN 'RATE_LIMIT' WHEN g.r < 0.65 THEN 'USER_AGENT_BLOCK' WHEN g.r < 0.85 THEN 'IP_BLOCK'
		WHEN g.r < 0.93 THEN 'COUNTRY_BLOCK' WHEN g.r < 0.97 THEN 'WOULD_BLOCK' WHEN g.r < 0.99 THEN 'LOCKOUT'
		WHEN g.r < 0.995 THEN 'SUSPICIOUS_LOGIN' WHEN g.r < 0.9951 THEN 'AUTO_BLOCK_IP'
		WHEN g.r < 0.995105 THEN 'AUTO_BLOCK_COUNTRY' ELSE 'ADMIN_ACTION' END AS action) a`
	err := s.DB().RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.ExecContext(ctx, "SELECT setseed(0.42)"); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, q, first.Unix(), n, span.Seconds())
		return err
	})
	if err != nil {
		b.Fatalf("load: %v", err)
	}
	if _, err := s.DB().ExecContext(ctx, "VACUUM ANALYZE security_security_log"); err != nil {
		b.Fatalf("vacuum: %v", err)
	}
}
