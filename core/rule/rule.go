package rule

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/wardenkit/warden/internal/textutil"
)

// Meta is the bookkeeping every stored row carries. Stores set it on Put; a
// caller's values are ignored except ID, which Put ignores as well (rows are
// addressed by their Key).
type Meta struct {
	ID        int64     `json:"id"`
	CreatedAt time.Time `json:"created_at,omitzero"`
	UpdatedAt time.Time `json:"updated_at,omitzero"`
}

// GetMeta returns the row's bookkeeping.
func (m Meta) GetMeta() Meta { return m }

// SetMeta replaces the row's bookkeeping; stores call it.
func (m *Meta) SetMeta(x Meta) { *m = x }

// Rule is the closed set of rule kinds a Table holds. Key is the natural key a
// Put upserts on; Validate reports the first field that is wrong.
type Rule interface {
	BlockedIP | WhitelistedIP | BlockedCountry | AllowedCountry | BlockedUserAgent |
		WhitelistedUser | BlockedEmail | BlockedDomain | RateLimitRule
	Key() string
	Validate() error
	GetMeta() Meta
	IsActive() bool
}

// Normalize validates v and returns its canonical form (trimmed, lower- or
// upper-cased as the kind wants, IPv4-mapped addresses unmapped, defaults
// filled in). Stores call it on every Put.
func Normalize[T Rule](v T) (T, error) {
	n, ok := any(&v).(interface{ normalize() error })
	if !ok {
		return v, fmt.Errorf("core: Normalize: %T has no normalizer", v)
	}
	err := n.normalize()
	return v, err
}

// Expiry returns v's expiry: ExpiresAt for the kinds that have one (BlockedIP,
// WhitelistedUser), zero for the others and for rows that never expire.
func Expiry[T Rule](v T) time.Time {
	switch r := any(v).(type) {
	case BlockedIP:
		return r.ExpiresAt
	case WhitelistedUser:
		return r.ExpiresAt
	}
	return time.Time{}
}

// ApplyMeta returns v with its bookkeeping replaced by m.
func ApplyMeta[T Rule](v T, m Meta) T {
	any(&v).(interface{ SetMeta(Meta) }).SetMeta(m)
	return v
}

// Field limits, in runes, shared with the SQL schema.
const (
	MaxReasonLen      = 2000
	MaxDescriptionLen = 255
	MaxPatternLen     = 500
	MaxUserIDLen      = 150
	MaxEmailLen       = 254
	MaxDomainLen      = 253
	MaxNameLen        = 100
	MaxPathLen        = 255
	MaxCreatedByLen   = 100
)

// CheckText returns a *ValidationError of typ.field when v is not valid
// UTF-8, holds a NUL byte or is longer than max runes: text no store keeps.
func CheckText(typ, field, v string, max int) error {
	if !utf8.ValidString(v) {
		return invalid(typ, field, v, "not valid UTF-8")
	}
	if strings.IndexByte(v, 0) >= 0 {
		return invalid(typ, field, v, "contains a NUL byte")
	}
	if n := utf8.RuneCountInString(v); n > max {
		return invalid(typ, field, v, fmt.Sprintf("longer than %d characters (%d)", max, n))
	}
	return nil
}

// KeepCounters returns v with the hit counter of old, the stored row it
// updates (see Table's contract).
func KeepCounters[T Rule](v, old T) T {
	switch n := any(&v).(type) {
	case *BlockedIP:
		o := any(old).(BlockedIP)
		n.BlockCount, n.AutoBlocks = o.BlockCount, max(n.AutoBlocks, o.AutoBlocks)
	case *BlockedUserAgent:
		n.HitCount = any(old).(BlockedUserAgent).HitCount
	case *RateLimitRule:
		n.HitCount = any(old).(RateLimitRule).HitCount
	}
	return v
}

// ErrInvalid is wrapped by every *ValidationError, so errors.Is(err,
// ErrInvalid) tells bad input from a system failure. core.ErrInvalid is the
// same value.
var ErrInvalid = errors.New("rule: invalid input")

// ValidationError names the field and the value that were refused and why.
type ValidationError struct {
	Type    string // entity, e.g. "BlockedIP"
	Field   string // field name as stored, e.g. "network"
	Value   string // the offending value, cut to 100 bytes
	Problem string // what is wrong with it
}

// Error says which field of which kind was refused, its value and why.
func (e *ValidationError) Error() string {
	return fmt.Sprintf("invalid %s.%s %q: %s", e.Type, e.Field, e.Value, e.Problem)
}

// Unwrap makes errors.Is(err, ErrInvalid) true.
func (e *ValidationError) Unwrap() error { return ErrInvalid }

func invalid(typ, field, value, problem string) error {
	if len(value) > 100 {
		value = textutil.Truncate(value, 100)
	}
	return &ValidationError{Type: typ, Field: field, Value: value, Problem: problem}
}
