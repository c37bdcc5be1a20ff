package bunstore_test

import (
	"context"
	"crypto/rand"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/wardenkit/warden/bunstore"
	"github.com/wardenkit/warden/internal/testdb"
)

// The harness runs every test on SQLite (a file in a temporary directory),
// and on PostgreSQL and MariaDB/MySQL when WARDEN_TEST_POSTGRES_DSN and
// WARDEN_TEST_MYSQL_DSN are set. A database named by such a variable that
// does not answer fails the test: CI sets them and must not pass silently.
// Each store gets a database of its own: a new schema (search_path) on
// PostgreSQL, a new database on MySQL, both dropped when the test ends.

const (
	envPostgres = testdb.EnvPostgres
	envMySQL    = testdb.EnvMySQL
)

// backend makes empty databases of one kind.
type backend struct {
	name string
	// newDSN returns the DSN of a new, empty database, dropped at cleanup.
	newDSN func(t testing.TB) string
}

// backends returns SQLite and the servers whose variables are set.
func backends() []backend {
	bs := []backend{{name: "sqlite", newDSN: sqliteDSN}}
	if dsn := os.Getenv(envPostgres); dsn != "" {
		bs = append(bs, backend{name: "postgres", newDSN: func(t testing.TB) string { return postgresDSN(t, dsn) }})
	}
	if dsn := os.Getenv(envMySQL); dsn != "" {
		bs = append(bs, backend{name: "mysql", newDSN: func(t testing.TB) string { return mysqlDSN(t, dsn) }})
	}
	return bs
}

// eachBackend runs f once per backend as a subtest.
func eachBackend(t *testing.T, f func(t *testing.T, b backend)) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) { f(t, b) })
	}
}

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// newStore opens a migrated store on a new database of b.
func newStore(t testing.TB, b backend, opts ...bunstore.Option) *bunstore.Store {
	t.Helper()
	return openStore(t, b.newDSN(t), append(opts, bunstore.WithAutoMigrate())...)
}

func openStore(t testing.TB, dsn string, opts ...bunstore.Option) *bunstore.Store {
	t.Helper()
	s, err := bunstore.Open(testCtx(t), dsn, opts...)
	if err != nil {
		t.Fatalf("Open(%s): %v", bunstore.Redacted(dsn), err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func sqliteDSN(t testing.TB) string { return testdb.SQLite(t) }

func postgresDSN(t testing.TB, base string) string { return testdb.Postgres(t, base) }

func mysqlDSN(t testing.TB, base string) string { return testdb.MySQL(t, base) }

func randomName() string {
	return "warden_test_" + strings.ToLower(rand.Text()[:12])
}

// admin opens the server named by an environment variable, failing the test
// when it does not answer.
func admin(t testing.TB, env, dsn string) *bunstore.Store {
	t.Helper()
	s, err := bunstore.Open(testCtx(t), dsn)
	if err != nil {
		t.Fatalf("%s is set but the database does not answer: %v", env, err)
	}
	return s
}
