package bunstore

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"
	"github.com/uptrace/bun/dialect/pgdialect"

	"github.com/wardenkit/warden/core"
	"github.com/wardenkit/warden/core/rule"
)

// The storage half of list sync (package feeds implements the policy): the
// validators of each source URL, the sync_disabled marks, the all-or-nothing
// apply of a list and last_sync_at on its own. The contracts are those of
// feeds.Store; core/storetest.RunListSync checks them.

// feedStateRow is one row of security_feed_state.
type feedStateRow struct {
	bun.BaseModel `bun:"table:security_feed_state"`

	ID           int64     `bun:"id,pk,autoincrement"`
	URLHash      string    `bun:"url_hash"`
	URL          string    `bun:"url"`
	ETag         string    `bun:"etag"`
	LastModified string    `bun:"last_modified"`
	UpdatedAt    time.Time `bun:"updated_at,notnull"`
}

// urlKey is the key of a URL's row: the hex SHA-256 of the whole URL, so
// that a URL of any length has a short unique key and no token in it is
// stored.
func urlKey(u string) string {
	sum := sha256.Sum256([]byte(u))
	return hex.EncodeToString(sum[:])
}

// displayURL is u without its password, or "" when it does not parse.
func displayURL(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return ""
	}
	return p.Redacted()
}

// FeedState returns the validators stored for the source URL u; a URL never
// stored returns two empty strings and a nil error.
func (s *Store) FeedState(ctx context.Context, u string) (etag, lastModified string, err error) {
	var r feedStateRow
	err = s.rdb.NewSelect().Model(&r).Where("url_hash = ?", urlKey(u)).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return "", "", nil
	}
	if err != nil {
		return "", "", s.errf("FeedState", err)
	}
	return r.ETag, r.LastModified, nil
}

// PutFeedState stores the validators of the source URL u, replacing earlier
// ones. It does not bump the version: validators are not part of the rules.
func (s *Store) PutFeedState(ctx context.Context, u, etag, lastModified string) error {
	r := feedStateRow{URLHash: urlKey(u), URL: displayURL(u), ETag: etag, LastModified: lastModified, UpdatedAt: s.now()}
	s.cutStrings(&r)
	err := s.write(ctx, func(ctx context.Context, tx bun.Tx) error {
		_, err := s.upsert(tx.NewInsert().Model(&r), []string{"url_hash"}, &r).Exec(ctx)
		return err
	})
	if err != nil {
		return s.errf("PutFeedState", err)
	}
	return nil
}

// SetLastSyncAt sets Settings.LastSyncAt and nothing else (UpdatedAt
// included), creating the settings row with the defaults when there is none,
// and bumps the version, in one transaction.
func (s *Store) SetLastSyncAt(ctx context.Context, at time.Time) error {
	def := core.DefaultSettings()
	def.UpdatedAt = s.now()
	r := settingsToRow(def)
	s.cutStrings(&r)
	err := s.write(ctx, func(ctx context.Context, tx bun.Tx) error {
		if err := bumpVersion(ctx, tx); err != nil {
			return err
		}
		if _, err := s.insertIfAbsent(tx.NewInsert().Model(&r), "id").Exec(ctx); err != nil {
			return err
		}
		_, err := tx.NewUpdate().Table("security_settings").Set("last_sync_at = ?", dbTime(at)).Where("id = 1").Exec(ctx)
		return err
	})
	if err != nil {
		return s.errf("SetLastSyncAt", err)
	}
	return nil
}

// insertIfAbsent makes an INSERT skip the rows whose key exists; the
// statement's RowsAffected counts the rows it inserted.
func (s *Store) insertIfAbsent(q *bun.InsertQuery, key string) *bun.InsertQuery {
	if s.dialect == dialect.MySQL { // INSERT IGNORE would turn other errors into warnings too
		return q.On("DUPLICATE KEY UPDATE").Set("id = id").Returning("NULL")
	}
	return q.On("CONFLICT (" + key + ") DO NOTHING").Returning("NULL")
}

// SyncDisabledDomains returns the domains of the rows ApplyDomainSync
// deactivated that nobody has written since.
func (s *Store) SyncDisabledDomains(ctx context.Context) ([]string, error) {
	return s.syncDisabled(ctx, "SyncDisabledDomains", domainSync)
}

// SyncDisabledUserAgents returns the patterns of the rows
// ApplyUserAgentSync deactivated that nobody has written since.
func (s *Store) SyncDisabledUserAgents(ctx context.Context) ([]string, error) {
	return s.syncDisabled(ctx, "SyncDisabledUserAgents", userAgentSync)
}

// syncTable names a table list sync writes and its key column.
type syncTable struct{ table, key string }

var (
	domainSync    = syncTable{"security_blocked_domain", "domain"}
	userAgentSync = syncTable{"security_blocked_user_agent", "pattern"}
)

func (s *Store) syncDisabled(ctx context.Context, op string, st syncTable) ([]string, error) {
	keys := []string{}
	err := s.rdb.NewRaw("SELECT ? FROM ? WHERE sync_disabled = ? ORDER BY id",
		bun.Ident(st.key), bun.Ident(st.table), true).Scan(ctx, &keys)
	if err != nil {
		return nil, s.errf(op, err)
	}
	return keys, nil
}

// ApplyDomainSync applies a disposable-domain sync in one transaction: it
// inserts the rows of add whose domain has no row (as AutoSynced and
// active), reactivates the rows of reactivate that it deactivated itself and
// nobody has written since, and deactivates (and marks) the AutoSynced
// active rows of deactivate. No other row changes. It bumps the version once
// when a row changed, and reports how many each step changed. One invalid
// row of add fails the call (an error wrapping core.ErrInvalid) before
// anything is written.
func (s *Store) ApplyDomainSync(ctx context.Context, add []rule.BlockedDomain, reactivate, deactivate []string) (added, reactivated, deactivated int, err error) {
	now := s.now()
	rows := make([]blockedDomainRow, 0, len(add))
	seen := make(map[string]bool, len(add))
	for _, v := range add {
		n, err := rule.Normalize(v)
		if err != nil {
			return 0, 0, 0, fmt.Errorf("bunstore: ApplyDomainSync: %w", err)
		}
		if seen[n.Domain] {
			continue
		}
		seen[n.Domain] = true
		var r blockedDomainRow
		r.fromRule(n)
		r.IsActive, r.IsAutoSynced, r.SyncDisabled = true, true, false
		r.CreatedAt, r.UpdatedAt = now, now
		rows = append(rows, r)
	}
	insert := func(ctx context.Context, tx bun.Tx) (int, error) {
		if s.dialect == dialect.PG {
			return insertDomainsUnnest(ctx, tx, rows, now)
		}
		return insertBatches(ctx, s, tx, rows, domainSync.key)
	}
	return s.applySync(ctx, "ApplyDomainSync", domainSync, len(rows), insert, reactivate, deactivate, now)
}

// ApplyUserAgentSync is ApplyDomainSync for BlockedUserAgents, keyed by
// pattern. Inserted rows start with no hits; a deactivated row keeps its
// hit count.
func (s *Store) ApplyUserAgentSync(ctx context.Context, add []rule.BlockedUserAgent, reactivate, deactivate []string) (added, reactivated, deactivated int, err error) {
	now := s.now()
	rows := make([]blockedUserAgentRow, 0, len(add))
	seen := make(map[string]bool, len(add))
	for _, v := range add {
		n, err := rule.Normalize(v)
		if err != nil {
			return 0, 0, 0, fmt.Errorf("bunstore: ApplyUserAgentSync: %w", err)
		}
		if seen[n.Pattern] {
			continue
		}
		seen[n.Pattern] = true
		var r blockedUserAgentRow
		r.fromRule(n)
		r.IsActive, r.IsAutoSynced, r.SyncDisabled, r.BlockCount = true, true, false, 0
		r.CreatedAt, r.UpdatedAt = now, now
		s.cutStrings(&r)
		rows = append(rows, r)
	}
	insert := func(ctx context.Context, tx bun.Tx) (int, error) {
		return insertBatches(ctx, s, tx, rows, userAgentSync.key)
	}
	return s.applySync(ctx, "ApplyUserAgentSync", userAgentSync, len(rows), insert, reactivate, deactivate, now)
}

// errNoChange rolls back an apply that changed nothing, and with it the
// version bump.
var errNoChange = errors.New("no change")

// applySync runs insert and the two updates in one transaction that takes
// the version row's lock first, like every other rule write.
func (s *Store) applySync(ctx context.Context, op string, st syncTable, nAdd int,
	insert func(context.Context, bun.Tx) (int, error), reactivate, deactivate []string, now time.Time,
) (added, reactivated, deactivated int, err error) {
	if nAdd == 0 && len(reactivate) == 0 && len(deactivate) == 0 {
		return 0, 0, 0, nil
	}
	err = s.write(ctx, func(ctx context.Context, tx bun.Tx) error {
		if err := bumpVersion(ctx, tx); err != nil {
			return err
		}
		var err error
		if nAdd > 0 {
			if added, err = insert(ctx, tx); err != nil {
				return err
			}
		}
		if reactivated, err = setSyncActive(ctx, tx, st, reactivate, true, now); err != nil {
			return err
		}
		if deactivated, err = setSyncActive(ctx, tx, st, deactivate, false, now); err != nil {
			return err
		}
		if added+reactivated+deactivated == 0 {
			return errNoChange
		}
		return nil
	})
	if errors.Is(err, errNoChange) {
		return 0, 0, 0, nil
	}
	if err != nil {
		return 0, 0, 0, s.errf(op, err)
	}
	return added, reactivated, deactivated, nil
}

// syncBatch is the number of rows per INSERT and of keys per UPDATE … IN.
const syncBatch = 1000

// insertBatches inserts rows with multi-row INSERTs that skip existing keys,
// and reports how many it inserted.
func insertBatches[R any](ctx context.Context, s *Store, tx bun.Tx, rows []R, key string) (int, error) {
	n := 0
	for i := 0; i < len(rows); i += syncBatch {
		batch := rows[i:min(i+syncBatch, len(rows))]
		res, err := s.insertIfAbsent(tx.NewInsert().Model(&batch), key).Exec(ctx)
		if err != nil {
			return n, err
		}
		k, err := res.RowsAffected()
		if err != nil {
			return n, err
		}
		n += int(k)
	}
	return n, nil
}

// insertDomainsUnnest inserts domain rows on PostgreSQL with one INSERT …
// SELECT FROM unnest per 50,000 rows (see appendUnnest in events.go).
func insertDomainsUnnest(ctx context.Context, tx bun.Tx, rows []blockedDomainRow, now time.Time) (int, error) {
	const chunk = 50_000
	n := 0
	for i := 0; i < len(rows); i += chunk {
		batch := rows[i:min(i+chunk, len(rows))]
		dom, typ, reason := make([]string, len(batch)), make([]string, len(batch)), make([]string, len(batch))
		for j, r := range batch {
			dom[j], typ[j], reason[j] = r.Domain, r.DomainType, r.Reason
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO security_blocked_domain
			(domain, domain_type, reason, is_active, is_auto_synced, sync_disabled, created_at, updated_at)
			SELECT u.d, u.t, u.r, TRUE, TRUE, FALSE, ?, ? FROM unnest(?::varchar[], ?::varchar[], ?::varchar[]) AS u(d, t, r)
			ON CONFLICT (domain) DO NOTHING`,
			now, now, pgdialect.Array(dom), pgdialect.Array(typ), pgdialect.Array(reason))
		if err != nil {
			return n, err
		}
		k, err := res.RowsAffected()
		if err != nil {
			return n, err
		}
		n += int(k)
	}
	return n, nil
}

// setSyncActive reactivates (active) the AutoSynced rows with these keys
// that carry the sync_disabled mark, clearing it, or deactivates the
// AutoSynced active rows with these keys, setting it. It reports how many
// rows changed.
func setSyncActive(ctx context.Context, tx bun.Tx, st syncTable, keys []string, active bool, now time.Time) (int, error) {
	n := 0
	for i := 0; i < len(keys); i += syncBatch {
		batch := keys[i:min(i+syncBatch, len(keys))]
		q := tx.NewUpdate().Table(st.table).
			Set("is_active = ?", active).Set("sync_disabled = ?", !active).Set("updated_at = ?", now).
			Where("is_auto_synced = ?", true).
			Where("? IN (?)", bun.Ident(st.key), bun.In(batch))
		if active {
			q = q.Where("sync_disabled = ?", true).Where("is_active = ?", false)
		} else {
			q = q.Where("is_active = ?", true)
		}
		res, err := q.Exec(ctx)
		if err != nil {
			return n, err
		}
		k, err := res.RowsAffected()
		if err != nil {
			return n, err
		}
		n += int(k)
	}
	return n, nil
}
