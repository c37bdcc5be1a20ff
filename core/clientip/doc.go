// Package clientip resolves the client IP address of an *http.Request under
// an explicit trust model.
//
// # Trust model
//
// The peer is the address the connection came from (http.Request.RemoteAddr).
// Forwarding headers are believed only when the peer is a trusted proxy:
//
//   - WithTrustedProxies(prefixes...): a peer inside one of the prefixes is a
//     trusted proxy, and so is any header element inside them.
//   - WithTrustedHops(n): for platforms whose balancer ranges are not
//     published. The peer is taken to be the first of n proxies, and the
//     client is the n-th header element counted from the right (the left-most
//     element when there are fewer, since all of them were appended by
//     proxies).
//   - TrustUnixSocket(): a peer on a unix socket (RemoteAddr "", "@…" or an
//     absolute path) is a trusted proxy. Without it such a request has no
//     client IP, because the peer has no address.
//
// The default is to trust nobody: forwarding headers are ignored and the peer
// is the client. Loopback and private addresses get no special treatment.
//
// When the peer is trusted, the header (X-Forwarded-For by default, RFC 7239
// Forwarded, or one single-address header such as X-Real-IP or
// CF-Connecting-IP, chosen with WithHeader) is walked from the right. Elements
// that are trusted proxies are skipped and the first untrusted address is the
// client. The left-most element is never chosen for being left-most: it is
// whatever the client sent. If every element is a trusted proxy, the
// left-most one is returned. With no header, the peer is the client.
//
// # Failure
//
// The resolver fails closed. An unparsable RemoteAddr, or any malformed
// element met during the walk before the client is found (garbage, an empty
// list element, a zone ID, an obfuscated or "unknown" Forwarded node, a list
// in a single-address header), means there is no client IP: ClientIP returns
// false. Junk is never skipped. Elements left of the client are not read.
//
// Returned addresses are valid, IPv4-in-IPv6 addresses are unmapped and there
// is never a zone.
//
// # Usage
//
//	r, err := clientip.New(
//		clientip.WithTrustedProxies(netip.MustParsePrefix("10.0.0.0/8")),
//	)
//	if err != nil {
//		return err
//	}
//	ip, ok := r.ClientIP(req)
//	if !ok {
//		// deny: no client IP
//	}
//
// # Concurrency
//
// A Resolver is immutable once New returns and is safe for concurrent use.
// ClientIP does not allocate, whatever the input.
package clientip
