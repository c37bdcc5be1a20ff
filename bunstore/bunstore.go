package bunstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"
	"github.com/uptrace/bun/dialect/mysqldialect"
	"github.com/uptrace/bun/dialect/pgdialect"
	"github.com/uptrace/bun/dialect/sqlitedialect"
	"github.com/uptrace/bun/driver/sqliteshim"
	"github.com/uptrace/bun/migrate"

	"github.com/wardenkit/warden/core"
	"github.com/wardenkit/warden/core/rule"
)

// Store is a core.Store on a SQL database. It is safe for concurrent use.
type Store struct {
	db      *bun.DB // writes; reads too except on a SQLite file
	rdb     *bun.DB // reads: a pool of read-only connections on a SQLite file, else db
	dialect dialect.Name
	pgVer   int // server_version_num on PostgreSQL (140000 is 14.0)
	secrets []string
	clock   core.Clock
	txOpts  *sql.TxOptions

	blockedIPs        *table[rule.BlockedIP, blockedIPRow, *blockedIPRow]
	whitelistedIPs    *table[rule.WhitelistedIP, whitelistedIPRow, *whitelistedIPRow]
	blockedCountries  *table[rule.BlockedCountry, blockedCountryRow, *blockedCountryRow]
	allowedCountries  *table[rule.AllowedCountry, allowedCountryRow, *allowedCountryRow]
	blockedUserAgents *table[rule.BlockedUserAgent, blockedUserAgentRow, *blockedUserAgentRow]
	whitelistedUsers  *table[rule.WhitelistedUser, whitelistedUserRow, *whitelistedUserRow]
	blockedEmails     *table[rule.BlockedEmail, blockedEmailRow, *blockedEmailRow]
	blockedDomains    *table[rule.BlockedDomain, blockedDomainRow, *blockedDomainRow]
	rateLimitRules    *table[rule.RateLimitRule, rateLimitRuleRow, *rateLimitRuleRow]
}

var _ core.Store = (*Store)(nil)

// Option configures Open.
type Option func(*config) error

type config struct {
	autoMigrate  bool
	clock        core.Clock
	maxOpenConns int
}

// WithAutoMigrate makes Open apply pending migrations before it returns.
// Without it Open never changes the schema: run Store.Migrate (or the CLI)
// as a deployment step.
func WithAutoMigrate() Option {
	return func(c *config) error { c.autoMigrate = true; return nil }
}

// WithClock sets the clock that stamps created_at and updated_at, and the
// time of an event that has none. The default is the system clock.
func WithClock(clk core.Clock) Option {
	return func(c *config) error {
		if clk == nil {
			return errorf(ErrInvalidOption, "bunstore: WithClock: nil clock")
		}
		c.clock = clk
		return nil
	}
}

// WithMaxOpenConns limits the connections to PostgreSQL or MySQL (default
// 16), or the read-only connections to a SQLite file (default GOMAXPROCS, at
// least 4). SQLite always writes through one connection.
func WithMaxOpenConns(n int) Option {
	return func(c *config) error {
		if n < 1 {
			return errorf(ErrInvalidOption, "bunstore: WithMaxOpenConns: %d is not a positive number", n)
		}
		c.maxOpenConns = n
		return nil
	}
}

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

// Open connects to the database named by dsn and checks that it answers:
//
//	sqlite:file:warden.db                  SQLite file (pure Go driver, no cgo)
//	sqlite:file::memory:?cache=shared      SQLite in memory, for tests
//	postgres://user:pass@host:5432/db?sslmode=disable  (or postgresql://)
//	mysql://user:pass@host:3306/db         MySQL 8 or MariaDB 10.5+
//
// It does not create or change tables unless WithAutoMigrate is given; see
// Migrate. Errors never contain the password: a bad option wraps
// ErrInvalidOption, a DSN Open cannot read wraps ErrInvalidDSN, and an
// unreachable database is an error "bunstore: Open <scheme>: …" (Open pings
// it, bounded by ctx and by a 10 s connect timeout when the DSN sets none).
// A DSN whose charset or quoting settings would let a value escape bun's
// quoting is refused, and a connection whose session does so anyway fails
// with ErrUnsafeSession (see the package documentation, Quoting).
func Open(ctx context.Context, dsnText string, opts ...Option) (*Store, error) {
	cfg := config{clock: systemClock{}}
	for i, o := range opts {
		if o == nil {
			return nil, errorf(ErrInvalidOption, "bunstore: Open: option %d is nil", i)
		}
		if err := o(&cfg); err != nil {
			return nil, err // "bunstore: WithX: …"
		}
	}
	d, err := parseDSN(dsnText)
	if err != nil {
		return nil, errorf(ErrInvalidDSN, "bunstore: Open: %w", err)
	}
	s, err := open(ctx, d, cfg)
	if err != nil {
		return nil, fmt.Errorf("bunstore: Open %s: %w", d.scheme, d.redact(err))
	}
	if cfg.autoMigrate {
		if err := s.Migrate(ctx); err != nil {
			_ = s.Close()
			return nil, err // "bunstore: Migrate: …"
		}
	}
	return s, nil
}

func open(ctx context.Context, d *dsn, cfg config) (*Store, error) {
	s := &Store{dialect: d.dialect, secrets: d.secrets, clock: cfg.clock}
	var wdb, rdb *sql.DB
	switch d.dialect {
	case dialect.SQLite:
		// One connection writes and every write transaction starts with
		// BEGIN IMMEDIATE: writers queue in database/sql's pool instead of
		// failing with "database is locked", and a read never waits for a
		// write (WAL). A separate pool of query_only connections serves
		// reads. An in-memory database lives in one connection, so it gets
		// just that one for both.
		var err error
		if wdb, err = sql.Open(sqliteshim.ShimName, d.driverDSN(true)); err != nil {
			return nil, err
		}
		wdb.SetMaxOpenConns(1)
		wdb.SetMaxIdleConns(1)
		wdb.SetConnMaxLifetime(0)
		wdb.SetConnMaxIdleTime(0)
		if err := wdb.PingContext(ctx); err != nil { // creates the file and switches it to WAL
			_ = wdb.Close()
			return nil, d.sqliteOpenError(err)
		}
		rdb = wdb
		if !d.sqliteMemory {
			if rdb, err = sql.Open(sqliteshim.ShimName, d.driverDSN(false)); err != nil {
				_ = wdb.Close()
				return nil, err
			}
			n := cfg.maxOpenConns
			if n == 0 {
				n = max(4, runtime.GOMAXPROCS(0))
			}
			rdb.SetMaxOpenConns(n)
			rdb.SetMaxIdleConns(n)
			if err := rdb.PingContext(ctx); err != nil {
				_ = wdb.Close()
				_ = rdb.Close()
				return nil, err
			}
		}
		s.db = bun.NewDB(wdb, sqlitedialect.New())
		s.rdb = s.db
		if rdb != wdb {
			s.rdb = bun.NewDB(rdb, sqlitedialect.New())
		}
	case dialect.PG:
		wdb = stdlib.OpenDB(*d.pg, stdlib.OptionAfterConnect(checkPostgresSession))
		if err := pingPool(ctx, wdb, cfg); err != nil {
			return nil, err
		}
		if err := wdb.QueryRowContext(ctx, "SELECT current_setting('server_version_num')::int").Scan(&s.pgVer); err != nil {
			_ = wdb.Close()
			return nil, err
		}
		s.db = bun.NewDB(wdb, pgdialect.New())
		s.rdb = s.db
	case dialect.MySQL:
		conn, err := mysql.NewConnector(d.mysql)
		if err != nil {
			return nil, err
		}
		wdb = sql.OpenDB(mysqlConnector{conn})
		if err := pingPool(ctx, wdb, cfg); err != nil {
			return nil, err
		}
		// Dialect.Init asks the server for its version; the ping above
		// made sure it answers.
		s.db = bun.NewDB(wdb, mysqldialect.New(mysqldialect.WithTimeLocation("UTC")))
		s.rdb = s.db
		// Short transactions that lock only what they touch: REPEATABLE
		// READ's gap locks would make appends wait for a purge.
		s.txOpts = &sql.TxOptions{Isolation: sql.LevelReadCommitted}
	}
	s.initTables()
	return s, nil
}

func pingPool(ctx context.Context, db *sql.DB, cfg config) error {
	n := cfg.maxOpenConns
	if n == 0 {
		n = 16
	}
	db.SetMaxOpenConns(n)
	db.SetMaxIdleConns(min(n, 8))
	db.SetConnMaxIdleTime(5 * time.Minute)
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		return err
	}
	return nil
}

// DB returns the bun database the store writes through, for queries of your
// own. On SQLite it is the single writer connection: hold it briefly.
func (s *Store) DB() *bun.DB { return s.db }

// Close closes the database connections.
func (s *Store) Close() error {
	err := s.db.Close()
	if s.rdb != s.db {
		err = errors.Join(err, s.rdb.Close())
	}
	return err
}

// migrations holds the schema history; each file NNNNNNNNNNNNNN_what.go of
// this package registers one.
var (
	migrations    = migrate.NewMigrations()
	migrationsErr error
)

// Migration bookkeeping tables.
const (
	migrationsTable     = "security_migrations"
	migrationLocksTable = "security_migration_locks"
)

// Migrate applies the pending migrations. It is idempotent, and safe to run
// from several processes at once: they take turns through a lock row in
// security_migration_locks (a process that crashed while migrating leaves
// that row behind; delete it by hand). Migrate waits for the lock at most
// 30 s, or until ctx ends.
func (s *Store) Migrate(ctx context.Context) error {
	if migrationsErr != nil {
		return fmt.Errorf("bunstore: Migrate: %w", migrationsErr)
	}
	m := migrate.NewMigrator(s.db, migrations,
		migrate.WithTableName(migrationsTable),
		migrate.WithLocksTableName(migrationLocksTable),
		migrate.WithMarkAppliedOnSuccess(true),
		migrate.WithUpsert(true))
	if err := initMigrator(ctx, m); err != nil {
		return s.errf("Migrate: creating the bookkeeping tables", err)
	}
	if err := lock(ctx, m); err != nil {
		return s.errf("Migrate: taking the lock", err)
	}
	defer func() { _ = m.Unlock(context.WithoutCancel(ctx)) }()
	if _, err := m.Migrate(ctx); err != nil {
		return s.errf("Migrate", err)
	}
	return nil
}

// initMigrator creates the bookkeeping tables. It runs before the lock
// exists, so processes starting together race here; on PostgreSQL two
// concurrent CREATE TABLE IF NOT EXISTS can fail with a unique violation in
// pg_type, and a second try finds the table.
func initMigrator(ctx context.Context, m *migrate.Migrator) error {
	var err error
	for try := 1; ; try++ {
		if err = m.Init(ctx); err == nil || try == 5 {
			return err
		}
		select {
		case <-ctx.Done():
			return errors.Join(ctx.Err(), err)
		case <-time.After(time.Duration(try) * 50 * time.Millisecond):
		}
	}
}

func lock(ctx context.Context, m *migrate.Migrator) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := m.Lock(ctx)
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%w (delete the row in %s if no other process is migrating)", err, migrationLocksTable)
		}
		select {
		case <-ctx.Done():
			return errors.Join(ctx.Err(), err)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

func (s *Store) now() time.Time { return dbTime(s.clock.Now()) }

// write runs fn in a transaction on the writer.
func (s *Store) write(ctx context.Context, fn func(ctx context.Context, tx bun.Tx) error) error {
	return s.db.RunInTx(ctx, s.txOpts, fn)
}

// bumpVersion adds one to the store version. Every write takes this row lock
// first, so writers of rules and settings queue on it and never deadlock.
func bumpVersion(ctx context.Context, tx bun.Tx) error {
	res, err := tx.ExecContext(ctx, "UPDATE security_version SET version = version + 1 WHERE id = 1")
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n != 1 {
		return errors.New("version row missing (was Migrate run?)")
	}
	return nil
}

// Version reports the store version, which grows with every write of a rule
// or of the settings.
func (s *Store) Version(ctx context.Context) (int64, error) {
	var v int64
	if err := s.rdb.NewRaw("SELECT version FROM security_version WHERE id = 1").Scan(ctx, &v); err != nil {
		return 0, s.errf("Version", err)
	}
	return v, nil
}

// Settings returns the stored settings, or core.DefaultSettings() when none
// were stored.
func (s *Store) Settings(ctx context.Context) (core.Settings, error) {
	var r settingsRow
	err := s.rdb.NewSelect().Model(&r).Where("id = 1").Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return core.DefaultSettings(), nil
	}
	if err != nil {
		return core.Settings{}, s.errf("Settings", err)
	}
	return r.toSettings(), nil
}

// PutSettings validates and stores v and bumps the version, in one
// transaction, and returns the stored value. It writes only when
// v.UpdatedAt is the stored row's (zero when there is none): the version
// bump first queues writers, then the row is read for update and compared.
// last_sync_at is left as stored (SetLastSyncAt writes it).
func (s *Store) PutSettings(ctx context.Context, v core.Settings) (core.Settings, error) {
	v, err := core.NormalizeSettings(v)
	if err != nil {
		return core.Settings{}, fmt.Errorf("bunstore: PutSettings: %w", err)
	}
	read := dbTime(v.UpdatedAt)
	var out settingsRow
	err = s.write(ctx, func(ctx context.Context, tx bun.Tx) error {
		if err := bumpVersion(ctx, tx); err != nil {
			return err
		}
		var old settingsRow
		q := tx.NewSelect().Model(&old).Where("id = 1")
		if s.dialect != dialect.SQLite {
			q = q.For("UPDATE")
		}
		err := q.Scan(ctx)
		exists := err == nil
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if stored := dbTime(old.UpdatedAt); !stored.Equal(read) {
			return fmt.Errorf("read at %s, stored at %s: %w",
				read.Format(time.RFC3339Nano), stored.Format(time.RFC3339Nano), core.ErrConflict)
		}
		v.UpdatedAt = s.now()
		if !v.UpdatedAt.After(dbTime(old.UpdatedAt)) { // a clock that stood still still makes a new stamp
			v.UpdatedAt = dbTime(old.UpdatedAt).Add(time.Microsecond)
		}
		v.LastSyncAt = old.LastSyncAt
		out = settingsToRow(v)
		s.cutStrings(&out)
		if exists {
			_, err = tx.NewUpdate().Model(&out).WherePK().ExcludeColumn("last_sync_at").Exec(ctx)
		} else {
			_, err = tx.NewInsert().Model(&out).Exec(ctx)
		}
		return err
	})
	if errors.Is(err, core.ErrConflict) {
		return core.Settings{}, fmt.Errorf("bunstore: PutSettings: %w", err)
	}
	if err != nil {
		return core.Settings{}, s.errf("PutSettings", err)
	}
	return out.toSettings(), nil
}

// AddHits adds counts to the hit counter of the rules with those IDs: one
// "col = col + n" UPDATE per rule, all in one transaction, in ID order (so
// two flushes cannot deadlock). Unknown IDs are ignored; the version does
// not change.
func (s *Store) AddHits(ctx context.Context, kind core.HitKind, hits map[int64]int64) error {
	var tableName string
	switch kind {
	case core.HitUserAgent:
		tableName = "security_blocked_user_agent"
	case core.HitRateLimit:
		tableName = "security_rate_limit_rule"
	case core.HitBlockedIP:
		tableName = "security_blocked_ip"
	default:
		return fmt.Errorf("bunstore: AddHits: unknown kind %q: %w", kind, core.ErrInvalid)
	}
	ids := make([]int64, 0, len(hits))
	for id, n := range hits {
		if n != 0 {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	slices.Sort(ids)
	err := s.write(ctx, func(ctx context.Context, tx bun.Tx) error {
		for _, id := range ids {
			if _, err := tx.ExecContext(ctx, "UPDATE ? SET block_count = block_count + ? WHERE id = ?",
				bun.Ident(tableName), hits[id], id); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return s.errf(fmt.Sprintf("AddHits %s", kind), err)
	}
	return nil
}
