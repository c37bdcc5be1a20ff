package bunstore

import (
	"context"
	"fmt"
	"strings"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"
)

// The first schema. A migration is frozen once released: later changes go
// into new files named YYYYMMDDHHMMSS_what.go, never into this one. Lengths
// are written out (not taken from core's constants) for the same reason;
// TestColumnLimits checks them against the limits the store cuts text to.

func init() {
	if err := migrations.Register(upInit, downInit); err != nil {
		migrationsErr = err
	}
}

// %ID%, %TIME% and %BOOL% are replaced per dialect (see ddl).
var initTables = []tableDDL{
	{
		name: "security_version",
		columns: []string{
			"id INTEGER NOT NULL PRIMARY KEY",
			"version BIGINT NOT NULL",
		},
	},
	{
		name: "security_settings",
		columns: []string{
			"id INTEGER NOT NULL PRIMARY KEY",
			"auto_block_ip_threshold INTEGER NOT NULL",
			"auto_block_ip_window_hours INTEGER NOT NULL",
			"auto_block_ip_duration_hours INTEGER NOT NULL",
			"auto_block_country_threshold INTEGER NOT NULL",
			"auto_block_country_window_hours INTEGER NOT NULL",
			"auto_block_country_enabled %BOOL% NOT NULL",
			"max_login_attempts INTEGER NOT NULL",
			"lockout_cooloff_minutes INTEGER NOT NULL",
			"attempt_expiry_enabled %BOOL% NOT NULL",
			"alert_on_new_country %BOOL% NOT NULL",
			"alert_on_new_ip %BOOL% NOT NULL",
			"max_countries_per_day INTEGER NOT NULL",
			"login_history_enabled %BOOL% NOT NULL",
			"sync_disposable_domains %BOOL% NOT NULL",
			"sync_bad_bots %BOOL% NOT NULL",
			"last_sync_at %TIME% NULL",
			"notify_on_auto_block %BOOL% NOT NULL",
			"notification_email VARCHAR(254) NOT NULL DEFAULT ''",
			"ip_blocking_enabled %BOOL% NOT NULL",
			"user_agent_blocking_enabled %BOOL% NOT NULL",
			"country_blocking_enabled %BOOL% NOT NULL",
			"country_allow_list_mode %BOOL% NOT NULL",
			"email_blocking_enabled %BOOL% NOT NULL",
			"domain_blocking_enabled %BOOL% NOT NULL",
			"report_only %BOOL% NOT NULL",
			"report_only_country_allow_list %BOOL% NOT NULL",
			"oversize_user_agent VARCHAR(10) NOT NULL",
			"internal_country VARCHAR(2) NOT NULL DEFAULT ''",
			"updated_at %TIME% NOT NULL",
		},
	},
	{
		name: "security_blocked_ip",
		columns: []string{
			"id %ID%",
			"ip_address VARCHAR(50) NOT NULL",
			"reason VARCHAR(2000) NOT NULL DEFAULT ''",
			"is_active %BOOL% NOT NULL DEFAULT TRUE",
			"is_auto_blocked %BOOL% NOT NULL DEFAULT FALSE",
			"block_count BIGINT NOT NULL DEFAULT 0",
			"expires_at %TIME% NULL",
			"country_code VARCHAR(2) NOT NULL DEFAULT ''",
			"report_only %BOOL% NOT NULL DEFAULT FALSE",
			"created_at %TIME% NOT NULL",
			"updated_at %TIME% NOT NULL",
		},
		indexes: []indexDDL{
			{"security_blocked_ip_ip_address_key", true, "ip_address"},
			{"security_blocked_ip_is_active_idx", false, "is_active"},
			{"security_blocked_ip_expires_at_idx", false, "expires_at"},
			{"security_blocked_ip_created_at_idx", false, "created_at DESC"},
		},
	},
	{
		name: "security_whitelisted_ip",
		columns: []string{
			"id %ID%",
			"ip_address VARCHAR(50) NOT NULL",
			"description VARCHAR(255) NOT NULL DEFAULT ''",
			"is_active %BOOL% NOT NULL DEFAULT TRUE",
			"created_by VARCHAR(100) NOT NULL DEFAULT ''",
			"created_at %TIME% NOT NULL",
			"updated_at %TIME% NOT NULL",
		},
		indexes: []indexDDL{
			{"security_whitelisted_ip_ip_address_key", true, "ip_address"},
			{"security_whitelisted_ip_is_active_idx", false, "is_active"},
		},
	},
	{
		name: "security_blocked_country",
		columns: []string{
			"id %ID%",
			"code VARCHAR(2) NOT NULL",
			"name VARCHAR(100) NOT NULL DEFAULT ''",
			"reason VARCHAR(2000) NOT NULL DEFAULT ''",
			"is_active %BOOL% NOT NULL DEFAULT TRUE",
			"is_auto_blocked %BOOL% NOT NULL DEFAULT FALSE",
			"attack_count BIGINT NOT NULL DEFAULT 0",
			"report_only %BOOL% NOT NULL DEFAULT FALSE",
			"created_at %TIME% NOT NULL",
			"updated_at %TIME% NOT NULL",
		},
		indexes: []indexDDL{
			{"security_blocked_country_code_key", true, "code"},
			{"security_blocked_country_is_active_idx", false, "is_active"},
		},
	},
	{
		name: "security_allowed_country",
		columns: []string{
			"id %ID%",
			"code VARCHAR(2) NOT NULL",
			"name VARCHAR(100) NOT NULL DEFAULT ''",
			"is_active %BOOL% NOT NULL DEFAULT TRUE",
			"created_at %TIME% NOT NULL",
			"updated_at %TIME% NOT NULL",
		},
		indexes: []indexDDL{
			{"security_allowed_country_code_key", true, "code"},
			{"security_allowed_country_is_active_idx", false, "is_active"},
		},
	},
	{
		name: "security_blocked_user_agent",
		columns: []string{
			"id %ID%",
			"pattern VARCHAR(500) NOT NULL",
			"block_type VARCHAR(20) NOT NULL DEFAULT 'contains'",
			"category VARCHAR(20) NOT NULL DEFAULT 'bot'",
			"description VARCHAR(255) NOT NULL DEFAULT ''",
			"is_active %BOOL% NOT NULL DEFAULT TRUE",
			"is_auto_synced %BOOL% NOT NULL DEFAULT FALSE",
			"block_count BIGINT NOT NULL DEFAULT 0",
			"report_only %BOOL% NOT NULL DEFAULT FALSE",
			"created_at %TIME% NOT NULL",
			"updated_at %TIME% NOT NULL",
		},
		indexes: []indexDDL{
			{"security_blocked_user_agent_pattern_key", true, "pattern"},
			{"security_blocked_user_agent_is_active_idx", false, "is_active"},
		},
	},
	{
		name: "security_whitelisted_user",
		columns: []string{
			"id %ID%",
			"user_id VARCHAR(150) NOT NULL",
			"exemption_type VARCHAR(20) NOT NULL DEFAULT 'all'",
			"reason VARCHAR(2000) NOT NULL DEFAULT ''",
			"is_active %BOOL% NOT NULL DEFAULT TRUE",
			"created_by VARCHAR(100) NOT NULL DEFAULT ''",
			"expires_at %TIME% NULL",
			"created_at %TIME% NOT NULL",
			"updated_at %TIME% NOT NULL",
		},
		indexes: []indexDDL{
			{"security_whitelisted_user_user_id_key", true, "user_id"},
			{"security_whitelisted_user_is_active_idx", false, "is_active"},
		},
	},
	{
		name: "security_blocked_email",
		columns: []string{
			"id %ID%",
			"email VARCHAR(254) NOT NULL",
			"reason VARCHAR(2000) NOT NULL DEFAULT ''",
			"is_active %BOOL% NOT NULL DEFAULT TRUE",
			"is_auto_blocked %BOOL% NOT NULL DEFAULT FALSE",
			"created_at %TIME% NOT NULL",
			"updated_at %TIME% NOT NULL",
		},
		indexes: []indexDDL{
			{"security_blocked_email_email_key", true, "email"},
			{"security_blocked_email_is_active_idx", false, "is_active"},
		},
	},
	{
		name: "security_blocked_domain",
		columns: []string{
			"id %ID%",
			"domain VARCHAR(253) NOT NULL",
			"domain_type VARCHAR(20) NOT NULL DEFAULT 'disposable'",
			"reason VARCHAR(2000) NOT NULL DEFAULT ''",
			"is_active %BOOL% NOT NULL DEFAULT TRUE",
			"is_auto_synced %BOOL% NOT NULL DEFAULT FALSE",
			"created_at %TIME% NOT NULL",
			"updated_at %TIME% NOT NULL",
		},
		indexes: []indexDDL{
			{"security_blocked_domain_domain_key", true, "domain"},
			{"security_blocked_domain_is_active_idx", false, "is_active"},
		},
	},
	{
		name: "security_rate_limit_rule",
		columns: []string{
			"id %ID%",
			"name VARCHAR(100) NOT NULL",
			"path_pattern VARCHAR(255) NOT NULL",
			"method VARCHAR(10) NOT NULL DEFAULT 'ALL'",
			"rate VARCHAR(64) NOT NULL", // ratelimit.Parse accepts at most 64 bytes
			"burst INTEGER NOT NULL DEFAULT 0",
			"key_by VARCHAR(100) NOT NULL DEFAULT 'ip'",
			"is_active %BOOL% NOT NULL DEFAULT TRUE",
			"block_count BIGINT NOT NULL DEFAULT 0",
			"report_only %BOOL% NOT NULL DEFAULT FALSE",
			"created_at %TIME% NOT NULL",
			"updated_at %TIME% NOT NULL",
		},
		indexes: []indexDDL{
			{"security_rate_limit_rule_path_pattern_method_key", true, "path_pattern, method"},
			{"security_rate_limit_rule_is_active_idx", false, "is_active"},
		},
	},
	{
		name: "security_security_log",
		columns: []string{
			"id %ID%",
			"created_at %TIME% NOT NULL",
			"ip_address VARCHAR(50) NOT NULL",
			"country_code VARCHAR(2) NOT NULL DEFAULT ''",
			"action VARCHAR(30) NOT NULL",
			"severity VARCHAR(10) NOT NULL",
			"path VARCHAR(500) NOT NULL DEFAULT ''",
			"method VARCHAR(10) NOT NULL DEFAULT ''",
			"user_agent VARCHAR(1000) NOT NULL DEFAULT ''",
			"details VARCHAR(2000) NOT NULL DEFAULT ''",
			"user_email VARCHAR(254) NOT NULL DEFAULT ''",
			"rule_id BIGINT NOT NULL DEFAULT 0",
			"count BIGINT NOT NULL DEFAULT 1",
		},
		indexes: []indexDDL{
			{"security_security_log_created_at_idx", false, "created_at DESC"},
			{"security_security_log_ip_address_created_at_idx", false, "ip_address, created_at DESC"},
			{"security_security_log_action_created_at_idx", false, "action, created_at DESC"},
			{"security_security_log_country_code_created_at_idx", false, "country_code, created_at DESC"},
		},
	},
}

func upInit(ctx context.Context, db *bun.DB) error {
	stmts, err := ddl(ctx, db, initTables)
	if err != nil {
		return err
	}
	switch db.Dialect().Name() {
	case dialect.MySQL:
		stmts = append(stmts, "INSERT IGNORE INTO security_version (id, version) VALUES (1, 0)")
	default:
		stmts = append(stmts, "INSERT INTO security_version (id, version) VALUES (1, 0) ON CONFLICT (id) DO NOTHING")
	}
	return execDDL(ctx, db, stmts)
}

func downInit(ctx context.Context, db *bun.DB) error {
	var stmts []string
	for i := len(initTables) - 1; i >= 0; i-- {
		stmts = append(stmts, "DROP TABLE IF EXISTS "+initTables[i].name)
	}
	return execDDL(ctx, db, stmts)
}

// tableDDL is one CREATE TABLE with its indexes.
type tableDDL struct {
	name    string
	columns []string
	indexes []indexDDL
}

type indexDDL struct {
	name   string
	unique bool
	cols   string
}

// ddl renders tables for db's dialect. Every statement is idempotent (IF NOT
// EXISTS), so a migration interrupted on MySQL, whose DDL is not
// transactional, can simply be run again.
func ddl(ctx context.Context, db *bun.DB, tables []tableDDL) ([]string, error) {
	name := db.Dialect().Name()
	var r *strings.Replacer
	suffix := ""
	switch name {
	case dialect.SQLite:
		r = strings.NewReplacer("%ID%", "INTEGER PRIMARY KEY AUTOINCREMENT", "%TIME%", "TIMESTAMP", "%BOOL%", "BOOLEAN")
	case dialect.PG:
		r = strings.NewReplacer("%ID%", "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY", "%TIME%", "TIMESTAMPTZ", "%BOOL%", "BOOLEAN")
	case dialect.MySQL:
		r = strings.NewReplacer("%ID%", "BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY", "%TIME%", "DATETIME(6)", "%BOOL%", "BOOLEAN")
		// A binary, no-pad collation makes keys compare as the other
		// databases and Go do: "BadBot" and "badbot", "bot" and "bot "
		// are different patterns.
		var version string
		if err := db.NewRaw("SELECT VERSION()").Scan(ctx, &version); err != nil {
			return nil, err
		}
		collation := "utf8mb4_0900_bin" // MySQL 8
		if strings.Contains(strings.ToLower(version), "mariadb") {
			collation = "utf8mb4_nopad_bin"
		}
		suffix = " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=" + collation
	default:
		return nil, fmt.Errorf("unsupported dialect %s", name)
	}
	var out []string
	for _, t := range tables {
		var b strings.Builder
		b.WriteString("CREATE TABLE IF NOT EXISTS " + t.name + " (\n\t")
		b.WriteString(r.Replace(strings.Join(t.columns, ",\n\t")))
		if name == dialect.MySQL { // MySQL has no CREATE INDEX IF NOT EXISTS
			for _, ix := range t.indexes {
				kind := "KEY"
				if ix.unique {
					kind = "UNIQUE KEY"
				}
				fmt.Fprintf(&b, ",\n\t%s %s (%s)", kind, ix.name, ix.cols)
			}
		}
		b.WriteString("\n)" + suffix)
		out = append(out, b.String())
		if name != dialect.MySQL {
			for _, ix := range t.indexes {
				kind := "INDEX"
				if ix.unique {
					kind = "UNIQUE INDEX"
				}
				out = append(out, fmt.Sprintf("CREATE %s IF NOT EXISTS %s ON %s (%s)", kind, ix.name, t.name, ix.cols))
			}
		}
	}
	return out, nil
}

// execDDL runs statements in one transaction where DDL is transactional
// (SQLite, PostgreSQL) and one by one on MySQL.
func execDDL(ctx context.Context, db *bun.DB, stmts []string) error {
	run := func(ctx context.Context, c bun.IConn) error {
		for _, s := range stmts {
			if _, err := c.ExecContext(ctx, s); err != nil {
				return fmt.Errorf("%s: %w", firstLine(s), err)
			}
		}
		return nil
	}
	if db.Dialect().Name() == dialect.MySQL {
		return run(ctx, db)
	}
	return db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error { return run(ctx, tx) })
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return strings.TrimSuffix(l, " (")
}
