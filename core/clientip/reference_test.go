package clientip

// This file keeps the resolver as it was before the hand-written IPv6 and
// Forwarded parsers (commit 1b46c8d), unchanged but for names, as the oracle
// for FuzzResolverMatchesReference: the fast paths must not change one
// answer. Trust is a linear netip.Prefix.Contains scan, obviously right.

import (
	"net/http"
	"net/netip"
	"strings"
)

// refResolver is the reference: the same configuration as a Resolver.
type refResolver struct {
	key      string
	kind     headerKind
	prefixes []netip.Prefix
	hops     int
	unix     bool
}

func newRefResolver(opts ...Option) (*refResolver, error) {
	c := config{header: "X-Forwarded-For"}
	for _, opt := range opts {
		if err := opt(&c); err != nil {
			return nil, err
		}
	}
	r := &refResolver{key: c.header, prefixes: c.prefixes, hops: c.hops, unix: c.unix}
	switch c.header {
	case "X-Forwarded-For":
		r.kind = kindXFF
	case "Forwarded":
		r.kind = kindForwarded
	default:
		r.kind = kindSingle
	}
	return r, nil
}

func (r *refResolver) trusted(a netip.Addr) bool {
	for _, p := range r.prefixes {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

func (r *refResolver) clientIP(req *http.Request) (netip.Addr, bool) {
	if req == nil {
		return netip.Addr{}, false
	}
	peer, unix, ok := refParsePeer(req.RemoteAddr)
	if !ok {
		return netip.Addr{}, false
	}
	if unix {
		if !r.unix {
			return netip.Addr{}, false
		}
	} else if r.hops == 0 && !r.trusted(peer) {
		return peer, true // untrusted peer: headers ignored
	}
	lines := req.Header[r.key]
	if len(lines) == 0 {
		return peer, !unix
	}
	return r.walk(lines)
}

// walk reads the header lines of a trusted peer from the right.
func (r *refResolver) walk(lines []string) (netip.Addr, bool) {
	if r.kind == kindSingle {
		if len(lines) != 1 {
			return netip.Addr{}, false
		}
		return refParseHostPort(lines[0], false)
	}
	var leftmost netip.Addr
	seen := 0
	for li := len(lines) - 1; li >= 0; li-- {
		line := lines[li]
		end := len(line)
		for {
			var (
				start int
				addr  netip.Addr
				ok    bool
			)
			if r.kind == kindXFF {
				// Fast path: a plain dotted quad, parsed backwards in the
				// same pass that finds the element. Anything else (IPv6, a
				// port, junk) takes the general path.
				if addr, start, ok = refLastV4(line, end); !ok {
					start = strings.LastIndexByte(line[:end], ',') + 1
					addr, ok = refParseHostPort(line[start:end], false)
				}
			} else {
				start, ok = refForwardedElementStart(line[:end])
				if ok {
					addr, ok = refParseForwardedElement(line[start:end])
				}
			}
			if !ok {
				return netip.Addr{}, false // fail closed on junk
			}
			seen++
			if r.hops > 0 {
				if seen == r.hops {
					return addr, true
				}
			} else if !r.trusted(addr) {
				return addr, true
			}
			leftmost = addr
			if start == 0 {
				break
			}
			end = start - 1
		}
	}
	return leftmost, true
}

const refMaxAddrLen = 45

// refParsePeer parses http.Request.RemoteAddr. unix is true for a unix-socket
// peer ("", "@…", "/path"), which has no address. A zone on the peer is
// dropped rather than refused: it comes from the kernel (a link-local peer),
// not from the client.
func refParsePeer(s string) (addr netip.Addr, unix, ok bool) {
	if s == "" || s[0] == '@' || s[0] == '/' {
		return netip.Addr{}, true, true
	}
	if a, ok, isV4 := refParseV4(s, false); isV4 {
		return a, false, ok
	}
	host, ok := refSplitHostPort(s, false)
	if !ok {
		return netip.Addr{}, false, false
	}
	if i := strings.IndexByte(host, '%'); i >= 0 {
		if i == len(host)-1 || strings.IndexByte(host, ':') < 0 {
			return netip.Addr{}, false, false
		}
		host = host[:i]
	}
	addr, ok = refParseIP(host)
	return addr, false, ok
}

// refParseHostPort parses "addr", "v4:port", "[v6]" or "[v6]:port". With
// obfPort, a port may also be an RFC 7239 obfuscated port ("_abc").
func refParseHostPort(s string, obfPort bool) (netip.Addr, bool) {
	s = refTrimSpace(s)
	if a, ok, isV4 := refParseV4(s, obfPort); isV4 {
		return a, ok
	}
	host, ok := refSplitHostPort(s, obfPort)
	if !ok {
		return netip.Addr{}, false
	}
	return refParseIP(host)
}

func refSplitHostPort(s string, obfPort bool) (string, bool) {
	if s == "" {
		return "", false
	}
	if s[0] == '[' {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return "", false
		}
		host, rest := s[1:end], s[end+1:]
		if rest != "" && (rest[0] != ':' || !refValidPort(rest[1:], obfPort)) {
			return "", false
		}
		if strings.IndexByte(host, ':') < 0 {
			return "", false // brackets are for IPv6 only
		}
		return host, true
	}
	if i := strings.IndexByte(s, ':'); i >= 0 && strings.IndexByte(s[i+1:], ':') < 0 {
		// exactly one colon: IPv4 with a port
		if !refValidPort(s[i+1:], obfPort) {
			return "", false
		}
		return s[:i], true
	}
	return s, true
}

// refAddrChar holds the characters of a textual IP address without a zone.
var refAddrChar = [256]bool{
	'0': true, '1': true, '2': true, '3': true, '4': true, '5': true, '6': true, '7': true, '8': true, '9': true,
	'a': true, 'b': true, 'c': true, 'd': true, 'e': true, 'f': true,
	'A': true, 'B': true, 'C': true, 'D': true, 'E': true, 'F': true,
	'.': true, ':': true,
}

// refParseIP parses a bare address with no zone and unmaps it; callers try
// refParseV4 first. Characters netip could never accept are refused first, so
// common junk costs no allocation.
func refParseIP(s string) (netip.Addr, bool) {
	if len(s) == 0 || len(s) > refMaxAddrLen {
		return netip.Addr{}, false
	}
	for i := 0; i < len(s); i++ {
		if !refAddrChar[s[i]] {
			return netip.Addr{}, false
		}
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}

// refParseV4 is the fast path for the common case in headers: a dotted quad,
// optionally followed by ":port", parsed field by field as strictly as netip
// does (four fields, no leading zeros, each at most 255). Anything else goes
// to refParseV4Slow, which decides whether s may still be IPv6 (isV4 false: the
// caller takes the general path) or is a broken dotted quad (isV4 true).
func refParseV4(s string, obfPort bool) (addr netip.Addr, ok, isV4 bool) {
	var b [4]byte
	i := 0
	for f := range 4 {
		if f > 0 {
			if i >= len(s) || s[i] != '.' {
				return refParseV4Slow(s)
			}
			i++
		}
		if i >= len(s) || s[i]-'0' > 9 {
			return refParseV4Slow(s)
		}
		v := uint(s[i] - '0')
		i++
		if i < len(s) && s[i]-'0' <= 9 {
			if v == 0 {
				return refParseV4Slow(s) // leading zero
			}
			v = v*10 + uint(s[i]-'0')
			i++
			if i < len(s) && s[i]-'0' <= 9 {
				v = v*10 + uint(s[i]-'0')
				i++
				if v > 255 {
					return refParseV4Slow(s)
				}
			}
		}
		b[f] = byte(v)
	}
	if i < len(s) && (s[i] != ':' || !refValidPort(s[i+1:], obfPort)) {
		return refParseV4Slow(s)
	}
	return netip.AddrFrom4(b), true, true
}

// refLastV4 parses the last element of line[:end] when it is a plain dotted
// quad with optional spaces or tabs around it, scanning backwards, and
// returns where the element starts (after its comma, or 0). ok is false for
// any other form, which the caller then parses in full; refLastV4 never accepts
// what refParseHostPort would refuse.
func refLastV4(line string, end int) (addr netip.Addr, start int, ok bool) {
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

// refParseV4Slow reports a failed dotted quad as definite (isV4) when s holds
// only digits and dots; otherwise it may be IPv6 or have a port and the
// general path decides.
func refParseV4Slow(s string) (addr netip.Addr, ok, isV4 bool) {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c != '.' && (c < '0' || c > '9') {
			return netip.Addr{}, false, false
		}
	}
	return netip.Addr{}, false, true
}

// refTrimSpace trims ASCII white space.
func refTrimSpace(s string) string {
	for len(s) > 0 && refIsSpace(s[0]) {
		s = s[1:]
	}
	for len(s) > 0 && refIsSpace(s[len(s)-1]) {
		s = s[:len(s)-1]
	}
	return s
}

func refIsSpace(c byte) bool {
	return c <= ' ' && (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f')
}

// refValidPort accepts 0..65535 in decimal (at most 5 digits), or with obf an
// RFC 7239 obfport: "_" 1*(ALPHA / DIGIT / "." / "_" / "-").
func refValidPort(p string, obf bool) bool {
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

// refForwardedElementStart returns where the last RFC 7239 element of s starts:
// after the last comma outside a quoted string. Backslashes (quoted-pairs)
// never occur in a real node and are refused, which keeps the backwards scan
// unambiguous; so is an unbalanced quote.
func refForwardedElementStart(s string) (int, bool) {
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

// refParseForwardedElement returns the address in the single for= parameter of
// one RFC 7239 element (quotes already known to be balanced).
func refParseForwardedElement(e string) (netip.Addr, bool) {
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
		pair := refTrimSpace(e[:i])
		if i < len(e) {
			e = e[i+1:]
		} else {
			e = ""
		}
		if pair == "" {
			continue // empty pairs are allowed: "for=x;;proto=https"
		}
		eq := strings.IndexByte(pair, '=')
		if eq < 0 || !refIsToken(pair[:eq]) {
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
	return refParseHostPort(node, true)
}

// refIsToken reports whether s is a non-empty RFC 9110 token.
func refIsToken(s string) bool {
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
