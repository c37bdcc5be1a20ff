package clientip_test

import (
	"net/http"
	"net/netip"
	"strings"
	"testing"

	"github.com/wardenkit/warden/core/clientip"
)

func checkAddr(t *testing.T, what string, a netip.Addr) {
	t.Helper()
	if !a.IsValid() || a.Is4In6() || a.Zone() != "" {
		t.Fatalf("%s returned %v (valid %v, 4in6 %v, zone %q)", what, a, a.IsValid(), a.Is4In6(), a.Zone())
	}
}

// FuzzClientIP feeds arbitrary peers and headers to every kind of resolver.
// Header values are split on '\n' into several header lines.
func FuzzClientIP(f *testing.F) {
	seeds := [][4]string{
		{"10.0.0.1:443", "6.6.6.6, 203.0.113.7, 10.0.0.2", `for=203.0.113.7, for="[2001:db8::1]:80"`, "203.0.113.7"},
		{"[::ffff:10.0.0.1]:80", "::ffff:1.2.3.4\n10.0.0.2", `for="_hidden";proto=https`, "1.2.3.4, 5.6.7.8"},
		{"@", "fe80::1%eth0", `for=unknown, for="[fe80::1%25eth0]"`, ""},
		{"", ",,,", `host="a,b";for=1.2.3.4`, "[::1]:80"},
		{"/run/x.sock", "[2001:db8:ffff::1]:1, 2001:db8::7", `for="1.2.3.4\"`, "junk"},
		{"[fe80::1%eth0]:80", " 1.2.3.4 ", `For="[::ffff:1.2.3.4]:_p"`, "1.2.3.4:99999"},
		{"198.51.100.9:1", "1.2.3.4", "for=1.2.3.4", "1.2.3.4"},
		{"garbage", "", "", ""},
	}
	for _, s := range seeds {
		f.Add(s[0], s[1], s[2], s[3])
	}
	rs := newResolvers(f)
	all := []*clientip.Resolver{rs.none, rs.proxies, rs.hops3, rs.hops1, rs.fwd, rs.fwdHops, rs.realIP, rs.cf, rs.unix, rs.unixOnly}
	f.Fuzz(func(t *testing.T, remote, xffV, fwdV, single string) {
		req := &http.Request{RemoteAddr: remote, Header: http.Header{}}
		for name, v := range map[string]string{"X-Forwarded-For": xffV, "Forwarded": fwdV, "X-Real-Ip": single, "Cf-Connecting-Ip": single} {
			if v != "" {
				req.Header[name] = strings.Split(v, "\n")
			}
		}
		// The peer alone, without any header: what an untrusting resolver
		// must return whatever the headers say.
		peer, peerOK := rs.none.ClientIP(&http.Request{RemoteAddr: remote})
		if peerOK {
			checkAddr(t, "ClientIP", peer)
		}
		for i, r := range all {
			got, ok := r.ClientIP(req)
			if !ok {
				if got.IsValid() {
					t.Fatalf("resolver %d: false with address %v", i, got)
				}
				continue
			}
			checkAddr(t, "ClientIP", got)
			if !r.TrustsProxies() && (!peerOK || got != peer) {
				t.Fatalf("resolver %d trusts nobody but returned %v; peer %v, %v", i, got, peer, peerOK)
			}
			hops := r == rs.hops3 || r == rs.hops1 || r == rs.fwdHops
			if peerOK && !hops && !r.Trusted(peer) && got != peer {
				t.Fatalf("resolver %d: untrusted peer %v, but returned %v from headers", i, peer, got)
			}
		}
	})
}

// FuzzParse checks Parse never panics and round-trips what it accepts.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"1.2.3.4", " [::1]:80 ", "::ffff:1.2.3.4", "fe80::1%eth0", "1.2.3.4:65535", "[1.2.3.4]", "unknown", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, ok := clientip.Parse(s)
		if !ok {
			if a.IsValid() {
				t.Fatalf("Parse(%q) = %v, false", s, a)
			}
			return
		}
		checkAddr(t, "Parse", a)
		if strings.Contains(s, "%") {
			t.Fatalf("Parse(%q) accepted a zone", s)
		}
		if b, ok := clientip.Parse(a.String()); !ok || b != a {
			t.Fatalf("Parse(%q) = %v, but Parse(%q) = %v, %v", s, a, a.String(), b, ok)
		}
	})
}
