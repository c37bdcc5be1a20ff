package clientip_test

import (
	"errors"
	"net/http"
	"net/netip"
	"testing"

	"github.com/wardenkit/warden/core/clientip"
)

// hdr is one header line: name, value.
type hdr [2]string

func request(remote string, headers ...hdr) *http.Request {
	req := &http.Request{RemoteAddr: remote, Header: http.Header{}}
	for _, h := range headers {
		req.Header.Add(h[0], h[1])
	}
	return req
}

func xff(v string) hdr  { return hdr{"X-Forwarded-For", v} }
func fwd(v string) hdr  { return hdr{"Forwarded", v} }
func real(v string) hdr { return hdr{"X-Real-IP", v} }

var trustedCIDRs = []netip.Prefix{
	netip.MustParsePrefix("10.0.0.0/8"),
	netip.MustParsePrefix("192.168.0.0/16"),
	netip.MustParsePrefix("2001:db8:ffff::/48"),
}

func mustNew(t testing.TB, opts ...clientip.Option) *clientip.Resolver {
	t.Helper()
	r, err := clientip.New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

type resolvers struct {
	none, proxies, hops3, hops1, fwd, fwdHops, realIP, cf, unix, unixOnly *clientip.Resolver
}

func newResolvers(t testing.TB) resolvers {
	p := clientip.WithTrustedProxies(trustedCIDRs...)
	return resolvers{
		none:     mustNew(t),
		proxies:  mustNew(t, p),
		hops3:    mustNew(t, clientip.WithTrustedHops(3)),
		hops1:    mustNew(t, clientip.WithTrustedHops(1)),
		fwd:      mustNew(t, p, clientip.WithHeader("Forwarded")),
		fwdHops:  mustNew(t, clientip.WithTrustedHops(2), clientip.WithHeader("forwarded")),
		realIP:   mustNew(t, p, clientip.WithHeader("X-Real-IP")),
		cf:       mustNew(t, p, clientip.WithHeader("cf-connecting-ip")),
		unix:     mustNew(t, p, clientip.TrustUnixSocket()),
		unixOnly: mustNew(t, clientip.TrustUnixSocket()),
	}
}

func TestClientIP(t *testing.T) {
	rs := newResolvers(t)
	const (
		client  = "203.0.113.7"
		spoof   = "6.6.6.6"
		proxy   = "10.0.0.1:443"
		outside = "198.51.100.9:5555"
	)
	tests := []struct {
		name   string
		r      *clientip.Resolver
		remote string
		hdrs   []hdr
		want   string // "" means no client IP
	}{
		// Default: nobody trusted.
		{"default_ignores_xff", rs.none, proxy, []hdr{xff(spoof)}, "10.0.0.1"},
		{"default_loopback_not_exempt", rs.none, "127.0.0.1:80", []hdr{xff(spoof)}, "127.0.0.1"},
		{"default_ignores_forwarded", rs.none, proxy, []hdr{fwd("for=" + spoof)}, "10.0.0.1"},

		// Untrusted peers: every forwarding header is ignored.
		{"untrusted_peer_sends_xff", rs.proxies, outside, []hdr{xff(client)}, "198.51.100.9"},
		{"untrusted_peer_sends_x_real_ip", rs.realIP, outside, []hdr{real(client)}, "198.51.100.9"},
		{"untrusted_peer_sends_cf_connecting_ip", rs.cf, outside, []hdr{{"Cf-Connecting-Ip", client}}, "198.51.100.9"},
		{"untrusted_peer_sends_forwarded", rs.fwd, outside, []hdr{fwd("for=" + client)}, "198.51.100.9"},
		{"untrusted_peer_sends_junk_xff", rs.proxies, outside, []hdr{xff("garbage")}, "198.51.100.9"},
		{"untrusted_peer_sends_trusted_xff", rs.proxies, outside, []hdr{xff("10.0.0.2")}, "198.51.100.9"},

		// X-Forwarded-For from a trusted proxy.
		{"trusted_peer_no_header", rs.proxies, proxy, nil, "10.0.0.1"},
		{"xff_single", rs.proxies, proxy, []hdr{xff(client)}, client},
		{"xff_spoofed_leftmost", rs.proxies, proxy, []hdr{xff(spoof + ", " + client)}, client},
		{"xff_spoofed_leftmost_trusted_addr", rs.proxies, proxy, []hdr{xff("10.9.9.9, " + client)}, client},
		{"xff_three_trusted_hops", rs.proxies, proxy, []hdr{xff(spoof + ", " + client + ", 10.0.0.2, 192.168.1.1")}, client},
		{"xff_several_lines", rs.proxies, proxy, []hdr{xff(spoof + ", " + client), xff("10.0.0.2")}, client},
		{"xff_several_lines_last_wins", rs.proxies, proxy, []hdr{xff(spoof), xff(client)}, client},
		{"xff_several_lines_trusted_tail", rs.proxies, proxy, []hdr{xff(client), xff("10.0.0.2, 10.0.0.3")}, client},
		{"xff_all_trusted_chain", rs.proxies, proxy, []hdr{xff("10.0.0.5, 192.168.0.2, 10.0.0.2")}, "10.0.0.5"},
		{"xff_all_trusted_chain_lines", rs.proxies, proxy, []hdr{xff("10.0.0.5"), xff("10.0.0.2")}, "10.0.0.5"},
		{"xff_junk_rightmost", rs.proxies, proxy, []hdr{xff(client + ", garbage")}, ""},
		{"xff_junk_between_trusted", rs.proxies, proxy, []hdr{xff(client + ", bogus, 10.0.0.2")}, ""},
		{"xff_junk_left_of_client_not_read", rs.proxies, proxy, []hdr{xff("garbage, " + client)}, client},
		{"xff_empty_element", rs.proxies, proxy, []hdr{xff(client + ",, 10.0.0.2")}, ""},
		{"xff_trailing_comma", rs.proxies, proxy, []hdr{xff(client + ",")}, ""},
		{"xff_empty_value", rs.proxies, proxy, []hdr{xff("")}, ""},
		{"xff_empty_line_after_client", rs.proxies, proxy, []hdr{xff(client), xff(" ")}, ""},
		{"xff_unknown", rs.proxies, proxy, []hdr{xff("unknown")}, ""},
		{"xff_hostname", rs.proxies, proxy, []hdr{xff("evil.example")}, ""},
		{"xff_five_octets", rs.proxies, proxy, []hdr{xff("1.2.3.4.5")}, ""},
		{"xff_leading_zero_octet", rs.proxies, proxy, []hdr{xff("010.0.0.1")}, ""},
		{"xff_spaces_and_tabs", rs.proxies, proxy, []hdr{xff(" " + client + " ,\t10.0.0.2\t")}, client},
		{"xff_v4_port", rs.proxies, proxy, []hdr{xff(client + ":4711, 10.0.0.2:80")}, client},
		{"xff_v6_port", rs.proxies, proxy, []hdr{xff("[2001:db8::7]:443")}, "2001:db8::7"},
		{"xff_v6_brackets_no_port", rs.proxies, proxy, []hdr{xff("[2001:db8::7]")}, "2001:db8::7"},
		{"xff_bad_port", rs.proxies, proxy, []hdr{xff(client + ":99999")}, ""},
		{"xff_bracketed_v4", rs.proxies, proxy, []hdr{xff("[" + client + "]:80")}, ""},
		{"xff_zone_id", rs.proxies, proxy, []hdr{xff("fe80::1%eth0")}, ""},
		{"xff_zone_id_bracketed", rs.proxies, proxy, []hdr{xff("[fe80::1%25eth0]:80")}, ""},
		{"xff_zone_id_on_trusted_hop", rs.proxies, proxy, []hdr{xff(client + ", 2001:db8:ffff::1%eth0")}, ""},
		{"xff_ipv4_mapped", rs.proxies, proxy, []hdr{xff("::ffff:" + client)}, client},
		{"xff_ipv4_mapped_bracketed", rs.proxies, proxy, []hdr{xff("[::ffff:" + client + "]:80")}, client},
		{"xff_ipv4_mapped_trusted_hop_skipped", rs.proxies, proxy, []hdr{xff(client + ", ::ffff:10.0.0.2")}, client},
		{"xff_ipv6_client", rs.proxies, proxy, []hdr{xff("2001:db8::7, 10.0.0.2")}, "2001:db8::7"},
		{"xff_ipv6_trusted_hop", rs.proxies, proxy, []hdr{xff(client + ", 2001:db8:ffff::2")}, client},

		// Peers.
		{"ipv6_peer_trusted", rs.proxies, "[2001:db8:ffff::1]:443", []hdr{xff(client)}, client},
		{"ipv6_peer_untrusted", rs.proxies, "[2001:db8:1::1]:443", []hdr{xff(client)}, "2001:db8:1::1"},
		{"ipv6_peer_bare", rs.none, "2001:db8::1", nil, "2001:db8::1"},
		{"ipv4_mapped_peer_trusted", rs.proxies, "[::ffff:10.0.0.1]:80", []hdr{xff(client)}, client},
		{"ipv4_mapped_peer_untrusted", rs.proxies, "[::ffff:198.51.100.9]:80", []hdr{xff(client)}, "198.51.100.9"},
		{"peer_bare_ip", rs.proxies, "10.0.0.1", []hdr{xff(client)}, client},
		{"peer_link_local_zone_dropped", rs.none, "[fe80::1%eth0]:80", nil, "fe80::1"},
		{"peer_v4_with_zone", rs.none, "1.2.3.4%eth0:80", nil, ""},
		{"peer_garbage", rs.proxies, "garbage", []hdr{xff(client)}, ""},
		{"peer_hostname", rs.none, "localhost:80", nil, ""},
		{"peer_bad_port", rs.none, "10.0.0.1:99999", nil, ""},
		{"peer_empty_port", rs.none, "10.0.0.1:", nil, ""},
		{"empty_remote_addr", rs.proxies, "", []hdr{xff(client)}, ""},
		{"empty_remote_addr_default", rs.none, "", nil, ""},

		// Unix sockets.
		{"unix_socket_untrusted_at", rs.proxies, "@", []hdr{xff(client)}, ""},
		{"unix_socket_untrusted_path", rs.proxies, "/run/warden.sock", []hdr{xff(client)}, ""},
		{"unix_socket_trusted_at", rs.unix, "@", []hdr{xff(spoof + ", " + client + ", 10.0.0.2")}, client},
		{"unix_socket_trusted_empty", rs.unix, "", []hdr{xff(client)}, client},
		{"unix_socket_trusted_path", rs.unix, "/run/warden.sock", []hdr{xff(client)}, client},
		{"unix_socket_trusted_no_header", rs.unix, "@", nil, ""},
		{"unix_socket_trusted_junk", rs.unix, "@", []hdr{xff("junk")}, ""},
		{"unix_only_rightmost", rs.unixOnly, "@", []hdr{xff(spoof + ", " + client)}, client},
		{"unix_only_tcp_peer_untrusted", rs.unixOnly, proxy, []hdr{xff(client)}, "10.0.0.1"},

		// Trusted hops.
		{"hops_three", rs.hops3, outside, []hdr{xff(client + ", 10.1.1.1, 10.2.2.2")}, client},
		{"hops_three_spoofed_leftmost", rs.hops3, outside, []hdr{xff(spoof + ", " + client + ", 10.1.1.1, 10.2.2.2")}, client},
		{"hops_three_across_lines", rs.hops3, outside, []hdr{xff(spoof + ", " + client), xff("10.1.1.1"), xff("10.2.2.2")}, client},
		{"hops_fewer_elements_than_hops", rs.hops3, outside, []hdr{xff(client + ", 10.1.1.1")}, client},
		{"hops_one_element", rs.hops3, outside, []hdr{xff(client)}, client},
		{"hops_no_header", rs.hops3, outside, nil, "198.51.100.9"},
		{"hops_junk_within_hops", rs.hops3, outside, []hdr{xff(client + ", junk, 10.2.2.2")}, ""},
		{"hops_junk_beyond_hops_not_read", rs.hops3, outside, []hdr{xff("junk, " + client + ", 10.1.1.1, 10.2.2.2")}, client},
		{"hops_do_not_skip_by_address", rs.hops3, outside, []hdr{xff("10.0.0.9, 10.1.1.1, 10.2.2.2")}, "10.0.0.9"},
		{"hops_one_spoofed_leftmost", rs.hops1, outside, []hdr{xff(spoof + ", " + client)}, client},
		{"hops_unix_socket_untrusted", rs.hops1, "@", []hdr{xff(client)}, ""},
		{"hops_garbage_peer", rs.hops1, "garbage", []hdr{xff(client)}, ""},

		// RFC 7239 Forwarded.
		{"forwarded_basic", rs.fwd, proxy, []hdr{fwd("for=" + client)}, client},
		{"forwarded_spoofed_leftmost", rs.fwd, proxy, []hdr{fwd("for=" + spoof + ", for=" + client + ";proto=https, for=10.0.0.2")}, client},
		{"forwarded_quoted_v6_port", rs.fwd, proxy, []hdr{fwd(`for="[2001:db8:cafe::17]:4711"`)}, "2001:db8:cafe::17"},
		{"forwarded_quoted_v6", rs.fwd, proxy, []hdr{fwd(`for="[2001:db8:cafe::17]"`)}, "2001:db8:cafe::17"},
		{"forwarded_quoted_v4_port", rs.fwd, proxy, []hdr{fwd(`for="` + client + `:80"`)}, client},
		{"forwarded_obfuscated_port", rs.fwd, proxy, []hdr{fwd(`for="[2001:db8::7]:_p0rt"`)}, "2001:db8::7"},
		{"forwarded_case_insensitive", rs.fwd, proxy, []hdr{fwd("For=" + client + ";Proto=https")}, client},
		{"forwarded_params_around_for", rs.fwd, proxy, []hdr{fwd("proto=https; for=" + client + "; by=10.0.0.1")}, client},
		{"forwarded_empty_pair", rs.fwd, proxy, []hdr{fwd("for=" + client + ";;proto=http")}, client},
		{"forwarded_comma_in_quotes", rs.fwd, proxy, []hdr{fwd(`for=` + client + `;host="a,b"`)}, client},
		{"forwarded_semicolon_in_quotes", rs.fwd, proxy, []hdr{fwd(`host="a;for=6.6.6.6";for=` + client)}, client},
		{"forwarded_several_lines", rs.fwd, proxy, []hdr{fwd("for=" + spoof + ", for=" + client), fwd("for=10.0.0.2")}, client},
		{"forwarded_all_trusted", rs.fwd, proxy, []hdr{fwd(`for=10.0.0.5, for="[2001:db8:ffff::2]"`)}, "10.0.0.5"},
		{"forwarded_ipv4_mapped", rs.fwd, proxy, []hdr{fwd(`for="[::ffff:` + client + `]"`)}, client},
		{"forwarded_obfuscated_node", rs.fwd, proxy, []hdr{fwd("for=_hidden")}, ""},
		{"forwarded_obfuscated_quoted", rs.fwd, proxy, []hdr{fwd(`for="_gazonk"`)}, ""},
		{"forwarded_unknown_node", rs.fwd, proxy, []hdr{fwd("for=unknown")}, ""},
		{"forwarded_unknown_quoted_port", rs.fwd, proxy, []hdr{fwd(`for="unknown:80"`)}, ""},
		{"forwarded_obfuscated_left_of_client_not_read", rs.fwd, proxy, []hdr{fwd("for=_hidden, for=" + client)}, client},
		{"forwarded_obfuscated_trusted_side", rs.fwd, proxy, []hdr{fwd("for=" + client + ", for=_proxy")}, ""},
		{"forwarded_no_for", rs.fwd, proxy, []hdr{fwd("proto=https;by=10.0.0.2")}, ""},
		{"forwarded_duplicate_for", rs.fwd, proxy, []hdr{fwd("for=" + client + ";for=" + spoof)}, ""},
		{"forwarded_empty_for", rs.fwd, proxy, []hdr{fwd(`for=""`)}, ""},
		{"forwarded_unterminated_quote", rs.fwd, proxy, []hdr{fwd(`for="` + client)}, ""},
		{"forwarded_quote_smuggles_element", rs.fwd, proxy, []hdr{fwd(`for=` + spoof + `, for="` + client + `, for=10.0.0.2"`)}, ""},
		{"forwarded_backslash", rs.fwd, proxy, []hdr{fwd(`for="` + client + `\"`)}, ""},
		{"forwarded_space_around_equals", rs.fwd, proxy, []hdr{fwd("for = " + client)}, ""},
		{"forwarded_zone_id", rs.fwd, proxy, []hdr{fwd(`for="[fe80::1%25eth0]"`)}, ""},
		{"forwarded_ignores_xff", rs.fwd, proxy, []hdr{xff(client)}, "10.0.0.1"},
		{"forwarded_hops_two", rs.fwdHops, outside, []hdr{fwd("for=" + spoof + ", for=" + client + ", for=10.1.1.1")}, client},

		// Single-address headers.
		{"x_real_ip_trusted_peer", rs.realIP, proxy, []hdr{real(client)}, client},
		{"x_real_ip_with_port", rs.realIP, proxy, []hdr{real(client + ":1234")}, client},
		{"x_real_ip_trusted_address", rs.realIP, proxy, []hdr{real("10.0.0.2")}, "10.0.0.2"},
		{"x_real_ip_list_is_junk", rs.realIP, proxy, []hdr{real(client + ", 10.0.0.2")}, ""},
		{"x_real_ip_two_lines_is_junk", rs.realIP, proxy, []hdr{real(spoof), real(client)}, ""},
		{"x_real_ip_garbage", rs.realIP, proxy, []hdr{real("garbage")}, ""},
		{"x_real_ip_ignores_xff", rs.realIP, proxy, []hdr{xff(spoof)}, "10.0.0.1"},
		{"cf_connecting_ip_trusted_peer", rs.cf, proxy, []hdr{{"CF-Connecting-IP", "2001:db8::7"}}, "2001:db8::7"},

		{"nil_header_map", rs.proxies, proxy, nil, "10.0.0.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := request(tt.remote, tt.hdrs...)
			if tt.name == "nil_header_map" {
				req.Header = nil
			}
			got, ok := tt.r.ClientIP(req)
			if tt.want == "" {
				if ok {
					t.Fatalf("ClientIP = %v, true; want no client IP", got)
				}
				if got.IsValid() {
					t.Fatalf("ClientIP returned false with a valid address %v", got)
				}
				return
			}
			if !ok || got != netip.MustParseAddr(tt.want) {
				t.Fatalf("ClientIP = %v, %v; want %s, true", got, ok, tt.want)
			}
		})
	}
}

func TestClientIPNilRequest(t *testing.T) {
	if got, ok := newResolvers(t).proxies.ClientIP(nil); ok {
		t.Fatalf("ClientIP(nil) = %v, true", got)
	}
}

func TestZeroResolverTrustsNobody(t *testing.T) {
	var r clientip.Resolver
	got, ok := r.ClientIP(request("10.0.0.1:80", xff("6.6.6.6")))
	if !ok || got != netip.MustParseAddr("10.0.0.1") {
		t.Fatalf("ClientIP = %v, %v; want 10.0.0.1", got, ok)
	}
	if r.TrustsProxies() {
		t.Fatal("zero Resolver trusts proxies")
	}
}

func TestNewErrors(t *testing.T) {
	tests := []struct {
		name string
		opts []clientip.Option
		want string
	}{
		{"hops_zero", []clientip.Option{clientip.WithTrustedHops(0)}, "clientip: WithTrustedHops: 0 is out of range 1..16"},
		{"hops_negative", []clientip.Option{clientip.WithTrustedHops(-1)}, "clientip: WithTrustedHops: -1 is out of range 1..16"},
		{"hops_too_many", []clientip.Option{clientip.WithTrustedHops(17)}, "clientip: WithTrustedHops: 17 is out of range 1..16"},
		{"invalid_prefix", []clientip.Option{clientip.WithTrustedProxies(netip.Prefix{})}, "clientip: WithTrustedProxies: invalid prefix: the zero netip.Prefix has no address"},
		{"prefix_bits_out_of_range", []clientip.Option{clientip.WithTrustedProxies(netip.PrefixFrom(netip.MustParseAddr("10.0.0.0"), 33))}, "clientip: WithTrustedProxies: invalid prefix for 10.0.0.0: bit length out of range 0..32"},
		{"host_bits_set", []clientip.Option{clientip.WithTrustedProxies(netip.MustParsePrefix("10.0.0.1/8"))}, "clientip: WithTrustedProxies: 10.0.0.1/8 has host bits set (did you mean 10.0.0.0/8?)"},
		{"host_bits_set_v6", []clientip.Option{clientip.WithTrustedProxies(netip.MustParsePrefix("2001:db8::1/64"))}, "clientip: WithTrustedProxies: 2001:db8::1/64 has host bits set (did you mean 2001:db8::/64?)"},
		{"trust_everyone_v4", []clientip.Option{clientip.WithTrustedProxies(netip.MustParsePrefix("0.0.0.0/0"))}, "clientip: WithTrustedProxies: 0.0.0.0/0 trusts every address, making forwarding headers spoofable (use WithTrustedHops)"},
		{"trust_everyone_v6", []clientip.Option{clientip.WithTrustedProxies(netip.MustParsePrefix("::/0"))}, "clientip: WithTrustedProxies: ::/0 trusts every address, making forwarding headers spoofable (use WithTrustedHops)"},
		{"ipv4_mapped_prefix", []clientip.Option{clientip.WithTrustedProxies(netip.MustParsePrefix("::ffff:10.0.0.0/104"))}, "clientip: WithTrustedProxies: ::ffff:10.0.0.0/104 is IPv4-mapped: addresses are unmapped before matching, use the IPv4 form"},
		{"hops_and_proxies", []clientip.Option{clientip.WithTrustedHops(1), clientip.WithTrustedProxies(trustedCIDRs...)}, "clientip: New: WithTrustedHops(1) and WithTrustedProxies cannot be combined"},
		{"empty_header", []clientip.Option{clientip.WithHeader("")}, `clientip: WithHeader: "" is not a valid header name`},
		{"header_with_space", []clientip.Option{clientip.WithHeader("X Real IP")}, `clientip: WithHeader: "X Real IP" is not a valid header name`},
		{"header_injection", []clientip.Option{clientip.WithHeader("X-Real-IP\r\nX-Evil")}, `clientip: WithHeader: "X-Real-IP\r\nX-Evil" is not a valid header name`},
		{"nil_option", []clientip.Option{clientip.WithTrustedHops(1), nil}, "clientip: New: option 1 is nil"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := clientip.New(tt.opts...)
			if err == nil {
				t.Fatalf("New = %v, nil; want error", r)
			}
			if r != nil {
				t.Errorf("New returned a Resolver with an error")
			}
			if !errors.Is(err, clientip.ErrInvalidOption) {
				t.Errorf("error %q does not wrap ErrInvalidOption", err)
			}
			if msg := err.Error(); msg != tt.want {
				t.Errorf("error = %q\nwant      %q", msg, tt.want)
			}
		})
	}
}

func TestTrustsProxies(t *testing.T) {
	tests := []struct {
		name string
		opts []clientip.Option
		want bool
	}{
		{"default", nil, false},
		{"empty_prefix_list", []clientip.Option{clientip.WithTrustedProxies()}, false},
		{"header_only", []clientip.Option{clientip.WithHeader("X-Real-IP")}, false},
		{"proxies", []clientip.Option{clientip.WithTrustedProxies(trustedCIDRs...)}, true},
		{"hops", []clientip.Option{clientip.WithTrustedHops(2)}, true},
		{"unix", []clientip.Option{clientip.TrustUnixSocket()}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := mustNew(t, tt.opts...).TrustsProxies(); got != tt.want {
				t.Fatalf("TrustsProxies = %v; want %v", got, tt.want)
			}
		})
	}
}

func TestTrusted(t *testing.T) {
	r := mustNew(t, clientip.WithTrustedProxies(trustedCIDRs...))
	tests := []struct {
		addr string
		want bool
	}{
		{"10.0.0.0", true},
		{"10.255.255.255", true},
		{"11.0.0.0", false},
		{"9.255.255.255", false},
		{"192.168.3.4", true},
		{"192.169.0.0", false},
		{"::ffff:10.1.2.3", true},
		{"2001:db8:ffff::", true},
		{"2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", true},
		{"2001:db8:fffe:ffff:ffff:ffff:ffff:ffff", false},
		{"2001:db9::", false},
		{"2001:db8:ffff::1%eth0", true},
		{"::a00:1", false}, // 10.0.0.1 IPv4-compatible, not mapped: not the same address
		{"127.0.0.1", false},
	}
	for _, tt := range tests {
		if got := r.Trusted(netip.MustParseAddr(tt.addr)); got != tt.want {
			t.Errorf("Trusted(%s) = %v; want %v", tt.addr, got, tt.want)
		}
	}
	if r.Trusted(netip.Addr{}) {
		t.Error("Trusted(zero Addr) = true")
	}
	if mustNew(t, clientip.WithTrustedHops(2)).Trusted(netip.MustParseAddr("10.0.0.1")) {
		t.Error("Trusted under WithTrustedHops = true")
	}
}
