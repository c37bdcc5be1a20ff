package core

import (
	"fmt"
	"net/mail"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/wardenkit/warden/core/ratelimit"
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

// WithMeta returns v with its bookkeeping replaced by m.
func WithMeta[T Rule](v T, m Meta) T {
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
	maxRegexPatterns  = 50
)

func checkText(typ, field, v string, max int) error {
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

// ---------------------------------------------------------------------------

// BlockedIP blocks one address or a CIDR network. Disabled rows are kept but
// never enforced. A zero ExpiresAt means the block is permanent; otherwise it
// stops applying once the clock passes ExpiresAt (checked at decision time).
type BlockedIP struct {
	Meta
	Network     string    `json:"network"` // "203.0.113.9" or "203.0.113.0/24"
	Reason      string    `json:"reason,omitempty"`
	Disabled    bool      `json:"disabled,omitempty"`
	AutoBlocked bool      `json:"auto_blocked,omitempty"`
	BlockCount  int64     `json:"block_count,omitempty"`
	ExpiresAt   time.Time `json:"expires_at,omitzero"`
	CountryCode string    `json:"country_code,omitempty"`
	ReportOnly  bool      `json:"report_only,omitempty"` // record would_block, let the request through
}

func (b BlockedIP) Key() string     { return b.Network }
func (b BlockedIP) IsActive() bool  { return !b.Disabled }
func (b BlockedIP) Validate() error { return b.normalize() }
func (b *BlockedIP) normalize() error {
	p, err := ParseNetwork(b.Network)
	if err != nil {
		return invalid("BlockedIP", "network", b.Network, err.Error())
	}
	b.Network = FormatNetwork(p)
	b.Reason = strings.TrimSpace(b.Reason)
	if b.BlockCount < 0 {
		return invalid("BlockedIP", "block_count", strconv.FormatInt(b.BlockCount, 10), "must not be negative")
	}
	if b.CountryCode != "" {
		c, ok := NormalizeCountry(b.CountryCode)
		if !ok {
			return invalid("BlockedIP", "country_code", b.CountryCode, "not an ISO 3166-1 alpha-2 code")
		}
		b.CountryCode = c
	}
	if !b.ExpiresAt.IsZero() {
		b.ExpiresAt = b.ExpiresAt.UTC()
	}
	return checkText("BlockedIP", "reason", b.Reason, MaxReasonLen)
}

// ---------------------------------------------------------------------------

// WhitelistedIP lets an address or network bypass every check. Networks
// broader than /8 (IPv4) or /32 (IPv6) are refused unless Force is set, so a
// typo cannot whitelist the Internet. Force is a write-time flag only.
type WhitelistedIP struct {
	Meta
	Network     string `json:"network"`
	Description string `json:"description,omitempty"`
	Disabled    bool   `json:"disabled,omitempty"`
	CreatedBy   string `json:"created_by,omitempty"`
	Force       bool   `json:"force,omitempty"`
}

func (w WhitelistedIP) Key() string     { return w.Network }
func (w WhitelistedIP) IsActive() bool  { return !w.Disabled }
func (w WhitelistedIP) Validate() error { return w.normalize() }
func (w *WhitelistedIP) normalize() error {
	p, err := ParseNetwork(w.Network)
	if err != nil {
		return invalid("WhitelistedIP", "network", w.Network, err.Error())
	}
	min := 8
	if p.Addr().Is6() {
		min = 32
	}
	if p.Bits() < min && !w.Force {
		return invalid("WhitelistedIP", "network", w.Network,
			fmt.Sprintf("broader than /%d; set force to whitelist it anyway", min))
	}
	w.Network = FormatNetwork(p)
	w.Description = strings.TrimSpace(w.Description)
	if err := checkText("WhitelistedIP", "description", w.Description, MaxDescriptionLen); err != nil {
		return err
	}
	return checkText("WhitelistedIP", "created_by", w.CreatedBy, MaxCreatedByLen)
}

// ---------------------------------------------------------------------------

// BlockedCountry denies requests from a country (block mode). Disabled rows
// are "flagged for review" records and never block.
type BlockedCountry struct {
	Meta
	Code        string `json:"code"`
	Name        string `json:"name,omitempty"`
	Reason      string `json:"reason,omitempty"`
	Disabled    bool   `json:"disabled,omitempty"`
	AutoBlocked bool   `json:"auto_blocked,omitempty"`
	AttackCount int64  `json:"attack_count,omitempty"`
	ReportOnly  bool   `json:"report_only,omitempty"`
}

func (c BlockedCountry) Key() string     { return c.Code }
func (c BlockedCountry) IsActive() bool  { return !c.Disabled }
func (c BlockedCountry) Validate() error { return c.normalize() }
func (c *BlockedCountry) normalize() error {
	code, ok := NormalizeCountry(c.Code)
	if !ok {
		return invalid("BlockedCountry", "code", c.Code, "not an ISO 3166-1 alpha-2 code")
	}
	c.Code = code
	if c.Name = strings.TrimSpace(c.Name); c.Name == "" {
		c.Name = code
	}
	if c.AttackCount < 0 {
		return invalid("BlockedCountry", "attack_count", strconv.FormatInt(c.AttackCount, 10), "must not be negative")
	}
	if err := checkText("BlockedCountry", "name", c.Name, MaxNameLen); err != nil {
		return err
	}
	return checkText("BlockedCountry", "reason", c.Reason, MaxReasonLen)
}

// AllowedCountry is one entry of the country allow-list, which applies only
// when Settings.CountryAllowListMode is on.
type AllowedCountry struct {
	Meta
	Code     string `json:"code"`
	Name     string `json:"name,omitempty"`
	Disabled bool   `json:"disabled,omitempty"`
}

func (c AllowedCountry) Key() string     { return c.Code }
func (c AllowedCountry) IsActive() bool  { return !c.Disabled }
func (c AllowedCountry) Validate() error { return c.normalize() }
func (c *AllowedCountry) normalize() error {
	code, ok := NormalizeCountry(c.Code)
	if !ok {
		return invalid("AllowedCountry", "code", c.Code, "not an ISO 3166-1 alpha-2 code")
	}
	c.Code = code
	if c.Name = strings.TrimSpace(c.Name); c.Name == "" {
		c.Name = code
	}
	return checkText("AllowedCountry", "name", c.Name, MaxNameLen)
}

// ---------------------------------------------------------------------------

// UAMatch is how a BlockedUserAgent pattern is compared with the User-Agent.
// All three are case-insensitive.
type UAMatch string

const (
	UAContains UAMatch = "contains" // substring of the User-Agent (default)
	UAExact    UAMatch = "exact"    // the whole User-Agent
	UARegex    UAMatch = "regex"    // RE2, unanchored, against the first 1 KiB
)

// BlockedUserAgent denies requests whose User-Agent matches Pattern.
type BlockedUserAgent struct {
	Meta
	Pattern     string  `json:"pattern"`
	Match       UAMatch `json:"match,omitempty"`
	Category    string  `json:"category,omitempty"` // bot | scraper | spam | attack | custom
	Description string  `json:"description,omitempty"`
	Disabled    bool    `json:"disabled,omitempty"`
	AutoSynced  bool    `json:"auto_synced,omitempty"`
	HitCount    int64   `json:"hit_count,omitempty"`
	ReportOnly  bool    `json:"report_only,omitempty"`
}

var uaCategories = map[string]bool{"bot": true, "scraper": true, "spam": true, "attack": true, "custom": true}

func (u BlockedUserAgent) Key() string     { return u.Pattern }
func (u BlockedUserAgent) IsActive() bool  { return !u.Disabled }
func (u BlockedUserAgent) Validate() error { return u.normalize() }
func (u *BlockedUserAgent) normalize() error {
	if strings.TrimSpace(u.Pattern) == "" {
		return invalid("BlockedUserAgent", "pattern", u.Pattern, "must not be empty")
	}
	if err := checkText("BlockedUserAgent", "pattern", u.Pattern, MaxPatternLen); err != nil {
		return err
	}
	switch u.Match {
	case "":
		u.Match = UAContains
	case UAContains, UAExact:
	case UARegex:
		if _, err := regexp.Compile("(?i)" + u.Pattern); err != nil {
			return invalid("BlockedUserAgent", "pattern", u.Pattern, "bad regular expression: "+err.Error())
		}
	default:
		return invalid("BlockedUserAgent", "match", string(u.Match), "must be contains, exact or regex")
	}
	if u.Category == "" {
		u.Category = "bot"
	}
	if !uaCategories[u.Category] {
		return invalid("BlockedUserAgent", "category", u.Category, "must be bot, scraper, spam, attack or custom")
	}
	if u.HitCount < 0 {
		return invalid("BlockedUserAgent", "hit_count", strconv.FormatInt(u.HitCount, 10), "must not be negative")
	}
	return checkText("BlockedUserAgent", "description", u.Description, MaxDescriptionLen)
}

// ---------------------------------------------------------------------------

// Exemption is what a WhitelistedUser skips.
type Exemption string

const (
	ExemptAll       Exemption = "all"        // every check
	ExemptIPBlock   Exemption = "ip_block"   // the blocked-IP step
	ExemptGeoBlock  Exemption = "geo_block"  // the country step
	ExemptRateLimit Exemption = "rate_limit" // the rate-limit step
)

// WhitelistedUser exempts an authenticated user (matched exactly on the
// application's opaque user ID) from some or all checks.
type WhitelistedUser struct {
	Meta
	UserID    string    `json:"user_id"`
	Exemption Exemption `json:"exemption,omitempty"`
	Reason    string    `json:"reason,omitempty"`
	Disabled  bool      `json:"disabled,omitempty"`
	CreatedBy string    `json:"created_by,omitempty"`
	ExpiresAt time.Time `json:"expires_at,omitzero"`
}

func (w WhitelistedUser) Key() string     { return w.UserID }
func (w WhitelistedUser) IsActive() bool  { return !w.Disabled }
func (w WhitelistedUser) Validate() error { return w.normalize() }
func (w *WhitelistedUser) normalize() error {
	if w.UserID == "" {
		return invalid("WhitelistedUser", "user_id", w.UserID, "must not be empty")
	}
	if err := checkText("WhitelistedUser", "user_id", w.UserID, MaxUserIDLen); err != nil {
		return err
	}
	switch w.Exemption {
	case "":
		w.Exemption = ExemptAll
	case ExemptAll, ExemptIPBlock, ExemptGeoBlock, ExemptRateLimit:
	default:
		return invalid("WhitelistedUser", "exemption", string(w.Exemption), "must be all, ip_block, geo_block or rate_limit")
	}
	if !w.ExpiresAt.IsZero() {
		w.ExpiresAt = w.ExpiresAt.UTC()
	}
	if err := checkText("WhitelistedUser", "created_by", w.CreatedBy, MaxCreatedByLen); err != nil {
		return err
	}
	return checkText("WhitelistedUser", "reason", w.Reason, MaxReasonLen)
}

// ---------------------------------------------------------------------------

// BlockedEmail is an address the application refuses at sign-up or login
// (see Engine.EmailBlocked).
type BlockedEmail struct {
	Meta
	Email       string `json:"email"`
	Reason      string `json:"reason,omitempty"`
	Disabled    bool   `json:"disabled,omitempty"`
	AutoBlocked bool   `json:"auto_blocked,omitempty"`
}

func (e BlockedEmail) Key() string     { return e.Email }
func (e BlockedEmail) IsActive() bool  { return !e.Disabled }
func (e BlockedEmail) Validate() error { return e.normalize() }
func (e *BlockedEmail) normalize() error {
	addr, ok := NormalizeEmail(e.Email)
	if !ok {
		return invalid("BlockedEmail", "email", e.Email, "not an e-mail address")
	}
	e.Email = addr
	return checkText("BlockedEmail", "reason", e.Reason, MaxReasonLen)
}

// NormalizeEmail trims and lower-cases an address and checks its syntax
// (one "@", a non-empty local part, a valid domain).
func NormalizeEmail(s string) (string, bool) {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "" || len(s) > MaxEmailLen || strings.Count(s, "@") != 1 {
		return "", false
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || a.Name != "" {
		return "", false
	}
	_, dom, _ := strings.Cut(s, "@")
	if _, ok := NormalizeDomain(dom); !ok {
		return "", false
	}
	return s, true
}

// BlockedDomain is an e-mail domain the application refuses; sub-domains of
// a blocked domain are blocked too.
type BlockedDomain struct {
	Meta
	Domain     string `json:"domain"`
	Type       string `json:"type,omitempty"` // disposable | spam | competitor | custom
	Reason     string `json:"reason,omitempty"`
	Disabled   bool   `json:"disabled,omitempty"`
	AutoSynced bool   `json:"auto_synced,omitempty"`
}

var domainTypes = map[string]bool{"disposable": true, "spam": true, "competitor": true, "custom": true}

func (d BlockedDomain) Key() string     { return d.Domain }
func (d BlockedDomain) IsActive() bool  { return !d.Disabled }
func (d BlockedDomain) Validate() error { return d.normalize() }
func (d *BlockedDomain) normalize() error {
	dom, ok := NormalizeDomain(d.Domain)
	if !ok {
		return invalid("BlockedDomain", "domain", d.Domain, "not a domain name")
	}
	d.Domain = dom
	if d.Type == "" {
		d.Type = "disposable"
	}
	if !domainTypes[d.Type] {
		return invalid("BlockedDomain", "type", d.Type, "must be disposable, spam, competitor or custom")
	}
	return checkText("BlockedDomain", "reason", d.Reason, MaxReasonLen)
}

// NormalizeDomain trims, lower-cases and drops one trailing dot, and checks
// the labels (letters, digits, hyphens, 1-63 bytes, at least two labels).
func NormalizeDomain(s string) (string, bool) {
	s = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(s)), ".")
	if s == "" || len(s) > MaxDomainLen {
		return "", false
	}
	labels := strings.Split(s, ".")
	if len(labels) < 2 {
		return "", false
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return "", false
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return "", false
			}
		}
	}
	return s, true
}

// ---------------------------------------------------------------------------

// RateLimitRule limits requests to a path. It is stored and validated now and
// enforced by the rate-limit step.
type RateLimitRule struct {
	Meta
	Name        string `json:"name"`
	PathPattern string `json:"path_pattern"`     // exact path, or a prefix ending in "*"
	Method      string `json:"method,omitempty"` // ALL (default) or one method
	Rate        string `json:"rate"`             // N/s, N/m, N/h or N/d
	Burst       int    `json:"burst,omitempty"`  // 0 means N
	KeyBy       string `json:"key_by,omitempty"` // ip (default), user, user_or_ip, header:NAME
	Disabled    bool   `json:"disabled,omitempty"`
	HitCount    int64  `json:"hit_count,omitempty"`
	ReportOnly  bool   `json:"report_only,omitempty"`
}

var methods = map[string]bool{"ALL": true, "GET": true, "HEAD": true, "POST": true, "PUT": true, "PATCH": true, "DELETE": true, "OPTIONS": true}

func (r RateLimitRule) Key() string     { return r.Method + " " + r.PathPattern }
func (r RateLimitRule) IsActive() bool  { return !r.Disabled }
func (r RateLimitRule) Validate() error { return r.normalize() }
func (r *RateLimitRule) normalize() error {
	const t = "RateLimitRule"
	r.Name = strings.TrimSpace(r.Name)
	if r.Name == "" {
		return invalid(t, "name", r.Name, "must not be empty")
	}
	if err := checkText(t, "name", r.Name, MaxNameLen); err != nil {
		return err
	}
	if !strings.HasPrefix(r.PathPattern, "/") {
		return invalid(t, "path_pattern", r.PathPattern, "must start with /")
	}
	if i := strings.IndexByte(r.PathPattern, '*'); i >= 0 && i != len(r.PathPattern)-1 {
		return invalid(t, "path_pattern", r.PathPattern, "* is only allowed at the end")
	}
	if err := checkText(t, "path_pattern", r.PathPattern, MaxPathLen); err != nil {
		return err
	}
	r.Method = strings.ToUpper(strings.TrimSpace(r.Method))
	if r.Method == "" {
		r.Method = "ALL"
	}
	if !methods[r.Method] {
		return invalid(t, "method", r.Method, "must be ALL, GET, HEAD, POST, PUT, PATCH, DELETE or OPTIONS")
	}
	r.Rate = strings.TrimSpace(r.Rate)
	if _, err := r.Limit(); err != nil {
		if _, perr := ratelimit.Parse(r.Rate); perr != nil {
			return invalid(t, "rate", r.Rate, "want N/s, N/m, N/h or N/d (optionally ;burst=B)")
		}
		return invalid(t, "burst", strconv.Itoa(r.Burst), err.Error())
	}
	switch {
	case r.KeyBy == "":
		r.KeyBy = "ip"
	case r.KeyBy == "ip", r.KeyBy == "user", r.KeyBy == "user_or_ip":
	case strings.HasPrefix(r.KeyBy, "header:") && len(r.KeyBy) > len("header:") && len(r.KeyBy) <= 100:
	default:
		return invalid(t, "key_by", r.KeyBy, "must be ip, user, user_or_ip or header:NAME")
	}
	if r.HitCount < 0 {
		return invalid(t, "hit_count", strconv.FormatInt(r.HitCount, 10), "must not be negative")
	}
	return nil
}

// Limit is the rule's rate as a ratelimit.Limit; a non-zero Burst field
// overrides a burst written in Rate.
func (r RateLimitRule) Limit() (ratelimit.Limit, error) {
	l, err := ratelimit.Parse(r.Rate)
	if err != nil {
		return l, err
	}
	if r.Burst < 0 {
		return l, fmt.Errorf("must not be negative")
	}
	if r.Burst > 0 {
		l.Burst = int64(r.Burst)
	}
	if err := l.Validate(); err != nil {
		return l, err
	}
	return l, nil
}

// KeepCounters returns v with the hit counter of old, the stored row it
// updates (see Table's contract).
func KeepCounters[T Rule](v, old T) T {
	switch n := any(&v).(type) {
	case *BlockedIP:
		n.BlockCount = any(old).(BlockedIP).BlockCount
	case *BlockedUserAgent:
		n.HitCount = any(old).(BlockedUserAgent).HitCount
	case *RateLimitRule:
		n.HitCount = any(old).(RateLimitRule).HitCount
	}
	return v
}
