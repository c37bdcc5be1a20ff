package admin_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/wardenkit/warden/admin"
	"github.com/wardenkit/warden/bunstore"
	"github.com/wardenkit/warden/core"
	"github.com/wardenkit/warden/internal/testdb"
)

// BenchmarkAdminPostgres measures the pages over a million events and
// 100,000 blocked IPs in PostgreSQL (budgets: 50 ms a list page, 50 ms the
// dashboard from its cache, 1 s uncached). "month" spreads the events over
// 30 days, as a log kept for a while holds them; "day" puts them all in
// the dashboard's 24 hours, the worst case. It runs only when
// WARDEN_TEST_POSTGRES_DSN is set and WARDEN_BENCH_ADMIN=1 (loading takes
// a minute or two):
//
//	WARDEN_BENCH_ADMIN=1 go test -run '^$' -bench AdminPostgres -benchtime 20x ./admin/
func BenchmarkAdminPostgres(b *testing.B) {
	dsn := os.Getenv("WARDEN_TEST_POSTGRES_DSN")
	if dsn == "" || os.Getenv("WARDEN_BENCH_ADMIN") != "1" {
		b.Skip("set WARDEN_TEST_POSTGRES_DSN and WARDEN_BENCH_ADMIN=1 to load 1,000,000 events and 100,000 blocked IPs into PostgreSQL")
	}
	for _, span := range []struct {
		name string
		d    time.Duration
	}{{"month", 30 * 24 * time.Hour}, {"day", 24 * time.Hour}} {
		b.Run(span.name, func(b *testing.B) {
			h, deep := benchAdmin(b, dsn, span.d)
			for _, page := range []struct{ name, path string }{
				{"list_first", "/rules/blocked-ips"},
				{"list_deep", "/rules/blocked-ips?after=" + deep},
				{"list_api", "/api/rules/blocked-ips?after=" + deep},
				{"list_filter_auto", "/rules/blocked-ips?auto_blocked=yes"},
				{"list_search_capped", "/rules/blocked-ips?q=no-such-thing"},
				{"events", "/events"},
				{"events_action", "/events?action=LOCKOUT"},
				{"events_ip", "/events?ip=198.51.0.0"},
				{"events_severity_capped", "/events?severity=critical"},
				{"dashboard_cached", "/"},
				{"dashboard_uncached", "/?fresh=1"},
			} {
				b.Run(page.name, func(b *testing.B) {
					serve(b, h, page.path) // warm the cache
					b.ReportAllocs()
					for b.Loop() {
						serve(b, h, page.path)
					}
				})
			}
		})
	}
}

func serve(b *testing.B, h http.Handler, path string) {
	r := httptest.NewRequest(http.MethodGet, "http://example.com"+path, nil)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusOK {
		b.Fatalf("GET %s: %d %s", path, w.Code, w.Body.String()[:min(w.Body.Len(), 500)])
	}
}

// benchAdmin loads a new schema and returns the admin over it, with the ID
// 90% into the blocked IPs.
func benchAdmin(b *testing.B, base string, span time.Duration) (http.Handler, string) {
	ctx := context.Background()
	dsn := benchSchema(b, base)
	st, err := bunstore.Open(ctx, dsn, bunstore.WithAutoMigrate())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = st.Close() })
	start := time.Now()
	loadBench(b, st.DB(), time.Now().Add(-span), span)
	b.Logf("loaded 1,000,000 events over %v and 100,000 blocked IPs in %v", span, time.Since(start).Round(time.Millisecond))
	eng, err := core.New(st, core.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		b.Fatal(err)
	}
	if err := eng.Start(ctx); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = eng.Close(context.Background()) })
	h, err := admin.New(eng, admin.WithAuthorizer(func(*http.Request) (string, bool) { return "bench", true }), admin.WithStore(st))
	if err != nil {
		b.Fatal(err)
	}
	var deep int64
	if err := st.DB().NewRaw("SELECT id FROM security_blocked_ip ORDER BY id OFFSET 90000 LIMIT 1").Scan(ctx, &deep); err != nil {
		b.Fatal(err)
	}
	return h, strconv.FormatInt(deep, 10)
}

// benchSchema makes a PostgreSQL schema dropped at cleanup and returns its
// DSN.
func benchSchema(b *testing.B, base string) string { return testdb.Postgres(b, base) }

// loadBench inserts a million events spread over span from first (the mix
// of bunstore's report benchmark: skewed IPs, ~60 countries, ~300 paths)
// and 100,000 blocked IPs, a third of them auto-blocked, then analyses.
func loadBench(b *testing.B, db *bun.DB, first time.Time, span time.Duration) {
	ctx := context.Background()
	events := `INSERT INTO security_security_log
		(created_at, ip_address, country_code, action, severity, path, method, user_agent, details, user_email, rule_id, count)
	SELECT to_timestamp(?0 + n * ?2::float8 / ?1),
		'198.51.' || (ip % 80) || '.' || (ip / 80),
		CASE WHEN random() < 0.05 THEN '' ELSE chr(65 + cc % 26) || chr(65 + cc / 26) END,
		a.action, 'low', '/p/' || floor(300 * random() ^ 2)::int, 'GET',
		'Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/' || (100 + n % 30) || '.0', '', '', 0, 1
	FROM (SELECT n, floor(20000 * random() ^ 3)::int AS ip, floor(60 * random() ^ 2)::int AS cc, random() AS r
		FROM generate_series(0, ?1 - 1) AS n) g
	CROSS JOIN LATERAL (SELECT CASE
		WHEN g.r < 0.40 THEN 'RATE_LIMIT' WHEN g.r < 0.65 THEN 'USER_AGENT_BLOCK' WHEN g.r < 0.85 THEN 'IP_BLOCK'
		WHEN g.r < 0.93 THEN 'COUNTRY_BLOCK' WHEN g.r < 0.97 THEN 'WOULD_BLOCK' WHEN g.r < 0.99 THEN 'LOCKOUT'
		ELSE 'SUSPICIOUS_LOGIN' END AS action) a`
	ips := `INSERT INTO security_blocked_ip (ip_address, reason, is_active, is_auto_blocked, block_count, country_code, report_only, created_at, updated_at)
	SELECT '10.' || (n / 65536) || '.' || (n / 256 % 256) || '.' || (n % 256), 'bench', true, n % 3 = 0, 0, '', false, now(), now()
	FROM generate_series(0, 99999) AS n`
	for _, q := range []struct {
		sql  string
		args []any
	}{{"SELECT setseed(0.42)", nil}, {events, []any{first.Unix(), 1_000_000, span.Seconds()}}, {ips, nil}} {
		if _, err := db.ExecContext(ctx, q.sql, q.args...); err != nil {
			b.Fatalf("load: %v: %s", err, strings.SplitN(q.sql, "\n", 2)[0])
		}
	}
	for _, t := range []string{"security_security_log", "security_blocked_ip"} {
		if _, err := db.ExecContext(ctx, "VACUUM ANALYZE "+t); err != nil {
			b.Fatal(err)
		}
	}
}
