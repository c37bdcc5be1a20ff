// Command warden manages a warden installation from a terminal: the
// database schema, block and allow rules, lockouts, list syncs, events and
// settings. It reads the database named by --dsn or WARDEN_DSN (default: the
// SQLite file warden.db the examples use) and, when WARDEN_REDIS_URL is set,
// announces every write on Redis so that running replicas apply it at once
// (without Redis they find it at their next version poll).
//
// Every write goes through a started core.Engine, so it is validated as the
// library validates it, bumps the store version and is recorded as an
// ADMIN_ACTION event naming the operator (the OS user, or --actor).
//
// Exit status: 0 success, 1 failure, 2 usage error.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
