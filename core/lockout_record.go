package core

import (
	"strconv"
	"time"

	"github.com/wardenkit/warden/core/rule"
)

// LockoutRecord is the durable trace of one lockout (table security_lockout):
// written when a key locks, listed by admin and CLI, marked released by
// Lockout.Unlock. The counters themselves live in the attempt.Counter; a
// record whose lock has ended (Until passed) simply stays unreleased.
type LockoutRecord struct {
	ID int64 `json:"id"`
	// Username is the normalised username; "" for a LockoutByIP lock.
	Username string `json:"username,omitempty"`
	// IP is the client address as counted (IPv6 grouped by the engine's
	// prefix, e.g. "2001:db8:1:2::/64"); "" for a LockoutByUser lock.
	IP       string     `json:"ip,omitempty"`
	Scope    LockoutKey `json:"scope"`
	Failures int        `json:"failures"` // failures when it locked
	Limit    int        `json:"limit"`    // the limit it reached
	LockedAt time.Time  `json:"locked_at"`
	// Until is when the lock ends under the settings at the time it locked;
	// zero means until unlocked (cool-off 0).
	Until      time.Time `json:"until,omitzero"`
	ReleasedAt time.Time `json:"released_at,omitzero"` // zero: not released by hand
	ReleasedBy string    `json:"released_by,omitempty"`
}

const maxReleasedBy = rule.MaxCreatedByLen

// Validate reports the first field a store must refuse.
func (r LockoutRecord) Validate() error {
	const t = "LockoutRecord"
	if !r.Scope.valid() {
		return invalid(t, "scope", string(r.Scope), "must be user_ip, ip, user or source")
	}
	if (r.Scope == LockoutByIP || r.Scope == LockoutBySource) && r.Username != "" {
		return invalid(t, "username", r.Username, "must be empty for an ip lockout")
	}
	if r.Scope == LockoutByUser && r.IP != "" {
		return invalid(t, "ip", r.IP, "must be empty for a user lockout")
	}
	if r.Failures < 0 {
		return invalid(t, "failures", strconv.Itoa(r.Failures), "must not be negative")
	}
	if r.Limit < 0 {
		return invalid(t, "limit", strconv.Itoa(r.Limit), "must not be negative")
	}
	if r.LockedAt.IsZero() {
		return invalid(t, "locked_at", "", "must be set")
	}
	if err := rule.CheckText(t, "username", r.Username, MaxUsernameLen); err != nil {
		return err
	}
	if err := rule.CheckText(t, "ip", r.IP, MaxLockoutIPLen); err != nil {
		return err
	}
	return rule.CheckText(t, "released_by", r.ReleasedBy, maxReleasedBy)
}

// LockoutQuery selects lockout records, newest first (ID descending).
type LockoutQuery struct {
	Username   string // exact normalised username; "" = any
	IP         string // exact, as stored; "" = any
	Unreleased bool   // only records not released by hand
	// ReleasedSince selects records released at or after this time (zero:
	// no such filter). Engines use it to drop in-process counters that
	// another process unlocked.
	ReleasedSince time.Time
	BeforeID      int64 // keyset pagination: rows with ID < BeforeID; 0 = from the newest
	Limit         int   // 0 means 100; at most 10,000
}
