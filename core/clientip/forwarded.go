package clientip

// RFC 7239 Forwarded: elements separated by commas, each a list of
// token=value pairs separated by semicolons, a value a token or a quoted
// string. The client's node is the value of the element's single for=.

// tokenChar holds the bytes of an RFC 9110 token.
var tokenChar = func() (t [256]bool) {
	for c := range t {
		t[c] = '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
	}
	for _, c := range []byte("!#$%&'*+-.^_`|~") {
		t[c] = true
	}
	return t
}()

// isToken reports whether s is a non-empty RFC 9110 token.
func isToken(s string) bool {
	for i := 0; i < len(s); i++ {
		if !tokenChar[s[i]] {
			return false
		}
	}
	return s != ""
}

// fwdSpecial holds the bytes the backward scan of an element stops at.
var fwdSpecial = [256]bool{'"': true, '\\': true, '=': true, ';': true, ',': true}

// lastForwarded parses the last element of line[:end], which starts after
// the last comma outside a quoted string, and returns the address of its
// for= parameter and where the element starts. It refuses (ok false):
//
//   - a backslash anywhere in the element (quoted-pairs never occur in a real
//     node and would make the backwards scan ambiguous) and an unbalanced
//     quote;
//   - a pair that is not token=value, where the value is a token or a whole
//     quoted string without inner quotes (empty pairs, "for=x;;proto=https",
//     are allowed, as is white space around a pair);
//   - no for=, or more than one (names are case-insensitive);
//   - a node that is not an address with an optional port or obfuscated port:
//     "unknown" and obfuscated nodes ("_hidden") included.
//
// The pairs are read right to left, each in one backwards pass: the common
// forms by lastFastPair, which parses a for= node as it goes, any other by
// lastPair.
func lastForwarded(line string, end int) (addr u128, start int, ok bool) {
	found := false
	for pairEnd := end; ; {
		a, k, isFor, fast := lastFastPair(line, pairEnd)
		if !fast {
			var val string
			if k, val, isFor, ok = lastPair(line, pairEnd); !ok {
				return u128{}, 0, false
			}
			if isFor {
				if a, ok = parseHostPort(val, true); !ok {
					return u128{}, 0, false
				}
			}
		}
		if isFor {
			if found {
				return u128{}, 0, false // a second for=
			}
			addr, found = a, true
		}
		if k >= 0 && line[k] == ';' {
			pairEnd = k
			continue
		}
		// a comma, or the start of the line: the element starts at k+1
		return addr, k + 1, found
	}
}

// lastPair reads backwards the pair that ends line[:to] and returns where it
// starts: the ';' or ',' before it, outside a quoted string, or -1 at the
// start of the line. It checks the pair (checkPair) and returns its value,
// without quotes, and whether its name is "for".
func lastPair(line string, to int) (k int, val string, isFor, ok bool) {
	eq, quotes, inQuote := -1, 0, false
	for i := to; ; {
		for i > 0 && !fwdSpecial[line[i-1]] {
			i--
		}
		i--            // at the special byte, or -1 at the start of the line
		c := byte(',') // the start of the line ends the pair like a comma
		if i >= 0 {
			c = line[i]
		}
		switch c {
		case '"':
			inQuote = !inQuote
			quotes++
			continue
		case '\\':
			return 0, "", false, false
		case '=':
			eq = i // the left-most '=' of the pair, once at its start
			continue
		}
		if inQuote { // ';' or ',' inside a quoted string
			if i < 0 {
				return 0, "", false, false // unbalanced quote
			}
			continue
		}
		val, isFor, ok = checkPair(line, i+1, to, eq, quotes)
		return i, val, isFor, ok
	}
}

// lastFastPair reads backwards the pair that ends line[:to], with white
// space around it, when it is name=node or name="node" (the node as lastNode
// knows it) or name=token, and returns where it starts, as lastPair, whether
// its name is "for" (in any case) and, if so, the node's address. ok is
// false for any other pair, and for for=token (unknown, _hidden), which
// lastPair then reads; lastFastPair accepts no pair that lastPair, or
// parseHostPort on a for= node, would refuse.
func lastFastPair(line string, to int) (addr u128, k int, isFor, ok bool) {
	j := to
	for j > 0 && isSpace(line[j-1]) {
		j--
	}
	if j == 0 {
		return u128{}, 0, false, false
	}
	node := false
	if c := line[j-1]; c == '"' || c-'0' <= 9 {
		v := j
		if c == '"' {
			v--
		}
		if addr, v, node = lastNode(line, v, true); node && c == '"' {
			node = v > 0 && line[v-1] == '"'
			v--
		}
		if node {
			j = v
		} else if c == '"' {
			return u128{}, 0, false, false // a quoted string lastNode does not know
		}
	}
	if !node { // a token, maybe empty
		for j > 0 && tokenChar[line[j-1]] {
			j--
		}
	}
	if j == 0 || line[j-1] != '=' {
		return u128{}, 0, false, false
	}
	eq := j - 1
	isFor = eq >= 3 && line[eq-3]|0x20 == 'f' && line[eq-2]|0x20 == 'o' && line[eq-1]|0x20 == 'r' &&
		(eq == 3 || !tokenChar[line[eq-4]])
	if isFor {
		j = eq - 3 // the common name, checked at once
	} else {
		for j = eq; j > 0 && tokenChar[line[j-1]]; j-- {
		}
	}
	if j == eq || isFor && !node {
		return u128{}, 0, false, false // no name, or for=token
	}
	for j > 0 && isSpace(line[j-1]) {
		j--
	}
	if j > 0 && line[j-1] != ';' && line[j-1] != ',' {
		return u128{}, 0, false, false
	}
	return addr, j - 1, isFor, true
}

// checkPair checks the pair line[from:to] (eq: the position of its first
// '=', or -1; quotes: how many '"' it holds) and returns its value, without
// quotes, and whether its name is "for". A pair of white space only is
// allowed and has no name.
func checkPair(line string, from, to, eq, quotes int) (val string, isFor, ok bool) {
	for from < to && isSpace(line[from]) {
		from++
	}
	for to > from && isSpace(line[to-1]) {
		to--
	}
	if from == to {
		return "", false, true // empty pair
	}
	if eq < 0 || !isToken(line[from:eq]) {
		return "", false, false
	}
	val = line[eq+1 : to]
	if val != "" && val[0] == '"' {
		// a quoted string: the pair's only quotes are its ends
		if quotes != 2 || len(val) < 2 || val[len(val)-1] != '"' {
			return "", false, false
		}
		val = val[1 : len(val)-1]
	} else if quotes != 0 {
		return "", false, false
	}
	isFor = eq-from == 3 && line[from]|0x20 == 'f' && line[from+1]|0x20 == 'o' && line[from+2]|0x20 == 'r'
	return val, isFor, true
}
