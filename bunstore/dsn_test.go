package bunstore

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/uptrace/bun/dialect"
)

const secret = "s3cr3t-Pa55"

func TestParseDSN(t *testing.T) {
	tests := []struct {
		name    string
		dsn     string
		dialect dialect.Name
		memory  bool
		driver  string // the driver DSN (writer); "" = not checked. loc=UTC is the MySQL driver default, so FormatDSN leaves it out
	}{
		{"sqlite_file_uri", "sqlite:file:warden.db", dialect.SQLite, false,
			"file:warden.db?_pragma=busy_timeout%2810000%29&_pragma=foreign_keys%281%29&_pragma=journal_mode%28WAL%29&_pragma=synchronous%28NORMAL%29&_pragma=cache_size%28-32768%29&_txlock=immediate"},
		{"sqlite_plain_path", "sqlite:/var/lib/warden/warden.db", dialect.SQLite, false, ""},
		{"sqlite_triple_slash", "sqlite:///var/lib/warden.db", dialect.SQLite, false, ""},
		{"sqlite_memory_shared", "sqlite:file::memory:?cache=shared", dialect.SQLite, true,
			"file::memory:?_pragma=busy_timeout%2810000%29&_pragma=foreign_keys%281%29&_txlock=immediate&cache=shared"},
		{"sqlite_memory", "sqlite::memory:", dialect.SQLite, true, ""},
		{"sqlite_user_pragma_kept", "sqlite:file:x.db?_pragma=busy_timeout(50)&_txlock=deferred", dialect.SQLite, false,
			"file:x.db?_pragma=busy_timeout%2850%29&_pragma=foreign_keys%281%29&_pragma=journal_mode%28WAL%29&_pragma=synchronous%28NORMAL%29&_pragma=cache_size%28-32768%29&_txlock=deferred"},
		{"postgres", "postgres://warden:" + secret + "@db.internal:5432/warden?sslmode=disable", dialect.PG, false, ""},
		{"postgresql", "postgresql://warden@db.internal/warden?sslmode=disable&search_path=sec", dialect.PG, false, ""},
		{"mysql", "mysql://warden:" + secret + "@db.internal:3307/warden", dialect.MySQL, false,
			"warden:" + secret + "@tcp(db.internal:3307)/warden?charset=utf8mb4&collation=utf8mb4_general_ci&parseTime=true&timeout=10s&time_zone=%27%2B00%3A00%27"},
		{"mysql_default_port", "mysql://root@127.0.0.1/test", dialect.MySQL, false,
			"root@tcp(127.0.0.1:3306)/test?charset=utf8mb4&collation=utf8mb4_general_ci&parseTime=true&timeout=10s&time_zone=%27%2B00%3A00%27"},
		{"mysql_escaped_password", "mysql://u:p%40ss%2Fw%3Ard@h:3306/db", dialect.MySQL, false,
			"u:p@ss/w:rd@tcp(h:3306)/db?charset=utf8mb4&collation=utf8mb4_general_ci&parseTime=true&timeout=10s&time_zone=%27%2B00%3A00%27"},
		{"mysql_params_kept_time_forced", "mysql://u@h/db?parseTime=false&loc=Local&tls=skip-verify&timeout=3s", dialect.MySQL, false,
			"u@tcp(h:3306)/db?charset=utf8mb4&collation=utf8mb4_general_ci&parseTime=true&timeout=3s&tls=skip-verify&time_zone=%27%2B00%3A00%27"},
		{"mysql_socket", "mysql://u@localhost/db?socket=/run/mysqld/mysqld.sock", dialect.MySQL, false,
			"u@unix(/run/mysqld/mysqld.sock)/db?charset=utf8mb4&collation=utf8mb4_general_ci&parseTime=true&timeout=10s&time_zone=%27%2B00%3A00%27"},
		{"mariadb_alias", "mariadb://u@h/db", dialect.MySQL, false, ""},
		{"mysql_utf8mb4_kept", "mysql://u@h/db?charset=utf8mb4&collation=utf8mb4_unicode_ci&character_set_results='utf8mb4'", dialect.MySQL, false,
			"u@tcp(h:3306)/db?charset=utf8mb4&collation=utf8mb4_unicode_ci&parseTime=true&timeout=10s&character_set_results=%27utf8mb4%27&time_zone=%27%2B00%3A00%27"},
		{"postgres_standard_conforming_strings_on", "postgres://u@h/db?standard_conforming_strings=on&client_encoding=utf-8", dialect.PG, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := parseDSN(tt.dsn)
			if err != nil {
				t.Fatalf("parseDSN(%q): %v", tt.dsn, err)
			}
			if d.dialect != tt.dialect || d.sqliteMemory != tt.memory {
				t.Fatalf("dialect %v memory %v, want %v %v", d.dialect, d.sqliteMemory, tt.dialect, tt.memory)
			}
			if tt.driver != "" {
				if got := d.driverDSN(true); got != tt.driver {
					t.Fatalf("driver DSN\n got %s\nwant %s", got, tt.driver)
				}
			}
			if r := Redacted(tt.dsn); strings.Contains(r, secret) {
				t.Fatalf("Redacted(%q) = %q keeps the password", tt.dsn, r)
			}
		})
	}
}

func TestParseDSNPostgresConfig(t *testing.T) {
	d, err := parseDSN("postgres://warden:" + secret + "@db.internal:6543/wdb?sslmode=disable&search_path=sec")
	if err != nil {
		t.Fatal(err)
	}
	c := d.pg
	if c.RuntimeParams["standard_conforming_strings"] != "on" || c.RuntimeParams["client_encoding"] != "UTF8" {
		t.Fatalf("runtime params %v; want standard_conforming_strings=on and client_encoding=UTF8 forced", c.RuntimeParams)
	}
	if c.Host != "db.internal" || c.Port != 6543 || c.Database != "wdb" || c.User != "warden" || c.Password != secret ||
		c.RuntimeParams["search_path"] != "sec" || c.ConnectTimeout != defaultConnectTimeout {
		t.Fatalf("config = host %s port %d db %s user %s params %v timeout %v", c.Host, c.Port, c.Database, c.User,
			c.RuntimeParams, c.ConnectTimeout)
	}
}

func TestParseDSNMySQLConfig(t *testing.T) {
	d, err := parseDSN("mysql://warden:" + secret + "@db.internal:3307/wdb?loc=Local")
	if err != nil {
		t.Fatal(err)
	}
	c := d.mysql
	if c.User != "warden" || c.Passwd != secret || c.Addr != "db.internal:3307" || c.DBName != "wdb" ||
		!c.ParseTime || c.Loc != time.UTC || c.Params["time_zone"] != "'+00:00'" {
		t.Fatalf("config = %+v", c)
	}
}

// Every refused DSN names its scheme or its problem and never the password.
func TestParseDSNErrors(t *testing.T) {
	tests := []struct {
		name string
		dsn  string
		want string // in the error
	}{
		{"unknown_scheme", "redis://u:" + secret + "@h:6379/0", `unknown DSN scheme "redis"`},
		{"unknown_scheme_upper", "MongoDB://u:" + secret + "@h/db", `unknown DSN scheme "mongodb"`},
		{"no_scheme", "", "no scheme"},
		{"driver_form_mysql", "root:" + secret + "@tcp(127.0.0.1:3306)/test", `unknown DSN scheme "root"`},
		{"password_before_colon", secret + "@@:x", "no scheme"},
		{"keyword_value_postgres", "host=h password=" + secret, "no scheme"},
		{"sqlite_no_file", "sqlite:", "no file name"},
		{"sqlite_file_no_name", "sqlite:file:", "no file name"},
		{"sqlite_bad_query", "sqlite:file:x.db?a=%zz", "bad query string"},
		{"postgres_not_url", "postgres:host=h password=" + secret, "must be a URL"},
		{"postgres_bad_port", "postgres://u:" + secret + "@h:99999999/db", "postgres DSN"},
		{"postgres_bad_port_letters", "postgres://u:" + secret + "@h:port/db", "postgres DSN"},
		{"postgres_space_in_password", "postgres://u:" + secret + " x@h:5432/db", "postgres DSN"},
		{"postgres_bad_escape", "postgres://u:" + secret + "%zz@h/db", "postgres DSN"},
		{"postgres_bad_sslmode", "postgres://u:" + secret + "@h/db?sslmode=bogus", "postgres DSN"},
		{"postgres_password_param", "postgres://u@h/db?password=" + secret + "&sslmode=bogus", "postgres DSN"},
		{"mysql_no_db", "mysql://u:" + secret + "@h:3306/", "database name"},
		{"mysql_no_host", "mysql:///db", "no host"},
		{"mysql_bad_port", "mysql://u:" + secret + "@h:x/db", "mysql DSN"},
		{"mysql_bad_param", "mysql://u:" + secret + "@h/db?parseTime=maybe", "mysql DSN"},
		{"mysql_not_url", "mysql:u:" + secret + "@tcp(h)/db", "must be a URL"},
		// Settings under which bun's quoting is unsafe (see session.go).
		{"mysql_charset_gbk", "mysql://u:" + secret + "@h/db?charset=gbk", "mysql DSN: charset=gbk is refused: warden needs a utf8mb4 connection"},
		{"mysql_charset_list_gbk_first", "mysql://u:" + secret + "@h/db?charset=gbk,utf8mb4", "charset=gbk,utf8mb4 is refused"},
		{"mysql_charset_utf8mb3", "mysql://u:" + secret + "@h/db?charset=utf8", "charset=utf8 is refused"},
		{"mysql_collation_gbk", "mysql://u:" + secret + "@h/db?collation=gbk_chinese_ci", "collation=gbk_chinese_ci is refused"},
		{"mysql_character_set_client_gbk", "mysql://u:" + secret + "@h/db?character_set_client=gbk", "character_set_client=gbk is refused"},
		{"mysql_character_set_connection_sjis", "mysql://u:" + secret + "@h/db?character_set_connection='sjis'",
			"character_set_connection='sjis' is refused"},
		{"mysql_collation_connection_big5", "mysql://u:" + secret + "@h/db?COLLATION_CONNECTION=big5_bin", "COLLATION_CONNECTION=big5_bin is refused"},
		{"mysql_charset_smuggled_in_a_value", "mysql://u:" + secret + "@h/db?autocommit=1,character_set_client=gbk",
			"autocommit=1,character_set_client=gbk is refused"},
		{"mysql_sql_mode_no_backslash_escapes", "mysql://u:" + secret + "@h/db?sql_mode='ANSI,no_backslash_escapes'",
			"sql_mode='ANSI,no_backslash_escapes' is refused: warden needs backslash escapes"},
		{"postgres_standard_conforming_strings_off", "postgres://u:" + secret + "@h/db?standard_conforming_strings=off",
			"postgres DSN: standard_conforming_strings=off is refused: warden needs standard_conforming_strings=on"},
		{"postgres_standard_conforming_strings_false", "postgres://u:" + secret + "@h/db?standard_conforming_strings=false",
			"standard_conforming_strings=false is refused"},
		{"postgres_options_c", "postgres://u:" + secret + "@h/db?options=-c%20standard_conforming_strings%3Doff",
			"options=-c standard_conforming_strings=off is refused"},
		{"postgres_options_long_dashes", "postgres://u:" + secret + "@h/db?options=--standard-conforming-strings%3Doff",
			"options=--standard-conforming-strings=off is refused"},
		{"postgres_options_client_encoding", "postgres://u:" + secret + "@h/db?options=-c%20client_encoding%3DSJIS",
			"options=-c client_encoding=SJIS is refused"},
		{"postgres_client_encoding_gbk", "postgres://u:" + secret + "@h/db?client_encoding=GBK",
			"client_encoding=GBK is refused: warden needs standard_conforming_strings=on and client_encoding=UTF8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseDSN(tt.dsn)
			if err == nil {
				t.Fatalf("parseDSN(%q) = nil error", tt.dsn)
			}
			if strings.Contains(err.Error(), secret) {
				t.Fatalf("error shows the password: %v", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %q does not say %q", err, tt.want)
			}
			for e := errors.Unwrap(err); e != nil; e = errors.Unwrap(e) {
				if strings.Contains(e.Error(), secret) {
					t.Fatalf("a wrapped error shows the password: %v", e)
				}
			}
			if r := Redacted(tt.dsn); strings.Contains(r, secret) {
				t.Fatalf("Redacted(%q) = %q keeps the password", tt.dsn, r)
			}
		})
	}
}

// PGOPTIONS reaches the startup packet as "options": refused like the DSN's.
func TestParseDSNPostgresEnvOptions(t *testing.T) {
	t.Setenv("PGOPTIONS", "-c standard_conforming_strings=off")
	_, err := parseDSN("postgres://u@h/db")
	if err == nil || !strings.Contains(err.Error(), "options=-c standard_conforming_strings=off is refused") {
		t.Fatalf("parseDSN with PGOPTIONS turning standard_conforming_strings off = %v", err)
	}
}

func TestRedactErr(t *testing.T) {
	inner := fmt.Errorf("dial postgres://u:%s@h: refused", secret)
	err := redactErr(fmt.Errorf("open: %w", inner), []string{secret})
	if strings.Contains(err.Error(), secret) || errors.Unwrap(err) != nil {
		t.Fatalf("redacted error %q (unwraps to %v)", err, errors.Unwrap(err))
	}
	if !strings.Contains(err.Error(), "u:xxxxx@h") {
		t.Fatalf("redacted error %q lost its text", err)
	}
	clean := fmt.Errorf("open: %w", errors.ErrUnsupported)
	if got := redactErr(clean, []string{secret}); got != clean {
		t.Fatalf("an error without the secret was replaced: %v", got)
	}
}

func TestRedacted(t *testing.T) {
	tests := []struct{ in, want string }{
		{"postgres://u:" + secret + "@h:5432/db?sslmode=disable", "postgres://u:xxxxx@h:5432/db?sslmode=disable"},
		{"postgres://u@h/db?password=" + secret, "postgres://u@h/db?password=xxxxx"},
		{"mysql://root:a@h:3306/database", "mysql://root:xxxxx@h:3306/database"},
		{"sqlite:file:warden.db", "sqlite:file:warden.db"},
		{"redis://u:" + secret + "@h", "redis:xxxxx"},
		{"u:" + secret + "@tcp(h)/db", "u:xxxxx"},
		{"nonsense " + secret, "xxxxx"},
	}
	for _, tt := range tests {
		if got := Redacted(tt.in); got != tt.want {
			t.Errorf("Redacted(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// A SQLite file in a directory that does not exist is reported as that, not
// as SQLite's "out of memory (14)".
func TestOpenSQLiteMissingDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "no", "such")
	_, err := Open(context.Background(), "sqlite:file:"+filepath.Join(dir, "warden.db"))
	if err == nil || !strings.Contains(err.Error(), "the directory "+dir+" does not exist") || strings.Contains(err.Error(), "out of memory") {
		t.Fatalf("err = %v", err)
	}
}
