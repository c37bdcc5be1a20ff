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
// One backwards scan finds the pairs and the start of the element; each pair
// is checked when its start is found.
func lastForwarded(line string, end int) (addr u128, start int, ok bool) {
	var (
		node    string
		found   bool
		inQuote bool
		quotes  int // quotes in the current pair
		eq      = -1
		pairEnd = end
	)
	for i := end; ; {
		for i > 0 && !fwdSpecial[line[i-1]] {
			i--
		}
		i--            // at the special byte, or -1 at the start of the line
		c := byte(',') // the start of the line ends the element like a comma
		if i >= 0 {
			c = line[i]
		}
		switch c {
		case '"':
			inQuote = !inQuote
			quotes++
			continue
		case '\\':
			return u128{}, 0, false
		case '=':
			eq = i // the left-most '=' of the pair, once at its start
			continue
		}
		if inQuote { // ';' or ',' inside a quoted string
			if i < 0 {
				return u128{}, 0, false // unbalanced quote
			}
			continue
		}
		val, isFor, ok := checkPair(line, i+1, pairEnd, eq, quotes)
		switch {
		case !ok, isFor && found:
			return u128{}, 0, false // a bad pair or a second for=
		case isFor:
			node, found = val, true
		}
		if c == ',' {
			if !found {
				return u128{}, 0, false
			}
			addr, ok = parseHostPort(node, true)
			return addr, i + 1, ok
		}
		pairEnd, eq, quotes = i, -1, 0
	}
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
