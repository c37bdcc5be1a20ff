package clientip

import (
	"math/rand/v2"
	"net/http"
	"net/netip"
	"strings"
	"testing"
)

// The tests here run every resolver configuration against the reference
// (reference_test.go) on the same request and require the same answer.

type refPair struct {
	name string
	r    *Resolver
	ref  *refResolver
}

func refPairs(tb testing.TB) []refPair {
	small := WithTrustedProxies(
		netip.MustParsePrefix("10.0.0.0/8"),
		netip.MustParsePrefix("192.168.0.0/16"),
		netip.MustParsePrefix("2001:db8:ffff::/48"),
	)
	var big []netip.Prefix
	for _, s := range []string{
		"173.245.48.0/20", "103.21.244.0/22", "141.101.64.0/18", "162.158.0.0/15", "104.16.0.0/13",
		"10.0.0.0/8", "10.1.2.3/32", "2400:cb00::/32", "2606:4700::/32", "2a06:98c0::/29", "2001:db8:ffff::/48",
		"2001:db8:ffff:1::/64", "2001:db8::7/128", "64:ff9b::/96", "fe80::/10", "1.2.3.0/24", "11.0.0.0/8",
	} {
		big = append(big, netip.MustParsePrefix(s))
	}
	configs := []struct {
		name string
		opts []Option
	}{
		{"none", nil},
		{"proxies", []Option{small}},
		{"one_v4_prefix", []Option{WithTrustedProxies(netip.MustParsePrefix("10.0.0.0/8"))}},
		{"one_v6_prefix", []Option{WithTrustedProxies(netip.MustParsePrefix("2001:db8:ffff::/48"))}},
		{"big", []Option{WithTrustedProxies(big...)}},
		{"hops1", []Option{WithTrustedHops(1)}},
		{"hops3", []Option{WithTrustedHops(3)}},
		{"fwd", []Option{small, WithHeader("Forwarded")}},
		{"fwd_big", []Option{WithTrustedProxies(big...), WithHeader("Forwarded")}},
		{"fwd_hops2", []Option{WithTrustedHops(2), WithHeader("forwarded")}},
		{"fwd_unix", []Option{TrustUnixSocket(), WithHeader("Forwarded")}},
		{"real_ip", []Option{small, WithHeader("X-Real-IP")}},
		{"cf_big", []Option{WithTrustedProxies(big...), WithHeader("CF-Connecting-IP")}},
		{"real_ip_hops", []Option{WithTrustedHops(2), WithHeader("X-Real-IP")}},
		{"unix", []Option{small, TrustUnixSocket()}},
		{"unix_only", []Option{TrustUnixSocket()}},
	}
	var out []refPair
	for _, c := range configs {
		r, err := New(c.opts...)
		if err != nil {
			tb.Fatal(err)
		}
		ref, err := newRefResolver(c.opts...)
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, refPair{c.name, r, ref})
	}
	return out
}

// checkMatchesReference sends remote with value (split on '\n' into header
// lines) in every forwarding header to each pair.
func checkMatchesReference(t *testing.T, pairs []refPair, remote, value string) {
	t.Helper()
	req := &http.Request{RemoteAddr: remote, Header: http.Header{}}
	if value != "" {
		lines := strings.Split(value, "\n")
		for _, k := range []string{"X-Forwarded-For", "Forwarded", "X-Real-Ip", "Cf-Connecting-Ip"} {
			req.Header[k] = lines
		}
	}
	for _, p := range pairs {
		got, ok := p.r.ClientIP(req)
		want, wantOK := p.ref.clientIP(req)
		if got != want || ok != wantOK {
			t.Fatalf("%s: remote %q, header %q: ClientIP = %v, %v; reference %v, %v", p.name, remote, value, got, ok, want, wantOK)
		}
	}
}

// Pieces for random headers: addresses in every form, trusted or not, and
// junk.
var (
	refNodes = []string{
		"203.0.113.7", "10.0.0.1", "192.168.1.2", "1.2.3.4", "162.158.1.1", "010.0.0.1", "256.1.1.1",
		"2001:db8:ffff::1", "2001:db8:1::7", "2001:DB8:FFFF::2", "2001:db8:ffff:1::9", "2400:cb00::1", "::ffff:10.0.0.2",
		"::ffff:203.0.113.7", "64:ff9b::1.2.3.4", "fe80::1", "::1", "::", "2001:db8::7", "0:0:0:0:0:ffff:a00:1",
		"[2001:db8:ffff::2]", "[2001:db8:1::7]:443", "[::ffff:10.0.0.1]:80", "[10.0.0.1]", "[fe80::1%25eth0]",
		"10.0.0.1:80", "203.0.113.7:65535", "[::1]:_p0rt",
	}
	refJunkNodes = []string{
		"1.2.3.4:65536", "1.2.3.4:_x", "fe80::1%eth0", "unknown", "_hidden", "garbage", "", " ", "1:2", "2001:db8::1::2",
	}
	refKeys  = []string{"for", "For", "FOR", "proto", "by", "host", "for ", "f\"r"}
	refJunk  = "\",;= \t\\[]:._%\r"
	refSpace = []string{"", " ", "  ", "\t"}
)

// randomHeader builds an X-Forwarded-For or Forwarded-like value from the
// pieces, then sometimes changes, adds or drops one byte.
func randomHeader(rng *rand.Rand) string {
	var b strings.Builder
	pick := func(s []string) string { return s[rng.IntN(len(s))] }
	node := func() string {
		if rng.IntN(8) == 0 {
			return pick(refJunkNodes)
		}
		return pick(refNodes)
	}
	fwd := rng.IntN(2) == 0
	for e := range 1 + rng.IntN(5) {
		if e > 0 {
			b.WriteString(pick([]string{",", ", ", " ,", "\n", ",\t"}))
		}
		if !fwd {
			b.WriteString(pick(refSpace) + node() + pick(refSpace))
			continue
		}
		pairs := 1 + rng.IntN(3)
		forAt := rng.IntN(pairs)
		for p := range pairs {
			if p > 0 {
				b.WriteString(pick([]string{";", "; ", ";;", " ;"}))
			}
			key, val := "for", node()
			if p != forAt {
				key = pick([]string{"proto", "by", "host"})
				if rng.IntN(6) == 0 {
					key = pick(refKeys)
				}
			}
			if rng.IntN(2) == 0 {
				val = `"` + val + `"`
			} else if key == "host" {
				val = `"a,b;c"`
			}
			b.WriteString(pick(refSpace) + key + "=" + val + pick(refSpace))
		}
	}
	s := []byte(b.String())
	if len(s) > 0 {
		switch rng.IntN(6) {
		case 0:
			s[rng.IntN(len(s))] = refJunk[rng.IntN(len(refJunk))]
		case 1:
			i := rng.IntN(len(s) + 1)
			s = append(s[:i], append([]byte{refJunk[rng.IntN(len(refJunk))]}, s[i:]...)...)
		case 2:
			i := rng.IntN(len(s))
			s = append(s[:i], s[i+1:]...)
		}
	}
	return string(s)
}

var refRemotes = []string{
	"10.0.0.3:443", "[2001:db8:ffff::3]:443", "[::ffff:10.0.0.1]:80", "198.51.100.9:5555", "[2001:db8:1::1]:1",
	"162.158.0.1:1", "@", "", "/run/x.sock", "[fe80::1%eth0]:80", "garbage", "10.0.0.1", "2001:db8:ffff::1",
}

func TestResolverMatchesReference(t *testing.T) {
	pairs := refPairs(t)
	var fwd *Resolver
	for _, p := range pairs {
		if p.name == "fwd" {
			fwd = p.r
		}
	}
	rng := rand.New(rand.NewPCG(9, 10))
	answered := 0
	const n = 20_000
	for range n {
		remote := refRemotes[rng.IntN(len(refRemotes))]
		value := randomHeader(rng)
		checkMatchesReference(t, pairs, remote, value)
		// Count the answers read from the header rather than the peer.
		peer, _ := fwd.ClientIP(&http.Request{RemoteAddr: remote})
		req := &http.Request{RemoteAddr: remote, Header: http.Header{"Forwarded": {value}}}
		if a, ok := fwd.ClientIP(req); ok && a != peer {
			answered++
		}
	}
	if answered < n/20 {
		t.Fatalf("the Forwarded resolver answered %d of %d random requests from the header: the generator is off", answered, n)
	}
	t.Logf("the Forwarded resolver answered %d of %d random requests from the header", answered, n)
}

// FuzzResolverMatchesReference is the differential fuzz target for the whole
// resolver: any peer and header lines, every configuration, the answer of
// the reference.
func FuzzResolverMatchesReference(f *testing.F) {
	rng := rand.New(rand.NewPCG(11, 12))
	for i := range 40 {
		f.Add(refRemotes[i%len(refRemotes)], randomHeader(rng))
	}
	f.Add("10.0.0.1:1", `for=203.0.113.7;proto=https, for="10.0.0.1:80", for="[2001:db8:ffff::2]"`)
	f.Add("[2001:db8:ffff::3]:443", "2001:db8:1::7, 2001:db8:ffff::1, 2001:db8:ffff::2")
	pairs := refPairs(f)
	f.Fuzz(func(t *testing.T, remote, value string) {
		checkMatchesReference(t, pairs, remote, value)
	})
}
