package core

import "net/netip"

// countryIndex maps an upper-case two-letter code to 0..675, or -1.
func countryIndex(code string) int {
	if len(code) != 2 {
		return -1
	}
	a, b := code[0], code[1]
	if a >= 'a' && a <= 'z' {
		a -= 'a' - 'A'
	}
	if b >= 'a' && b <= 'z' {
		b -= 'a' - 'A'
	}
	if a < 'A' || a > 'Z' || b < 'A' || b > 'Z' {
		return -1
	}
	return int(a-'A')*26 + int(b-'A')
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

// formatNetwork is the canonical text of a prefix: the bare address for a
// single host, CIDR notation otherwise (as rule.ParseNetwork's callers write it).
func formatNetwork(p netip.Prefix) string {
	if p.Bits() == p.Addr().BitLen() {
		return p.Addr().String()
	}
	return p.String()
}
