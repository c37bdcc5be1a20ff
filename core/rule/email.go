package rule

import (
	"net/mail"
	"strings"
	"unicode/utf8"

	"github.com/wardenkit/warden/internal/textutil"
	"golang.org/x/net/idna"
)

// BlockedEmail is an address the application refuses at sign-up or login
// (core.Engine.CheckEmail). Email is stored normalised (NormalizeEmail).
type BlockedEmail struct {
	Meta
	Email       string `json:"email"`
	Reason      string `json:"reason,omitempty"`
	Disabled    bool   `json:"disabled,omitempty"`
	AutoBlocked bool   `json:"auto_blocked,omitempty"`
	ReportOnly  bool   `json:"report_only,omitempty"` // record WOULD_BLOCK, let the address through
}

// Key is the address, the natural key a store upserts on.
func (e BlockedEmail) Key() string { return e.Email }

// IsActive reports whether the rule is enforced (not disabled).
func (e BlockedEmail) IsActive() bool { return !e.Disabled }

// Validate reports the first field that is wrong, as a *ValidationError.
func (e BlockedEmail) Validate() error { return e.normalize() }
func (e *BlockedEmail) normalize() error {
	addr, ok := NormalizeEmail(e.Email)
	if !ok {
		return invalid("BlockedEmail", "email", e.Email, "not an e-mail address")
	}
	e.Email = addr
	return CheckText("BlockedEmail", "reason", e.Reason, MaxReasonLen)
}

// NormalizeEmail is the form addresses are stored and compared in: trimmed,
// the local part case-folded (Unicode), the domain lower-cased with an
// internationalised name in punycode (NormalizeDomain). It checks the syntax
// (one "@", a local part of at most 64 bytes, a valid domain) and reports
// false for anything else.
func NormalizeEmail(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > 4*MaxEmailLen || strings.Count(s, "@") != 1 {
		return "", false
	}
	local, dom, _ := strings.Cut(s, "@")
	dom, ok := NormalizeDomain(dom)
	if !ok || local == "" || len(local) > 64 || !utf8.ValidString(local) {
		return "", false
	}
	local = foldCase(local)
	a, err := mail.ParseAddress("<" + local + "@" + dom + ">")
	if err != nil || a.Name != "" {
		return "", false
	}
	out := local + "@" + dom
	if len(out) > MaxEmailLen {
		return "", false
	}
	return out, true
}

// foldCase lower-cases s with Unicode simple case folding.
func foldCase(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= utf8.RuneSelf || (c >= 'A' && c <= 'Z') {
			return strings.ToLower(s)
		}
	}
	return s
}

// BlockedDomain is an e-mail domain the application refuses
// (core.Engine.CheckEmail); every sub-domain of a blocked domain is blocked
// too. Domain is stored in punycode (NormalizeDomain).
type BlockedDomain struct {
	Meta
	Domain     string `json:"domain"`
	Type       string `json:"type,omitempty"` // disposable | spam | competitor | custom
	Reason     string `json:"reason,omitempty"`
	Disabled   bool   `json:"disabled,omitempty"`
	AutoSynced bool   `json:"auto_synced,omitempty"`
	ReportOnly bool   `json:"report_only,omitempty"` // record WOULD_BLOCK, let the address through
}

var domainTypes = map[string]bool{"disposable": true, "spam": true, "competitor": true, "custom": true}

// Key is the domain, the natural key a store upserts on.
func (d BlockedDomain) Key() string { return d.Domain }

// IsActive reports whether the rule is enforced (not disabled).
func (d BlockedDomain) IsActive() bool { return !d.Disabled }

// Validate reports the first field that is wrong, as a *ValidationError.
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
	return CheckText("BlockedDomain", "reason", d.Reason, MaxReasonLen)
}

// NormalizeDomain trims, lower-cases and drops one trailing dot, converts an
// internationalised name to punycode (IDNA 2008 lookup rules), and checks the
// labels (letters, digits, hyphens and underscores, 1-63 bytes, at least
// two labels).
func NormalizeDomain(s string) (string, bool) {
	s = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(s)), ".")
	if s == "" || len(s) > 4*MaxDomainLen {
		return "", false
	}
	if !textutil.IsASCII(s) {
		a, err := idna.Lookup.ToASCII(s)
		if err != nil {
			return "", false
		}
		s = a
	}
	if len(s) > MaxDomainLen {
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
