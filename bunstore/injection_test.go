package bunstore_test

import (
	"context"
	"errors"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wardenkit/warden/bunstore"
	"github.com/wardenkit/warden/core"
	"github.com/wardenkit/warden/core/rule"
)

// bun writes values into the SQL text, so the text is only as safe as the
// connection reading it. These payloads break out of a string literal on a
// MySQL connection whose client charset is GBK (0xAD of "中" and the
// backslash bun adds form one GBK character, leaving the quote bare) and on a
// PostgreSQL connection with standard_conforming_strings=off (where \' is an
// escaped quote).
var injectionPayloads = []struct{ name, text string }{
	{"gbk_exfiltrate_user_version", `中\', (SELECT CONCAT(USER(),0x20,VERSION())), 0x61, 0, 1) -- x`},
	{"gbk_sleep", `中\', SLEEP(2), 0x61, 0, 1) -- x`},
	{"backslash_quote_or", `a\' OR 1=1 --`},
	{"double_backslash_quote_or", `a\\' OR 1=1 --`},
	{"backslash_quote_drop_table", `\'); DROP TABLE security_blocked_ip; --`},
	{"double_backslash_quote_drop_table", `\\'); DROP TABLE security_blocked_ip; --`},
	{"array_literal_breakout", `"}'::varchar[], '{x"} \" \\" '' \'`},
}

// attackConfig is a configuration an operator might be talked into (or
// inherit from a server) that makes bun's quoting unsafe.
type attackConfig struct {
	name string
	// dsn returns the DSN of a new database with the configuration.
	dsn func(t *testing.T) string
	// refused is what Open's error must name ("charset=gbk"); "" when the
	// store must instead override the setting and store every payload
	// verbatim.
	refused string
}

func withParam(t *testing.T, dsn, name, value string) string {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set(name, value)
	u.RawQuery = q.Encode()
	return u.String()
}

func attackConfigs() map[string][]attackConfig {
	out := map[string][]attackConfig{}
	if base := os.Getenv(envMySQL); base != "" {
		db := func(t *testing.T) string { return mysqlDSN(t, base) }
		out["mysql"] = []attackConfig{
			{"dsn_charset_gbk", func(t *testing.T) string { return withParam(t, db(t), "charset", "gbk") }, "charset=gbk"},
			{"dsn_charset_list_gbk", func(t *testing.T) string { return withParam(t, db(t), "charset", "gbk,utf8mb4") }, "charset=gbk,utf8mb4"},
			{"dsn_collation_gbk", func(t *testing.T) string { return withParam(t, db(t), "collation", "gbk_chinese_ci") }, "collation=gbk_chinese_ci"},
			{"dsn_character_set_client_gbk", func(t *testing.T) string { return withParam(t, db(t), "character_set_client", "gbk") },
				"character_set_client=gbk"},
			{"dsn_character_set_client_in_another_value", func(t *testing.T) string {
				return withParam(t, db(t), "autocommit", "1,character_set_client=gbk")
			}, "autocommit=1,character_set_client=gbk"},
			{"dsn_sql_mode_no_backslash_escapes", func(t *testing.T) string {
				return withParam(t, db(t), "sql_mode", "'NO_BACKSLASH_ESCAPES'")
			}, "NO_BACKSLASH_ESCAPES"},
		}
	}
	if base := os.Getenv(envPostgres); base != "" {
		schema := func(t *testing.T) string { return postgresDSN(t, base) }
		out["postgres"] = []attackConfig{
			{"dsn_standard_conforming_strings_off", func(t *testing.T) string {
				return withParam(t, schema(t), "standard_conforming_strings", "off")
			}, "standard_conforming_strings=off"},
			{"dsn_options_standard_conforming_strings_off", func(t *testing.T) string {
				return withParam(t, schema(t), "options", "-c standard_conforming_strings=off")
			}, "options=-c standard_conforming_strings=off"},
			{"dsn_client_encoding_gbk", func(t *testing.T) string { return withParam(t, schema(t), "client_encoding", "GBK") },
				"client_encoding=GBK"},
			// The server's default for the database is off: overridden per
			// connection.
			{"alter_database_standard_conforming_strings_off", func(t *testing.T) string {
				return postgresScratchDB(t, base, "ALTER DATABASE %s SET standard_conforming_strings = off")
			}, ""},
			{"alter_role_in_database_standard_conforming_strings_off", func(t *testing.T) string {
				return postgresScratchDB(t, base, "ALTER ROLE CURRENT_USER IN DATABASE %s SET standard_conforming_strings = off")
			}, ""},
		}
	}
	return out
}

// postgresScratchDB creates a database of its own, applies stmts to it (each
// with %s for its name) and drops it when the test ends.
func postgresScratchDB(t *testing.T, base string, stmts ...string) string {
	t.Helper()
	a := admin(t, envPostgres, base)
	name := randomName()
	if _, err := a.DB().ExecContext(testCtx(t), "CREATE DATABASE "+name); err != nil {
		_ = a.Close()
		t.Fatalf("create database: %v", err)
	}
	t.Cleanup(func() {
		defer a.Close()
		if _, err := a.DB().ExecContext(context.Background(), "DROP DATABASE "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
	})
	for _, s := range stmts {
		if _, err := a.DB().ExecContext(testCtx(t), strings.ReplaceAll(s, "%s", name)); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}

// Under a configuration that makes bun's quoting unsafe, Open refuses the
// DSN with an error naming the parameter and its value, or overrides the
// setting on every connection; either way no payload leaves its string.
func TestInjectionByConfiguration(t *testing.T) {
	for backend, configs := range attackConfigs() {
		for _, ac := range configs {
			t.Run(backend+"/"+ac.name, func(t *testing.T) {
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				s, err := bunstore.Open(ctx, ac.dsn(t), bunstore.WithAutoMigrate(), bunstore.WithMaxOpenConns(4))
				if err != nil {
					if ac.refused == "" {
						t.Fatalf("Open: %v; want the setting overridden on every connection", err)
					}
					if !errors.Is(err, bunstore.ErrInvalidDSN) || !strings.Contains(err.Error(), ac.refused) {
						t.Fatalf("Open error %q; want an ErrInvalidDSN naming %q", err, ac.refused)
					}
					return
				}
				defer s.Close()
				if ac.refused != "" {
					t.Errorf("Open accepted a DSN with %s", ac.refused)
				}
				checkPayloadsVerbatim(t, s)
			})
		}
	}
}

// On every backend's normal configuration the payloads are plain text too.
func TestInjectionPayloadsVerbatim(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		checkPayloadsVerbatim(t, newStore(t, b, bunstore.WithMaxOpenConns(4)))
	})
}

// checkPayloadsVerbatim stores every payload as an event's User-Agent, path
// and details, as a blocked IP's reason and as a user-agent pattern and
// description, and reads each back byte for byte with no other column
// changed. A payload that runs SQL (SLEEP) would exceed the deadline.
func checkPayloadsVerbatim(t *testing.T, s *bunstore.Store) {
	t.Helper()
	at := time.Date(2031, 1, 2, 3, 4, 5, 0, time.UTC)
	for i, p := range injectionPayloads {
		ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
		start := time.Now()
		ev := core.Event{CreatedAt: at, Action: core.ActionUserAgentBlock, IP: "192.0.2.7", CountryCode: "FR", Path: "/p",
			Method: "GET", UserAgent: p.text, Details: "d", UserEmail: "u@example.com", RuleID: 7, Count: 3}
		err := s.AppendEvents(ctx, []core.Event{ev, {CreatedAt: at, Action: core.ActionIPBlock, IP: "192.0.2.8", Path: p.text, Details: p.text}})
		cancel()
		if err != nil {
			t.Errorf("%s: AppendEvents: %v (after %v)", p.name, err, time.Since(start).Round(time.Millisecond))
			continue
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("%s: AppendEvents took %v: the payload ran SQL", p.name, d)
		}
		got, err := s.Events(testCtx(t), core.EventQuery{Limit: 2})
		if err != nil || len(got) != 2 {
			t.Errorf("%s: Events = %+v, %v; want the 2 events appended", p.name, got, err)
			continue
		}
		want := []core.Event{
			{CreatedAt: at, Action: core.ActionIPBlock, Severity: core.DefaultSeverity(core.ActionIPBlock), IP: "192.0.2.8",
				Path: p.text, Details: p.text, Count: 1},
			ev,
		}
		want[1].Severity = core.DefaultSeverity(ev.Action)
		for j := range want {
			want[j].ID = got[j].ID
			if got[j] != want[j] {
				t.Errorf("%s: event %d\n got %+v\nwant %+v", p.name, j, got[j], want[j])
			}
		}

		ip := rule.BlockedIP{Network: "198.51.100." + strconv.Itoa(i+1), Reason: p.text}
		putGet(t, p.name, s.BlockedIPs(), ip, func(g rule.BlockedIP) bool { return g.Reason == p.text && g.Network == ip.Network })
		ua := rule.BlockedUserAgent{Pattern: p.text, Category: "attack", Description: p.text}
		putGet(t, p.name, s.BlockedUserAgents(), ua, func(g rule.BlockedUserAgent) bool {
			return g.Pattern == p.text && g.Description == p.text && g.Category == "attack" && g.Match == rule.UAContains
		})
	}
	// Nothing was dropped and no row was written twice.
	if l, err := s.BlockedIPs().List(testCtx(t), core.Query{}); err != nil || len(l) != len(injectionPayloads) {
		t.Errorf("blocked IPs: %d rows, %v; want %d", len(l), err, len(injectionPayloads))
	}
	if l, err := s.BlockedUserAgents().List(testCtx(t), core.Query{}); err != nil || len(l) != len(injectionPayloads) {
		t.Errorf("blocked user agents: %d rows, %v; want %d", len(l), err, len(injectionPayloads))
	}
}

func putGet[T rule.Rule](t *testing.T, name string, tbl core.Table[T], v T, ok func(T) bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	put, err := tbl.Put(ctx, v)
	if err != nil {
		t.Errorf("%s: Put %T: %v", name, v, err)
		return
	}
	g, err := tbl.Get(ctx, put.Key())
	if err != nil {
		t.Errorf("%s: Get %T %q: %v", name, v, put.Key(), err)
		return
	}
	if !ok(g) {
		t.Errorf("%s: %T stored as %+v", name, v, g)
	}
}
