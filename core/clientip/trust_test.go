package clientip_test

import (
	"math/rand/v2"
	"net/netip"
	"testing"

	"github.com/wardenkit/warden/core/clientip"
)

// TestTrustedMatchesPrefixContains checks the range set against a linear
// netip.Prefix.Contains scan, with many overlapping, nested and adjacent
// prefixes.
func TestTrustedMatchesPrefixContains(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 50 {
		var prefixes []netip.Prefix
		n := 1 + rng.IntN(40)
		for range n {
			var p netip.Prefix
			if rng.IntN(2) == 0 {
				b := [4]byte{10, byte(rng.IntN(4)), byte(rng.IntN(256)), byte(rng.IntN(256))}
				p = netip.PrefixFrom(netip.AddrFrom4(b), 8+rng.IntN(25)).Masked()
			} else {
				var b [16]byte
				b[0], b[1], b[2] = 0x20, 0x01, byte(rng.IntN(4))
				for i := 3; i < 16; i++ {
					b[i] = byte(rng.IntN(256))
				}
				p = netip.PrefixFrom(netip.AddrFrom16(b), 16+rng.IntN(113)).Masked()
			}
			prefixes = append(prefixes, p)
		}
		r := mustNew(t, clientip.WithTrustedProxies(prefixes...))
		probe := func(a netip.Addr) {
			want := false
			for _, p := range prefixes {
				if p.Contains(a) {
					want = true
					break
				}
			}
			if got := r.Trusted(a); got != want {
				t.Fatalf("round %d: Trusted(%s) = %v; want %v (prefixes %v)", round, a, got, want, prefixes)
			}
		}
		for _, p := range prefixes {
			// the edges of every prefix and their neighbours
			first := p.Addr()
			last := lastAddr(p)
			for _, a := range []netip.Addr{first, first.Prev(), last, last.Next()} {
				if a.IsValid() {
					probe(a)
				}
			}
		}
		for range 500 {
			if rng.IntN(2) == 0 {
				probe(netip.AddrFrom4([4]byte{10, byte(rng.IntN(5)), byte(rng.IntN(256)), byte(rng.IntN(256))}))
			} else {
				var b [16]byte
				b[0], b[1], b[2] = 0x20, 0x01, byte(rng.IntN(5))
				for i := 3; i < 16; i++ {
					b[i] = byte(rng.IntN(256))
				}
				probe(netip.AddrFrom16(b))
			}
		}
	}
}

func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

func TestTrustedAdjacentAndGaps(t *testing.T) {
	r := mustNew(t, clientip.WithTrustedProxies(
		netip.MustParsePrefix("10.0.0.0/31"),
		netip.MustParsePrefix("10.0.0.3/32"), // gap of one address: 10.0.0.2
		netip.MustParsePrefix("10.0.0.4/30"), // adjacent to 10.0.0.3
		netip.MustParsePrefix("255.255.255.255/32"),
		netip.MustParsePrefix("2001:db8::/127"),
		netip.MustParsePrefix("2001:db8::3/128"),
		netip.MustParsePrefix("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128"),
	))
	for addr, want := range map[string]bool{
		"10.0.0.0": true, "10.0.0.1": true, "10.0.0.2": false, "10.0.0.3": true,
		"10.0.0.7": true, "10.0.0.8": false, "9.255.255.255": false,
		"255.255.255.255": true, "255.255.255.254": false,
		"2001:db8::1": true, "2001:db8::2": false, "2001:db8::3": true, "2001:db8::4": false,
		"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff": true, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe": false,
	} {
		if got := r.Trusted(netip.MustParseAddr(addr)); got != want {
			t.Errorf("Trusted(%s) = %v; want %v", addr, got, want)
		}
	}
}
