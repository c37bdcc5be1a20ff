package bunstore

import (
	"context"
	"fmt"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"
)

// List sync (package feeds): a sync_disabled mark on the two tables a sync
// writes, set on the rows the sync deactivated itself (so it reactivates
// only those), and security_feed_state, the conditional-GET validators of
// each source URL. Frozen like every released migration; see
// 20260101000001_init.go.

func init() {
	if err := migrations.Register(upListSync, downListSync); err != nil {
		migrationsErr = err
	}
}

// syncMarkTables are the tables that get the sync_disabled column.
var syncMarkTables = []string{"security_blocked_domain", "security_blocked_user_agent"}

var listSyncTables = []tableDDL{
	{
		// url_hash (SHA-256 of the whole URL, hex) is the key; url keeps the
		// URL without its password, for people.
		name: "security_feed_state",
		columns: []string{
			"id %ID%",
			"url_hash VARCHAR(64) NOT NULL",
			"url VARCHAR(2000) NOT NULL DEFAULT ''",
			"etag VARCHAR(1000) NOT NULL DEFAULT ''",
			"last_modified VARCHAR(100) NOT NULL DEFAULT ''",
			"updated_at %TIME% NOT NULL",
		},
		indexes: []indexDDL{
			{"security_feed_state_url_hash_key", true, "url_hash"},
		},
	},
}

func upListSync(ctx context.Context, db *bun.DB) error {
	stmts, err := ddl(ctx, db, listSyncTables)
	if err != nil {
		return err
	}
	// ADD COLUMN has no IF NOT EXISTS on SQLite and MySQL 8; ask first, so
	// that a migration interrupted on MySQL (DDL is not transactional) can
	// be run again.
	for _, table := range syncMarkTables {
		ok, err := hasColumn(ctx, db, table, "sync_disabled")
		if err != nil {
			return err
		}
		if !ok {
			stmts = append(stmts, "ALTER TABLE "+table+" ADD COLUMN sync_disabled BOOLEAN NOT NULL DEFAULT FALSE")
		}
	}
	return execDDL(ctx, db, stmts)
}

func downListSync(ctx context.Context, db *bun.DB) error {
	stmts := []string{"DROP TABLE IF EXISTS security_feed_state"}
	for _, table := range syncMarkTables {
		ok, err := hasColumn(ctx, db, table, "sync_disabled")
		if err != nil {
			return err
		}
		if ok {
			stmts = append(stmts, "ALTER TABLE "+table+" DROP COLUMN sync_disabled")
		}
	}
	return execDDL(ctx, db, stmts)
}

// hasColumn reports whether table has the column.
func hasColumn(ctx context.Context, db *bun.DB, table, column string) (bool, error) {
	var n int
	var err error
	switch db.Dialect().Name() {
	case dialect.SQLite:
		err = db.NewRaw("SELECT COUNT(*) FROM pragma_table_info(?) WHERE name = ?", table, column).Scan(ctx, &n)
	case dialect.PG:
		err = db.NewRaw(`SELECT COUNT(*) FROM information_schema.columns
			WHERE table_schema = current_schema() AND table_name = ? AND column_name = ?`, table, column).Scan(ctx, &n)
	case dialect.MySQL:
		err = db.NewRaw(`SELECT COUNT(*) FROM information_schema.columns
			WHERE table_schema = DATABASE() AND table_name = ? AND column_name = ?`, table, column).Scan(ctx, &n)
	default:
		return false, fmt.Errorf("unsupported dialect %s", db.Dialect().Name())
	}
	if err != nil {
		return false, fmt.Errorf("looking for %s.%s: %w", table, column, err)
	}
	return n > 0, nil
}
