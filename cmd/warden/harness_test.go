package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wardenkit/warden/internal/testdb"
)

// backend is a database the end-to-end tests run on: SQLite in a temp dir
// always, PostgreSQL when WARDEN_TEST_POSTGRES_DSN is set (a scratch schema
// per test, as bunstore's harness does).
type backend struct {
	name   string
	newDSN func(t *testing.T) string
}

func backends() []backend {
	bs := []backend{{"sqlite", func(t *testing.T) string {
		return "sqlite:file:" + filepath.Join(t.TempDir(), "warden.db")
	}}}
	if base := os.Getenv("WARDEN_TEST_POSTGRES_DSN"); base != "" {
		bs = append(bs, backend{"postgres", func(t *testing.T) string { return postgresDSN(t, base) }})
	}
	return bs
}

func eachBackend(t *testing.T, f func(t *testing.T, dsn string)) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) { f(t, b.newDSN(t)) })
	}
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func postgresDSN(t *testing.T, base string) string { return testdb.Postgres(t, base) }

// result is what one run of the command printed and its exit status.
type result struct {
	stdout, stderr string
	code           int
}

// warden runs the command in-process on dsn as actor "tester".
func warden(t *testing.T, dsn string, args ...string) result {
	t.Helper()
	t.Setenv("WARDEN_REDIS_URL", "")
	var out, errb bytes.Buffer
	code := run(testCtx(t), append([]string{"--dsn", dsn, "--actor", "tester"}, args...), &out, &errb)
	return result{out.String(), errb.String(), code}
}

// must runs the command and fails the test unless it exits 0.
func must(t *testing.T, dsn string, args ...string) string {
	t.Helper()
	r := warden(t, dsn, args...)
	if r.code != 0 {
		t.Fatalf("warden %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r.stdout
}
