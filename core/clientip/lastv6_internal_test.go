package clientip

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// checkLastV6 fails if the backwards fast path for bare IPv6 addresses
// disagrees with the general path it stands in for.
func checkLastV6(t *testing.T, line string) {
	t.Helper()
	addr, start, ok := lastV6(line, len(line))
	if !ok {
		return
	}
	wantStart := strings.LastIndexByte(line, ',') + 1
	want, wantOK := parseHostPort(line[wantStart:], false)
	if !wantOK || want != addr || start != wantStart {
		t.Fatalf("lastV6(%q) = %v, %d; general path %v, %v, %d", line, addr.addr(), start, want.addr(), wantOK, wantStart)
	}
}

func TestLastV6MatchesGeneralPath(t *testing.T) {
	for _, s := range []string{
		"2001:db8::1", " 2001:db8::1 ", "a, 2001:db8::1", "x2001:db8::1", "[2001:db8::1]", "2001:db8::1]",
		"::ffff:1.2.3.4", "1.2.3.4", "1.2.3.4:80", "fe80::1%eth0", "2001:db8::1\r", "\v::1", ", ::1,",
		"1:2:3:4:5:6:7:8:9", ",::", "::1 ::2", "1.2.3.4 , ::", "2001:DB8::A",
	} {
		checkLastV6(t, s)
	}
	rng := rand.New(rand.NewPCG(13, 14))
	const alphabet = ":.,0af9 \t[]%x"
	hits := 0
	for range 50_000 {
		var s string
		if rng.IntN(3) > 0 {
			s = randomV6ish(rng)
			for range rng.IntN(2) {
				i := rng.IntN(len(s) + 1)
				s = s[:i] + string(alphabet[rng.IntN(len(alphabet))]) + s[i:]
			}
		} else {
			b := make([]byte, 1+rng.IntN(20))
			for i := range b {
				b[i] = alphabet[rng.IntN(len(alphabet))]
			}
			s = string(b)
		}
		if _, _, ok := lastV6(s, len(s)); ok {
			hits++
		}
		checkLastV6(t, s)
	}
	if hits < 3_000 {
		t.Fatalf("only %d fast-path hits", hits)
	}
	t.Logf("%d fast-path hits", hits)
}

func FuzzLastV6(f *testing.F) {
	f.Add("6.6.6.6, 2001:db8::7")
	f.Add(" ::ffff:10.1.1.1\t")
	f.Fuzz(checkLastV6)
}
