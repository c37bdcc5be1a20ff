// Package bunstore is a core.Store on SQL databases through
// github.com/uptrace/bun: SQLite (the embedded default, pure Go, no cgo),
// PostgreSQL (pgx) and MySQL 8 or MariaDB 10.5+ (go-sql-driver/mysql). It
// passes core/storetest on all three.
//
//	store, err := bunstore.Open(ctx, "sqlite:file:warden.db", bunstore.WithAutoMigrate())
//	if err != nil { … }
//	defer store.Close()
//	eng, err := core.New(store, …)
//
// # DSNs
//
// Open takes a URL; the scheme picks the database:
//
//	sqlite:file:warden.db                      a file (created if missing)
//	sqlite:/var/lib/warden/warden.db           the same, by path
//	sqlite:file::memory:?cache=shared          in memory, for tests and examples
//	postgres://user:pass@host:5432/db?sslmode=require   (or postgresql://; pgx's parameters)
//	mysql://user:pass@host:3306/db?tls=true    (or mariadb://; ?socket=/path for a unix socket)
//
// SQLite runs in WAL mode with a 10 s busy timeout, foreign keys on and
// synchronous=NORMAL (a committed write survives a crash of the process; a
// power cut may lose the last transactions). A mysql:// URL is translated
// into the driver's configuration with parseTime=true, loc=UTC and the
// session time zone set to UTC, whatever the URL says; its other
// parameters (tls, timeout, system variables…) go to the driver.
// PostgreSQL and MySQL connections time out after 10 s unless the DSN says
// otherwise. Errors never contain the password; Redacted gives a DSN fit for
// logs.
//
// # Quoting
//
// bun writes values into the SQL text (it quotes them itself rather than
// sending bound parameters), which is safe only in a session that reads
// quotes the way bun writes them. The store therefore forces one:
//
//   - MySQL/MariaDB: utf8mb4 only. A charset, collation or character_set_* /
//     collation_* parameter naming anything else (charset=gbk, the attack
//     where a multi-byte character swallows the escaping backslash) and a
//     sql_mode with NO_BACKSLASH_ESCAPES are refused by Open with
//     ErrInvalidDSN; every connection runs SET NAMES utf8mb4.
//   - PostgreSQL: standard_conforming_strings=on and client_encoding=UTF8
//     are sent in every connection's startup packet, overriding a server,
//     database or role default; a DSN (or PGOPTIONS) that sets either to
//     anything else, directly or through options=-c …, is refused.
//
// Every new connection of the pool is then checked (character_set_client,
// _connection and _results and sql_mode; the two PostgreSQL settings as the
// server reports them) before it is used: one that a server-side setting
// changed anyway (init_connect, a pooler) is closed and its error wraps
// ErrUnsafeSession, so Open or the query that needed it fails rather than
// run SQL from a User-Agent. SQLite needs none of this.
//
// # Migrations
//
// The schema (the reference's table names: security_blocked_ip, …,
// security_security_log, security_login_history, plus security_lockout for
// lockout records and security_version holding the store version)
// is created and changed by migrations written in Go, one per file named
// YYYYMMDDHHMMSS_what.go, applied with bun/migrate and recorded in
// security_migrations. Open does not touch the schema: call Store.Migrate
// as a deployment step, or give WithAutoMigrate to Open. Migrate is
// idempotent and processes that run it together take turns.
//
// # Storage
//
// Rules are upserted on their key in one statement that keeps the row's ID
// and created_at; the version row is bumped in the same transaction, so an
// engine polling Version never misses a write. Times are stored in UTC
// (TIMESTAMPTZ, DATETIME(6), or text on SQLite) with microsecond precision
// and come back in UTC. Text longer than its column is cut on a rune
// boundary rather than refused; events are cleaned with core.Event.Clean, so
// invalid UTF-8 and NUL bytes never reach the database.
//
// # Concurrency
//
// A Store is safe for concurrent use. On SQLite all writes go through a
// single connection (writers queue in Go instead of failing with "database
// is locked"; other processes writing the same file wait up to the busy
// timeout) and reads through a separate pool of read-only connections, so a
// read never waits for a write. An in-memory SQLite database uses one
// connection for everything. PostgreSQL and MySQL use one pool (16
// connections unless WithMaxOpenConns says otherwise); writers of rules and
// settings take the version row's lock first, so they cannot deadlock.
package bunstore
