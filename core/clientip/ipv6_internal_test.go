package clientip

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strconv"
	"strings"
	"testing"
)

// checkParseIP fails if parseIP or parseV6 disagree with
// netip.ParseAddr(s).Unmap() on s: same accept or refuse, same address.
// Zones, which netip accepts, are refused; parseV6 accepts only what netip
// parses as IPv6.
func checkParseIP(t *testing.T, s string) {
	t.Helper()
	raw, err := netip.ParseAddr(s)
	wantOK := err == nil && raw.Zone() == ""
	want := netip.Addr{}
	if wantOK {
		want = raw.Unmap()
	}
	if got, ok := parseIP(s); ok != wantOK || ok && got.addr() != want {
		t.Fatalf("parseIP(%q) = %v, %v; netip says %v, %v (%v)", s, got, ok, want, wantOK, err)
	}
	want6OK := wantOK && raw.Is6()
	want6 := netip.Addr{}
	if want6OK {
		want6 = want
	}
	if got, ok := parseV6(s); ok != want6OK || ok && got.addr() != want6 {
		t.Fatalf("parseV6(%q) = %v, %v; netip says %v, %v (%v)", s, got, ok, want6, want6OK, err)
	}
	// scanV6 stops at the first byte that is not hex, colon or dot and
	// answers as parseV6 on what it read, from any offset.
	run := 0
	for run < len(s) && isAddrChar[s[run]] {
		run++
	}
	if run < len(s) {
		checkParseIP(t, s[:run])
	}
	wantRun, okRun := parseV6(s[:run])
	for _, pre := range []string{"", "["} {
		got, end, ok := scanV6(pre+s, len(pre))
		if ok != okRun || ok && (got != wantRun || end != len(pre)+run) {
			t.Fatalf("scanV6(%q, %d) = %v, %d, %v; parseV6(%q) = %v, %v", pre+s, len(pre), got.addr(), end, ok, s[:run], wantRun.addr(), okRun)
		}
	}
}

func TestParseV6MatchesNetip(t *testing.T) {
	for _, s := range []string{
		"::", "::1", "1::", "1::1", ":", ":::", "::::", "1:::2", ":1::", "1::2:", "1:2:3:4:5:6:7:8",
		"1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7::", "::2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8::", "1:2:3:4::5:6:7:8",
		"1:2:3:4:5:6:7", "2001:DB8::aBcD", "2001:db8::12345", "2001:db8::01234", "0000:0000:0000:0000:0000:0000:0000:0000",
		"::ffff:1.2.3.4", "::FFFF:1.2.3.4", "::ffff:102:304", "::1.2.3.4", "1:2:3:4:5:6:1.2.3.4", "1:2:3:4:5:6:7:1.2.3.4",
		"1:2:3:4:5::1.2.3.4", "1:2:3:4:5:6::1.2.3.4", "1:2:3:4:5:1.2.3.4", "::ffff:1.2.3", "::ffff:1.2.3.4.5",
		"::ffff:01.2.3.4", "::ffff:256.2.3.4", "::ffff:1.2.3.4:5", "::1.2.3.4::", "::a.2.3.4", "::1234.1.1.1",
		"::12345.1.1.1", "::ffff:1.2.3.", "fe80::1%eth0", "fe80::1%", "%eth0", "1.2.3.4", "1.2.3.4:80", "[::1]",
		"::1 ", " ::1", "::g", "g::", "::-1", "0:0:0:0:0:ffff:255.255.255.255", "64:ff9b::1.2.3.4", "1.2::3",
		"0000:0000:0000:0000:0000:ffff:255.255.255.255", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "",
	} {
		checkParseIP(t, s)
	}
	rng := rand.New(rand.NewPCG(7, 8))
	accepted := 0
	const n = 100_000
	for range n {
		s := randomV6ish(rng)
		checkParseIP(t, s)
		if _, ok := parseV6(s); ok {
			accepted++
		}
	}
	if accepted < n/10 || accepted > n*9/10 {
		t.Fatalf("parseV6 accepted %d of %d random inputs: the generator is off", accepted, n)
	}
	t.Logf("parseV6 accepted %d of %d random inputs", accepted, n)
}

// randomV6ish returns mostly well-formed IPv6 text (groups, a "::", an
// embedded dotted quad), often with one byte changed, inserted or dropped.
func randomV6ish(rng *rand.Rand) string {
	const alphabet = "0123456789abcdefABCDEF:.%g ]"
	var b strings.Builder
	groups := 1 + rng.IntN(9)
	ellipsis := -1
	if rng.IntN(3) > 0 {
		ellipsis = rng.IntN(groups + 1)
	}
	for g := range groups {
		if g == ellipsis {
			b.WriteString("::")
		} else if g > 0 {
			b.WriteByte(':')
		}
		if g == groups-1 && rng.IntN(4) == 0 {
			for f := range 4 {
				if f > 0 {
					b.WriteByte('.')
				}
				b.WriteString(strconv.Itoa(rng.IntN(300)))
			}
			continue
		}
		h := fmt.Sprintf("%05x", rng.IntN(1<<20)) // 1 to 5 digits, leading zeros too
		if rng.IntN(4) == 0 {
			h = strings.ToUpper(h)
		}
		b.WriteString(h[5-min(1+rng.IntN(5), 4+rng.IntN(2)):])
	}
	if ellipsis == groups {
		b.WriteString("::")
	}
	s := []byte(b.String())
	switch rng.IntN(4) {
	case 0:
		s[rng.IntN(len(s))] = alphabet[rng.IntN(len(alphabet))]
	case 1:
		i := rng.IntN(len(s) + 1)
		s = append(s[:i], append([]byte{alphabet[rng.IntN(len(alphabet))]}, s[i:]...)...)
	case 2:
		i := rng.IntN(len(s))
		s = append(s[:i], s[i+1:]...)
	}
	return string(s)
}

// FuzzParseV6 is the differential fuzz target for the hand-written IPv6
// parser: on any input, parseIP and parseV6 answer as netip.ParseAddr does.
func FuzzParseV6(f *testing.F) {
	for _, s := range []string{"2001:db8::1", "::ffff:1.2.3.4", "1:2:3:4:5:6:7:8", "::", "1::2::3", "fe80::1%eth0", "1.2.3.4", "0:0:0:0:0:ffff:255.255.255.255"} {
		f.Add(s)
	}
	f.Fuzz(checkParseIP)
}
