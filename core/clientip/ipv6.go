package clientip

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
// (::ffff:1.2.3.4 is 1.2.3.4, see u128). Anything else, a zone or brackets
// included, is refused. It does not allocate.
func parseV6(s string) (u128, bool) {
	a, end, ok := scanV6(s, 0)
	return a, ok && end == len(s)
}

// isAddrChar holds the bytes of a textual IPv6 address: hex digits, colon
// and dot.
var isAddrChar = func() (t [256]bool) {
	for i := range t {
		t[i] = hexVal[i] != noHex || i == ':' || i == '.'
	}
	return t
}()

// scanV6 parses the IPv6 address at s[i:] that ends at the first byte which
// is not a hex digit, colon or dot (or at the end of s), as parseV6 would
// parse it alone, and returns where it ends. Callers check what follows:
// "]" after a bracketed address, the end of an element.
//
// The groups are shifted into a 128-bit accumulator (hi, lo) as they come;
// at "::" the groups so far are set aside as the head and the accumulator
// restarts, and the head is shifted into place once at the end.
func scanV6(s string, i int) (a u128, end int, ok bool) {
	var hi, lo, headHi, headLo uint64
	n := 0         // groups parsed, head and tail
	ellipsis := -1 // groups in the head, once "::" is seen
	if i+1 < len(s) && s[i] == ':' && s[i+1] == ':' {
		ellipsis, i = 0, i+2
		if i == len(s) || !isAddrChar[s[i]] {
			return u128{}, i, true // "::"
		}
	}
	for {
		// One group of 1 to 4 hex digits, unrolled: a loop costs a counter.
		start := i
		d := hexFrom(s, i)
		if d == noHex {
			return u128{}, 0, false
		}
		v := uint64(d)
		i++
		if d = hexFrom(s, i); d != noHex {
			v, i = v<<4|uint64(d), i+1
			if d = hexFrom(s, i); d != noHex {
				v, i = v<<4|uint64(d), i+1
				if d = hexFrom(s, i); d != noHex {
					v, i = v<<4|uint64(d), i+1
					if hexFrom(s, i) != noHex {
						return u128{}, 0, false // a fifth digit
					}
				}
			}
		}
		if i < len(s) && s[i] == '.' {
			// A dotted quad, which must end the address and fill its last
			// two groups (or follow the "::" with room to spare).
			x, qend, ok := scanV4(s, start)
			if !ok || ellipsis < 0 && n != 6 || n > 6 || qend < len(s) && isAddrChar[s[qend]] {
				return u128{}, 0, false
			}
			hi, lo = hi<<32|lo>>32, lo<<32|uint64(x)
			n, i = n+2, qend
			break
		}
		hi, lo = hi<<16|lo>>48, lo<<16|v
		n++
		if i == len(s) || s[i] != ':' {
			break // the end, or a byte that is not hex, colon or dot
		}
		if n == 8 || i+1 == len(s) || !isAddrChar[s[i+1]] {
			return u128{}, 0, false // a ninth group or a trailing colon
		}
		i++
		if s[i] == ':' {
			if ellipsis >= 0 {
				return u128{}, 0, false // a second "::"
			}
			ellipsis, headHi, headLo, hi, lo = n, hi, lo, 0, 0
			i++
			if i == len(s) || !isAddrChar[s[i]] {
				break
			}
		}
	}
	// Without "::" there must be eight groups; with it, at most seven, the
	// "::" standing for at least one zero group.
	if (ellipsis < 0) != (n == 8) {
		return u128{}, 0, false
	}
	if ellipsis >= 0 {
		// Shift the head to the top: by 16 bits per group the "::" and the
		// tail take. Shift counts of 64 or more give zero.
		k := uint(16 * (8 - ellipsis))
		hi |= headHi<<k | headLo<<(k-64) | headLo>>(64-k)
		lo |= headLo << k
	}
	return u128{hi, lo}, i, true
}

// hexFrom returns the value of the hex digit s[i], or noHex if it is not
// one or i is past the end.
func hexFrom(s string, i int) uint8 {
	if uint(i) >= uint(len(s)) {
		return noHex
	}
	return hexVal[s[i]]
}

// lastV6 parses the last element of line[:end] when it is a bare IPv6
// address of hex groups (no dotted quad, brackets, port or zone) with
// optional spaces or tabs around it, scanning backwards, and returns where
// the element starts (after its comma, or 0). ok is false for any other
// form, which the caller then parses in full; lastV6 never accepts what
// parseHostPort would refuse.
func lastV6(line string, end int) (addr u128, start int, ok bool) {
	return lastV6Addr(line, end, true)
}

// lastV6Addr parses backwards the IPv6 address of hex groups (no dotted
// quad) that ends line[:j] and returns where it starts. With elem it is the
// whole X-Forwarded-For element, as lastV6 needs: spaces or tabs around it,
// then a comma or the start of the line. Without, the caller checks the byte
// before the address, which is neither a hex digit nor a colon.
//
// Groups are read right to left and pushed into the top of a 128-bit
// accumulator, which so holds them in order; at the end the groups right of
// a "::" are shifted down into place. The hot path calls no function: a call
// would spill every variable of the loop.
func lastV6Addr(line string, j int, elem bool) (addr u128, start int, ok bool) {
	if elem {
		j = skipBlanksLeft(line, j)
	}
	if j > len(line) {
		return u128{}, 0, false
	}
	var hi, lo uint64
	n := 0         // groups read
	ellipsis := -1 // groups right of the "::", once seen
	if j >= 2 && line[j-1] == ':' && line[j-2] == ':' {
		ellipsis, j = 0, j-2 // "x::", or "::" alone
		if leftEnd(line, j) {
			goto end
		}
	}
	for {
		// One group of 1 to 4 hex digits, read backwards, unrolled.
		d := hexAt(line, j)
		if d == noHex || n == 8 {
			return u128{}, 0, false
		}
		v := uint64(d)
		j--
		if d = hexAt(line, j); d != noHex {
			v, j = v|uint64(d)<<4, j-1
			if d = hexAt(line, j); d != noHex {
				v, j = v|uint64(d)<<8, j-1
				if d = hexAt(line, j); d != noHex {
					v, j = v|uint64(d)<<12, j-1
					if hexAt(line, j) != noHex {
						return u128{}, 0, false // a fifth digit
					}
				}
			}
		}
		hi, lo = hi>>16|v<<48, lo>>16|hi<<48
		n++
		if j == 0 || line[j-1] != ':' {
			break // the left end of the address
		}
		j--
		if j > 0 && line[j-1] == ':' {
			if ellipsis >= 0 {
				return u128{}, 0, false // a second "::"
			}
			ellipsis, j = n, j-1
			if leftEnd(line, j) {
				break // "::x"
			}
		}
	}
end:
	// Without "::" there must be eight groups; with it, at most seven.
	if (ellipsis < 0) != (n == 8) {
		return u128{}, 0, false
	}
	if ellipsis > 0 {
		// The last ellipsis groups read (m: their bits) go down by the
		// 8-n zero groups the "::" stands for.
		m := shiftDown(u128{^uint64(0), ^uint64(0)}, n-ellipsis)
		t := shiftDown(u128{hi & m.hi, lo & m.lo}, 8-n)
		hi, lo = hi&^m.hi|t.hi, lo&^m.lo|t.lo
	}
	if elem {
		if j = skipBlanksLeft(line, j); j > 0 && line[j-1] != ',' {
			return u128{}, 0, false
		}
	}
	return u128{hi, lo}, j, true
}

// hexAt returns the value of the hex digit line[j-1], or noHex if it is
// not one or j is 0.
func hexAt(line string, j int) uint8 {
	if uint(j-1) >= uint(len(line)) {
		return noHex
	}
	return hexVal[line[j-1]]
}

// leftEnd reports whether an address read backwards ends at line[j]: the
// byte before it is neither a hex digit nor a colon.
func leftEnd(line string, j int) bool {
	return j == 0 || hexVal[line[j-1]] == noHex && line[j-1] != ':'
}

// shiftDown shifts a right by g 16-bit groups, 0 <= g <= 8.
func shiftDown(a u128, g int) u128 {
	k := uint(16 * g) // shift counts of 64 or more give zero
	return u128{a.hi >> k, a.lo>>k | a.hi<<(64-k) | a.hi>>(k-64)}
}

// skipBlanksLeft returns where the spaces and tabs ending line[:j] start.
func skipBlanksLeft(line string, j int) int {
	for j > 0 && (line[j-1] == ' ' || line[j-1] == '\t') {
		j--
	}
	return j
}
