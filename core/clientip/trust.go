package clientip

import (
	"cmp"
	"encoding/binary"
	"net/netip"
	"slices"
)

// trustSet holds the trusted prefixes of each family: up to linearMax of
// them as masks, scanned in order (the common case: a few proxy networks),
// more as sorted, disjoint address ranges, binary-searched, so a lookup
// stays flat whatever the number of prefixes.
type trustSet struct {
	few4 []net4
	few6 []net6
	v4   []span4
	v6   []span6
}

// linearMax is the number of prefixes of a family up to which a scan beats a
// binary search.
const linearMax = 8

type (
	net4  struct{ mask, net uint32 }
	net6  struct{ mask, net u128 }
	span4 struct{ lo, hi uint32 }
	span6 struct{ lo, hi u128 }
)

// u128 is an IPv6 address as a number. The parsers return addresses in this
// form, with IPv4 held as IPv4-mapped IPv6 (::ffff:a.b.c.d); since every
// address is unmapped, such an address is IPv4 (see is4).
type u128 struct{ hi, lo uint64 }

// from4 holds the IPv4 address x as a u128.
func from4(x uint32) u128 {
	return u128{0, 0xffff<<32 | uint64(x)}
}

// is4 reports whether a is IPv4 (IPv4-mapped IPv6, unmapped).
func (a u128) is4() bool { return a.hi == 0 && a.lo>>32 == 0xffff }

// addr returns a as a netip.Addr, IPv4 for an IPv4-mapped address.
func (a u128) addr() netip.Addr {
	if a.is4() {
		return netip.AddrFrom4([4]byte{byte(a.lo >> 24), byte(a.lo >> 16), byte(a.lo >> 8), byte(a.lo)})
	}
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], a.hi)
	binary.BigEndian.PutUint64(b[8:], a.lo)
	return netip.AddrFrom16(b)
}

func (a u128) cmp(b u128) int {
	if c := cmp.Compare(a.hi, b.hi); c != 0 {
		return c
	}
	return cmp.Compare(a.lo, b.lo)
}

// newTrustSet builds the set from valid, masked prefixes with Bits() > 0.
func newTrustSet(prefixes []netip.Prefix) trustSet {
	var t trustSet
	for _, p := range prefixes {
		if p.Addr().Is4() {
			host := 32 - p.Bits()
			lo := v4int(p.Addr())
			t.v4 = append(t.v4, span4{lo, lo | uint32(uint64(1)<<host-1)})
			continue
		}
		host := 128 - p.Bits()
		lo := v6int(p.Addr())
		hi := lo
		if host >= 64 {
			hi.hi |= uint64(1)<<(host-64) - 1 // shift by 64 gives 0, and 0-1 is all ones
			hi.lo = ^uint64(0)
		} else {
			hi.lo |= uint64(1)<<host - 1
		}
		t.v6 = append(t.v6, span6{lo, hi})
	}
	if len(t.v4) <= linearMax {
		for _, s := range t.v4 {
			t.few4 = append(t.few4, net4{^(s.hi - s.lo), s.lo})
		}
		t.v4 = nil
	}
	if len(t.v6) <= linearMax {
		for _, s := range t.v6 {
			mask := u128{^(s.hi.hi ^ s.lo.hi), ^(s.hi.lo ^ s.lo.lo)}
			t.few6 = append(t.few6, net6{mask, s.lo})
		}
		t.v6 = nil
	}
	slices.SortFunc(t.v4, func(a, b span4) int { return cmp.Compare(a.lo, b.lo) })
	slices.SortFunc(t.v6, func(a, b span6) int { return a.lo.cmp(b.lo) })
	t.v4 = mergeSpans(t.v4, func(prev *span4, s span4) bool {
		if s.lo > prev.hi && (prev.hi == ^uint32(0) || s.lo != prev.hi+1) {
			return false
		}
		prev.hi = max(prev.hi, s.hi)
		return true
	})
	t.v6 = mergeSpans(t.v6, func(prev *span6, s span6) bool {
		if s.lo.cmp(prev.hi) > 0 {
			return false
		}
		if prev.hi.cmp(s.hi) < 0 {
			prev.hi = s.hi
		}
		return true
	})
	return t
}

// mergeSpans merges sorted spans in place; join extends prev with s if they
// overlap or touch.
func mergeSpans[S any](spans []S, join func(prev *S, s S) bool) []S {
	out := spans[:0]
	for _, s := range spans {
		if len(out) > 0 && join(&out[len(out)-1], s) {
			continue
		}
		out = append(out, s)
	}
	return slices.Clip(out)
}

func v4int(a netip.Addr) uint32 {
	b := a.As4()
	return binary.BigEndian.Uint32(b[:])
}

func v6int(a netip.Addr) u128 {
	b := a.As16()
	return u128{binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])}
}

func (t *trustSet) empty() bool {
	return len(t.few4) == 0 && len(t.few6) == 0 && len(t.v4) == 0 && len(t.v6) == 0
}

// containsAddr reports whether a, unmapped and without its zone, is inside a
// trusted prefix. The zero Addr is not.
func (t *trustSet) containsAddr(a netip.Addr) bool {
	a = a.WithZone("").Unmap()
	switch {
	case a.Is4():
		return t.contains(from4(v4int(a)))
	case a.Is6():
		return t.contains(v6int(a))
	}
	return false
}

// contains reports whether a parsed address is inside a trusted prefix.
func (t *trustSet) contains(a u128) bool {
	if a.is4() {
		x := uint32(a.lo)
		for _, n := range t.few4 {
			if x&n.mask == n.net {
				return true
			}
		}
		return len(t.v4) > 0 && t.search4(x)
	}
	for _, n := range t.few6 {
		if (a.hi&n.mask.hi^n.net.hi)|(a.lo&n.mask.lo^n.net.lo) == 0 {
			return true
		}
	}
	return len(t.v6) > 0 && t.search6(a)
}

// search4 binary-searches the IPv4 ranges for the last one starting at or
// before x and reports whether it holds x. The halving has no branch on the
// data, which the CPU could not predict: the sign of lo-x-1 (negative when
// lo <= x) becomes a mask for the step.
func (t *trustSet) search4(x uint32) bool {
	base, n := 0, len(t.v4)
	for n > 1 {
		half := n / 2
		le := (int64(t.v4[base+half].lo) - int64(x) - 1) >> 63 // -1 if lo <= x, else 0
		base += half & int(le)
		n -= half
	}
	s := t.v4[base]
	return s.lo <= x && x <= s.hi
}

// search6 binary-searches the IPv6 ranges.
func (t *trustSet) search6(x u128) bool {
	lo, hi := 0, len(t.v6)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if t.v6[m].lo.cmp(x) <= 0 {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo > 0 && x.cmp(t.v6[lo-1].hi) <= 0
}
