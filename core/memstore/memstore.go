// Package memstore is an in-memory core.Store: for tests, examples and
// single-process deployments that need no persistence. Everything is lost
// when the process exits.
//
// A Store is safe for concurrent use. It passes core/storetest.
package memstore

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/wardenkit/warden/core"
	"github.com/wardenkit/warden/core/rule"
)

// Store is an in-memory core.Store.
type Store struct {
	mu        sync.Mutex
	now       func() time.Time
	version   int64
	nextID    int64
	settings  *core.Settings
	events    []core.Event // ascending ID
	loginTabs loginTables
	feeds     map[string]feedState // by source URL (sync.go)

	blockedIPs        table[rule.BlockedIP]
	whitelistedIPs    table[rule.WhitelistedIP]
	blockedCountries  table[rule.BlockedCountry]
	allowedCountries  table[rule.AllowedCountry]
	blockedUserAgents table[rule.BlockedUserAgent]
	whitelistedUsers  table[rule.WhitelistedUser]
	blockedEmails     table[rule.BlockedEmail]
	blockedDomains    table[rule.BlockedDomain]
	rateLimitRules    table[rule.RateLimitRule]
}

var (
	_ core.Store         = (*Store)(nil)
	_ core.ActiveCounter = (*table[rule.BlockedIP])(nil)
)

// Option configures a Store.
type Option func(*Store)

// WithNow sets the function that stamps CreatedAt and UpdatedAt.
func WithNow(now func() time.Time) Option { return func(s *Store) { s.now = now } }

// New returns an empty Store.
func New(opts ...Option) *Store {
	s := &Store{now: time.Now, feeds: map[string]feedState{}}
	for _, o := range opts {
		o(s)
	}
	s.blockedIPs.init(s, "BlockedIPs")
	s.whitelistedIPs.init(s, "WhitelistedIPs")
	s.blockedCountries.init(s, "BlockedCountries")
	s.allowedCountries.init(s, "AllowedCountries")
	s.blockedUserAgents.init(s, "BlockedUserAgents")
	s.whitelistedUsers.init(s, "WhitelistedUsers")
	s.blockedEmails.init(s, "BlockedEmails")
	s.blockedDomains.init(s, "BlockedDomains")
	s.rateLimitRules.init(s, "RateLimitRules")
	return s
}

// ctxErr is ctx.Err() wrapped with the operation, or nil.
func ctxErr(ctx context.Context, op string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memstore: %s: %w", op, err)
	}
	return nil
}

func (s *Store) BlockedIPs() core.Table[rule.BlockedIP]               { return &s.blockedIPs }
func (s *Store) WhitelistedIPs() core.Table[rule.WhitelistedIP]       { return &s.whitelistedIPs }
func (s *Store) BlockedCountries() core.Table[rule.BlockedCountry]    { return &s.blockedCountries }
func (s *Store) AllowedCountries() core.Table[rule.AllowedCountry]    { return &s.allowedCountries }
func (s *Store) BlockedUserAgents() core.Table[rule.BlockedUserAgent] { return &s.blockedUserAgents }
func (s *Store) WhitelistedUsers() core.Table[rule.WhitelistedUser]   { return &s.whitelistedUsers }
func (s *Store) BlockedEmails() core.Table[rule.BlockedEmail]         { return &s.blockedEmails }
func (s *Store) BlockedDomains() core.Table[rule.BlockedDomain]       { return &s.blockedDomains }
func (s *Store) RateLimitRules() core.Table[rule.RateLimitRule]       { return &s.rateLimitRules }

// table is one rule kind; it shares its Store's mutex.
type table[T rule.Rule] struct {
	s    *Store
	name string       // the Store method that returns it, for errors
	rows map[string]T // by key
	// syncDisabled holds the keys of the rows the list sync deactivated
	// (sync.go); Put and Delete forget a key.
	syncDisabled map[string]bool
}

func (t *table[T]) init(s *Store, name string) {
	t.s, t.name, t.rows, t.syncDisabled = s, name, map[string]T{}, map[string]bool{}
}

// ctxErr is ctx.Err() wrapped with the table and the method, or nil.
func (t *table[T]) ctxErr(ctx context.Context, method string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memstore: %s.%s: %w", t.name, method, err)
	}
	return nil
}

func (t *table[T]) List(ctx context.Context, q core.Query) ([]T, error) {
	if err := t.ctxErr(ctx, "List"); err != nil {
		return nil, err
	}
	t.s.mu.Lock()
	out := make([]T, 0, len(t.rows))
	for _, v := range t.rows {
		if (q.ActiveOnly && !v.IsActive()) || v.GetMeta().ID <= q.AfterID {
			continue
		}
		out = append(out, v)
	}
	t.s.mu.Unlock()
	slices.SortFunc(out, func(a, b T) int { return cmp.Compare(a.GetMeta().ID, b.GetMeta().ID) })
	if q.Limit > 0 && len(out) > q.Limit {
		out = out[:q.Limit]
	}
	return out, nil
}

func (t *table[T]) Get(ctx context.Context, key string) (T, error) {
	var zero T
	if err := t.ctxErr(ctx, "Get"); err != nil {
		return zero, err
	}
	t.s.mu.Lock()
	defer t.s.mu.Unlock()
	v, ok := t.rows[key]
	if !ok {
		return zero, fmt.Errorf("memstore: %s.Get %q: %w", t.name, key, core.ErrNotFound)
	}
	return v, nil
}

func (t *table[T]) Put(ctx context.Context, v T) (T, error) {
	var zero T
	if err := t.ctxErr(ctx, "Put"); err != nil {
		return zero, err
	}
	v, err := rule.Normalize(v)
	if err != nil {
		return zero, fmt.Errorf("memstore: %s.Put: %w", t.name, err)
	}
	t.s.mu.Lock()
	defer t.s.mu.Unlock()
	now := t.s.now().UTC()
	m := rule.Meta{CreatedAt: now, UpdatedAt: now}
	if old, ok := t.rows[v.Key()]; ok {
		m.ID, m.CreatedAt = old.GetMeta().ID, old.GetMeta().CreatedAt
		v = rule.KeepCounters(v, old)
	} else {
		t.s.nextID++
		m.ID = t.s.nextID
	}
	v = rule.ApplyMeta(v, m)
	t.rows[v.Key()] = v
	delete(t.syncDisabled, v.Key())
	t.s.version++
	return v, nil
}

func (t *table[T]) Delete(ctx context.Context, key string) error {
	if err := t.ctxErr(ctx, "Delete"); err != nil {
		return err
	}
	t.s.mu.Lock()
	defer t.s.mu.Unlock()
	if _, ok := t.rows[key]; !ok {
		return fmt.Errorf("memstore: %s.Delete %q: %w", t.name, key, core.ErrNotFound)
	}
	delete(t.rows, key)
	delete(t.syncDisabled, key)
	t.s.version++
	return nil
}

// CountActive counts the active rows and those among them whose expiry is
// before now.
func (t *table[T]) CountActive(ctx context.Context, now time.Time) (active, expired int, err error) {
	if err := t.ctxErr(ctx, "CountActive"); err != nil {
		return 0, 0, err
	}
	t.s.mu.Lock()
	defer t.s.mu.Unlock()
	for _, v := range t.rows {
		if !v.IsActive() {
			continue
		}
		active++
		if exp := rule.Expiry(v); !exp.IsZero() && exp.Before(now) {
			expired++
		}
	}
	return active, expired, nil
}

// Settings returns the stored settings, or core.DefaultSettings() if none.
func (s *Store) Settings(ctx context.Context) (core.Settings, error) {
	if err := ctxErr(ctx, "Settings"); err != nil {
		return core.Settings{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.settings == nil {
		return core.DefaultSettings(), nil
	}
	return *s.settings, nil
}

// PutSettings validates and stores v when v.UpdatedAt is the stored one.
func (s *Store) PutSettings(ctx context.Context, v core.Settings) (core.Settings, error) {
	if err := ctxErr(ctx, "PutSettings"); err != nil {
		return core.Settings{}, err
	}
	v, err := core.NormalizeSettings(v)
	if err != nil {
		return core.Settings{}, fmt.Errorf("memstore: PutSettings: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var old core.Settings
	if s.settings != nil {
		old = *s.settings
	}
	if !v.UpdatedAt.Equal(old.UpdatedAt) {
		return core.Settings{}, fmt.Errorf("memstore: PutSettings: read at %s, stored at %s: %w",
			v.UpdatedAt.Format(time.RFC3339Nano), old.UpdatedAt.Format(time.RFC3339Nano), core.ErrConflict)
	}
	v.UpdatedAt = s.now().UTC()
	if !v.UpdatedAt.After(old.UpdatedAt) { // a clock that stood still still makes a new stamp
		v.UpdatedAt = old.UpdatedAt.Add(time.Microsecond)
	}
	v.LastSyncAt = old.LastSyncAt
	s.settings = &v
	s.version++
	return v, nil
}

// Version reports the number of writes so far.
func (s *Store) Version(ctx context.Context) (int64, error) {
	if err := ctxErr(ctx, "Version"); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.version, nil
}

// AddHits adds counts to the hit counter of the rules with those IDs.
func (s *Store) AddHits(ctx context.Context, kind core.HitKind, hits map[int64]int64) error {
	if err := ctxErr(ctx, "AddHits"); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch kind {
	case core.HitUserAgent:
		addHits(&s.blockedUserAgents, hits, func(r *rule.BlockedUserAgent, n int64) { r.HitCount += n })
	case core.HitRateLimit:
		addHits(&s.rateLimitRules, hits, func(r *rule.RateLimitRule, n int64) { r.HitCount += n })
	case core.HitBlockedIP:
		addHits(&s.blockedIPs, hits, func(r *rule.BlockedIP, n int64) { r.BlockCount += n })
	default:
		return fmt.Errorf("memstore: AddHits: unknown kind %q: %w", kind, core.ErrInvalid)
	}
	return nil
}

func addHits[T rule.Rule](t *table[T], hits map[int64]int64, add func(*T, int64)) {
	for k, v := range t.rows {
		if n, ok := hits[v.GetMeta().ID]; ok {
			add(&v, n)
			t.rows[k] = v
		}
	}
}
