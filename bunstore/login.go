package bunstore

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/uptrace/bun"

	"github.com/wardenkit/warden/core"
	"github.com/wardenkit/warden/core/rule"
	"github.com/wardenkit/warden/internal/textutil"
)

// lockoutRow is one row of security_lockout.
type lockoutRow struct {
	bun.BaseModel `bun:"table:security_lockout"`

	ID          int64     `bun:"id,pk,autoincrement"`
	Username    string    `bun:"username"`
	IPAddress   string    `bun:"ip_address"`
	Scope       string    `bun:"scope"`
	Failures    int       `bun:"failures"`
	Limit       int       `bun:"attempt_limit"`
	LockedAt    time.Time `bun:"locked_at,notnull"`
	LockedUntil time.Time `bun:"locked_until,nullzero"`
	ReleasedAt  time.Time `bun:"released_at,nullzero"`
	ReleasedBy  string    `bun:"released_by"`
}

func (r *lockoutRow) toRecord() core.LockoutRecord {
	return core.LockoutRecord{ID: r.ID, Username: r.Username, IP: r.IPAddress, Scope: core.LockoutKey(r.Scope),
		Failures: r.Failures, Limit: r.Limit, LockedAt: utc(r.LockedAt), Until: utc(r.LockedUntil),
		ReleasedAt: utc(r.ReleasedAt), ReleasedBy: r.ReleasedBy}
}

// loginRow is one row of security_login_history.
type loginRow struct {
	bun.BaseModel `bun:"table:security_login_history"`

	ID               int64     `bun:"id,pk,autoincrement"`
	CreatedAt        time.Time `bun:"created_at,notnull"`
	UserID           string    `bun:"user_id"`
	IPAddress        string    `bun:"ip_address"`
	CountryCode      string    `bun:"country_code"`
	UserAgent        string    `bun:"user_agent"`
	DeviceType       string    `bun:"device_type"`
	Browser          string    `bun:"browser"`
	OS               string    `bun:"os"`
	IsSuspicious     bool      `bun:"is_suspicious"`
	SuspiciousReason string    `bun:"suspicious_reason"`
	SessionKey       string    `bun:"session_key"`
}

func (r *loginRow) toRecord() core.LoginRecord {
	return core.LoginRecord{ID: r.ID, CreatedAt: utc(r.CreatedAt), UserID: r.UserID, IP: r.IPAddress,
		CountryCode: r.CountryCode, UserAgent: r.UserAgent, Device: r.DeviceType, Browser: r.Browser, OS: r.OS,
		Suspicious: r.IsSuspicious, Reasons: r.SuspiciousReason, SessionKey: r.SessionKey}
}

// queryLimit is a query's row limit: 0 (or less) means 100, at most 10,000.
func queryLimit(n int) int64 {
	if n <= 0 {
		return 100
	}
	return int64(min(n, 10_000))
}

// AppendLockout validates and stores a lockout record, in UTC, and returns it
// with its ID. It does not change the version.
func (s *Store) AppendLockout(ctx context.Context, r core.LockoutRecord) (core.LockoutRecord, error) {
	if err := r.Validate(); err != nil {
		return core.LockoutRecord{}, fmt.Errorf("bunstore: AppendLockout: %w", err)
	}
	row := lockoutRow{Username: r.Username, IPAddress: r.IP, Scope: string(r.Scope), Failures: r.Failures,
		Limit: r.Limit, LockedAt: dbTime(r.LockedAt), LockedUntil: dbTime(r.Until), ReleasedAt: dbTime(r.ReleasedAt),
		ReleasedBy: r.ReleasedBy}
	s.cutStrings(&row)
	if _, err := s.db.NewInsert().Model(&row).Exec(ctx); err != nil { // sets row.ID
		return core.LockoutRecord{}, s.errf("AppendLockout", err)
	}
	return row.toRecord(), nil
}

// Lockouts returns the lockout records that match q, newest (highest ID)
// first.
func (s *Store) Lockouts(ctx context.Context, q core.LockoutQuery) ([]core.LockoutRecord, error) {
	var rows []lockoutRow
	sel := s.rdb.NewSelect().Model(&rows).OrderExpr("id DESC").Limit(queryLimit(q.Limit))
	if q.Username != "" {
		sel = sel.Where("username = ?", q.Username)
	}
	if q.IP != "" {
		sel = sel.Where("ip_address = ?", q.IP)
	}
	if q.Unreleased {
		sel = sel.Where("released_at IS NULL")
	}
	if q.BeforeID > 0 {
		sel = sel.Where("id < ?", q.BeforeID)
	}
	if !q.ReleasedSince.IsZero() {
		sel = sel.Where("released_at >= ?", dbTime(q.ReleasedSince))
	}
	if err := sel.Scan(ctx); err != nil {
		return nil, s.errf("Lockouts", err)
	}
	out := make([]core.LockoutRecord, len(rows))
	for i := range rows {
		out[i] = rows[i].toRecord()
	}
	return out, nil
}

// releaseChunk bounds the IDs of one UPDATE in ReleaseLockouts.
const releaseChunk = 1000

// ReleaseLockouts marks the records with these IDs that are not released
// yet as released at the given time by the given person, in one
// transaction, and reports how many it changed. Unknown IDs are ignored.
func (s *Store) ReleaseLockouts(ctx context.Context, ids []int64, at time.Time, by string) (int64, error) {
	if at.IsZero() {
		return 0, fmt.Errorf("bunstore: ReleaseLockouts: zero time: %w", core.ErrInvalid)
	}
	if c := textutil.Clean(by, rule.MaxCreatedByLen); c != by {
		return 0, fmt.Errorf("bunstore: ReleaseLockouts: released_by %q: not clean text of at most %d characters: %w",
			textutil.Truncate(by, 100), rule.MaxCreatedByLen, core.ErrInvalid)
	}
	if len(ids) == 0 {
		return 0, nil
	}
	ids = slices.Clone(ids)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	var n int64
	err := s.write(ctx, func(ctx context.Context, tx bun.Tx) error {
		for chunk := range slices.Chunk(ids, releaseChunk) {
			res, err := tx.NewUpdate().Model((*lockoutRow)(nil)).
				Set("released_at = ?", dbTime(at)).Set("released_by = ?", by).
				Where("id IN (?)", bun.List(chunk)).Where("released_at IS NULL").Exec(ctx)
			if err != nil {
				return err
			}
			m, err := res.RowsAffected()
			if err != nil {
				return err
			}
			n += m
		}
		if n > 0 {
			return bumpVersion(ctx, tx)
		}
		return nil
	})
	if err != nil {
		return 0, s.errf("ReleaseLockouts", err)
	}
	return n, nil
}

// DeleteLockoutsBefore deletes records locked before the given time, oldest
// first: at most batch of them with one statement, or all of them when
// batch <= 0. It reports how many it deleted.
func (s *Store) DeleteLockoutsBefore(ctx context.Context, before time.Time, batch int) (int64, error) {
	n, err := s.deleteBefore(ctx, "security_lockout", "locked_at", before, batch)
	if err != nil {
		return n, s.errf("DeleteLockoutsBefore", err)
	}
	return n, nil
}

// AppendLogin validates and stores a login record, in UTC, and returns it
// with its ID.
func (s *Store) AppendLogin(ctx context.Context, r core.LoginRecord) (core.LoginRecord, error) {
	if err := r.Validate(); err != nil {
		return core.LoginRecord{}, fmt.Errorf("bunstore: AppendLogin: %w", err)
	}
	row := loginRow{CreatedAt: dbTime(r.CreatedAt), UserID: r.UserID, IPAddress: r.IP, CountryCode: r.CountryCode,
		UserAgent: r.UserAgent, DeviceType: r.Device, Browser: r.Browser, OS: r.OS, IsSuspicious: r.Suspicious,
		SuspiciousReason: r.Reasons, SessionKey: r.SessionKey}
	s.cutStrings(&row)
	if _, err := s.db.NewInsert().Model(&row).Exec(ctx); err != nil { // sets row.ID
		return core.LoginRecord{}, s.errf("AppendLogin", err)
	}
	return row.toRecord(), nil
}

// Logins returns the login records that match q, newest (created_at, then
// ID) first.
func (s *Store) Logins(ctx context.Context, q core.LoginQuery) ([]core.LoginRecord, error) {
	var rows []loginRow
	sel := s.rdb.NewSelect().Model(&rows).OrderExpr("created_at DESC, id DESC").Limit(queryLimit(q.Limit))
	if q.UserID != "" {
		sel = sel.Where("user_id = ?", q.UserID)
	}
	if q.IP != "" {
		sel = sel.Where("ip_address = ?", q.IP)
	}
	if !q.Since.IsZero() {
		sel = sel.Where("created_at >= ?", dbTime(q.Since))
	}
	if !q.Until.IsZero() {
		sel = sel.Where("created_at < ?", dbTime(q.Until))
	}
	if q.BeforeID > 0 {
		sel = sel.Where("id < ?", q.BeforeID)
	}
	if err := sel.Scan(ctx); err != nil {
		return nil, s.errf("Logins", err)
	}
	out := make([]core.LoginRecord, len(rows))
	for i := range rows {
		out[i] = rows[i].toRecord()
	}
	return out, nil
}

// LoginTraits summarises the user's newest recent logins, and the countries
// of the user's logins created at or after since (at most
// core.MaxLoginTraitsWindowRows of them), with two indexed queries.
func (s *Store) LoginTraits(ctx context.Context, userID string, recent int, since time.Time) (core.LoginTraits, error) {
	var tr core.LoginTraits
	add := func(list *[]string, v string) {
		if v != "" && !slices.Contains(*list, v) {
			*list = append(*list, v)
		}
	}
	if recent > 0 {
		var rows []loginRow
		if err := s.rdb.NewSelect().Model(&rows).Column("ip_address", "country_code", "browser", "os").
			Where("user_id = ?", userID).OrderExpr("created_at DESC, id DESC").Limit(int64(recent)).
			Scan(ctx); err != nil {
			return core.LoginTraits{}, s.errf("LoginTraits", err)
		}
		tr.Logins = len(rows)
		for i := range rows {
			r := rows[i].toRecord()
			add(&tr.Countries, r.CountryCode)
			add(&tr.IPs, r.IP)
			add(&tr.Devices, r.DeviceFamily())
		}
	}
	var countries []string
	sel := s.rdb.NewSelect().Model((*loginRow)(nil)).Column("country_code").Where("user_id = ?", userID)
	if !since.IsZero() {
		sel = sel.Where("created_at >= ?", dbTime(since))
	}
	if err := sel.OrderExpr("created_at DESC, id DESC").Limit(core.MaxLoginTraitsWindowRows).
		Scan(ctx, &countries); err != nil {
		return core.LoginTraits{}, s.errf("LoginTraits", err)
	}
	for _, c := range countries {
		add(&tr.CountriesSince, c)
	}
	return tr, nil
}

// DeleteLoginsBefore deletes login records created before the given time,
// oldest first: at most batch of them with one statement, or all of them
// when batch <= 0. It reports how many it deleted.
func (s *Store) DeleteLoginsBefore(ctx context.Context, before time.Time, batch int) (int64, error) {
	n, err := s.deleteBefore(ctx, "security_login_history", "created_at", before, batch)
	if err != nil {
		return n, s.errf("DeleteLoginsBefore", err)
	}
	return n, nil
}
