package core

import (
	"context"
	"time"

	"github.com/wardenkit/warden/core/rule"
)

// Query selects rows of a Table, ordered by ID ascending.
type Query struct {
	ActiveOnly bool  // only rows that are not Disabled
	AfterID    int64 // keyset pagination: rows with ID > AfterID
	Limit      int   // 0 means no limit
}

// Table is the storage of one rule kind.
//
// Contract for every implementation:
//   - Put validates v with Normalize and upserts on v.Key(): an existing row
//     with that key (disabled or not) is updated in place, keeping its ID and
//     CreatedAt; otherwise a row is inserted. It returns the stored row.
//     Invalid input returns an error wrapping ErrInvalid and changes nothing.
//     An update keeps the stored hit counter (HitCount, BlockedIP.BlockCount):
//     only AddHits changes it, so a re-Put never loses counted hits.
//   - Get and Delete take the canonical key (Key of a normalised row); a
//     missing row returns an error wrapping ErrNotFound.
//   - Every Put and Delete bumps the store version in the same transaction.
//   - Errors other than ErrInvalid and ErrNotFound are system failures.
type Table[T rule.Rule] interface {
	List(ctx context.Context, q Query) ([]T, error)
	Get(ctx context.Context, key string) (T, error)
	Put(ctx context.Context, v T) (T, error)
	Delete(ctx context.Context, key string) error
}

// ActiveCounter is an optional capability of a Table: CountActive counts the
// active rows and, among them, those whose expiry is set and before now.
type ActiveCounter interface {
	CountActive(ctx context.Context, now time.Time) (active, expired int, err error)
}

// Rules gives one Table per rule kind.
type Rules interface {
	BlockedIPs() Table[rule.BlockedIP]
	WhitelistedIPs() Table[rule.WhitelistedIP]
	BlockedCountries() Table[rule.BlockedCountry]
	AllowedCountries() Table[rule.AllowedCountry]
	BlockedUserAgents() Table[rule.BlockedUserAgent]
	WhitelistedUsers() Table[rule.WhitelistedUser]
	BlockedEmails() Table[rule.BlockedEmail]
	BlockedDomains() Table[rule.BlockedDomain]
	RateLimitRules() Table[rule.RateLimitRule]
}

// SettingsStore keeps the single Settings row. A store that has none returns
// DefaultSettings() and a nil error. PutSettings validates, stores, bumps the
// version in the same transaction and returns the stored value, with a new
// UpdatedAt later than the old one. It writes only when s.UpdatedAt is the
// stored UpdatedAt (zero when no row is stored), else it returns an error
// wrapping ErrConflict; it never writes LastSyncAt (SetLastSyncAt does).
type SettingsStore interface {
	Settings(ctx context.Context) (Settings, error)
	PutSettings(ctx context.Context, s Settings) (Settings, error)
}

// EventQuery selects events, newest first.
type EventQuery struct {
	Action   Action    // "" = any
	IP       string    // "" = any
	Country  string    // "" = any
	Since    time.Time // zero = no lower bound (inclusive)
	Until    time.Time // zero = no upper bound (exclusive)
	BeforeID int64     // keyset pagination: rows with ID < BeforeID; 0 = from the newest
	Limit    int       // 0 means 100; at most 10,000
}

// GroupBy names what CountEvents groups by.
type GroupBy string

const (
	GroupByIP         GroupBy = "ip"
	GroupByCountry    GroupBy = "country"
	GroupByAction     GroupBy = "action"
	GroupByPath       GroupBy = "path"
	GroupByHour       GroupBy = "hour"
	GroupByHourAction GroupBy = "hour_action"
)

// CountQuery asks for the sum of Count per group, largest first, ties by key.
type CountQuery struct {
	GroupBy      GroupBy
	Since, Until time.Time // created in [Since, Until); zero = unbounded
	Actions      []Action  // nil = every action
	Min          int64     // only groups with at least Min events
	Limit        int       // > 0: only the first Limit groups
}

// GroupCount is one group of a CountEvents answer.
type GroupCount struct {
	Key   string // by hour: the UTC hour's start, "2026-12-02T05:00:00Z"; by hour_action: that, a space, the action
	Count int64
}

// EventStore keeps the security log. AppendEvents stores a batch atomically:
// all rows or none, so the writer can bisect a refused batch.
type EventStore interface {
	AppendEvents(ctx context.Context, events []Event) error
	Events(ctx context.Context, q EventQuery) ([]Event, error)
	CountEvents(ctx context.Context, q CountQuery) ([]GroupCount, error)
	DeleteEventsBefore(ctx context.Context, before time.Time, batch int) (int64, error)
}

// HitKind names a counter column that hit counts are added to.
type HitKind string

const (
	HitUserAgent HitKind = "user_agent" // BlockedUserAgent.HitCount
	HitRateLimit HitKind = "rate_limit" // RateLimitRule.HitCount
	HitBlockedIP HitKind = "blocked_ip" // BlockedIP.BlockCount
)

// HitCounter adds aggregated hit counts to rules by ID with one atomic
// "count = count + n" statement per rule; unknown IDs are ignored. It does
// not bump the version (counts are not part of the snapshot).
type HitCounter interface {
	AddHits(ctx context.Context, kind HitKind, hits map[int64]int64) error
}

// Versioner reports the version of the rules and settings; it grows with
// every write. Engines poll it to notice writes they missed on the bus.
type Versioner interface {
	Version(ctx context.Context) (int64, error)
}

// LockoutStore keeps lockout records (see LockoutRecord). The counters live
// in the attempt.Counter; these rows only let people see and undo lockouts.
//
//   - AppendLockout validates r (an invalid record returns an error wrapping
//     ErrInvalid and stores nothing), stores times in UTC, assigns an ID and
//     returns the stored row. It does not bump the version.
//   - Lockouts returns matching rows, newest first (ID descending).
//   - ReleaseLockouts sets ReleasedAt and ReleasedBy on the rows with these
//     IDs that are not released yet, and reports how many it changed;
//     unknown IDs are ignored. When it changed any, it bumps the version in
//     the same transaction, so every engine learns of the unlock and drops
//     its in-process counters for those records.
//   - DeleteLockoutsBefore deletes rows locked before the given time, at
//     most batch of them (batch <= 0 means all), and reports how many.
type LockoutStore interface {
	AppendLockout(ctx context.Context, r LockoutRecord) (LockoutRecord, error)
	Lockouts(ctx context.Context, q LockoutQuery) ([]LockoutRecord, error)
	ReleaseLockouts(ctx context.Context, ids []int64, at time.Time, by string) (int64, error)
	DeleteLockoutsBefore(ctx context.Context, before time.Time, batch int) (int64, error)
}

// LoginHistoryStore keeps successful logins (see LoginRecord).
//
//   - AppendLogin validates r (invalid: an error wrapping ErrInvalid, nothing
//     stored), stores times in UTC, assigns an ID and returns the stored row.
//   - Logins returns matching rows, newest first.
//   - LoginTraits summarises the user's newest recent rows and the rows
//     created at or after since (see LoginTraits); it never reads more than
//     recent + MaxLoginTraitsWindowRows rows. The rows are the user's
//     earlier logins: call it before appending the current one.
//   - DeleteLoginsBefore deletes rows created before the given time, at most
//     batch of them (batch <= 0 means all), and reports how many.
type LoginHistoryStore interface {
	AppendLogin(ctx context.Context, r LoginRecord) (LoginRecord, error)
	Logins(ctx context.Context, q LoginQuery) ([]LoginRecord, error)
	LoginTraits(ctx context.Context, userID string, recent int, since time.Time) (LoginTraits, error)
	DeleteLoginsBefore(ctx context.Context, before time.Time, batch int) (int64, error)
}

// Store is everything the engine needs from persistent storage.
type Store interface {
	Rules
	SettingsStore
	EventStore
	HitCounter
	Versioner
	LockoutStore
	LoginHistoryStore
}

// Column lengths, in runes, of the records a Store keeps: it must accept
// clean text of these lengths, and the engine never sends longer.
const (
	MaxEventPathLen      = 500
	MaxEventUserAgentLen = 1000
	MaxEventDetailsLen   = 2000
	MaxEventMethodLen    = 10
	MaxLockoutIPLen      = 45
	MaxLoginIPLen        = 45
	MaxLoginUserAgentLen = 1000
	MaxLoginDeviceLen    = 50
	MaxLoginBrowserLen   = 100
	MaxLoginOSLen        = 100
	MaxLoginReasonsLen   = 255
	MaxSessionKeyLen     = 255
)
