package bunstore_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/uptrace/bun/dialect"

	"github.com/wardenkit/warden/bunstore"
	"github.com/wardenkit/warden/core"
	"github.com/wardenkit/warden/core/rule"
)

// fixedClock is a clock that says the same time until it is moved.
type fixedClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fixedClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

const pw = "hunter2-Secret"

func TestOpenUnknownScheme(t *testing.T) {
	_, err := bunstore.Open(context.Background(), "redis://warden:"+pw+"@127.0.0.1:6379/0")
	if err == nil || !strings.Contains(err.Error(), `"redis"`) || strings.Contains(err.Error(), pw) || !errors.Is(err, bunstore.ErrInvalidDSN) {
		t.Fatalf("Open(redis://…) = %v; want an ErrInvalidDSN naming the scheme and not the password", err)
	}
}

func TestOpenBadOption(t *testing.T) {
	for _, tt := range []struct {
		name string
		opt  bunstore.Option
		want string
	}{
		{"max_open_conns_zero", bunstore.WithMaxOpenConns(0), "bunstore: WithMaxOpenConns: 0 is not a positive number"},
		{"nil_clock", bunstore.WithClock(nil), "bunstore: WithClock: nil clock"},
		{"nil_option", nil, "bunstore: Open: option 0 is nil"},
	} {
		_, err := bunstore.Open(context.Background(), "sqlite::memory:", tt.opt)
		if err == nil || err.Error() != tt.want || !errors.Is(err, bunstore.ErrInvalidOption) {
			t.Errorf("%s: Open error %v; want %q wrapping ErrInvalidOption", tt.name, err, tt.want)
		}
	}
}

// A database that does not answer fails Open, promptly, and the error does
// not show the password.
func TestOpenUnreachable(t *testing.T) {
	tests := []struct{ name, dsn string }{
		{"postgres_refused", "postgres://warden:" + pw + "@127.0.0.1:1/warden?sslmode=disable"},
		{"mysql_refused", "mysql://warden:" + pw + "@127.0.0.1:1/warden"},
		{"sqlite_missing_directory", "sqlite:file:" + t.TempDir() + "/no/such/dir/warden.db"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			start := time.Now()
			s, err := bunstore.Open(ctx, tt.dsn)
			if err == nil {
				_ = s.Close()
				t.Fatal("Open succeeded")
			}
			if strings.Contains(err.Error(), pw) {
				t.Fatalf("error shows the password: %v", err)
			}
			for e := errors.Unwrap(err); e != nil; e = errors.Unwrap(e) {
				if strings.Contains(e.Error(), pw) {
					t.Fatalf("a wrapped error shows the password: %v", e)
				}
			}
			if !strings.HasPrefix(err.Error(), "bunstore: Open ") {
				t.Fatalf("error %q does not say where it comes from", err)
			}
			if d := time.Since(start); d > 15*time.Second {
				t.Fatalf("Open took %v to fail", d)
			}
		})
	}
}

// Open does not migrate unless asked; Migrate is idempotent and keeps data;
// a second Open with WithAutoMigrate on a migrated database is a no-op.
func TestMigrate(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := testCtx(t)
		dsn := b.newDSN(t)
		s := openStore(t, dsn)
		if _, err := s.Version(ctx); err == nil {
			t.Fatal("Version works before Migrate: Open migrated implicitly")
		}
		for i := range 2 {
			if err := s.Migrate(ctx); err != nil {
				t.Fatalf("Migrate #%d: %v", i+1, err)
			}
		}
		if v, err := s.Version(ctx); err != nil || v != 0 {
			t.Fatalf("Version of a new store = %d, %v; want 0", v, err)
		}
		if _, err := s.BlockedIPs().Put(ctx, rule.BlockedIP{Network: "192.0.2.1"}); err != nil {
			t.Fatal(err)
		}
		s2 := openStore(t, dsn, bunstore.WithAutoMigrate())
		if err := s2.Migrate(ctx); err != nil {
			t.Fatalf("Migrate on a migrated database: %v", err)
		}
		if l, err := s2.BlockedIPs().List(ctx, core.Query{}); err != nil || len(l) != 1 {
			t.Fatalf("after migrating again: %d rows, %v; want the 1 row kept", len(l), err)
		}
		files, _ := filepath.Glob("2026*_*.go") // one migration per file
		var n int
		if err := s2.DB().NewRaw("SELECT COUNT(*) FROM security_migrations").Scan(ctx, &n); err != nil || n != len(files) || n < 5 {
			t.Fatalf("security_migrations has %d rows (%v), want one per migration file (%d)", n, err, len(files))
		}
	})
}

// Several processes may start at once, each migrating.
func TestMigrateConcurrent(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		dsn := b.newDSN(t)
		var wg sync.WaitGroup
		errs := make([]error, 3)
		for i := range errs {
			wg.Go(func() {
				s, err := bunstore.Open(testCtx(t), dsn, bunstore.WithAutoMigrate())
				if err == nil {
					err = s.Close()
				}
				errs[i] = err
			})
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatal(err)
		}
	})
}

func TestColumnLimits(t *testing.T) {
	// Valid values are never cut: every column is at least as long as the
	// longest value core accepts or Event.Clean lets through.
	atLeast := map[string]map[string]int{
		"security_blocked_ip":         {"ip_address": 43, "reason": rule.MaxReasonLen},
		"security_whitelisted_ip":     {"ip_address": 43, "description": rule.MaxDescriptionLen, "created_by": rule.MaxCreatedByLen},
		"security_blocked_country":    {"name": rule.MaxNameLen, "reason": rule.MaxReasonLen},
		"security_allowed_country":    {"name": rule.MaxNameLen},
		"security_blocked_user_agent": {"pattern": rule.MaxPatternLen, "description": rule.MaxDescriptionLen},
		"security_whitelisted_user":   {"user_id": rule.MaxUserIDLen, "reason": rule.MaxReasonLen, "created_by": rule.MaxCreatedByLen},
		"security_blocked_email":      {"email": rule.MaxEmailLen, "reason": rule.MaxReasonLen},
		"security_blocked_domain":     {"domain": rule.MaxDomainLen, "reason": rule.MaxReasonLen},
		"security_rate_limit_rule":    {"name": rule.MaxNameLen, "path_pattern": rule.MaxPathLen, "rate": 64, "key_by": 100},
		"security_settings":           {"notification_email": rule.MaxEmailLen},
		"security_lockout": {"username": core.MaxUsernameLen, "ip_address": core.MaxLockoutIPLen, "scope": 7,
			"released_by": rule.MaxCreatedByLen},
		"security_login_history": {"user_id": rule.MaxUserIDLen, "ip_address": core.MaxLoginIPLen, "country_code": 2,
			"user_agent": core.MaxLoginUserAgentLen, "device_type": core.MaxLoginDeviceLen, "browser": core.MaxLoginBrowserLen,
			"os": core.MaxLoginOSLen, "suspicious_reason": core.MaxLoginReasonsLen, "session_key": core.MaxSessionKeyLen},
		"security_security_log": {"ip_address": 45, "country_code": 2, "action": 30, "severity": 10,
			"path": core.MaxEventPathLen, "method": core.MaxEventMethodLen, "user_agent": core.MaxEventUserAgentLen,
			"details": core.MaxEventDetailsLen, "user_email": rule.MaxEmailLen},
	}
	for table, cols := range atLeast {
		for col, n := range cols {
			if got := bunstore.ColumnLimits[table][col]; got < n {
				t.Errorf("%s.%s is %d characters, shorter than %d", table, col, got, n)
			}
		}
	}
	// The limits the store cuts to are the lengths of the columns.
	eachBackend(t, func(t *testing.T, b backend) {
		s := newStore(t, b)
		got := varcharColumns(t, s)
		for table, cols := range bunstore.ColumnLimits {
			for col, n := range cols {
				if got[table][col] != n {
					t.Errorf("%s.%s: store cuts to %d, column holds %d", table, col, n, got[table][col])
				}
			}
		}
		for table, cols := range got {
			for col, n := range cols {
				if _, ok := bunstore.ColumnLimits[table][col]; !ok && strings.HasPrefix(table, "security_") &&
					!strings.HasPrefix(table, "security_migration") {
					t.Errorf("%s.%s VARCHAR(%d) has no entry in columnLimits", table, col, n)
				}
			}
		}
	})
}

// varcharColumns reads the length of every VARCHAR column from the database.
func varcharColumns(t *testing.T, s *bunstore.Store) map[string]map[string]int {
	t.Helper()
	ctx := testCtx(t)
	out := map[string]map[string]int{}
	add := func(table, col string, n int) {
		if out[table] == nil {
			out[table] = map[string]int{}
		}
		out[table][col] = n
	}
	var rows []struct {
		Table  string `bun:"t"`
		Column string `bun:"c"`
		Len    int    `bun:"n"`
	}
	switch s.DB().Dialect().Name() {
	case dialect.SQLite:
		var tables []string
		if err := s.DB().NewRaw("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'security_%'").Scan(ctx, &tables); err != nil {
			t.Fatal(err)
		}
		for _, tbl := range tables {
			var cols []struct {
				Name string `bun:"name"`
				Type string `bun:"type"`
			}
			if err := s.DB().NewRaw("SELECT name, type FROM pragma_table_info(?)", tbl).Scan(ctx, &cols); err != nil {
				t.Fatal(err)
			}
			for _, c := range cols {
				var n int
				if _, err := fmt.Sscanf(strings.ToUpper(c.Type), "VARCHAR(%d)", &n); err == nil {
					add(tbl, c.Name, n)
				}
			}
		}
		return out
	case dialect.PG:
		if err := s.DB().NewRaw(`SELECT table_name AS t, column_name AS c, character_maximum_length AS n
			FROM information_schema.columns WHERE table_schema = current_schema() AND data_type = 'character varying'`).
			Scan(ctx, &rows); err != nil {
			t.Fatal(err)
		}
	case dialect.MySQL:
		if err := s.DB().NewRaw(`SELECT table_name AS t, column_name AS c, character_maximum_length AS n
			FROM information_schema.columns WHERE table_schema = DATABASE() AND data_type = 'varchar'`).
			Scan(ctx, &rows); err != nil {
			t.Fatal(err)
		}
	}
	for _, r := range rows {
		add(r.Table, r.Column, r.Len)
	}
	return out
}

// Over-long event text is cut on a rune boundary, never refused.
func TestLongValuesCut(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := testCtx(t)
		s := newStore(t, b)
		ev := core.Event{
			Action:    core.ActionIPBlock,
			IP:        "2001:db8:1234:5678:9abc:def0:1234:5678%" + strings.Repeat("e", 40),
			Path:      "/" + strings.Repeat("é", 600),
			UserAgent: strings.Repeat("𝄞", 1200), // 4 bytes each
			Details:   strings.Repeat("日本", 1100),
			UserEmail: strings.Repeat("ü", 300) + "@example.com",
			Method:    "PROPFINDXYZ",
		}
		if err := s.AppendEvents(ctx, []core.Event{ev}); err != nil {
			t.Fatalf("AppendEvents of long values: %v", err)
		}
		got := onlyEvent(t, s)
		for _, f := range []struct {
			name string
			v    string
			max  int
		}{
			{"ip", got.IP, 45}, {"path", got.Path, core.MaxEventPathLen},
			{"user_agent", got.UserAgent, core.MaxEventUserAgentLen}, {"details", got.Details, core.MaxEventDetailsLen},
			{"user_email", got.UserEmail, rule.MaxEmailLen}, {"method", got.Method, core.MaxEventMethodLen},
		} {
			if !utf8.ValidString(f.v) || utf8.RuneCountInString(f.v) != f.max {
				t.Errorf("%s: %d runes (valid UTF-8: %v), want %d", f.name, utf8.RuneCountInString(f.v), utf8.ValidString(f.v), f.max)
			}
		}
		if got.Path != "/"+strings.Repeat("é", core.MaxEventPathLen-1) || got.UserAgent != strings.Repeat("𝄞", core.MaxEventUserAgentLen) {
			t.Errorf("text not cut on a rune boundary: path %q…", got.Path[:10])
		}
	})
}

// A batch holding NUL bytes, invalid UTF-8 and over-long fields is stored,
// cleaned, with every row.
func TestAppendEventsCleans(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := testCtx(t)
		clk := &fixedClock{t: time.Date(2030, 3, 4, 5, 6, 7, 890123456, time.UTC)}
		s := newStore(t, b, bunstore.WithClock(clk))
		batch := []core.Event{
			{Action: core.ActionUserAgentBlock, IP: "192.0.2.1", Path: "/a\x00b", UserAgent: "bot\x00\x00/1", Details: "x"},
			{Action: core.ActionIPBlock, IP: "192.0.2.2", Path: "/\xff\xfe", UserAgent: "\xc3\x28ua", UserEmail: "a\x00@b.example"},
			{Action: core.ActionRateLimit, IP: "192.0.2.3", Path: strings.Repeat("/x", 400), Method: "GET\x00", Count: 7},
			// Quotes, backslashes, braces, commas and NULL-like text survive
			// every quoting (PostgreSQL array literals included).
			{Action: core.ActionWouldBlock, IP: "2001:db8::1", Path: `/q?a='1'&b="2"`, UserAgent: `Mo\zilla {x, "y"} \"z\"`,
				Details: "NULL", UserEmail: "", Method: "", RuleID: 42},
		}
		if err := s.AppendEvents(ctx, batch); err != nil {
			t.Fatalf("AppendEvents of a dirty batch: %v", err)
		}
		got, err := s.Events(ctx, core.EventQuery{})
		if err != nil || len(got) != 4 {
			t.Fatalf("Events = %d rows, %v; want 4", len(got), err)
		}
		// Newest (highest ID) first: the batch in reverse.
		want := []core.Event{
			{Action: core.ActionWouldBlock, Severity: core.SeverityLow, IP: "2001:db8::1", Path: `/q?a='1'&b="2"`,
				UserAgent: `Mo\zilla {x, "y"} \"z\"`, Details: "NULL", RuleID: 42, Count: 1},
			{Action: core.ActionRateLimit, Severity: core.SeverityLow, IP: "192.0.2.3", Path: strings.Repeat("/x", 250), Method: "GET", Count: 7},
			{Action: core.ActionIPBlock, Severity: core.SeverityHigh, IP: "192.0.2.2", Path: "/\uFFFD\uFFFD", UserAgent: "\uFFFD(ua", UserEmail: "a@b.example", Count: 1},
			{Action: core.ActionUserAgentBlock, Severity: core.SeverityLow, IP: "192.0.2.1", Path: "/ab", UserAgent: "bot/1", Details: "x", Count: 1},
		}
		for i := range want {
			want[i].ID = got[i].ID
			want[i].CreatedAt = clk.Now().Truncate(time.Microsecond)
			if got[i] != want[i] {
				t.Errorf("event %d:\n got %+v\nwant %+v", i, got[i], want[i])
			}
		}
	})
}

func onlyEvent(t *testing.T, s *bunstore.Store) core.Event {
	t.Helper()
	got, err := s.Events(testCtx(t), core.EventQuery{})
	if err != nil || len(got) != 1 {
		t.Fatalf("Events = %d rows, %v; want 1", len(got), err)
	}
	return got[0]
}

// Times are stored as UTC and come back as UTC, whatever zone they were
// given in.
func TestTimesUTC(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := testCtx(t)
		east := time.FixedZone("UTC+5", 5*3600)
		west := time.FixedZone("UTC-7", -7*3600)
		clk := &fixedClock{t: time.Date(2030, 1, 2, 3, 4, 5, 6000, west)}
		s := newStore(t, b, bunstore.WithClock(clk))
		exp := time.Date(2031, 6, 1, 10, 0, 0, 123456000, east)

		ip, err := s.BlockedIPs().Put(ctx, rule.BlockedIP{Network: "192.0.2.1", ExpiresAt: exp})
		if err != nil {
			t.Fatal(err)
		}
		u, err := s.WhitelistedUsers().Put(ctx, rule.WhitelistedUser{UserID: "7", ExpiresAt: exp})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.SetLastSyncAt(ctx, exp); err != nil {
			t.Fatal(err)
		}
		st, err := s.Settings(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.AppendEvents(ctx, []core.Event{{Action: core.ActionIPBlock, IP: "192.0.2.1", CreatedAt: exp}}); err != nil {
			t.Fatal(err)
		}
		gip, _ := s.BlockedIPs().Get(ctx, "192.0.2.1")
		gst, _ := s.Settings(ctx)
		ev := onlyEvent(t, s)
		for _, c := range []struct {
			name      string
			got, want time.Time
		}{
			{"put blocked ip expires_at", ip.ExpiresAt, exp}, {"put blocked ip created_at", ip.CreatedAt, clk.Now()},
			{"put blocked ip updated_at", ip.UpdatedAt, clk.Now()}, {"get blocked ip expires_at", gip.ExpiresAt, exp},
			{"get blocked ip created_at", gip.CreatedAt, clk.Now()}, {"whitelisted user expires_at", u.ExpiresAt, exp},
			{"settings last_sync_at", st.LastSyncAt, exp}, {"settings updated_at", gst.UpdatedAt, clk.Now()},
			{"get settings last_sync_at", gst.LastSyncAt, exp}, {"event created_at", ev.CreatedAt, exp},
		} {
			if !c.got.Equal(c.want) || c.got.Location() != time.UTC {
				t.Errorf("%s = %v, want %v in UTC", c.name, c.got, c.want.UTC())
			}
		}
		// The database holds the UTC wall clock.
		var q string
		switch s.DB().Dialect().Name() {
		case dialect.SQLite:
			q = "SELECT substr(CAST(expires_at AS TEXT), 1, 19) FROM security_blocked_ip"
		case dialect.PG:
			q = "SELECT to_char(expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') FROM security_blocked_ip"
		case dialect.MySQL:
			q = "SELECT DATE_FORMAT(expires_at, '%Y-%m-%d %H:%i:%s') FROM security_blocked_ip"
		}
		var wall string
		if err := s.DB().NewRaw(q).Scan(ctx, &wall); err != nil || wall != "2031-06-01 05:00:00" {
			t.Errorf("stored expires_at = %q (%v), want the UTC wall clock 2031-06-01 05:00:00", wall, err)
		}
	})
}

// Every field of core.Settings is stored: each one changed on its own
// survives a round trip.
func TestSettingsEveryField(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := testCtx(t)
		s := newStore(t, b)
		strs := map[string]string{"AutoBlockWeights": "LOCKOUT=3", "NotificationEmail": "ops@example.com", "OversizeUserAgent": core.OversizeAllow, "InternalCountry": "DE"}
		typ := reflect.TypeFor[core.Settings]()
		for i := range typ.NumField() {
			f := typ.Field(i)
			if f.Name == "UpdatedAt" {
				continue
			}
			want := core.DefaultSettings()
			v := reflect.ValueOf(&want).Elem().Field(i)
			switch f.Type.Kind() {
			case reflect.Bool:
				v.SetBool(!v.Bool())
				want.LockoutCooloffMinutes = 30 // AttemptExpiry needs a cool-off
			case reflect.Int:
				v.SetInt(2)
				want.AutoBlockIPDurationHours = min(want.AutoBlockIPDurationHours, want.AutoBlockMaxDurationHours)
			case reflect.String:
				s, ok := strs[f.Name]
				if !ok {
					t.Fatalf("no test value for the string field %s", f.Name)
				}
				v.SetString(s)
			default:
				if f.Type != reflect.TypeFor[time.Time]() {
					t.Fatalf("no test value for the field %s of type %s", f.Name, f.Type)
				}
				v.Set(reflect.ValueOf(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)))
			}
			cur, err := s.Settings(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if f.Name == "LastSyncAt" { // written on its own
				err = s.SetLastSyncAt(ctx, want.LastSyncAt)
				cur.LastSyncAt = want.LastSyncAt
				want = cur
			} else {
				want.UpdatedAt, want.LastSyncAt = cur.UpdatedAt, cur.LastSyncAt
				_, err = s.PutSettings(ctx, want)
			}
			if err != nil {
				t.Fatalf("%s: %v", f.Name, err)
			}
			got, err := s.Settings(ctx)
			if err != nil {
				t.Fatal(err)
			}
			got.UpdatedAt, want.UpdatedAt = time.Time{}, time.Time{}
			if got != want {
				t.Errorf("%s not stored:\n got %+v\nwant %+v", f.Name, got, want)
			}
		}
	})
}

func TestEventsPaging(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := testCtx(t)
		s := newStore(t, b)
		base := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
		var evs []core.Event
		for i := range 250 {
			evs = append(evs, core.Event{Action: core.ActionIPBlock, IP: "192.0.2.1", CreatedAt: base.Add(time.Duration(i) * time.Second)})
		}
		if err := s.AppendEvents(ctx, evs); err != nil {
			t.Fatal(err)
		}
		first, err := s.Events(ctx, core.EventQuery{})
		if err != nil || len(first) != 100 {
			t.Fatalf("default limit: %d rows, %v; want 100", len(first), err)
		}
		seen, before := 0, int64(0)
		last := int64(1 << 62)
		for {
			page, err := s.Events(ctx, core.EventQuery{BeforeID: before, Limit: 64})
			if err != nil {
				t.Fatal(err)
			}
			if len(page) == 0 {
				break
			}
			for _, e := range page {
				if e.ID >= last {
					t.Fatalf("IDs not descending: %d after %d", e.ID, last)
				}
				last = e.ID
			}
			seen += len(page)
			before = page[len(page)-1].ID
		}
		if seen != 250 {
			t.Fatalf("paging saw %d events, want 250", seen)
		}
	})
}

func TestDeleteEventsBeforeAll(t *testing.T) {
	defer bunstore.SetPurgeChunk(7)()
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := testCtx(t)
		s := newStore(t, b)
		base := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
		var evs []core.Event
		for i := range 30 {
			evs = append(evs, core.Event{Action: core.ActionIPBlock, IP: "192.0.2.1", CreatedAt: base.Add(time.Duration(i) * time.Minute)})
		}
		if err := s.AppendEvents(ctx, evs); err != nil {
			t.Fatal(err)
		}
		n, err := s.DeleteEventsBefore(ctx, base.Add(25*time.Minute), 0)
		if err != nil || n != 25 {
			t.Fatalf("DeleteEventsBefore(all) = %d, %v; want 25 in chunks of 7", n, err)
		}
		left, _ := s.Events(ctx, core.EventQuery{})
		if len(left) != 5 || !left[len(left)-1].CreatedAt.Equal(base.Add(25*time.Minute)) {
			t.Fatalf("left %d events, oldest %v", len(left), left[len(left)-1].CreatedAt)
		}
	})
}

func TestBadQueries(t *testing.T) {
	ctx := testCtx(t)
	s := newStore(t, backend{name: "sqlite", newDSN: sqliteDSN})
	if _, err := s.CountEvents(ctx, core.CountQuery{GroupBy: "user_agent"}); !errors.Is(err, core.ErrInvalid) {
		t.Errorf("CountEvents by user_agent: %v, want ErrInvalid", err)
	}
	if err := s.AddHits(ctx, "bogus", map[int64]int64{1: 1}); !errors.Is(err, core.ErrInvalid) {
		t.Errorf("AddHits of an unknown kind: %v, want ErrInvalid", err)
	}
	if err := s.AppendEvents(ctx, []core.Event{{Action: core.ActionIPBlock, IP: "192.0.2.1"}}); err != nil {
		t.Fatal(err)
	}
	if got, err := s.CountEvents(ctx, core.CountQuery{GroupBy: core.GroupByIP, Actions: []core.Action{}}); err != nil || len(got) != 0 {
		t.Errorf("CountEvents with an empty action list = %v, %v; want nothing", got, err)
	}
	if _, err := s.RateLimitRules().Get(ctx, "no-space"); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("Get of a malformed rate-limit key: %v, want ErrNotFound", err)
	}
	// Hit counts do not change the version.
	ua, err := s.BlockedUserAgents().Put(ctx, rule.BlockedUserAgent{Pattern: "x"})
	if err != nil {
		t.Fatal(err)
	}
	v0, _ := s.Version(ctx)
	if err := s.AddHits(ctx, core.HitUserAgent, map[int64]int64{ua.ID: 3}); err != nil {
		t.Fatal(err)
	}
	if v1, _ := s.Version(ctx); v1 != v0 {
		t.Errorf("AddHits bumped the version %d -> %d", v0, v1)
	}
}

// Many goroutines and a second store on the same SQLite file (as a second
// process would) write at once: none sees "database is locked".
func TestSQLiteConcurrentWriters(t *testing.T) {
	ctx := testCtx(t)
	dsn := sqliteDSN(t)
	a := openStore(t, dsn, bunstore.WithAutoMigrate())
	b := openStore(t, dsn)
	const workers, rounds = 8, 25
	var wg sync.WaitGroup
	errs := make(chan error, workers*rounds*4)
	for w := range workers {
		s := a
		if w%2 == 1 {
			s = b
		}
		wg.Go(func() {
			for i := range rounds {
				ip, err := s.BlockedIPs().Put(ctx, rule.BlockedIP{Network: fmt.Sprintf("10.%d.%d.1", w, i)})
				errs <- err
				errs <- s.AppendEvents(ctx, []core.Event{{Action: core.ActionIPBlock, IP: ip.Network}, {Action: core.ActionWouldBlock, IP: ip.Network}})
				errs <- s.AddHits(ctx, core.HitBlockedIP, map[int64]int64{ip.ID: 1})
				_, err = s.Events(ctx, core.EventQuery{Limit: 10})
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	l, err := a.BlockedIPs().List(ctx, core.Query{})
	if err != nil || len(l) != workers*rounds {
		t.Fatalf("%d rows (%v), want %d", len(l), err, workers*rounds)
	}
	if v, _ := b.Version(ctx); v != workers*rounds {
		t.Fatalf("version %d, want %d", v, workers*rounds)
	}
}

// A store on an in-memory SQLite database works, through its one
// connection.
func TestSQLiteMemory(t *testing.T) {
	ctx := testCtx(t)
	s := openStore(t, "sqlite:file::memory:?cache=shared", bunstore.WithAutoMigrate())
	var wg sync.WaitGroup
	for i := range 10 {
		wg.Go(func() {
			if _, err := s.BlockedIPs().Put(ctx, rule.BlockedIP{Network: fmt.Sprintf("192.0.2.%d", i)}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if l, err := s.BlockedIPs().List(ctx, core.Query{ActiveOnly: true}); err != nil || len(l) != 10 {
		t.Fatalf("List = %d, %v", len(l), err)
	}
}
