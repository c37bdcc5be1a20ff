package bunstore

import (
	"context"

	"github.com/uptrace/bun"
)

// Report-only e-mail and domain rules: a report_only column on the two
// tables Engine.CheckEmail reads, as the other rule tables have. Frozen like
// every released migration; see 20260101000001_init.go.

func init() {
	if err := migrations.Register(upEmailReportOnly, downEmailReportOnly); err != nil {
		migrationsErr = err
	}
}

// reportOnlyTables are the tables that get the report_only column.
var reportOnlyTables = []string{"security_blocked_email", "security_blocked_domain"}

func upEmailReportOnly(ctx context.Context, db *bun.DB) error {
	var stmts []string
	for _, table := range reportOnlyTables {
		ok, err := hasColumn(ctx, db, table, "report_only")
		if err != nil {
			return err
		}
		if !ok { // asked first: MySQL DDL is not transactional, so the step may run again
			stmts = append(stmts, "ALTER TABLE "+table+" ADD COLUMN report_only BOOLEAN NOT NULL DEFAULT FALSE")
		}
	}
	return execDDL(ctx, db, stmts)
}

func downEmailReportOnly(ctx context.Context, db *bun.DB) error {
	var stmts []string
	for _, table := range reportOnlyTables {
		ok, err := hasColumn(ctx, db, table, "report_only")
		if err != nil {
			return err
		}
		if ok {
			stmts = append(stmts, "ALTER TABLE "+table+" DROP COLUMN report_only")
		}
	}
	return execDDL(ctx, db, stmts)
}
