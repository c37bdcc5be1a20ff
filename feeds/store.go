package feeds

import (
	"context"
	"time"

	"github.com/wardenkit/warden/core"
	"github.com/wardenkit/warden/core/rule"
)

// FeedStateStore remembers, per source URL, the validators of the last list
// that was applied, so the next sync asks with a conditional GET.
//
//   - FeedState returns the validators stored for url; a URL never stored
//     returns two empty strings and a nil error. URLs are compared as
//     given (byte for byte).
//   - PutFeedState stores them, replacing earlier ones. A store may cut a
//     value longer than it keeps (a cut validator only costs a full
//     download). It does not bump the version, and it never stores the
//     URL's password.
type FeedStateStore interface {
	FeedState(ctx context.Context, url string) (etag, lastModified string, err error)
	PutFeedState(ctx context.Context, url, etag, lastModified string) error
}

// DomainListStore applies a disposable-domain sync to the BlockedDomains
// table.
//
//   - SyncDisabledDomains returns the domains of the rows that
//     ApplyDomainSync deactivated and nobody has written since: a Put or a
//     Delete of the row forgets the mark, so an operator's write takes the
//     row back from the sync.
//   - ApplyDomainSync does, in one transaction, and changes no other row:
//     inserts each row of add whose domain has no row yet, as an AutoSynced
//     active row (a manual or switched-off row with that domain stays as it
//     is); reactivates the rows of reactivate that carry the mark, clearing
//     it; deactivates the AutoSynced active rows of deactivate, marking
//     them. It reports how many rows each step changed and bumps the
//     version once when any changed, not at all otherwise. The rows of add
//     are validated first (rule.Normalize): one invalid row fails the call
//     with an error wrapping core.ErrInvalid. On any error nothing changed.
type DomainListStore interface {
	SyncDisabledDomains(ctx context.Context) ([]string, error)
	ApplyDomainSync(ctx context.Context, add []rule.BlockedDomain, reactivate, deactivate []string) (added, reactivated, deactivated int, err error)
}

// UserAgentListStore is DomainListStore for the BlockedUserAgents table,
// keyed by pattern. Inserted rows start with no hits; a row the sync
// switches off or on keeps its hit count.
type UserAgentListStore interface {
	SyncDisabledUserAgents(ctx context.Context) ([]string, error)
	ApplyUserAgentSync(ctx context.Context, add []rule.BlockedUserAgent, reactivate, deactivate []string) (added, reactivated, deactivated int, err error)
}

// SyncTimeStore records when lists were last synced. SetLastSyncAt sets
// Settings.LastSyncAt and no other field (UpdatedAt included), creating the
// settings row with core.DefaultSettings when there is none, and bumps the
// version in the same transaction, so every replica sees it. It never
// replaces the whole row, which would undo an operator's concurrent change.
type SyncTimeStore interface {
	SetLastSyncAt(ctx context.Context, at time.Time) error
}

// Store is everything a Syncer needs: the settings (for the switches), the
// two tables it reads, and the methods above. bunstore.Store and
// memstore.Store implement it; core/storetest.RunListSync is their
// conformance suite.
type Store interface {
	core.SettingsStore
	core.Versioner
	BlockedDomains() core.Table[rule.BlockedDomain]
	BlockedUserAgents() core.Table[rule.BlockedUserAgent]
	FeedStateStore
	DomainListStore
	UserAgentListStore
	SyncTimeStore
}
