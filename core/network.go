package core

import (
	"fmt"
	"net/netip"
	"strings"
)

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

// FormatNetwork is the canonical text of a prefix: the bare address for a
// single host, CIDR notation otherwise.
func FormatNetwork(p netip.Prefix) string {
	if p.Bits() == p.Addr().BitLen() {
		return p.Addr().String()
	}
	return p.String()
}

// internalAddr reports whether a is private, loopback, link-local, CGNAT
// (100.64.0.0/10) or unspecified: addresses that no GeoIP database places in a
// country.
func internalAddr(a netip.Addr) bool {
	if a.IsPrivate() || a.IsLoopback() || a.IsLinkLocalUnicast() || a.IsUnspecified() {
		return true
	}
	if a.Is4() {
		b := a.As4()
		return b[0] == 100 && b[1]&0xc0 == 64
	}
	return false
}
