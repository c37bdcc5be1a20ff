package bunstore

import (
	"context"

	"github.com/uptrace/bun"
)

// Lockout records and login history (login protection). Frozen like every
// released migration; see 20260101000001_init.go.

func init() {
	if err := migrations.Register(upLogin, downLogin); err != nil {
		migrationsErr = err
	}
}

var loginTables = []tableDDL{
	{
		name: "security_lockout",
		columns: []string{
			"id %ID%",
			"username VARCHAR(150) NOT NULL DEFAULT ''",
			"ip_address VARCHAR(50) NOT NULL DEFAULT ''",
			"scope VARCHAR(10) NOT NULL",
			"failures INTEGER NOT NULL DEFAULT 0",
			"attempt_limit INTEGER NOT NULL DEFAULT 0", // LIMIT and UNTIL are reserved words in MySQL
			"locked_at %TIME% NOT NULL",
			"locked_until %TIME% NULL",
			"released_at %TIME% NULL",
			"released_by VARCHAR(100) NOT NULL DEFAULT ''",
		},
		indexes: []indexDDL{
			{"security_lockout_username_idx", false, "username"},
			{"security_lockout_ip_address_idx", false, "ip_address"},
			{"security_lockout_locked_at_idx", false, "locked_at"},
			{"security_lockout_released_at_idx", false, "released_at"},
		},
	},
	{
		name: "security_login_history",
		columns: []string{
			"id %ID%",
			"created_at %TIME% NOT NULL",
			"user_id VARCHAR(150) NOT NULL",
			"ip_address VARCHAR(50) NOT NULL DEFAULT ''",
			"country_code VARCHAR(2) NOT NULL DEFAULT ''",
			"user_agent VARCHAR(1000) NOT NULL DEFAULT ''",
			"device_type VARCHAR(50) NOT NULL DEFAULT ''",
			"browser VARCHAR(100) NOT NULL DEFAULT ''",
			"os VARCHAR(100) NOT NULL DEFAULT ''",
			"is_suspicious %BOOL% NOT NULL DEFAULT FALSE",
			"suspicious_reason VARCHAR(255) NOT NULL DEFAULT ''",
			"session_key VARCHAR(255) NOT NULL DEFAULT ''",
		},
		indexes: []indexDDL{
			{"security_login_history_user_id_created_at_idx", false, "user_id, created_at DESC"},
			{"security_login_history_ip_address_created_at_idx", false, "ip_address, created_at DESC"},
			{"security_login_history_created_at_idx", false, "created_at DESC"},
		},
	},
}

func upLogin(ctx context.Context, db *bun.DB) error {
	stmts, err := ddl(ctx, db, loginTables)
	if err != nil {
		return err
	}
	return execDDL(ctx, db, stmts)
}

func downLogin(ctx context.Context, db *bun.DB) error {
	return execDDL(ctx, db, []string{"DROP TABLE IF EXISTS security_login_history", "DROP TABLE IF EXISTS security_lockout"})
}
