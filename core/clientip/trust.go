package clientip

import (
	"cmp"
	"encoding/binary"
	"net/netip"
	"slices"
)

// trustSet holds the trusted prefixes as sorted, disjoint address ranges per
// family, so a lookup is a binary search whatever the number of prefixes.
type trustSet struct {
	v4 []span4
	v6 []span6
}

type span4 struct{ lo, hi uint32 }

type u128 struct{ hi, lo uint64 }

func (a u128) cmp(b u128) int {
	if c := cmp.Compare(a.hi, b.hi); c != 0 {
		return c
	}
	return cmp.Compare(a.lo, b.lo)
}

type span6 struct{ lo, hi u128 }

// newTrustSet builds the set from valid, masked prefixes with Bits() > 0.
func newTrustSet(prefixes []netip.Prefix) trustSet {
	var t trustSet
	for _, p := range prefixes {
		host := 0
		if p.Addr().Is4() {
			host = 32 - p.Bits()
			lo := v4int(p.Addr())
			t.v4 = append(t.v4, span4{lo, lo | uint32(uint64(1)<<host-1)})
			continue
		}
		host = 128 - p.Bits()
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

func (t *trustSet) empty() bool { return len(t.v4) == 0 && len(t.v6) == 0 }

// contains reports whether a (unmapped, no zone) is inside a trusted range.
func (t *trustSet) contains(a netip.Addr) bool {
	if a.Is4() {
		if len(t.v4) == 0 {
			return false
		}
		x := v4int(a)
		lo, hi := 0, len(t.v4)
		for lo < hi { // first span starting after x
			m := int(uint(lo+hi) >> 1)
			if t.v4[m].lo <= x {
				lo = m + 1
			} else {
				hi = m
			}
		}
		return lo > 0 && x <= t.v4[lo-1].hi
	}
	if len(t.v6) == 0 || !a.Is6() {
		return false
	}
	x := v6int(a)
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
