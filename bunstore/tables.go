package bunstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"

	"github.com/wardenkit/warden/core"
	"github.com/wardenkit/warden/core/rule"
	"github.com/wardenkit/warden/internal/textutil"
)

// The rule tables. Each Put normalises its row (rule.Normalize) and upserts
// it on its key; see core.Table for the contract.

func (s *Store) BlockedIPs() core.Table[rule.BlockedIP]               { return s.blockedIPs }
func (s *Store) WhitelistedIPs() core.Table[rule.WhitelistedIP]       { return s.whitelistedIPs }
func (s *Store) BlockedCountries() core.Table[rule.BlockedCountry]    { return s.blockedCountries }
func (s *Store) AllowedCountries() core.Table[rule.AllowedCountry]    { return s.allowedCountries }
func (s *Store) BlockedUserAgents() core.Table[rule.BlockedUserAgent] { return s.blockedUserAgents }
func (s *Store) WhitelistedUsers() core.Table[rule.WhitelistedUser]   { return s.whitelistedUsers }
func (s *Store) BlockedEmails() core.Table[rule.BlockedEmail]         { return s.blockedEmails }
func (s *Store) BlockedDomains() core.Table[rule.BlockedDomain]       { return s.blockedDomains }
func (s *Store) RateLimitRules() core.Table[rule.RateLimitRule]       { return s.rateLimitRules }

func (s *Store) initTables() {
	one := func(k string) ([]any, bool) { return []any{k}, true }
	s.blockedIPs = newTable[rule.BlockedIP, blockedIPRow](s, "BlockedIPs", one, "ip_address")
	s.whitelistedIPs = newTable[rule.WhitelistedIP, whitelistedIPRow](s, "WhitelistedIPs", one, "ip_address")
	s.blockedCountries = newTable[rule.BlockedCountry, blockedCountryRow](s, "BlockedCountries", one, "code")
	s.allowedCountries = newTable[rule.AllowedCountry, allowedCountryRow](s, "AllowedCountries", one, "code")
	s.blockedUserAgents = newTable[rule.BlockedUserAgent, blockedUserAgentRow](s, "BlockedUserAgents", one, "pattern")
	s.whitelistedUsers = newTable[rule.WhitelistedUser, whitelistedUserRow](s, "WhitelistedUsers", one, "user_id")
	s.blockedEmails = newTable[rule.BlockedEmail, blockedEmailRow](s, "BlockedEmails", one, "email")
	s.blockedDomains = newTable[rule.BlockedDomain, blockedDomainRow](s, "BlockedDomains", one, "domain")
	// RateLimitRule.Key is "METHOD /path".
	s.rateLimitRules = newTable[rule.RateLimitRule, rateLimitRuleRow](s, "RateLimitRules",
		func(k string) ([]any, bool) {
			method, path, ok := strings.Cut(k, " ")
			return []any{method, path}, ok
		}, "method", "path_pattern")
}

// table is the core.Table of one rule kind T stored as rows R.
type table[T rule.Rule, R any, P row[T, R]] struct {
	s       *Store
	name    string                         // the Store method that returns it, for errors
	keyOf   func(key string) ([]any, bool) // key -> values of the key columns
	keys    []string                       // key columns
	keyExpr string                         // "col = ? AND col = ?"
}

func newTable[T rule.Rule, R any, P row[T, R]](s *Store, name string, keyOf func(string) ([]any, bool), keys ...string) *table[T, R, P] {
	conds := make([]string, len(keys))
	for i, k := range keys {
		conds[i] = k + " = ?"
	}
	return &table[T, R, P]{s: s, name: name, keyOf: keyOf, keys: keys, keyExpr: strings.Join(conds, " AND ")}
}

var _ core.ActiveCounter = (*table[rule.BlockedIP, blockedIPRow, *blockedIPRow])(nil)

func (t *table[T, R, P]) List(ctx context.Context, q core.Query) ([]T, error) {
	var rows []R
	sel := t.s.rdb.NewSelect().Model(&rows).OrderExpr("id ASC")
	if q.ActiveOnly {
		sel = sel.Where("is_active = ?", true)
	}
	if q.AfterID > 0 {
		sel = sel.Where("id > ?", q.AfterID)
	}
	if q.Limit > 0 {
		sel = sel.Limit(int64(q.Limit))
	}
	if err := sel.Scan(ctx); err != nil {
		return nil, t.s.errf(t.name+".List", err)
	}
	out := make([]T, len(rows))
	for i := range rows {
		out[i] = P(&rows[i]).toRule()
	}
	return out, nil
}

func (t *table[T, R, P]) Get(ctx context.Context, key string) (T, error) {
	var zero T
	vals, ok := t.keyOf(key)
	if !ok {
		return zero, fmt.Errorf("bunstore: %s.Get %q: %w", t.name, key, core.ErrNotFound)
	}
	var r R
	err := t.s.rdb.NewSelect().Model(P(&r)).Where(t.keyExpr, vals...).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return zero, fmt.Errorf("bunstore: %s.Get %q: %w", t.name, key, core.ErrNotFound)
	}
	if err != nil {
		return zero, t.s.errf(fmt.Sprintf("%s.Get %q", t.name, key), err)
	}
	return P(&r).toRule(), nil
}

// Put normalises v and upserts it on its key in one statement, keeping the
// ID and created_at of an existing row (a disabled row is updated and so
// reactivated when v is active), and bumps the version in the same
// transaction. It returns the row as stored.
func (t *table[T, R, P]) Put(ctx context.Context, v T) (T, error) {
	var zero T
	v, err := rule.Normalize(v)
	if err != nil {
		return zero, fmt.Errorf("bunstore: %s.Put: %w", t.name, err)
	}
	var r R
	p := P(&r)
	p.fromRule(v)
	now := t.s.now()
	p.rowMeta().CreatedAt, p.rowMeta().UpdatedAt = now, now
	t.s.cutStrings(p)
	key := p.toRule().Key()
	vals, _ := t.keyOf(key)
	err = t.s.write(ctx, func(ctx context.Context, tx bun.Tx) error {
		if err := bumpVersion(ctx, tx); err != nil {
			return err
		}
		q := t.s.upsert(tx.NewInsert().Model(p), t.keys, p)
		if t.s.dialect == dialect.MySQL { // no RETURNING with ON DUPLICATE KEY
			if _, err := q.Exec(ctx); err != nil {
				return err
			}
			return tx.NewSelect().Model(p).Where(t.keyExpr, vals...).Scan(ctx)
		}
		_, err := q.Returning("*").Exec(ctx)
		return err
	})
	if err != nil {
		return zero, t.s.errf(fmt.Sprintf("%s.Put %q", t.name, key), err)
	}
	return p.toRule(), nil
}

// CountActive counts the active rows and, where the kind has an expiry,
// those among them whose expiry is before now, with one SELECT COUNT(*).
func (t *table[T, R, P]) CountActive(ctx context.Context, now time.Time) (active, expired int, err error) {
	sel := t.s.rdb.NewSelect().Model((*R)(nil)).ColumnExpr("COUNT(*)").Where("is_active = ?", true)
	if t.s.db.Table(reflect.TypeFor[R]()).HasField("expires_at") {
		sel = sel.ColumnExpr("COALESCE(SUM(CASE WHEN expires_at < ? THEN 1 ELSE 0 END), 0)", dbTime(now))
	} else {
		sel = sel.ColumnExpr("0")
	}
	err = sel.Scan(ctx, &active, &expired)
	if err != nil {
		return 0, 0, t.s.errf(t.name+".CountActive", err)
	}
	return active, expired, nil
}

var errNoRow = errors.New("no row")

func (t *table[T, R, P]) Delete(ctx context.Context, key string) error {
	vals, ok := t.keyOf(key)
	if !ok {
		return fmt.Errorf("bunstore: %s.Delete %q: %w", t.name, key, core.ErrNotFound)
	}
	err := t.s.write(ctx, func(ctx context.Context, tx bun.Tx) error {
		if err := bumpVersion(ctx, tx); err != nil {
			return err
		}
		res, err := tx.NewDelete().Model((*R)(nil)).Where(t.keyExpr, vals...).Exec(ctx)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return errNoRow // rolls the version back
		}
		return nil
	})
	if errors.Is(err, errNoRow) {
		return fmt.Errorf("bunstore: %s.Delete %q: %w", t.name, key, core.ErrNotFound)
	}
	if err != nil {
		return t.s.errf(fmt.Sprintf("%s.Delete %q", t.name, key), err)
	}
	return nil
}

// upsert turns an INSERT of model into an upsert on the key columns that
// overwrites every column but id, created_at, the key and the hit counters
// (which only AddHits changes, so a re-Put never loses counted hits).
func (s *Store) upsert(q *bun.InsertQuery, keys []string, model any) *bun.InsertQuery {
	tbl := s.db.Table(reflect.TypeOf(model).Elem())
	if s.dialect == dialect.MySQL {
		q = q.On("DUPLICATE KEY UPDATE")
	} else {
		q = q.On("CONFLICT (" + strings.Join(keys, ", ") + ") DO UPDATE")
	}
	for _, f := range tbl.Fields {
		if f.IsPK || f.Name == "created_at" || f.Name == "hit_count" || f.Name == "block_count" || contains(keys, f.Name) {
			continue
		}
		switch {
		case f.Name == "auto_blocks": // never lowered (rule.KeepCounters)
			q = s.setMax(q, tbl.Alias, f.Name)
		case s.dialect == dialect.MySQL:
			q = q.Set("? = VALUES(?)", bun.Ident(f.Name), bun.Ident(f.Name))
		default:
			q = q.Set("? = EXCLUDED.?", bun.Ident(f.Name), bun.Ident(f.Name))
		}
	}
	return q
}

// setMax makes an upsert keep the larger of the stored and the new value of
// col; alias is the table's alias in the statement.
func (s *Store) setMax(q *bun.InsertQuery, alias, col string) *bun.InsertQuery {
	c, t := bun.Ident(col), bun.Ident(alias)
	switch s.dialect {
	case dialect.MySQL:
		return q.Set("? = GREATEST(?, VALUES(?))", c, c, c)
	case dialect.SQLite:
		return q.Set("? = max(?.?, EXCLUDED.?)", c, t, c, c)
	default:
		return q.Set("? = GREATEST(?.?, EXCLUDED.?)", c, t, c, c)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// cutStrings makes every string column of the row pointed to by model valid
// UTF-8 without NUL bytes and no longer than its column (columnLimits), cut
// on a rune boundary: an over-long value is shortened, never refused.
func (s *Store) cutStrings(model any) {
	v := reflect.ValueOf(model).Elem()
	tbl := s.db.Table(v.Type())
	limits := columnLimits[tbl.Name]
	for _, f := range tbl.Fields {
		fv := f.Value(v)
		if fv.Kind() != reflect.String {
			continue
		}
		if c := textutil.Clean(fv.String(), limits[f.Name]); c != fv.String() {
			fv.SetString(c)
		}
	}
}
