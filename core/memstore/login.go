package memstore

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/wardenkit/warden/core"
	"github.com/wardenkit/warden/core/rule"
	"github.com/wardenkit/warden/internal/textutil"
)

// loginTables holds lockout records and login history. They share the
// Store's mutex and ID sequence.
type loginTables struct {
	lockouts []core.LockoutRecord // ascending ID
	logins   []core.LoginRecord   // ascending ID
}

// login returns s's login tables, guarded by s.mu.
func (s *Store) login() *loginTables { return &s.loginTabs }

func queryLimit(n int) int {
	if n <= 0 {
		return 100
	}
	return min(n, 10_000)
}

// AppendLockout stores a lockout record.
func (s *Store) AppendLockout(ctx context.Context, r core.LockoutRecord) (core.LockoutRecord, error) {
	if err := ctxErr(ctx, "AppendLockout"); err != nil {
		return core.LockoutRecord{}, err
	}
	if err := r.Validate(); err != nil {
		return core.LockoutRecord{}, fmt.Errorf("memstore: AppendLockout: %w", err)
	}
	r.LockedAt = r.LockedAt.UTC()
	if !r.Until.IsZero() {
		r.Until = r.Until.UTC()
	}
	if !r.ReleasedAt.IsZero() {
		r.ReleasedAt = r.ReleasedAt.UTC()
	}
	t := s.login()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextID++
	r.ID = s.nextID
	t.lockouts = append(t.lockouts, r)
	return r, nil
}

// Lockouts lists lockout records, newest first.
func (s *Store) Lockouts(ctx context.Context, q core.LockoutQuery) ([]core.LockoutRecord, error) {
	if err := ctxErr(ctx, "Lockouts"); err != nil {
		return nil, err
	}
	limit := queryLimit(q.Limit)
	t := s.login()
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []core.LockoutRecord
	for i := len(t.lockouts) - 1; i >= 0 && len(out) < limit; i-- {
		r := t.lockouts[i]
		if (q.Username != "" && r.Username != q.Username) || (q.IP != "" && r.IP != q.IP) ||
			(q.Unreleased && !r.ReleasedAt.IsZero()) || (q.BeforeID != 0 && r.ID >= q.BeforeID) ||
			(!q.ReleasedSince.IsZero() && (r.ReleasedAt.IsZero() || r.ReleasedAt.Before(q.ReleasedSince))) {
			continue
		}
		out = append(out, r)
	}
	return out, nil
}

// ReleaseLockouts marks the unreleased records with these IDs released.
func (s *Store) ReleaseLockouts(ctx context.Context, ids []int64, at time.Time, by string) (int64, error) {
	if err := ctxErr(ctx, "ReleaseLockouts"); err != nil {
		return 0, err
	}
	if at.IsZero() {
		return 0, fmt.Errorf("memstore: ReleaseLockouts: zero time: %w", core.ErrInvalid)
	}
	if c := textutil.Clean(by, rule.MaxCreatedByLen); c != by {
		return 0, fmt.Errorf("memstore: ReleaseLockouts: released_by %q: not clean text of at most %d characters: %w",
			textutil.Truncate(by, 100), rule.MaxCreatedByLen, core.ErrInvalid)
	}
	t := s.login()
	s.mu.Lock()
	defer s.mu.Unlock()
	var n int64
	for i := range t.lockouts {
		r := &t.lockouts[i]
		if r.ReleasedAt.IsZero() && slices.Contains(ids, r.ID) {
			r.ReleasedAt, r.ReleasedBy = at.UTC(), by
			n++
		}
	}
	if n > 0 {
		s.version++
	}
	return n, nil
}

// DeleteLockoutsBefore deletes records locked before the given time.
func (s *Store) DeleteLockoutsBefore(ctx context.Context, before time.Time, batch int) (int64, error) {
	if err := ctxErr(ctx, "DeleteLockoutsBefore"); err != nil {
		return 0, err
	}
	t := s.login()
	s.mu.Lock()
	defer s.mu.Unlock()
	var n int64
	t.lockouts = slices.DeleteFunc(t.lockouts, func(r core.LockoutRecord) bool {
		if r.LockedAt.Before(before) && (batch <= 0 || n < int64(batch)) {
			n++
			return true
		}
		return false
	})
	return n, nil
}

// AppendLogin stores a login record.
func (s *Store) AppendLogin(ctx context.Context, r core.LoginRecord) (core.LoginRecord, error) {
	if err := ctxErr(ctx, "AppendLogin"); err != nil {
		return core.LoginRecord{}, err
	}
	if err := r.Validate(); err != nil {
		return core.LoginRecord{}, fmt.Errorf("memstore: AppendLogin: %w", err)
	}
	r.CreatedAt = r.CreatedAt.UTC()
	t := s.login()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextID++
	r.ID = s.nextID
	t.logins = append(t.logins, r)
	return r, nil
}

// newestFirst orders login records by CreatedAt, then ID, descending.
func newestFirst(a, b core.LoginRecord) int {
	if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
		return c
	}
	return cmp.Compare(b.ID, a.ID)
}

// userLogins returns the user's records, newest first. The caller holds s.mu.
func (t *loginTables) userLogins(userID string) []core.LoginRecord {
	var out []core.LoginRecord
	for _, r := range t.logins {
		if r.UserID == userID {
			out = append(out, r)
		}
	}
	slices.SortFunc(out, newestFirst)
	return out
}

// Logins lists login records, newest first.
func (s *Store) Logins(ctx context.Context, q core.LoginQuery) ([]core.LoginRecord, error) {
	if err := ctxErr(ctx, "Logins"); err != nil {
		return nil, err
	}
	limit := queryLimit(q.Limit)
	t := s.login()
	s.mu.Lock()
	var out []core.LoginRecord
	for _, r := range t.logins {
		if (q.UserID != "" && r.UserID != q.UserID) || (q.IP != "" && r.IP != q.IP) ||
			(!q.Since.IsZero() && r.CreatedAt.Before(q.Since)) || (!q.Until.IsZero() && !r.CreatedAt.Before(q.Until)) ||
			(q.BeforeID != 0 && r.ID >= q.BeforeID) {
			continue
		}
		out = append(out, r)
	}
	s.mu.Unlock()
	slices.SortFunc(out, newestFirst)
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// LoginTraits summarises the user's recent logins.
func (s *Store) LoginTraits(ctx context.Context, userID string, recent int, since time.Time) (core.LoginTraits, error) {
	if err := ctxErr(ctx, "LoginTraits"); err != nil {
		return core.LoginTraits{}, err
	}
	t := s.login()
	s.mu.Lock()
	rows := t.userLogins(userID)
	s.mu.Unlock()
	var tr core.LoginTraits
	add := func(list *[]string, v string) {
		if v != "" && !slices.Contains(*list, v) {
			*list = append(*list, v)
		}
	}
	for i, r := range rows {
		if i < recent {
			tr.Logins++
			add(&tr.Countries, r.CountryCode)
			add(&tr.IPs, r.IP)
			add(&tr.Devices, r.DeviceFamily())
		}
		if i < core.MaxLoginTraitsWindowRows && !r.CreatedAt.Before(since) {
			add(&tr.CountriesSince, r.CountryCode)
		}
	}
	return tr, nil
}

// DeleteLoginsBefore deletes login records created before the given time.
func (s *Store) DeleteLoginsBefore(ctx context.Context, before time.Time, batch int) (int64, error) {
	if err := ctxErr(ctx, "DeleteLoginsBefore"); err != nil {
		return 0, err
	}
	t := s.login()
	s.mu.Lock()
	defer s.mu.Unlock()
	var n int64
	t.logins = slices.DeleteFunc(t.logins, func(r core.LoginRecord) bool {
		if r.CreatedAt.Before(before) && (batch <= 0 || n < int64(batch)) {
			n++
			return true
		}
		return false
	})
	return n, nil
}
