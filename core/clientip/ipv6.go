package clientip

import (
	"encoding/binary"
	"net/netip"
)

// hexVal maps a hex digit (either case) to its value and every other byte to
// noHex.
var hexVal = func() (t [256]uint8) {
	for i := range t {
		t[i] = noHex
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = uint8(c - '0')
	}
	for c := 'a'; c <= 'f'; c++ {
		t[c] = uint8(c - 'a' + 10)
		t[c-'a'+'A'] = uint8(c - 'a' + 10)
	}
	return t
}()

const noHex = 0xff

// parseV6 parses a bare IPv6 address, accepting exactly what
// netip.ParseAddr accepts for IPv6 without a zone: one to eight groups of
// one to four hex digits (either case) separated by single colons, at most one
// "::" standing for one or more zero groups, and optionally a dotted quad (no
// leading zeros) in place of the last two groups. The result is unmapped
// (::ffff:1.2.3.4 is 1.2.3.4). Anything else, a zone or brackets included, is
// refused. It does not allocate.
//
// The groups are shifted into a 128-bit accumulator (hi, lo) as they come;
// at "::" the groups so far are set aside as the head and the accumulator
// restarts, so the head is shifted into place once at the end.
func parseV6(s string) (netip.Addr, bool) {
	var hi, lo, headHi, headLo uint64
	n := 0         // groups parsed, head and tail
	ellipsis := -1 // groups in the head, once "::" is seen
	i := 0
	if len(s) >= 2 && s[0] == ':' && s[1] == ':' {
		ellipsis, i = 0, 2
		if i == len(s) {
			return netip.IPv6Unspecified(), true
		}
	}
	for {
		start := i
		v := uint64(0)
		for ; i < len(s); i++ {
			d := hexVal[s[i]]
			if d == noHex {
				break
			}
			v = v<<4 | uint64(d)
		}
		if i == start || i-start > 4 {
			return netip.Addr{}, false
		}
		if i < len(s) && s[i] == '.' {
			// A dotted quad, which must end the address and fill its last
			// two groups (or follow the "::" with room to spare).
			if ellipsis < 0 && n != 6 || n > 6 {
				return netip.Addr{}, false
			}
			b, end, ok := scanV4(s, start)
			if !ok || end != len(s) {
				return netip.Addr{}, false
			}
			hi, lo = hi<<32|lo>>32, lo<<32|uint64(binary.BigEndian.Uint32(b[:]))
			n += 2
			break
		}
		hi, lo = hi<<16|lo>>48, lo<<16|v
		n++
		if i == len(s) {
			break
		}
		if s[i] != ':' || i+1 == len(s) || n == 8 {
			return netip.Addr{}, false // junk, a trailing colon or a ninth group
		}
		i++
		if s[i] == ':' {
			if ellipsis >= 0 {
				return netip.Addr{}, false // a second "::"
			}
			ellipsis, headHi, headLo, hi, lo = n, hi, lo, 0, 0
			i++
			if i == len(s) {
				break
			}
		}
	}
	// Without "::" there must be eight groups; with it, at most seven, the
	// "::" standing for at least one zero group.
	if (ellipsis < 0) != (n == 8) {
		return netip.Addr{}, false
	}
	if ellipsis >= 0 {
		// Shift the head to the top: by 16 bits per group the "::" and the
		// tail take. Shift counts of 64 or more give zero.
		k := uint(16 * (8 - ellipsis))
		hi |= headHi<<k | headLo<<(k-64) | headLo>>(64-k)
		lo |= headLo << k
	}
	return addrFrom128(hi, lo), true
}

// addrFrom128 returns the IPv6 address hi:lo, unmapped.
func addrFrom128(hi, lo uint64) netip.Addr {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], hi)
	binary.BigEndian.PutUint64(b[8:], lo)
	return netip.AddrFrom16(b).Unmap()
}
