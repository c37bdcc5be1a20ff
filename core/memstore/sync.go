package memstore

import (
	"context"
	"fmt"
	"time"

	"github.com/wardenkit/warden/core"
	"github.com/wardenkit/warden/core/rule"
)

// The storage half of list sync (package feeds): the validators of each
// source URL, the marks of the rows the sync deactivated, the
// all-or-nothing apply of a list and last_sync_at on its own. The contracts
// are those of feeds.Store; core/storetest.RunListSync checks them.

// feedState is what is remembered of one source URL.
type feedState struct{ etag, lastModified string }

// FeedState returns the validators stored for the source URL u; a URL never
// stored returns two empty strings and a nil error.
func (s *Store) FeedState(ctx context.Context, u string) (etag, lastModified string, err error) {
	if err := ctxErr(ctx, "FeedState"); err != nil {
		return "", "", err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.feeds[u]
	return f.etag, f.lastModified, nil
}

// PutFeedState stores the validators of the source URL u. It does not bump
// the version.
func (s *Store) PutFeedState(ctx context.Context, u, etag, lastModified string) error {
	if err := ctxErr(ctx, "PutFeedState"); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.feeds[u] = feedState{etag, lastModified}
	return nil
}

// SetLastSyncAt sets Settings.LastSyncAt and nothing else, storing the
// defaults first when no settings were stored, and bumps the version.
func (s *Store) SetLastSyncAt(ctx context.Context, at time.Time) error {
	if err := ctxErr(ctx, "SetLastSyncAt"); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.settings == nil {
		d := core.DefaultSettings()
		d.UpdatedAt = s.now().UTC()
		s.settings = &d
	}
	s.settings.LastSyncAt = at.UTC()
	s.version++
	return nil
}

// SyncDisabledDomains returns the domains of the rows ApplyDomainSync
// deactivated that nobody has written since.
func (s *Store) SyncDisabledDomains(ctx context.Context) ([]string, error) {
	return syncDisabled(ctx, &s.blockedDomains)
}

// SyncDisabledUserAgents returns the patterns of the rows
// ApplyUserAgentSync deactivated that nobody has written since.
func (s *Store) SyncDisabledUserAgents(ctx context.Context) ([]string, error) {
	return syncDisabled(ctx, &s.blockedUserAgents)
}

func syncDisabled[T rule.Rule](ctx context.Context, t *table[T]) ([]string, error) {
	if err := t.ctxErr(ctx, "SyncDisabled"); err != nil {
		return nil, err
	}
	t.s.mu.Lock()
	defer t.s.mu.Unlock()
	keys := make([]string, 0, len(t.syncDisabled))
	for k := range t.syncDisabled {
		keys = append(keys, k)
	}
	return keys, nil
}

// ApplyDomainSync applies a disposable-domain sync at once: it inserts the
// rows of add whose domain has no row (AutoSynced, active), reactivates the
// marked rows of reactivate, deactivates and marks the AutoSynced active
// rows of deactivate, and bumps the version once if any row changed. One
// invalid row of add fails the call before anything changes.
func (s *Store) ApplyDomainSync(ctx context.Context, add []rule.BlockedDomain, reactivate, deactivate []string) (added, reactivated, deactivated int, err error) {
	return applySync(ctx, &s.blockedDomains, "ApplyDomainSync", add, reactivate, deactivate)
}

// ApplyUserAgentSync is ApplyDomainSync for BlockedUserAgents. Inserted
// rows start with no hits.
func (s *Store) ApplyUserAgentSync(ctx context.Context, add []rule.BlockedUserAgent, reactivate, deactivate []string) (added, reactivated, deactivated int, err error) {
	return applySync(ctx, &s.blockedUserAgents, "ApplyUserAgentSync", add, reactivate, deactivate)
}

func applySync[T rule.Rule](ctx context.Context, t *table[T], op string, add []T, reactivate, deactivate []string) (added, reactivated, deactivated int, err error) {
	if err := ctxErr(ctx, op); err != nil {
		return 0, 0, 0, err
	}
	rows := make([]T, len(add))
	for i, v := range add {
		if rows[i], err = rule.Normalize(v); err != nil {
			return 0, 0, 0, fmt.Errorf("memstore: %s: %w", op, err)
		}
	}
	t.s.mu.Lock()
	defer t.s.mu.Unlock()
	now := t.s.now().UTC()
	for _, v := range rows {
		if _, ok := t.rows[v.Key()]; ok {
			continue
		}
		t.s.nextID++
		setSynced(&v, true)
		if ua, ok := any(&v).(*rule.BlockedUserAgent); ok {
			ua.HitCount = 0
		}
		t.rows[v.Key()] = rule.ApplyMeta(v, rule.Meta{ID: t.s.nextID, CreatedAt: now, UpdatedAt: now})
		added++
	}
	for _, k := range reactivate {
		if v, ok := t.rows[k]; ok && t.syncDisabled[k] && isSynced(v) && !v.IsActive() {
			t.set(k, v, true, now)
			reactivated++
		}
	}
	for _, k := range deactivate {
		if v, ok := t.rows[k]; ok && isSynced(v) && v.IsActive() {
			t.set(k, v, false, now)
			deactivated++
		}
	}
	if added+reactivated+deactivated > 0 {
		t.s.version++
	}
	return added, reactivated, deactivated, nil
}

// set switches the synced row v on or off and marks or unmarks it.
func (t *table[T]) set(k string, v T, active bool, now time.Time) {
	setSynced(&v, active)
	m := v.GetMeta()
	m.UpdatedAt = now
	t.rows[k] = rule.ApplyMeta(v, m)
	if active {
		delete(t.syncDisabled, k)
	} else {
		t.syncDisabled[k] = true
	}
}

// setSynced makes v an AutoSynced row, active or not.
func setSynced[T rule.Rule](v *T, active bool) {
	switch x := any(v).(type) {
	case *rule.BlockedDomain:
		x.AutoSynced, x.Disabled = true, !active
	case *rule.BlockedUserAgent:
		x.AutoSynced, x.Disabled = true, !active
	}
}

func isSynced[T rule.Rule](v T) bool {
	switch x := any(v).(type) {
	case rule.BlockedDomain:
		return x.AutoSynced
	case rule.BlockedUserAgent:
		return x.AutoSynced
	}
	return false
}
