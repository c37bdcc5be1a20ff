package feeds

import "time"

// Status is what a sync did with one kind of list.
type Status string

const (
	// StatusNotRequested: the Request did not ask for this kind.
	StatusNotRequested Status = "not_requested"
	// StatusDisabled: the settings switch (Settings.SyncDisposableDomains
	// or SyncBadBots) is off.
	StatusDisabled Status = "disabled"
	// StatusUnchanged: every source was unchanged (HTTP 304, or the
	// built-in list already stored); nothing was written.
	StatusUnchanged Status = "unchanged"
	// StatusApplied: the lists were read and applied; the counts say what
	// changed, which may be nothing.
	StatusApplied Status = "applied"
	// StatusFailed: a source failed or a list was refused; nothing of this
	// kind changed. Err says why.
	StatusFailed Status = "failed"
)

// Counts say what a sync did to the stored rows.
type Counts struct {
	Added       int `json:"added"`       // new rows
	Reactivated int `json:"reactivated"` // rows the sync had deactivated, back on the list
	Deactivated int `json:"deactivated"` // synced rows no list holds any more (kind totals only)
	Unchanged   int `json:"unchanged"`   // synced rows already active
	Skipped     int `json:"skipped"`     // entries whose row belongs to an operator: manual, or switched off by hand
}

// SourceReport is the outcome of one source of a kind. Its Counts are the
// sync's plan for the entries first seen in this source; Deactivated is
// counted for the kind only (a row that left every list belongs to no
// source).
type SourceReport struct {
	Source      string      `json:"source"` // the URL without its password, or "builtin"
	NotModified bool        `json:"not_modified,omitempty"`
	Bytes       int         `json:"bytes"`        // body length (0 when not modified)
	Entries     int         `json:"entries"`      // distinct usable entries first seen here
	ParseErrors int         `json:"parse_errors"` // lines that are not entries
	Rejected    int         `json:"rejected"`     // entries refused (see LineError)
	Samples     []LineError `json:"samples,omitempty"`
	Counts
	Err error `json:"-"`
}

// KindReport is the outcome of one kind (disposable domains or bad bots).
// Its Counts are what the store did.
type KindReport struct {
	Status  Status         `json:"status"`
	Sources []SourceReport `json:"sources,omitempty"`
	Counts
	Err error `json:"-"`
}

// Report is the outcome of a Sync.
type Report struct {
	Domains KindReport `json:"disposable_domains"`
	Bots    KindReport `json:"bad_bots"`
	// LastSyncAt is the time written to Settings.LastSyncAt, or zero when
	// this sync wrote none (nothing was applied).
	LastSyncAt time.Time `json:"last_sync_at,omitzero"`
}

// Changed reports whether the sync changed a stored row.
func (r Report) Changed() bool {
	return r.Domains.changed() || r.Bots.changed()
}

func (k KindReport) changed() bool { return k.Added+k.Reactivated+k.Deactivated > 0 }
