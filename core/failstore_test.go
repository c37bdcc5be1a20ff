package core_test

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/wardenkit/warden/core"
	"github.com/wardenkit/warden/core/rule"
)

var errDown = errors.New("store down")

// failingStore wraps a store; while fail is set every call fails. It counts
// calls so tests can assert that a path never touched the store.
type failingStore struct {
	core.Store
	fail  atomic.Bool
	calls atomic.Int64
}

func (s *failingStore) err() error {
	s.calls.Add(1)
	if s.fail.Load() {
		return errDown
	}
	return nil
}

type failTable[T rule.Rule] struct {
	s     *failingStore
	inner core.Table[T]
}

func (t failTable[T]) List(ctx context.Context, q core.Query) ([]T, error) {
	if err := t.s.err(); err != nil {
		return nil, err
	}
	return t.inner.List(ctx, q)
}
func (t failTable[T]) Get(ctx context.Context, k string) (T, error) {
	if err := t.s.err(); err != nil {
		var z T
		return z, err
	}
	return t.inner.Get(ctx, k)
}
func (t failTable[T]) Put(ctx context.Context, v T) (T, error) {
	if err := t.s.err(); err != nil {
		var z T
		return z, err
	}
	return t.inner.Put(ctx, v)
}
func (t failTable[T]) Delete(ctx context.Context, k string) error {
	if err := t.s.err(); err != nil {
		return err
	}
	return t.inner.Delete(ctx, k)
}

func (s *failingStore) BlockedIPs() core.Table[rule.BlockedIP] {
	return failTable[rule.BlockedIP]{s, s.Store.BlockedIPs()}
}
func (s *failingStore) WhitelistedIPs() core.Table[rule.WhitelistedIP] {
	return failTable[rule.WhitelistedIP]{s, s.Store.WhitelistedIPs()}
}
func (s *failingStore) BlockedCountries() core.Table[rule.BlockedCountry] {
	return failTable[rule.BlockedCountry]{s, s.Store.BlockedCountries()}
}
func (s *failingStore) AllowedCountries() core.Table[rule.AllowedCountry] {
	return failTable[rule.AllowedCountry]{s, s.Store.AllowedCountries()}
}
func (s *failingStore) BlockedUserAgents() core.Table[rule.BlockedUserAgent] {
	return failTable[rule.BlockedUserAgent]{s, s.Store.BlockedUserAgents()}
}
func (s *failingStore) WhitelistedUsers() core.Table[rule.WhitelistedUser] {
	return failTable[rule.WhitelistedUser]{s, s.Store.WhitelistedUsers()}
}
func (s *failingStore) BlockedEmails() core.Table[rule.BlockedEmail] {
	return failTable[rule.BlockedEmail]{s, s.Store.BlockedEmails()}
}
func (s *failingStore) BlockedDomains() core.Table[rule.BlockedDomain] {
	return failTable[rule.BlockedDomain]{s, s.Store.BlockedDomains()}
}
func (s *failingStore) RateLimitRules() core.Table[rule.RateLimitRule] {
	return failTable[rule.RateLimitRule]{s, s.Store.RateLimitRules()}
}
func (s *failingStore) Settings(ctx context.Context) (core.Settings, error) {
	if err := s.err(); err != nil {
		return core.Settings{}, err
	}
	return s.Store.Settings(ctx)
}
func (s *failingStore) PutSettings(ctx context.Context, v core.Settings) (core.Settings, error) {
	if err := s.err(); err != nil {
		return core.Settings{}, err
	}
	return s.Store.PutSettings(ctx, v)
}
func (s *failingStore) AppendEvents(ctx context.Context, evs []core.Event) error {
	if err := s.err(); err != nil {
		return err
	}
	return s.Store.AppendEvents(ctx, evs)
}
func (s *failingStore) Events(ctx context.Context, q core.EventQuery) ([]core.Event, error) {
	if err := s.err(); err != nil {
		return nil, err
	}
	return s.Store.Events(ctx, q)
}
func (s *failingStore) CountEvents(ctx context.Context, q core.CountQuery) ([]core.GroupCount, error) {
	if err := s.err(); err != nil {
		return nil, err
	}
	return s.Store.CountEvents(ctx, q)
}
func (s *failingStore) DeleteEventsBefore(ctx context.Context, t time.Time, n int) (int64, error) {
	if err := s.err(); err != nil {
		return 0, err
	}
	return s.Store.DeleteEventsBefore(ctx, t, n)
}
func (s *failingStore) AddHits(ctx context.Context, k core.HitKind, h map[int64]int64) error {
	if err := s.err(); err != nil {
		return err
	}
	return s.Store.AddHits(ctx, k, h)
}
func (s *failingStore) Version(ctx context.Context) (int64, error) {
	if err := s.err(); err != nil {
		return 0, err
	}
	return s.Store.Version(ctx)
}

// rawStore adds rows to BlockedIPs().List that never passed validation, as
// hand-written SQL could.
type rawStore struct {
	core.Store
	extraIPs []rule.BlockedIP
}

type rawIPs struct {
	core.Table[rule.BlockedIP]
	extra []rule.BlockedIP
}

func (r rawIPs) List(ctx context.Context, q core.Query) ([]rule.BlockedIP, error) {
	l, err := r.Table.List(ctx, q)
	return append(l, r.extra...), err
}

func (s *rawStore) BlockedIPs() core.Table[rule.BlockedIP] {
	return rawIPs{s.Store.BlockedIPs(), s.extraIPs}
}
