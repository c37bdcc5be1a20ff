package rule

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// BlockedIP blocks one address or a CIDR network. Disabled rows are kept but
// never enforced. A zero ExpiresAt means the block is permanent; otherwise it
// stops applying once the clock passes ExpiresAt (checked at decision time).
// Networks broader than /8 (IPv4) or /16 (IPv6), 0.0.0.0/0 and ::/0 among
// them, are refused unless Force is set, so a typo cannot block the Internet.
// Force is a write-time flag only.
type BlockedIP struct {
	Meta
	Network     string    `json:"network"` // "203.0.113.9" or "203.0.113.0/24"
	Reason      string    `json:"reason,omitempty"`
	Disabled    bool      `json:"disabled,omitempty"`
	AutoBlocked bool      `json:"auto_blocked,omitempty"`
	BlockCount  int64     `json:"block_count,omitempty"`
	AutoBlocks  int64     `json:"auto_blocks,omitempty"` // times the AutoBlocker blocked it; never lowered by a write
	ExpiresAt   time.Time `json:"expires_at,omitzero"`
	CountryCode string    `json:"country_code,omitempty"`
	ReportOnly  bool      `json:"report_only,omitempty"` // record would_block, let the request through
	Force       bool      `json:"force,omitempty"`
}

// Key is the network, the natural key a store upserts on.
func (b BlockedIP) Key() string { return b.Network }

// IsActive reports whether the rule is enforced (not disabled).
func (b BlockedIP) IsActive() bool { return !b.Disabled }

// Validate reports the first field that is wrong, as a *ValidationError.
func (b BlockedIP) Validate() error { return b.normalize() }
func (b *BlockedIP) normalize() error {
	p, err := ParseNetwork(b.Network)
	if err != nil {
		return invalid("BlockedIP", "network", b.Network, err.Error())
	}
	if min := broadest(p, 8, 16); p.Bits() < min && !b.Force {
		return invalid("BlockedIP", "network", b.Network,
			fmt.Sprintf("broader than /%d; set force to block it anyway", min))
	}
	b.Network = formatNetwork(p)
	b.Reason = strings.TrimSpace(b.Reason)
	if b.BlockCount < 0 {
		return invalid("BlockedIP", "block_count", strconv.FormatInt(b.BlockCount, 10), "must not be negative")
	}
	if b.AutoBlocks < 0 {
		return invalid("BlockedIP", "auto_blocks", strconv.FormatInt(b.AutoBlocks, 10), "must not be negative")
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
	return CheckText("BlockedIP", "reason", b.Reason, MaxReasonLen)
}

// broadest is the shortest prefix accepted without Force: v4 bits for IPv4,
// v6 bits for IPv6.
func broadest(p netip.Prefix, v4, v6 int) int {
	if p.Addr().Is6() {
		return v6
	}
	return v4
}

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

// Key is the network, the natural key a store upserts on.
func (w WhitelistedIP) Key() string { return w.Network }

// IsActive reports whether the rule is enforced (not disabled).
func (w WhitelistedIP) IsActive() bool { return !w.Disabled }

// Validate reports the first field that is wrong, as a *ValidationError.
func (w WhitelistedIP) Validate() error { return w.normalize() }
func (w *WhitelistedIP) normalize() error {
	p, err := ParseNetwork(w.Network)
	if err != nil {
		return invalid("WhitelistedIP", "network", w.Network, err.Error())
	}
	if min := broadest(p, 8, 32); p.Bits() < min && !w.Force {
		return invalid("WhitelistedIP", "network", w.Network,
			fmt.Sprintf("broader than /%d; set force to whitelist it anyway", min))
	}
	w.Network = formatNetwork(p)
	w.Description = strings.TrimSpace(w.Description)
	if err := CheckText("WhitelistedIP", "description", w.Description, MaxDescriptionLen); err != nil {
		return err
	}
	return CheckText("WhitelistedIP", "created_by", w.CreatedBy, MaxCreatedByLen)
}

// ParseNetwork parses an address ("203.0.113.9", "2001:db8::1") or a CIDR
// network ("203.0.113.0/24") into its canonical prefix. IPv4-mapped IPv6
// addresses and networks are turned into IPv4 (::ffff:192.0.2.1 becomes
// 192.0.2.1/32; ::ffff:192.0.2.0/120 becomes 192.0.2.0/24). Zones, host bits
// set in a CIDR, and anything else that is not an address are refused.
func ParseNetwork(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return netip.Prefix{}, fmt.Errorf("empty address")
	}
	if strings.Contains(s, "%") {
		return netip.Prefix{}, fmt.Errorf("zone identifiers are not allowed")
	}
	if !strings.Contains(s, "/") {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("not an IP address or CIDR network")
		}
		a = a.Unmap()
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("not an IP address or CIDR network")
	}
	if p.Masked() != p {
		return netip.Prefix{}, fmt.Errorf("host bits set (did you mean %s?)", p.Masked())
	}
	if a := p.Addr(); a.Is4In6() {
		if p.Bits() < 96 {
			return netip.Prefix{}, fmt.Errorf("IPv4-mapped network shorter than /96")
		}
		p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
	}
	return p, nil
}

// formatNetwork is the canonical text of a prefix: the bare address for a
// single host, CIDR notation otherwise.
func formatNetwork(p netip.Prefix) string {
	if p.Bits() == p.Addr().BitLen() {
		return p.Addr().String()
	}
	return p.String()
}
