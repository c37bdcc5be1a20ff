package bunstore

import (
	"context"

	"github.com/uptrace/bun"
)

// Auto-blocking: how often the AutoBlocker blocked a network (its next block
// lasts twice as long), and the settings it reads: weights per action, the
// cap of the doubling, dry-run mode, and the retention the scheduler applies.
// Frozen like every released migration; see 20260101000001_init.go.

func init() {
	if err := migrations.Register(upAutoBlock, downAutoBlock); err != nil {
		migrationsErr = err
	}
}

// autoBlockColumns are the columns this migration adds, by table.
var autoBlockColumns = []struct{ table, column, def string }{
	{"security_blocked_ip", "auto_blocks", "BIGINT NOT NULL DEFAULT 0"},
	{"security_settings", "auto_block_weights", "VARCHAR(500) NOT NULL DEFAULT 'LOCKOUT=1,RATE_LIMIT=1,USER_AGENT_BLOCK=1'"},
	{"security_settings", "auto_block_max_duration_hours", "INTEGER NOT NULL DEFAULT 720"},
	{"security_settings", "auto_block_dry_run", "BOOLEAN NOT NULL DEFAULT FALSE"},
	{"security_settings", "retention_days", "INTEGER NOT NULL DEFAULT 90"},
}

func upAutoBlock(ctx context.Context, db *bun.DB) error {
	var stmts []string
	for _, c := range autoBlockColumns {
		ok, err := hasColumn(ctx, db, c.table, c.column)
		if err != nil {
			return err
		}
		if !ok { // asked first: MySQL DDL is not transactional, so the step may run again
			stmts = append(stmts, "ALTER TABLE "+c.table+" ADD COLUMN "+c.column+" "+c.def)
		}
	}
	if err := execDDL(ctx, db, stmts); err != nil {
		return err
	}
	// Stored settings stay valid: the cap is at least the block duration and
	// events are kept at least as long as the longest window (settings that
	// fail validation would be replaced by the defaults).
	for _, q := range []string{
		"UPDATE security_settings SET auto_block_max_duration_hours = auto_block_ip_duration_hours WHERE auto_block_ip_duration_hours > auto_block_max_duration_hours",
		"UPDATE security_settings SET retention_days = (auto_block_ip_window_hours + 23) / 24 WHERE auto_block_ip_window_hours > retention_days * 24",
		"UPDATE security_settings SET retention_days = (auto_block_country_window_hours + 23) / 24 WHERE auto_block_country_window_hours > retention_days * 24",
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	return nil
}

func downAutoBlock(ctx context.Context, db *bun.DB) error {
	var stmts []string
	for _, c := range autoBlockColumns {
		ok, err := hasColumn(ctx, db, c.table, c.column)
		if err != nil {
			return err
		}
		if ok {
			stmts = append(stmts, "ALTER TABLE "+c.table+" DROP COLUMN "+c.column)
		}
	}
	return execDDL(ctx, db, stmts)
}
