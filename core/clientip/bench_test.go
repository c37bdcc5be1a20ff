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
	want   string // the answer, "" for none
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
		want   string
	}{
		{"xff_3_hops", mustNew(tb, p), "10.0.0.3:443", []hdr{xff("6.6.6.6, 203.0.113.7, 10.0.0.1, 192.168.1.2")}, "203.0.113.7"},
		{"xff_3_hops_23_cidrs", mustNew(tb, clientip.WithTrustedProxies(big...)), "10.0.0.3:443", []hdr{xff("6.6.6.6, 203.0.113.7, 162.158.1.1, 104.16.2.2")}, "203.0.113.7"},
		{"xff_3_hops_ipv6", mustNew(tb, p), "[2001:db8:ffff::3]:443", []hdr{xff("2001:db8:1::7, 2001:db8:ffff::1, 2001:db8:ffff::2")}, "2001:db8:1::7"},
		{"forwarded_3_hops", mustNew(tb, p, clientip.WithHeader("Forwarded")), "10.0.0.3:443", []hdr{fwd(`for=203.0.113.7;proto=https, for="10.0.0.1:80", for="[2001:db8:ffff::2]"`)}, "203.0.113.7"},
		{"trusted_hops_3", mustNew(tb, clientip.WithTrustedHops(3)), "198.51.100.1:443", []hdr{xff("6.6.6.6, 203.0.113.7, 10.0.0.1, 192.168.1.2")}, "203.0.113.7"},
		{"x_real_ip", mustNew(tb, p, clientip.WithHeader("X-Real-IP")), "10.0.0.3:443", []hdr{real("203.0.113.7")}, "203.0.113.7"},
		{"untrusted_peer", mustNew(tb, p), "198.51.100.9:5555", []hdr{xff("6.6.6.6")}, "198.51.100.9"},
		{"junk", mustNew(tb, p), "10.0.0.3:443", []hdr{xff("203.0.113.7, garbage")}, ""},

		// Every other header form, each gated at 0 allocations too.
		{"xff_3_hops_1_cidr", mustNew(tb, clientip.WithTrustedProxies(netip.MustParsePrefix("10.0.0.0/8"))), "10.0.0.3:443", []hdr{xff("6.6.6.6, 203.0.113.7, 10.0.0.1, 10.2.3.4")}, "203.0.113.7"},
		{"xff_3_hops_mixed_v4_v6", mustNew(tb, p), "10.0.0.3:443", []hdr{xff("6.6.6.6, 2001:db8:1::7, 10.0.0.1, 2001:db8:ffff::2")}, "2001:db8:1::7"},
		{"xff_3_hops_ipv6_23_cidrs", mustNew(tb, clientip.WithTrustedProxies(big...)), "[2400:cb00::3]:443", []hdr{xff("2001:db8:1::7, 2606:4700::1, 2400:cb00::2")}, "2001:db8:1::7"},
		{"xff_3_hops_ports_brackets", mustNew(tb, p), "[2001:db8:ffff::3]:443", []hdr{xff("[2001:db8:1::7]:4711, 10.0.0.1:80, [2001:db8:ffff::2]:443")}, "2001:db8:1::7"},
		{"xff_ipv4_mapped", mustNew(tb, p), "10.0.0.3:443", []hdr{xff("::ffff:203.0.113.7, ::ffff:10.0.0.1")}, "203.0.113.7"},
		{"xff_lines_3", mustNew(tb, p), "10.0.0.3:443", []hdr{xff("203.0.113.7"), xff("10.0.0.1"), xff("192.168.1.2")}, "203.0.113.7"},
		{"forwarded_3_hops_ipv6_brackets_port", mustNew(tb, p, clientip.WithHeader("Forwarded")), "[2001:db8:ffff::3]:443", []hdr{fwd(`for="[2001:db8:1::7]:4711";proto=https, for="[2001:db8:ffff::1]:443", for="[2001:db8:ffff::2]:_edge"`)}, "2001:db8:1::7"},
		{"forwarded_3_hops_unquoted_v4", mustNew(tb, p, clientip.WithHeader("Forwarded")), "10.0.0.3:443", []hdr{fwd("for=203.0.113.7;proto=https, for=10.0.0.1;by=10.0.0.3, for=192.168.1.2")}, "203.0.113.7"},
		{"forwarded_3_hops_mixed_v4_v6", mustNew(tb, p, clientip.WithHeader("Forwarded")), "10.0.0.3:443", []hdr{fwd(`for="[2001:db8:1::7]:4711", for=10.0.0.1, for="[2001:db8:ffff::2]"`)}, "2001:db8:1::7"},
		{"forwarded_junk", mustNew(tb, p, clientip.WithHeader("Forwarded")), "10.0.0.3:443", []hdr{fwd(`for=203.0.113.7, for="[fe80::1%25eth0]"`)}, ""},
		{"trusted_hops_3_ipv6", mustNew(tb, clientip.WithTrustedHops(3)), "[2001:db8:9::1]:443", []hdr{xff("2001:db8:1::7, 2001:db8:ffff::1, 2001:db8:ffff::2")}, "2001:db8:1::7"},
		{"x_real_ip_ipv6_port", mustNew(tb, p, clientip.WithHeader("X-Real-IP")), "[2001:db8:ffff::3]:443", []hdr{real("[2001:db8:1::7]:4711")}, "2001:db8:1::7"},
		{"cf_connecting_ip_ipv6", mustNew(tb, p, clientip.WithHeader("CF-Connecting-IP")), "10.0.0.3:443", []hdr{{"Cf-Connecting-Ip", "2001:db8:1::7"}}, "2001:db8:1::7"},
		{"unix_socket", mustNew(tb, p, clientip.TrustUnixSocket()), "@", []hdr{xff("2001:db8:1::7, 10.0.0.1")}, "2001:db8:1::7"},
		{"untrusted_peer_ipv6", mustNew(tb, p), "[2001:db8:1::9]:5555", []hdr{xff("6.6.6.6")}, "2001:db8:1::9"},
		{"peer_ipv6_zone", mustNew(tb), "[fe80::1%eth0]:5555", nil, "fe80::1"},
		{"junk_ipv6", mustNew(tb, p), "10.0.0.3:443", []hdr{xff("203.0.113.7, 2001:db8::1::2")}, ""},
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

// TestHotPaths checks the benchmarks measure the answer they are named for.
func TestHotPaths(t *testing.T) {
	for _, c := range hotPaths(t) {
		got, ok := c.r.ClientIP(request(c.remote, c.hdrs...))
		if c.want == "" {
			if ok {
				t.Errorf("%s: ClientIP = %v, true; want none", c.name, got)
			}
		} else if !ok || got != netip.MustParseAddr(c.want) {
			t.Errorf("%s: ClientIP = %v, %v; want %s", c.name, got, ok, c.want)
		}
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

func TestParseAllocs(t *testing.T) {
	for _, s := range []string{"203.0.113.7", "[2001:db8::7]:443", "::ffff:1.2.3.4", "2001:db8::1::2", "fe80::1%eth0", "junk"} {
		if n := testing.AllocsPerRun(100, func() { clientip.Parse(s) }); n > 0 {
			t.Errorf("Parse(%q) allocates %v times per call; want 0", s, n)
		}
	}
}

func BenchmarkParse(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		clientip.Parse("[2001:db8::7]:443")
	}
}
