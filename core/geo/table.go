package geo

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"net/netip"
	"slices"

	"github.com/oschwald/maxminddb-golang/v2"
)

// Bounds on compiling a database into a table. Past either, the file is
// still used, through its search tree (see snapshot.country). Variables
// for the tests.
var (
	// maxTableRanges bounds the table at 4,194,304 ranges after merging:
	// at most 26 MiB of IPv4 or 76 MiB of IPv6 ranges. A country database
	// compiles into a few hundred thousand.
	maxTableRanges = rangeMask + 1 // 4,194,304
	// maxCompileNetworks bounds the networks (with and without data) walked
	// while compiling, one to two seconds of work; it also stops the walk of a
	// corrupt tree whose nodes share subtrees or point back at each other.
	maxCompileNetworks = 1 << 24 // 16,777,216
)

// An idx6 entry packs a range index (22 bits, as maxTableRanges allows) and
// the number of its bucket's second-level index in sub6 (10 bits, 0: none).
const (
	rangeBits = 22
	rangeMask = 1<<rangeBits - 1
	maxSub6   = 1<<(32-rangeBits) - 1
	// denseBucket is the number of ranges a binary search may step through
	// (6 steps) before its /16 gets a second-level index.
	denseBucket = 64
)

// Table codes: 0 is no country, 1..len(codes) index codes (as codeIndex),
// aliasCode+d is an IPv4 alias (see table).
const aliasCode = 0x8000

var errTooLarge = errors.New("too large to compile")

// table is a database compiled into sorted address ranges, each with the
// country of every address in it. It answers exactly as a walk of the
// search tree followed by a decode of the record does, in two memory reads
// and a binary search of a few steps, and holds no pointers in its large
// arrays, so the garbage collector does not scan them. It is immutable.
//
// An IPv6 database may alias its IPv4 subtree (::/96) elsewhere: mmdbwriter
// and MaxMind's writers point ::ffff:0:0/96, 2001::/32 and 2002::/16 at it,
// so that 2002:5102:458e:: finds 81.2.69.142's record. Such a range has the
// code aliasCode+d: the address's bits d..d+31 are looked up in the IPv4
// ranges, as the tree walk continues in the IPv4 subtree from depth d.
// ::/96 itself is the alias with d = 96.
type table struct {
	// start4[i] is the first address of IPv4 range i and code4[i] its code;
	// start4[0] == 0 and a range ends where the next starts.
	start4 []uint32
	code4  []uint16
	// start6 and code6 are the same for IPv6 (empty for an IPv4 database).
	start6 []u128
	code6  []uint16
	sub6   []uint32 // see idx6
	// idx4[h] is the range holding the address h<<16, and idx4[1<<16] the
	// last range: an address a is in a range of idx4[a>>16]..idx4[a>>16+1].
	// idx6 indexes start6 by the top 16 bits the same way, with a second
	// level for the /16s that hold more than denseBucket ranges (IPv6
	// networks crowd into a few RIR blocks): the number s in an entry's
	// top bits picks sub6[(s-1)*257:][:257], indexed by the next 8 bits.
	// The slices come first: the garbage collector scans t up to its last
	// pointer only.
	idx4 [1<<16 + 1]uint32
	idx6 [1<<16 + 1]uint32
}

// u128 is an IPv6 address as two big-endian halves.
type u128 struct{ hi, lo uint64 }

func (a u128) less(b u128) bool { return a.hi < b.hi || a.hi == b.hi && a.lo < b.lo }

func (a u128) next() u128 {
	if a.lo == ^uint64(0) {
		return u128{a.hi + 1, 0}
	}
	return u128{a.hi, a.lo + 1}
}

func (a u128) prev() u128 {
	if a.lo == 0 {
		return u128{a.hi - 1, ^uint64(0)}
	}
	return u128{a.hi, a.lo - 1}
}

// in4 reports whether a is in ::/96, the IPv4 part of the tree.
func (a u128) in4() bool { return a.hi == 0 && a.lo>>32 == 0 }

// hostMask returns the host bits of a prefix of the given length (0..128).
func hostMask(bits int) u128 {
	return u128{^uint64(0) >> uint(bits), ^uint64(0) >> uint(max(bits-64, 0))}
}

func (a u128) or(b u128) u128     { return u128{a.hi | b.hi, a.lo | b.lo} }
func (a u128) andNot(b u128) u128 { return u128{a.hi &^ b.hi, a.lo &^ b.lo} }

// code returns the table code of ip, which must be valid and unmapped.
func (t *table) code(ip netip.Addr) uint16 {
	if ip.Is4() {
		a := ip.As4()
		return t.lookup4(binary.BigEndian.Uint32(a[:]))
	}
	a := ip.As16()
	return t.lookup6(binary.BigEndian.Uint64(a[:8]), binary.BigEndian.Uint64(a[8:]))
}

func (t *table) lookup4(a uint32) uint16 {
	first := t.idx4[a>>16]
	s := t.start4[first : t.idx4[a>>16+1]+1]
	// The last range starting at or before a; s[0] does. A step does not
	// branch on the data, which the CPU could not predict: the sign of
	// s[i+half]-a-1 (negative when s[i+half] <= a) masks the step.
	i := 0
	for n := len(s); n > 1; {
		half := n >> 1
		le := (int64(s[i+half]) - int64(a) - 1) >> 63
		i += half & int(le)
		n -= half
	}
	return t.code4[int(first)+i]
}

func (t *table) lookup6(hi, lo uint64) uint16 {
	if len(t.start6) == 0 {
		return 0 // an IPv4 database: maxminddb refuses IPv6 lookups
	}
	e := t.idx6[hi>>48]
	first, last := e&rangeMask, t.idx6[hi>>48+1]&rangeMask
	if sub := e >> rangeBits; sub != 0 {
		j := (sub-1)*257 + uint32(hi>>40&0xff)
		first, last = t.sub6[j], t.sub6[j+1]
	}
	s := t.start6[first : last+1]
	i := 0
	for n := len(s); n > 1; {
		half := n >> 1
		// hi:lo - e borrows when e starts after the address.
		e := s[i+half]
		_, borrow := bits.Sub64(lo, e.lo, 0)
		_, borrow = bits.Sub64(hi, e.hi, borrow)
		i += half & (int(borrow) - 1)
		n -= half
	}
	c := t.code6[int(first)+i]
	if c >= aliasCode {
		return t.lookup4(bitsAt(hi, lo, uint(c-aliasCode)))
	}
	return c
}

// bitsAt returns bits d..d+31 of the address hi:lo; d <= 96.
func bitsAt(hi, lo uint64, d uint) uint32 {
	if d < 64 {
		return uint32((hi<<d | lo>>(64-d)) >> 32)
	}
	return uint32(lo << (d - 64) >> 32)
}

// size returns the bytes held by t.
func (t *table) size() int {
	return len(t.idx4)*4*2 + len(t.start4)*4 + len(t.code4)*2 + len(t.start6)*16 + len(t.code6)*2 + len(t.sub6)*4
}

// ranges returns the number of ranges in t.
func (t *table) ranges() int { return len(t.start4) + len(t.start6) }

// compile walks every network of s.reader once, in address order, and
// returns the table answering as s's tree walk and decode do. It returns an
// error when the tree is corrupt somewhere or past the bounds above.
func compile(s *snapshot) (*table, error) {
	if v := s.reader.Metadata.IPVersion; v != 4 && v != 6 {
		return nil, fmt.Errorf("ip_version %d", v)
	}
	b := &builder{s: s, r: s.reader, offsets: make(map[uintptr]uint16)}
	if err := b.walk(); err != nil {
		return nil, err
	}
	if len(b.start4) == 0 { // cannot happen after a walk without error
		return nil, errors.New("no IPv4 ranges")
	}
	t := &table{
		start4: append([]uint32(nil), b.start4...),
		code4:  append([]uint16(nil), b.code4...),
		start6: append([]u128(nil), b.start6...),
		code6:  append([]uint16(nil), b.code6...),
	}
	index(&t.idx4, len(t.start4), func(i, h int) bool { return t.start4[i] <= uint32(h)<<16 })
	if len(t.start6) > 0 {
		index(&t.idx6, len(t.start6), func(i, h int) bool { return !(u128{uint64(h) << 48, 0}).less(t.start6[i]) })
		t.index6Dense()
	}
	return t, nil
}

// index6Dense gives the /16s holding the most ranges, up to maxSub6 of
// those past denseBucket, a second-level index by their next 8 bits.
func (t *table) index6Dense() {
	var dense []int
	for h := range 1 << 16 {
		if t.idx6[h+1]-t.idx6[h] >= denseBucket {
			dense = append(dense, h)
		}
	}
	slices.SortStableFunc(dense, func(a, b int) int {
		return cmp.Compare(t.idx6[b+1]-t.idx6[b], t.idx6[a+1]-t.idx6[a])
	})
	dense = dense[:min(len(dense), maxSub6)]
	slices.Sort(dense)
	t.sub6 = make([]uint32, 0, len(dense)*257)
	for n, h := range dense {
		j := int(t.idx6[h])
		for k := range 256 {
			a := u128{uint64(h)<<48 | uint64(k)<<40, 0}
			for j+1 < len(t.start6) && !a.less(t.start6[j+1]) {
				j++
			}
			t.sub6 = append(t.sub6, uint32(j))
		}
		t.sub6 = append(t.sub6, t.idx6[h+1]&rangeMask)
		t.idx6[h] |= uint32(n+1) << rangeBits
	}
}

// index fills idx: idx[h] is the last range i with startsBy(i, h), that is
// starting at or before bucket h's first address; idx[len-1] the last range.
func index(idx *[1<<16 + 1]uint32, n int, startsBy func(i, h int) bool) {
	j := 0
	for h := range 1 << 16 {
		for j+1 < n && startsBy(j+1, h) {
			j++
		}
		idx[h] = uint32(j)
	}
	idx[1<<16] = uint32(n - 1)
}

// builder collects the ranges of one compile.
type builder struct {
	s       *snapshot
	r       *maxminddb.Reader
	offsets map[uintptr]uint16 // record offset -> table code
	k0      int                // depth of the IPv4 subtree's first leaf below ::/96
	next    u128               // the first address not yet covered
	done    bool               // the whole address space is covered
	count   int                // networks walked and alias ranges found
	start4  []uint32
	code4   []uint16
	start6  []u128
	code6   []uint16
}

// walk adds every network maxminddb's iterator yields, data or not. The
// iterator skips the aliases of the IPv4 subtree; the holes they leave are
// filled by alias.
func (b *builder) walk() error {
	last := u128{0, 1<<32 - 1} // an IPv4 tree covers ::/96
	if b.r.Metadata.IPVersion == 6 {
		last = u128{^uint64(0), ^uint64(0)}
		// The IPv4 subtree's first leaf: its depth tells an alias's depth
		// from the depth of the leaf an address in the alias finds.
		res := b.r.Lookup(netip.IPv4Unspecified())
		if err := res.Err(); err != nil {
			return err
		}
		if p := res.Prefix(); p.Addr().Is4() {
			b.k0 = p.Bits()
		}
	}
	for res := range b.r.Networks(maxminddb.IncludeNetworksWithoutData()) {
		if err := res.Err(); err != nil {
			return err
		}
		if b.count++; b.count > maxCompileNetworks {
			return fmt.Errorf("%w: more than %d networks", errTooLarge, maxCompileNetworks)
		}
		start, end := span(res.Prefix())
		if b.done || start.less(b.next) {
			return fmt.Errorf("network %s overlaps the one before", res.Prefix())
		}
		if b.next.less(start) {
			if err := b.alias(b.next, start.prev()); err != nil {
				return err
			}
		}
		if err := b.add(start, end, b.codeOf(res)); err != nil {
			return err
		}
	}
	if !b.done && !last.less(b.next) {
		return b.alias(b.next, last)
	}
	return nil
}

// span returns the first and last address of p in the 128-bit space in
// which IPv4 is ::/96, as in the search tree.
func span(p netip.Prefix) (u128, u128) {
	a, bits := p.Addr(), p.Bits()
	var s u128
	if a.Is4() {
		b := a.As4()
		s, bits = u128{0, uint64(binary.BigEndian.Uint32(b[:]))}, bits+96
	} else {
		b := a.As16()
		s = u128{binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])}
	}
	return s, s.or(hostMask(bits))
}

// codeOf returns the table code of a network's record, decoding each
// record once.
func (b *builder) codeOf(res maxminddb.Result) uint16 {
	if !res.Found() {
		return 0
	}
	off := res.Offset()
	c, ok := b.offsets[off]
	if !ok {
		if idx := b.s.decode(res); idx >= 1 && idx <= len(codes) {
			c = uint16(idx)
		}
		b.offsets[off] = c
	}
	return c
}

// alias fills the hole first..last, which the iterator skipped because its
// subtrees are the IPv4 subtree. An address at the start of such a subtree
// finds the IPv4 subtree's first leaf, k0 bits below the subtree's root: so
// the root's depth is that leaf's depth minus k0.
func (b *builder) alias(first, last u128) error {
	if b.r.Metadata.IPVersion != 6 || first.in4() {
		return fmt.Errorf("addresses from %s not covered", addr(first))
	}
	if b.k0 == 0 {
		// The IPv4 subtree is one leaf: the iterator skipped the networks
		// with the same record, and any alias answers as IPv4 does.
		return b.add(first, last, aliasCode+96)
	}
	for a := first; ; {
		if b.count++; b.count > maxCompileNetworks {
			return fmt.Errorf("%w: more than %d networks", errTooLarge, maxCompileNetworks)
		}
		res := b.r.Lookup(addr(a))
		if err := res.Err(); err != nil {
			return err
		}
		d := res.Prefix().Bits() - b.k0
		if d < 1 || d > 96 || a.andNot(hostMask(d)) != a || last.less(a.or(hostMask(d))) {
			return fmt.Errorf("addresses from %s not covered as an alias of the IPv4 subtree", addr(a))
		}
		end := a.or(hostMask(d))
		if err := b.add(a, end, aliasCode+uint16(d)); err != nil {
			return err
		}
		if end == last {
			return nil
		}
		a = end.next()
	}
}

func addr(a u128) netip.Addr {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], a.hi)
	binary.BigEndian.PutUint64(b[8:], a.lo)
	return netip.AddrFrom16(b)
}

// add appends the range first..last, which starts at b.next, with code c,
// split at the end of ::/96 into its IPv4 and IPv6 parts. A range with the
// code of the range before it extends that range.
func (b *builder) add(first, last u128, c uint16) error {
	if first.in4() {
		if len(b.code4) == 0 || b.code4[len(b.code4)-1] != c {
			b.start4 = append(b.start4, uint32(first.lo))
			b.code4 = append(b.code4, c)
		}
		if b.r.Metadata.IPVersion == 6 && len(b.start6) == 0 {
			// ::/96 in the IPv6 ranges: looked up in the IPv4 ones.
			b.start6 = append(b.start6, u128{})
			b.code6 = append(b.code6, aliasCode+96)
		}
		first = u128{0, 1 << 32}
	}
	if !last.less(first) && (len(b.code6) == 0 || b.code6[len(b.code6)-1] != c) {
		b.start6 = append(b.start6, first)
		b.code6 = append(b.code6, c)
	}
	if len(b.start4)+len(b.start6) > maxTableRanges {
		return fmt.Errorf("%w: more than %d ranges", errTooLarge, maxTableRanges)
	}
	b.next, b.done = last.next(), last == u128{^uint64(0), ^uint64(0)}
	return nil
}
