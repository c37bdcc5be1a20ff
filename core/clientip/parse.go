package clientip

import (
	"net/netip"
	"strings"
)

// Parse parses one address token as found in a forwarding header: it trims
// ASCII white space, strips a port ("1.2.3.4:80", "[::1]:80"), unmaps IPv4-in-IPv6
// (::ffff:1.2.3.4 becomes 1.2.3.4) and rejects zones ("fe80::1%eth0") and
// anything else that is not a single IP address. It does not allocate.
func Parse(s string) (netip.Addr, bool) {
	a, ok := parseHostPort(s, false)
	if !ok {
		return netip.Addr{}, false
	}
	return a.addr(), true
}

// parsePeer parses http.Request.RemoteAddr. unix is true for a unix-socket
// peer ("", "@…", "/path"), which has no address. A zone on the peer is
// dropped rather than refused: it comes from the kernel (a link-local peer),
// not from the client.
func parsePeer(s string) (addr u128, unix, ok bool) {
	if s == "" || s[0] == '@' || s[0] == '/' {
		return u128{}, true, true
	}
	if s[0] == '[' {
		if a, start, ok := lastNode(s, len(s), false); ok && start == 0 {
			return a, false, true // the common "[v6]:port", read backwards
		}
	} else if a, ok, isV4 := parseV4(s, false); isV4 {
		return a, false, ok
	}
	// The general path: a zone, or IPv6 without brackets, or junk.
	host, ok := splitHostPort(s, false)
	if !ok {
		return u128{}, false, false
	}
	if i := strings.IndexByte(host, '%'); i >= 0 {
		if i == len(host)-1 || strings.IndexByte(host, ':') < 0 {
			return u128{}, false, false
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
func parseHostPort(s string, obfPort bool) (u128, bool) {
	s = trimSpace(s)
	if s != "" && s[0] == '[' {
		return parseBracketed(s, obfPort)
	}
	if a, ok, isV4 := parseV4(s, obfPort); isV4 {
		return a, ok
	}
	// Not a dotted quad: IPv6, or nothing. (A string with one colon,
	// "host:port", is never IPv6, and its host was not IPv4 either, or
	// parseV4 would have taken it.)
	return parseV6(s)
}

// parseBracketed parses "[v6]" or "[v6]:port", refusing a zone and IPv4 in
// brackets.
func parseBracketed(s string, obfPort bool) (u128, bool) {
	if s == "" || s[0] != '[' {
		return u128{}, false
	}
	a, end, ok := scanV6(s, 1)
	if !ok || end == len(s) || s[end] != ']' {
		return u128{}, false
	}
	if rest := s[end+1:]; rest != "" && (rest[0] != ':' || !validPort(rest[1:], obfPort)) {
		return u128{}, false
	}
	return a, true
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
func parseIP(s string) (u128, bool) {
	if x, end, ok := scanV4(s, 0); ok && end == len(s) {
		return from4(x), true
	}
	return parseV6(s)
}

// scanV4 reads a dotted quad at s[i:] as strictly as netip does (four fields,
// no leading zeros, each at most 255) and returns it as a number and where
// it ends. It does not look past the fourth field.
func scanV4(s string, i int) (x uint32, end int, ok bool) {
	for f := range 4 {
		if f > 0 {
			if i >= len(s) || s[i] != '.' {
				return 0, 0, false
			}
			i++
		}
		if i >= len(s) || s[i]-'0' > 9 {
			return 0, 0, false
		}
		v := uint(s[i] - '0')
		i++
		if i < len(s) && s[i]-'0' <= 9 {
			if v == 0 {
				return 0, 0, false // leading zero
			}
			v = v*10 + uint(s[i]-'0')
			i++
			if i < len(s) && s[i]-'0' <= 9 {
				v = v*10 + uint(s[i]-'0')
				i++
				if v > 255 {
					return 0, 0, false
				}
			}
		}
		x = x<<8 | uint32(v)
	}
	return x, i, true
}

// parseV4 is the fast path for the common case in headers: a dotted quad,
// optionally followed by ":port". If s is not that, isV4 tells whether it
// is a broken one (only digits and dots: refused) or may still be IPv6 (the
// caller decides).
func parseV4(s string, obfPort bool) (addr u128, ok, isV4 bool) {
	x, i, ok := scanV4(s, 0)
	if ok && (i == len(s) || s[i] == ':' && validPort(s[i+1:], obfPort)) {
		return from4(x), true, true
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c != '.' && (c < '0' || c > '9') {
			return u128{}, false, false
		}
	}
	return u128{}, false, true
}

// lastV4 parses the last element of line[:end] when it is a plain dotted
// quad with optional spaces or tabs around it, scanning backwards, and
// returns where the element starts (after its comma, or 0). ok is false for
// any other form, which the caller then parses in full; lastV4 never accepts
// what parseHostPort would refuse.
func lastV4(line string, end int) (addr u128, start int, ok bool) {
	j := end
	for j > 0 && (line[j-1] == ' ' || line[j-1] == '\t') {
		j--
	}
	var x uint32 // the fields read so far, right to left, each new one in the top byte
	for f := 3; f >= 0; f-- {
		if f < 3 {
			if j == 0 || line[j-1] != '.' {
				return u128{}, 0, false
			}
			j--
		}
		if j == 0 || line[j-1]-'0' > 9 {
			return u128{}, 0, false
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
					return u128{}, 0, false
				}
			} else if d1 == 0 {
				return u128{}, 0, false // leading zero
			}
		}
		x = x>>8 | uint32(v)<<24
	}
	for j > 0 && (line[j-1] == ' ' || line[j-1] == '\t') {
		j--
	}
	if j > 0 && line[j-1] != ',' {
		return u128{}, 0, false
	}
	return from4(x), j, true
}

// lastQuad parses backwards the dotted quad that ends line[:j] as strictly
// as scanV4 (no leading zeros, each field at most 255) and returns it and
// where it starts. The caller checks the byte before it, which may be a
// digit ("1111.2.3.4" reads as "111.2.3.4"). lastV4 is the same, for a whole
// X-Forwarded-For element, kept apart: it is the hottest path.
func lastQuad(line string, j int) (addr u128, start int, ok bool) {
	var x uint32
	for f := 3; f >= 0; f-- { // fields right to left, each new one in the top byte
		if f < 3 {
			if j == 0 || line[j-1] != '.' {
				return u128{}, 0, false
			}
			j--
		}
		if j == 0 || line[j-1]-'0' > 9 {
			return u128{}, 0, false
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
					return u128{}, 0, false
				}
			} else if d1 == 0 {
				return u128{}, 0, false // leading zero
			}
		}
		x = x>>8 | uint32(v)<<24
	}
	return from4(x), j, true
}

// lastNode parses backwards the node that ends line[:j] when it is a dotted
// quad or a bracketed IPv6 address, either with an optional ":port", and
// returns where it starts. With fwd (Forwarded) the port may also be an RFC
// 7239 obfuscated port; without (an X-Forwarded-For element, on which lastV4
// has failed, or the peer) a dotted quad needs a port. ok is false for any
// other form; the caller checks the byte before the node and otherwise takes
// the general path, which accepts the same node with the same answer
// (parseHostPort).
func lastNode(line string, j int, fwd bool) (addr u128, start int, ok bool) {
	if j > len(line) {
		return u128{}, 0, false
	}
	h := j // where the host ends
	if k := j; k > 0 && line[k-1] != ']' {
		for k > 0 && line[k-1]-'0' <= 9 {
			k--
		}
		switch {
		case k == 0:
		case line[k-1] == ':': // a port: 0 to 65535, up to 5 digits
			if k == j || j-k > 5 || j-k == 5 && line[k:j] > "65535" {
				return u128{}, 0, false
			}
			h = k - 1
		case fwd && line[k-1] != '.' && obfChar[line[k-1]]: // "_" and obfChar bytes
			for k > 0 && obfChar[line[k-1]] {
				k--
			}
			if k == 0 || line[k-1] != ':' || line[k] != '_' || j-k < 2 {
				return u128{}, 0, false
			}
			h = k - 1
		}
	}
	if h > 0 && line[h-1] == ']' {
		addr, j, ok = lastV6Addr(line, h-1)
		if !ok || j == 0 || line[j-1] != '[' {
			return u128{}, 0, false
		}
		return addr, j - 1, true
	}
	if h == j && !fwd {
		return u128{}, 0, false
	}
	return lastQuad(line, h)
}

// obfChar holds the bytes of an RFC 7239 obfuscated port: ALPHA, DIGIT, '.',
// '_', '-'.
var obfChar = func() (t [256]bool) {
	for c := range t {
		t[c] = '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '.' || c == '_' || c == '-'
	}
	return t
}()

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
