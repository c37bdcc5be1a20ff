package clientip

// addrClass maps a hex digit (either case) to its value, ':' to colon, '.'
// to dot and every other byte to noHex: one load tells the IPv6 parsers
// both a digit's value and which separator ends a group.
var addrClass = func() (t [256]uint8) {
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
	t[':'], t['.'] = colon, dot
	return t
}()

const (
	colon = 16   // addrClass of ':'; hex digits are below
	dot   = 17   // addrClass of '.'
	noHex = 0xff // addrClass of any other byte
)

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
		t[i] = addrClass[i] != noHex
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
		if classFrom(s, i) == noHex {
			return u128{}, i, true // "::"
		}
	}
	for {
		// One group of 1 to 4 hex digits, unrolled: a loop costs a counter.
		// d ends as the class of the byte after the group.
		start := i
		d := classFrom(s, i)
		if d >= colon {
			return u128{}, 0, false
		}
		v := uint64(d)
		i++
		if d = classFrom(s, i); d < colon {
			v, i = v<<4|uint64(d), i+1
			if d = classFrom(s, i); d < colon {
				v, i = v<<4|uint64(d), i+1
				if d = classFrom(s, i); d < colon {
					v, i = v<<4|uint64(d), i+1
					if d = classFrom(s, i); d < colon {
						return u128{}, 0, false // a fifth digit
					}
				}
			}
		}
		if d == dot {
			// A dotted quad, which must end the address and fill its last
			// two groups (or follow the "::" with room to spare).
			x, qend, ok := scanV4(s, start)
			if !ok || ellipsis < 0 && n != 6 || n > 6 || classFrom(s, qend) != noHex {
				return u128{}, 0, false
			}
			hi, lo = hi<<32|lo>>32, lo<<32|uint64(x)
			n, i = n+2, qend
			break
		}
		hi, lo = hi<<16|lo>>48, lo<<16|v
		n++
		if d != colon {
			break // the end, or a byte that is not hex, colon or dot
		}
		if d = classFrom(s, i+1); n == 8 || d == noHex {
			return u128{}, 0, false // a ninth group or a trailing colon
		}
		i++
		if d == colon {
			if ellipsis >= 0 {
				return u128{}, 0, false // a second "::"
			}
			ellipsis, headHi, headLo, hi, lo = n, hi, lo, 0, 0
			i++
			if classFrom(s, i) == noHex {
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

// classFrom returns the addrClass of s[i], noHex past the end.
func classFrom(s string, i int) uint8 {
	if uint(i) >= uint(len(s)) {
		return noHex
	}
	return addrClass[s[i]]
}

// lastV6 parses the last element of line[:end] when it is a bare IPv6
// address (no brackets, port or zone) with optional spaces or tabs around
// it, scanning backwards, and returns where the element starts (after its
// comma, or 0). ok is false for any other form, which the caller then
// parses in full; lastV6 never accepts what parseHostPort would refuse.
func lastV6(line string, end int) (addr u128, start int, ok bool) {
	if addr, start, ok = lastV6Addr(line, skipBlanksLeft(line, end)); ok {
		if start = skipBlanksLeft(line, start); start == 0 || line[start-1] == ',' {
			return addr, start, true
		}
	}
	return u128{}, 0, false
}

// lastV6Addr parses backwards the IPv6 address that ends line[:j], as
// strictly as scanV6, and returns where it starts. The caller checks the
// byte before the address, which is neither a hex digit nor a colon.
//
// Groups are read right to left and pushed into the top of a 128-bit
// accumulator, so the groups left of a "::" end up in place; the groups
// right of it are shifted down once the "::" is met. The loop calls no
// function (a call would spill its variables) but near the start of line
// (lastGroupShort): it reads a group from a 5-byte window without bounds
// checks. A dot after the first group read makes the end a dotted quad
// (lastQuad), the last two groups.
func lastV6Addr(line string, j int) (addr u128, start int, ok bool) {
	var hi, lo uint64
	var tail u128
	n, ellipsis := 0, -1 // groups read; groups right of the "::", once seen
	if j >= 2 && j <= len(line) && line[j-1] == ':' && line[j-2] == ':' {
		ellipsis, j = 0, j-2 // "x::", or "::" alone
		if leftEnd(line, j) {
			goto end
		}
	}
	for {
		d := classAt(line, j) // the group's last digit, or the second colon of "::"
		if d >= colon {
			if d != colon || n == 0 || ellipsis >= 0 {
				return u128{}, 0, false // no digit, or a second "::"
			}
			ellipsis, j = n, j-1
			tail, hi, lo = shiftDown(u128{hi, lo}, 8-n), 0, 0
			if d = classAt(line, j); d > colon {
				break // "::x"
			} else if d == colon {
				return u128{}, 0, false // ":::"
			}
		}
		// One group of 1 to 4 hex digits, read backwards; d ends as the
		// class of the byte before it.
		var v uint64
		if j < 5 {
			if v, d, j = lastGroupShort(line, j); j < 0 {
				return u128{}, 0, false
			}
		} else if g := line[j-5 : j]; true {
			v, j = uint64(addrClass[g[4]]), j-1
			if d = addrClass[g[3]]; d < colon {
				v, j = v|uint64(d)<<4, j-1
				if d = addrClass[g[2]]; d < colon {
					v, j = v|uint64(d)<<8, j-1
					if d = addrClass[g[1]]; d < colon {
						v, j = v|uint64(d)<<12, j-1
						if d = addrClass[g[0]]; d < colon {
							return u128{}, 0, false // a fifth digit
						}
					}
				}
			}
		}
		hi, lo = hi>>16|v<<48, lo>>16|hi<<48
		n++
		if d != colon {
			if d != dot || n > 1 || ellipsis >= 0 {
				break // the left end of the address
			}
			e := j // the group's end: a dotted quad has decimal digits only
			for classFrom(line, e) < 10 {
				e++
			}
			q, qs, ok := lastQuad(line, e)
			if !ok || classFrom(line, e) < colon || classAt(line, qs) != colon {
				return u128{}, 0, false
			}
			hi, lo, n, j = q.lo<<32, 0, 2, qs
		}
		j--
	}
end:
	// Without "::" there must be eight groups; with it, at most seven (the
	// loop counts past 8, losing groups, and this refuses).
	if ellipsis < 0 && n != 8 || ellipsis >= 0 && n > 7 {
		return u128{}, 0, false
	}
	return u128{hi | tail.hi, lo | tail.lo}, j, true
}

// lastGroupShort is the group reading of lastV6Addr for j < 5: it returns
// the group's value, the class of the byte before it (noHex at the start of
// line) and where it starts, or -1 for no digit or more than four.
func lastGroupShort(line string, j int) (v uint64, d uint8, start int) {
	k := 0
	for ; k < 5; k++ {
		if d = classAt(line, j-k); d >= colon {
			break
		}
		v |= uint64(d) << (4 * k)
	}
	if k == 0 || k == 5 {
		return 0, 0, -1
	}
	return v, d, j - k
}

// classAt returns the addrClass of line[j-1], noHex for j 0.
func classAt(line string, j int) uint8 {
	if uint(j-1) >= uint(len(line)) {
		return noHex
	}
	return addrClass[line[j-1]]
}

// leftEnd reports whether an address read backwards ends at line[j]: the
// byte before it is neither a hex digit nor a colon.
func leftEnd(line string, j int) bool {
	return classAt(line, j) > colon
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
