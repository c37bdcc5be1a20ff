package bunstore

import (
	"context"
	"errors"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
)

// These tests get past the DSN checks (checkMySQLParams,
// checkPostgresParams) to show the second line of defence: a connection
// whose session is unsafe although the DSN was not (a server's init_connect,
// a pooler) is refused, and so is every later connection of the pool, not
// only the first.

func sessionTestDSN(t *testing.T, env string) *dsn {
	t.Helper()
	base := os.Getenv(env)
	if base == "" {
		t.Skip(env + " is not set")
	}
	d, err := parseDSN(base)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func sessionCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// wantUnsafe checks that err refuses the session, naming the setting and
// its value.
func wantUnsafe(t *testing.T, err error, name, value string) {
	t.Helper()
	if err == nil {
		t.Fatalf("a session with %s=%s was accepted", name, value)
	}
	if !errors.Is(err, ErrUnsafeSession) || !strings.Contains(err.Error(), name) || !strings.Contains(err.Error(), value) {
		t.Fatalf("error %q; want an ErrUnsafeSession naming %s and %s", err, name, value)
	}
}

func TestMySQLSessionChecked(t *testing.T) {
	for _, tt := range []struct{ name, param, value, reported string }{
		{"character_set_client_gbk", "character_set_client", "gbk", `"gbk"`},
		{"character_set_connection_big5", "character_set_connection", "big5", `"big5"`},
		{"sql_mode_no_backslash_escapes", "sql_mode", "'NO_BACKSLASH_ESCAPES'", "NO_BACKSLASH_ESCAPES"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			// Every connection, from the first.
			d := sessionTestDSN(t, "WARDEN_TEST_MYSQL_DSN")
			d.mysql.Params[tt.param] = tt.value
			s, err := open(sessionCtx(t), d, config{})
			if err == nil {
				_ = s.Close()
			}
			wantUnsafe(t, err, tt.param, tt.reported)

			// From the second connection on: the first was checked, and
			// so is each one the pool opens later.
			d = sessionTestDSN(t, "WARDEN_TEST_MYSQL_DSN")
			var n atomic.Int32
			if err := d.mysql.Apply(mysql.BeforeConnect(func(_ context.Context, c *mysql.Config) error {
				if n.Add(1) > 1 {
					c.Params[tt.param] = tt.value
				}
				return nil
			})); err != nil {
				t.Fatal(err)
			}
			s, err = open(sessionCtx(t), d, config{maxOpenConns: 4})
			if err != nil {
				t.Fatalf("open with a safe first connection: %v", err)
			}
			defer s.Close()
			first, err := s.DB().Conn(sessionCtx(t)) // the connection the ping made
			if err != nil {
				t.Fatal(err)
			}
			defer first.Close()
			second, err := s.DB().Conn(sessionCtx(t))
			if err == nil {
				var cs string
				_ = second.QueryRowContext(sessionCtx(t), "SELECT @@"+tt.param).Scan(&cs)
				_ = second.Close()
				t.Fatalf("the pool's second connection was handed out with %s=%s", tt.param, cs)
			}
			wantUnsafe(t, err, tt.param, tt.reported)
		})
	}
}

func TestPostgresSessionChecked(t *testing.T) {
	for _, tt := range []struct{ param, value string }{
		{"standard_conforming_strings", "off"},
		{"client_encoding", "SJIS"},
	} {
		t.Run(tt.param, func(t *testing.T) {
			d := sessionTestDSN(t, "WARDEN_TEST_POSTGRES_DSN")
			d.pg.RuntimeParams[tt.param] = tt.value
			s, err := open(sessionCtx(t), d, config{})
			if err == nil {
				_ = s.Close()
			}
			wantUnsafe(t, err, tt.param, tt.value)

			// pgx copies the parameters at each connect, so a change made
			// after Open reaches only the connections opened after it.
			d = sessionTestDSN(t, "WARDEN_TEST_POSTGRES_DSN")
			s, err = open(sessionCtx(t), d, config{maxOpenConns: 4})
			if err != nil {
				t.Fatalf("open: %v", err)
			}
			defer s.Close()
			first, err := s.DB().Conn(sessionCtx(t))
			if err != nil {
				t.Fatal(err)
			}
			defer first.Close()
			d.pg.RuntimeParams[tt.param] = tt.value
			second, err := s.DB().Conn(sessionCtx(t))
			if err == nil {
				_ = second.Close()
				t.Fatalf("the pool's second connection was handed out with %s=%s", tt.param, tt.value)
			}
			wantUnsafe(t, err, tt.param, tt.value)
		})
	}
}
