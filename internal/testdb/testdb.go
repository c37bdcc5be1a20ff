// Package testdb makes empty databases for tests that run on every SQL
// backend: SQLite in a test's temporary directory, and a new schema
// (PostgreSQL) or database (MariaDB/MySQL) on the servers named by
// WARDEN_TEST_POSTGRES_DSN and WARDEN_TEST_MYSQL_DSN, dropped when the test
// ends. A server named by such a variable that does not answer fails the
// test: CI sets them and must not pass silently.
package testdb

import (
	"context"
	"crypto/rand"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wardenkit/warden/bunstore"
)

// The variables naming the servers.
const (
	EnvPostgres = "WARDEN_TEST_POSTGRES_DSN"
	EnvMySQL    = "WARDEN_TEST_MYSQL_DSN"
)

// Backend makes empty databases of one kind.
type Backend struct {
	Name string
	// NewDSN returns the DSN of a new, empty database, dropped at cleanup.
	NewDSN func(t testing.TB) string
}

// Backends returns SQLite and the servers whose variables are set.
func Backends() []Backend {
	bs := []Backend{{Name: "sqlite", NewDSN: SQLite}}
	if dsn := os.Getenv(EnvPostgres); dsn != "" {
		bs = append(bs, Backend{Name: "postgres", NewDSN: func(t testing.TB) string { return Postgres(t, dsn) }})
	}
	if dsn := os.Getenv(EnvMySQL); dsn != "" {
		bs = append(bs, Backend{Name: "mysql", NewDSN: func(t testing.TB) string { return MySQL(t, dsn) }})
	}
	return bs
}

// SQLite returns the DSN of a SQLite file in t's temporary directory.
func SQLite(t testing.TB) string {
	return "sqlite:file:" + filepath.Join(t.TempDir(), "warden.db")
}

// Postgres makes a new schema on the server of base and returns base's DSN
// with that schema as its search_path.
func Postgres(t testing.TB, base string) string {
	t.Helper()
	return create(t, EnvPostgres, base, "SCHEMA", func(u *url.URL, name string) {
		q := u.Query()
		q.Set("search_path", name)
		u.RawQuery = q.Encode()
	})
}

// MySQL makes a new database on the server of base and returns base's DSN
// naming it.
func MySQL(t testing.TB, base string) string {
	t.Helper()
	return create(t, EnvMySQL, base, "DATABASE", func(u *url.URL, name string) { u.Path = "/" + name })
}

// create makes a schema or database (what) on the server of base, drops it
// at cleanup, and returns base's DSN pointed at it by point.
func create(t testing.TB, env, base, what string, point func(*url.URL, string)) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	adm, err := bunstore.Open(ctx, base)
	if err != nil {
		t.Fatalf("%s is set but the database does not answer: %v", env, err)
	}
	name := "warden_test_" + strings.ToLower(rand.Text()[:12])
	if _, err := adm.DB().ExecContext(ctx, "CREATE "+what+" "+name); err != nil {
		_ = adm.Close()
		t.Fatalf("create %s: %v", strings.ToLower(what), err)
	}
	drop := "DROP " + what + " " + name
	if what == "SCHEMA" {
		drop += " CASCADE"
	}
	t.Cleanup(func() {
		defer adm.Close()
		if _, err := adm.DB().ExecContext(context.Background(), drop); err != nil {
			t.Errorf("%s: %v", drop, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("%s: %v", env, err)
	}
	point(u, name)
	return u.String()
}
