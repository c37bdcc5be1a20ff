package clientip_test

import (
	"math/rand/v2"
	"net/netip"
	"strconv"
	"strings"
	"testing"

	"github.com/wardenkit/warden/core/clientip"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name, in, want string // want "" means false
	}{
		{"v4", "1.2.3.4", "1.2.3.4"},
		{"v4_spaces", "  1.2.3.4\t", "1.2.3.4"},
		{"v4_port", "1.2.3.4:80", "1.2.3.4"},
		{"v4_port_max", "1.2.3.4:65535", "1.2.3.4"},
		{"v4_port_too_big", "1.2.3.4:65536", ""},
		{"v4_port_six_digits", "1.2.3.4:000080", ""},
		{"v4_port_empty", "1.2.3.4:", ""},
		{"v4_port_sign", "1.2.3.4:+80", ""},
		{"v4_obfuscated_port", "1.2.3.4:_p", ""},
		{"v4_bracketed", "[1.2.3.4]", ""},
		{"v4_leading_zero", "01.2.3.4", ""},
		{"v4_short", "1.2.3", ""},
		{"v6", "2001:db8::1", "2001:db8::1"},
		{"v6_upper", "2001:DB8::1", "2001:db8::1"},
		{"v6_loopback_port", "[::1]:80", "::1"},
		{"v6_brackets", "[::1]", "::1"},
		{"v6_bracket_unclosed", "[::1", ""},
		{"v6_bracket_trailing", "[::1]x", ""},
		{"v6_bracket_bad_port", "[::1]:x", ""},
		{"zone", "fe80::1%eth0", ""},
		{"zone_bracketed", "[fe80::1%eth0]:80", ""},
		{"zone_empty", "fe80::1%", ""},
		{"mapped", "::ffff:1.2.3.4", "1.2.3.4"},
		{"mapped_hex", "::ffff:102:304", "1.2.3.4"},
		{"mapped_bracketed_port", "[::ffff:1.2.3.4]:443", "1.2.3.4"},
		{"nat64_not_unmapped", "64:ff9b::1.2.3.4", "64:ff9b::102:304"},
		{"empty", "", ""},
		{"spaces_only", "   ", ""},
		{"unknown", "unknown", ""},
		{"hostname", "example.com", ""},
		{"list", "1.2.3.4, 5.6.7.8", ""},
		{"cidr", "10.0.0.0/8", ""},
		{"inner_space", "1.2.3. 4", ""},
		{"too_long", "0000:0000:0000:0000:0000:0000:0000:0000:0000", ""},
		{"nul", "1.2.3.4\x00", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := clientip.Parse(tt.in)
			if tt.want == "" {
				if ok || got.IsValid() {
					t.Fatalf("Parse(%q) = %v, %v; want invalid, false", tt.in, got, ok)
				}
				return
			}
			if !ok || got != netip.MustParseAddr(tt.want) {
				t.Fatalf("Parse(%q) = %v, %v; want %s, true", tt.in, got, ok, tt.want)
			}
		})
	}
}

// TestParseIPv4MatchesNetip checks the dotted-quad fast path against netip
// on every short string of digits and dots.
func TestParseIPv4MatchesNetip(t *testing.T) {
	alphabet := []byte("0125.9")
	var buf []byte
	var rec func(n int)
	checked := 0
	rec = func(n int) {
		if n == 0 {
			s := string(buf)
			want, err := netip.ParseAddr(s)
			got, ok := clientip.Parse(s)
			if ok != (err == nil) || (ok && got != want) {
				t.Fatalf("Parse(%q) = %v, %v; netip says %v, %v", s, got, ok, want, err)
			}
			checked++
			return
		}
		for _, c := range alphabet {
			buf = append(buf, c)
			rec(n - 1)
			buf = buf[:len(buf)-1]
		}
	}
	for n := 1; n <= 7; n++ {
		rec(n)
	}
	for _, s := range []string{"255.255.255.255", "256.0.0.0", "0.0.0.0", "1.2.3.04", "1.2.3.4.", ".1.2.3.4", "1..3.4", "999.1.1.1", "1.2.3.1000", "01::1"} {
		want, err := netip.ParseAddr(s)
		got, ok := clientip.Parse(s)
		if ok != (err == nil) || (ok && got != want) {
			t.Errorf("Parse(%q) = %v, %v; netip says %v, %v", s, got, ok, want, err)
		}
	}
	if checked == 0 {
		t.Fatal("nothing checked")
	}
}

// TestParseMatchesNetipRandom compares Parse with netip on random strings of
// digits, dots and colons, with and without ports.
func TestParseMatchesNetipRandom(t *testing.T) {
	ref := func(s string) (netip.Addr, bool) {
		if a, err := netip.ParseAddr(s); err == nil {
			return a.Unmap(), a.Zone() == ""
		}
		if ap, err := netip.ParseAddrPort(s); err == nil && ap.Addr().Is4() {
			if port := s[strings.LastIndexByte(s, ':')+1:]; len(port) <= 5 {
				return ap.Addr(), true
			}
		}
		return netip.Addr{}, false
	}
	rng := rand.New(rand.NewPCG(3, 4))
	const alphabet = "0125.9:a"
	buf := make([]byte, 0, 24)
	for range 300_000 {
		buf = buf[:0]
		if rng.IntN(2) == 0 { // mostly well-formed quads, to reach the port code
			for f := range 4 {
				if f > 0 {
					buf = append(buf, '.')
				}
				buf = append(buf, []byte(strconv.Itoa(rng.IntN(300)))...)
			}
			if rng.IntN(2) == 0 {
				buf = append(buf, ':')
				buf = append(buf, []byte(strconv.Itoa(rng.IntN(100000)))...)
			}
			if i := rng.IntN(len(buf) + 3); i < len(buf) { // then corrupt one byte
				buf[i] = alphabet[rng.IntN(len(alphabet))]
			}
		} else {
			for range 1 + rng.IntN(16) {
				buf = append(buf, alphabet[rng.IntN(len(alphabet))])
			}
		}
		s := string(buf)
		want, wantOK := ref(s)
		got, ok := clientip.Parse(s)
		if ok != wantOK || got != want {
			t.Fatalf("Parse(%q) = %v, %v; netip says %v, %v", s, got, ok, want, wantOK)
		}
	}
}
