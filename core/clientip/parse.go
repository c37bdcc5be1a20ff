package clientip

import (
	"net/netip"
	"strings"
)

// Parse parses one address token as found in a forwarding header: it trims
// ASCII white space, strips a port ("1.2.3.4:80", "[::1]:80"), unmaps IPv4-in-IPv6
// (::ffff:1.2.3.4 becomes 1.2.3.4) and rejects zones ("fe80::1%eth0") and
// anything else that is not a single IP address. It does not allocate,
// except inside net/netip for some malformed input that looks like IPv6.
func Parse(s string) (netip.Addr, bool) {
	return parseHostPort(s, false)
}

// parsePeer parses http.Request.RemoteAddr. unix is true for a unix-socket
// peer ("", "@…", "/path"), which has no address. A zone on the peer is
// dropped rather than refused: it comes from the kernel (a link-local peer),
// not from the client.
func parsePeer(s string) (addr netip.Addr, unix, ok bool) {
	if s == "" || s[0] == '@' || s[0] == '/' {
		return netip.Addr{}, true, true
	}
	if a, ok, isV4 := parseV4(s, false); isV4 {
		return a, false, ok
	}
	host, ok := splitHostPort(s, false)
	if !ok {
		return netip.Addr{}, false, false
	}
	if i := strings.IndexByte(host, '%'); i >= 0 {
		if i == len(host)-1 || strings.IndexByte(host, ':') < 0 {
			return netip.Addr{}, false, false
		}
		host = host[:i]
	}
	addr, ok = parseIP(host)
	return addr, false, ok
}

// parseHostPort parses "addr", "v4:port", "[v6]" or "[v6]:port", with ASCII
// white space around it. With obfPort, a port may also be an RFC 7239
// obfuscated port ("_abc"). IPv6 is accepted bare or in brackets, IPv4 only
// bare; the result is unmapped and a zone is refused.
func parseHostPort(s string, obfPort bool) (netip.Addr, bool) {
	s = trimSpace(s)
	if s != "" && s[0] == '[' {
		host, ok := splitHostPort(s, obfPort)
		if !ok {
			return netip.Addr{}, false
		}
		return parseV6(host)
	}
	if a, ok, isV4 := parseV4(s, obfPort); isV4 {
		return a, ok
	}
	// Not a dotted quad: an IPv6 address, or nothing. (A string with one
	// colon, "host:port", is never IPv6, and its host was not an IPv4
	// address either, or parseV4 would have taken it.)
	return parseV6(s)
}

// splitHostPort returns the host of "[host]" or "[host]:port" (the host must
// hold a colon: brackets are for IPv6 only), of "host:port" with exactly one
// colon, or all of s.
func splitHostPort(s string, obfPort bool) (string, bool) {
	if s == "" {
		return "", false
	}
	if s[0] == '[' {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return "", false
		}
		host, rest := s[1:end], s[end+1:]
		if rest != "" && (rest[0] != ':' || !validPort(rest[1:], obfPort)) {
			return "", false
		}
		if strings.IndexByte(host, ':') < 0 {
			return "", false // brackets are for IPv6 only
		}
		return host, true
	}
	if i := strings.IndexByte(s, ':'); i >= 0 && strings.IndexByte(s[i+1:], ':') < 0 {
		// exactly one colon: IPv4 with a port
		if !validPort(s[i+1:], obfPort) {
			return "", false
		}
		return s[:i], true
	}
	return s, true
}

// parseIP parses a bare address (a dotted quad or IPv6, no port, no zone)
// exactly as netip.ParseAddr does, and unmaps it.
func parseIP(s string) (netip.Addr, bool) {
	if b, end, ok := scanV4(s, 0); ok && end == len(s) {
		return netip.AddrFrom4(b), true
	}
	return parseV6(s)
}

// scanV4 reads a dotted quad at s[i:] as strictly as netip does (four fields,
// no leading zeros, each at most 255) and returns where it ends. It does not
// look past the fourth field.
func scanV4(s string, i int) (b [4]byte, end int, ok bool) {
	for f := range 4 {
		if f > 0 {
			if i >= len(s) || s[i] != '.' {
				return b, 0, false
			}
			i++
		}
		if i >= len(s) || s[i]-'0' > 9 {
			return b, 0, false
		}
		v := uint(s[i] - '0')
		i++
		if i < len(s) && s[i]-'0' <= 9 {
			if v == 0 {
				return b, 0, false // leading zero
			}
			v = v*10 + uint(s[i]-'0')
			i++
			if i < len(s) && s[i]-'0' <= 9 {
				v = v*10 + uint(s[i]-'0')
				i++
				if v > 255 {
					return b, 0, false
				}
			}
		}
		b[f] = byte(v)
	}
	return b, i, true
}

// parseV4 is the fast path for the common case in headers: a dotted quad,
// optionally followed by ":port". Anything else goes to parseV4Slow, which
// decides whether s may still be IPv6 (isV4 false: the caller takes the
// general path) or is a broken dotted quad (isV4 true).
func parseV4(s string, obfPort bool) (addr netip.Addr, ok, isV4 bool) {
	b, i, ok := scanV4(s, 0)
	if !ok || i < len(s) && (s[i] != ':' || !validPort(s[i+1:], obfPort)) {
		return parseV4Slow(s)
	}
	return netip.AddrFrom4(b), true, true
}

// lastV4 parses the last element of line[:end] when it is a plain dotted
// quad with optional spaces or tabs around it, scanning backwards, and
// returns where the element starts (after its comma, or 0). ok is false for
// any other form, which the caller then parses in full; lastV4 never accepts
// what parseHostPort would refuse.
func lastV4(line string, end int) (addr netip.Addr, start int, ok bool) {
	j := end
	for j > 0 && (line[j-1] == ' ' || line[j-1] == '\t') {
		j--
	}
	var b [4]byte
	for f := 3; f >= 0; f-- {
		if f < 3 {
			if j == 0 || line[j-1] != '.' {
				return netip.Addr{}, 0, false
			}
			j--
		}
		if j == 0 || line[j-1]-'0' > 9 {
			return netip.Addr{}, 0, false
		}
		v := uint(line[j-1] - '0')
		j--
		if j > 0 && line[j-1]-'0' <= 9 {
			d1 := uint(line[j-1] - '0')
			v += d1 * 10
			j--
			if j > 0 && line[j-1]-'0' <= 9 {
				d2 := uint(line[j-1] - '0')
				v += d2 * 100
				j--
				if d2 == 0 || v > 255 {
					return netip.Addr{}, 0, false
				}
			} else if d1 == 0 {
				return netip.Addr{}, 0, false // leading zero
			}
		}
		b[f] = byte(v)
	}
	for j > 0 && (line[j-1] == ' ' || line[j-1] == '\t') {
		j--
	}
	if j > 0 && line[j-1] != ',' {
		return netip.Addr{}, 0, false
	}
	return netip.AddrFrom4(b), j, true
}

// parseV4Slow reports a failed dotted quad as definite (isV4) when s holds
// only digits and dots; otherwise it may be IPv6 or have a port and the
// general path decides.
func parseV4Slow(s string) (addr netip.Addr, ok, isV4 bool) {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c != '.' && (c < '0' || c > '9') {
			return netip.Addr{}, false, false
		}
	}
	return netip.Addr{}, false, true
}

// trimSpace trims ASCII white space.
func trimSpace(s string) string {
	for len(s) > 0 && isSpace(s[0]) {
		s = s[1:]
	}
	for len(s) > 0 && isSpace(s[len(s)-1]) {
		s = s[:len(s)-1]
	}
	return s
}

func isSpace(c byte) bool {
	return c <= ' ' && (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f')
}

// validPort accepts 0..65535 in decimal (at most 5 digits), or with obf an
// RFC 7239 obfport: "_" 1*(ALPHA / DIGIT / "." / "_" / "-").
func validPort(p string, obf bool) bool {
	if obf && len(p) > 1 && p[0] == '_' {
		for i := 1; i < len(p); i++ {
			c := p[i]
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '.' || c == '_' || c == '-') {
				return false
			}
		}
		return true
	}
	if len(p) == 0 || len(p) > 5 {
		return false
	}
	n := 0
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c < '0' || c > '9' {
			return false
		}
		n = n*10 + int(c-'0')
	}
	return n <= 65535
}

// forwardedElementStart returns where the last RFC 7239 element of s starts:
// after the last comma outside a quoted string. Backslashes (quoted-pairs)
// never occur in a real node and are refused, which keeps the backwards scan
// unambiguous; so is an unbalanced quote.
func forwardedElementStart(s string) (int, bool) {
	inQuote := false
	for i := len(s) - 1; i >= 0; i-- {
		switch s[i] {
		case '"':
			inQuote = !inQuote
		case '\\':
			return 0, false
		case ',':
			if !inQuote {
				return i + 1, true
			}
		}
	}
	return 0, !inQuote
}

// parseForwardedElement returns the address in the single for= parameter of
// one RFC 7239 element (quotes already known to be balanced).
func parseForwardedElement(e string) (netip.Addr, bool) {
	var node string
	found := false
	for e != "" {
		i, inQuote := 0, false
		for ; i < len(e); i++ {
			if c := e[i]; c == '"' {
				inQuote = !inQuote
			} else if c == ';' && !inQuote {
				break
			}
		}
		pair := trimSpace(e[:i])
		if i < len(e) {
			e = e[i+1:]
		} else {
			e = ""
		}
		if pair == "" {
			continue // empty pairs are allowed: "for=x;;proto=https"
		}
		eq := strings.IndexByte(pair, '=')
		if eq < 0 || !isToken(pair[:eq]) {
			return netip.Addr{}, false
		}
		val := pair[eq+1:]
		if len(val) > 0 && val[0] == '"' {
			if len(val) < 2 || val[len(val)-1] != '"' {
				return netip.Addr{}, false
			}
			val = val[1 : len(val)-1]
		}
		if strings.IndexByte(val, '"') >= 0 {
			return netip.Addr{}, false
		}
		if strings.EqualFold(pair[:eq], "for") {
			if found {
				return netip.Addr{}, false // a parameter occurs at most once
			}
			found, node = true, val
		}
	}
	if !found || node == "" || node[0] == '_' || strings.EqualFold(node, "unknown") {
		return netip.Addr{}, false // missing, obfuscated or unknown node
	}
	return parseHostPort(node, true)
}

// isToken reports whether s is a non-empty RFC 9110 token.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case '0' <= c && c <= '9', 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}
