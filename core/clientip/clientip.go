package clientip

import (
	"fmt"
	"net/http"
	"net/netip"
	"strings"
)

// MaxTrustedHops is the largest n accepted by WithTrustedHops.
const MaxTrustedHops = 16

// Option configures a Resolver. Options validate their arguments; New returns
// the first error.
type Option func(*config) error

type config struct {
	prefixes []netip.Prefix
	hops     int
	header   string
	unix     bool
}

// WithTrustedProxies trusts peers and header elements inside the given
// prefixes as proxies. It may be given several times; the prefixes add up.
// No prefixes is no change. An invalid prefix, a prefix with host bits set
// (10.0.0.1/8), a /0 (which would make every header spoofable; use
// WithTrustedHops) and an IPv4-mapped IPv6 prefix (use the IPv4 form) are
// errors naming the prefix. It cannot be combined with WithTrustedHops.
func WithTrustedProxies(prefixes ...netip.Prefix) Option {
	return func(c *config) error {
		for _, p := range prefixes {
			switch {
			case !p.Addr().IsValid():
				return optionErr("WithTrustedProxies", "invalid prefix: the zero netip.Prefix has no address")
			case !p.IsValid():
				return optionErr("WithTrustedProxies", "invalid prefix for %s: bit length out of range 0..%d", p.Addr(), p.Addr().BitLen())
			case p != p.Masked():
				return optionErr("WithTrustedProxies", "%s has host bits set (did you mean %s?)", p, p.Masked())
			case p.Bits() == 0:
				return optionErr("WithTrustedProxies", "%s trusts every address, making forwarding headers spoofable (use WithTrustedHops)", p)
			case p.Addr().Is4In6() && p.Bits() >= 96:
				return optionErr("WithTrustedProxies", "%s is IPv4-mapped: addresses are unmapped before matching, use the IPv4 form", p)
			}
		}
		c.prefixes = append(c.prefixes, prefixes...)
		return nil
	}
}

// WithTrustedHops is for platforms whose balancer ranges are not published:
// the peer, whatever its address, is the first of n proxies in front of the
// application, and the client is the header element at len-n (the n-th from
// the right), or the left-most element if there are fewer than n. n must be in
// 1..MaxTrustedHops. It cannot be combined with WithTrustedProxies.
func WithTrustedHops(n int) Option {
	return func(c *config) error {
		if n < 1 || n > MaxTrustedHops {
			return optionErr("WithTrustedHops", "%d is out of range 1..%d", n, MaxTrustedHops)
		}
		c.hops = n
		return nil
	}
}

// WithHeader chooses the forwarding header read from trusted peers:
//
//   - "X-Forwarded-For" (the default): a comma-separated list; several header
//     lines form one list, in order.
//   - "Forwarded" (RFC 7239): the for= parameter of each element; quoted
//     values, "[v6]:port" and ports are understood; obfuscated and "unknown"
//     nodes are junk, as is an element without exactly one for=.
//   - any other name, such as "X-Real-IP" or "CF-Connecting-IP": a header
//     holding one address. A list, or several header lines, is junk.
//
// Names are case-insensitive.
func WithHeader(name string) Option {
	return func(c *config) error {
		if !isToken(name) {
			return optionErr("WithHeader", "%q is not a valid header name", name)
		}
		c.header = http.CanonicalHeaderKey(name)
		return nil
	}
}

// TrustUnixSocket makes a peer on a unix socket (RemoteAddr "", "@…" or a path
// starting with "/") a trusted proxy. Such a peer has no address, so a
// request from it without the forwarding header has no client IP. Without
// this option every unix-socket request has no client IP.
func TrustUnixSocket() Option {
	return func(c *config) error {
		c.unix = true
		return nil
	}
}

func optionErr(op, format string, args ...any) error {
	return &optionError{op: op, problem: fmt.Sprintf(format, args...)}
}

type headerKind uint8

const (
	kindXFF headerKind = iota
	kindForwarded
	kindSingle
)

// Resolver resolves client IPs. Create it with New; the zero value trusts
// nobody and returns the peer. It is safe for concurrent use.
type Resolver struct {
	key   string // canonical header key
	kind  headerKind
	trust trustSet
	hops  int
	unix  bool
}

// New returns a Resolver. With no options it trusts nobody: forwarding headers
// are ignored and the peer is the client. Its errors, and those of the
// options, read "clientip: WithX: problem" and wrap ErrInvalidOption.
func New(opts ...Option) (*Resolver, error) {
	c := config{header: "X-Forwarded-For"}
	for i, opt := range opts {
		if opt == nil {
			return nil, optionErr("New", "option %d is nil", i)
		}
		if err := opt(&c); err != nil {
			return nil, err
		}
	}
	if c.hops > 0 && len(c.prefixes) > 0 {
		return nil, optionErr("New", "WithTrustedHops(%d) and WithTrustedProxies cannot be combined", c.hops)
	}
	r := &Resolver{key: c.header, hops: c.hops, unix: c.unix}
	switch c.header {
	case "X-Forwarded-For":
		r.kind = kindXFF
	case "Forwarded":
		r.kind = kindForwarded
	default:
		r.kind = kindSingle
	}
	r.trust = newTrustSet(c.prefixes)
	return r, nil
}

// Trusted reports whether addr is inside a trusted proxy prefix. It is
// always false under WithTrustedHops, whose proxies have no known addresses.
// IPv4-mapped addresses are unmapped and zones ignored.
func (r *Resolver) Trusted(addr netip.Addr) bool {
	return r.trust.containsAddr(addr)
}

// TrustsProxies reports whether any proxy trust is configured
// (WithTrustedProxies, WithTrustedHops or TrustUnixSocket), that is, whether
// a forwarding header can ever be read.
func (r *Resolver) TrustsProxies() bool {
	return r.hops > 0 || r.unix || !r.trust.empty()
}

// ClientIP returns the client address of req under the trust model described
// in the package documentation, or false if there is none (unparsable peer,
// untrusted unix socket, or junk met while walking the header). A returned
// address is valid, unmapped and has no zone. ClientIP does not allocate.
func (r *Resolver) ClientIP(req *http.Request) (netip.Addr, bool) {
	if req == nil {
		return netip.Addr{}, false
	}
	peer, unix, ok := parsePeer(req.RemoteAddr)
	if !ok {
		return netip.Addr{}, false
	}
	if unix {
		if !r.unix {
			return netip.Addr{}, false
		}
	} else if r.hops == 0 && !r.trust.contains(peer) {
		return peer.addr(), true // untrusted peer: headers ignored
	}
	lines := req.Header[r.key]
	if len(lines) == 0 {
		if unix {
			return netip.Addr{}, false
		}
		return peer.addr(), true
	}
	a, ok := r.walk(lines)
	if !ok {
		return netip.Addr{}, false
	}
	return a.addr(), true
}

// walk reads the header lines of a trusted peer from the right.
func (r *Resolver) walk(lines []string) (u128, bool) {
	if r.kind == kindSingle {
		if len(lines) != 1 {
			return u128{}, false
		}
		return parseHostPort(lines[0], false)
	}
	var leftmost u128
	seen := 0
	for li := len(lines) - 1; li >= 0; li-- {
		line := lines[li]
		end := len(line)
		for {
			var (
				addr  u128
				start int
				ok    bool
			)
			if r.kind == kindForwarded {
				addr, start, ok = lastForwarded(line, end)
			} else if addr, start, ok = lastV4(line, end); !ok {
				// X-Forwarded-For. The fast path above: a plain dotted
				// quad, parsed backwards in the same pass that finds the
				// element. Anything else takes lastXFF.
				addr, start, ok = lastXFF(line, end)
			}
			if !ok {
				return u128{}, false // fail closed on junk
			}
			seen++
			if r.hops > 0 {
				if seen == r.hops {
					return addr, true
				}
			} else if !r.trust.contains(addr) {
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

// lastXFF parses the last X-Forwarded-For element of line[:end] and returns
// where it starts (after its comma, or 0). Fast paths: a plain IPv6 address,
// then a dotted quad or bracketed IPv6 with a port (lastNode), each parsed
// backwards in the same pass that finds the element. Anything else (an
// embedded dotted quad, a zone, junk) takes the general path.
func lastXFF(line string, end int) (addr u128, start int, ok bool) {
	if addr, start, ok = lastV6(line, end); ok {
		return addr, start, true
	}
	if addr, start, ok = lastNode(line, skipBlanksLeft(line, end), false); ok {
		if start = skipBlanksLeft(line, start); start == 0 || line[start-1] == ',' {
			return addr, start, true
		}
	}
	start = strings.LastIndexByte(line[:end], ',') + 1
	addr, ok = parseHostPort(line[start:end], false)
	return addr, start, ok
}
