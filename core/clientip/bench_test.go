package clientip_test

import (
	"net/netip"
	"testing"

	"github.com/wardenkit/warden/core/clientip"
)

// cloudflareLike is a larger trusted list, to show lookups stay flat.
var cloudflareLike = []string{
	"173.245.48.0/20", "103.21.244.0/22", "103.22.200.0/22", "103.31.4.0/22",
	"141.101.64.0/18", "108.162.192.0/18", "190.93.240.0/20", "188.114.96.0/20",
	"197.234.240.0/22", "198.41.128.0/17", "162.158.0.0/15", "104.16.0.0/13",
	"104.24.0.0/14", "172.64.0.0/13", "131.0.72.0/22", "10.0.0.0/8",
	"2400:cb00::/32", "2606:4700::/32", "2803:f800::/32", "2405:b500::/32",
	"2405:8100::/32", "2a06:98c0::/29", "2c0f:f248::/32",
}

func hotPaths(tb testing.TB) []struct {
	name   string
	r      *clientip.Resolver
	remote string
	hdrs   []hdr
} {
	var big []netip.Prefix
	for _, s := range cloudflareLike {
		big = append(big, netip.MustParsePrefix(s))
	}
	p := clientip.WithTrustedProxies(trustedCIDRs...)
	return []struct {
		name   string
		r      *clientip.Resolver
		remote string
		hdrs   []hdr
	}{
		{"xff_3_hops", mustNew(tb, p), "10.0.0.3:443", []hdr{xff("6.6.6.6, 203.0.113.7, 10.0.0.1, 192.168.1.2")}},
		{"xff_3_hops_23_cidrs", mustNew(tb, clientip.WithTrustedProxies(big...)), "10.0.0.3:443", []hdr{xff("6.6.6.6, 203.0.113.7, 162.158.1.1, 104.16.2.2")}},
		{"xff_3_hops_ipv6", mustNew(tb, p), "[2001:db8:ffff::3]:443", []hdr{xff("2001:db8:1::7, 2001:db8:ffff::1, 2001:db8:ffff::2")}},
		{"forwarded_3_hops", mustNew(tb, p, clientip.WithHeader("Forwarded")), "10.0.0.3:443", []hdr{fwd(`for=203.0.113.7;proto=https, for="10.0.0.1:80", for="[2001:db8:ffff::2]"`)}},
		{"trusted_hops_3", mustNew(tb, clientip.WithTrustedHops(3)), "198.51.100.1:443", []hdr{xff("6.6.6.6, 203.0.113.7, 10.0.0.1, 192.168.1.2")}},
		{"x_real_ip", mustNew(tb, p, clientip.WithHeader("X-Real-IP")), "10.0.0.3:443", []hdr{real("203.0.113.7")}},
		{"untrusted_peer", mustNew(tb, p), "198.51.100.9:5555", []hdr{xff("6.6.6.6")}},
		{"junk", mustNew(tb, p), "10.0.0.3:443", []hdr{xff("203.0.113.7, garbage")}},
	}
}

func BenchmarkClientIP(b *testing.B) {
	for _, c := range hotPaths(b) {
		req := request(c.remote, c.hdrs...)
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				c.r.ClientIP(req)
			}
		})
	}
}

func TestClientIPAllocs(t *testing.T) {
	for _, c := range hotPaths(t) {
		req := request(c.remote, c.hdrs...)
		if n := testing.AllocsPerRun(100, func() { c.r.ClientIP(req) }); n > 0 {
			t.Errorf("%s: ClientIP allocates %v times per call; want 0", c.name, n)
		}
	}
}

func BenchmarkParse(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		clientip.Parse("[2001:db8::7]:443")
	}
}
