package rule

import (
	"net/mail"
	"strings"
)

// BlockedEmail is an address the application refuses at sign-up or login
// (see Engine.EmailBlocked).
type BlockedEmail struct {
	Meta
	Email       string `json:"email"`
	Reason      string `json:"reason,omitempty"`
	Disabled    bool   `json:"disabled,omitempty"`
	AutoBlocked bool   `json:"auto_blocked,omitempty"`
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
