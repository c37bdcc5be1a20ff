package clientip

import (
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
)

// checkLastNode fails if a backwards fast path built on lastNode disagrees
// with the general path it stands in for: lastXFF with the comma split and
// parseHostPort, lastFastPair with lastPair and parseHostPort on a for=
// value.
func checkLastNode(t *testing.T, line string) {
	t.Helper()
	if addr, start, ok := lastXFF(line, len(line)); ok {
		wantStart := strings.LastIndexByte(line, ',') + 1
		want, wantOK := parseHostPort(line[wantStart:], false)
		if !wantOK || want != addr || start != wantStart {
			t.Fatalf("lastXFF(%q) = %v, %d; general path %v, %v, %d", line, addr.addr(), start, want.addr(), wantOK, wantStart)
		}
	}
	if addr, k, isFor, ok := lastFastPair(line, len(line)); ok {
		wantK, val, wantFor, pairOK := lastPair(line, len(line))
		want, wantOK := parseHostPort(val, true)
		if !pairOK || k != wantK || isFor != wantFor || isFor && (!wantOK || want != addr) {
			t.Fatalf("lastFastPair(%q) = %v, %d, for %v; lastPair %d, %q, for %v, ok %v; parseHostPort %v, %v",
				line, addr.addr(), k, isFor, wantK, val, wantFor, pairOK, want.addr(), wantOK)
		}
	}
}

func TestLastNodeMatchesGeneralPath(t *testing.T) {
	for _, s := range []string{
		"1.2.3.4:80", "[::1]:80", "[::1]", " [2001:db8::1]:65535 ", "x, [::1]:0", "[::1]:65536", "[::1]:", "[::1]:_x",
		"1.2.3.4:_x", "[1.2.3.4]", "[::ffff:1.2.3.4]:1", "[fe80::1%25eth0]", "[[::1]]", "1.2.3.4:00080", "1.2.3.4:123456",
		"for=1.2.3.4", `for="1.2.3.4:80"`, `For="[2001:db8::1]:_edge"`, `a=b;for="[::1]"`, ` for=1.2.3.4 `, `xfor=1.2.3.4`,
		`for ="[::1]"`, `for= 1.2.3.4`, `for=""[::1]"`, `for="[::1]:_"`, `for="[::1]:_a.b"`, `for="[::1]:_1.2"`, `for=1.2.3.4"`,
		`,for=[::1]:8`, `for="1111.2.3.4"`, `for="2001:db8::1"`, `for="::1"`, `for="1.2.3.4:1.2.3.4"`, "\vfor=1.2.3.4",
	} {
		checkLastNode(t, s)
	}
	rng := rand.New(rand.NewPCG(15, 16))
	xffHits, fwdHits, tokenHits := 0, 0, 0
	for range 100_000 {
		s := randomNodeLine(rng)
		if _, _, ok := lastXFF(s, len(s)); ok {
			xffHits++
		}
		if _, _, isFor, ok := lastFastPair(s, len(s)); ok && isFor {
			fwdHits++
		} else if ok {
			tokenHits++
		}
		checkLastNode(t, s)
	}
	if xffHits < 3_000 || fwdHits < 2_000 || tokenHits < 2_000 {
		t.Fatalf("only %d lastXFF, %d lastFastPair for= and %d other pair hits", xffHits, fwdHits, tokenHits)
	}
	t.Logf("%d lastXFF, %d lastFastPair for= and %d other pair hits", xffHits, fwdHits, tokenHits)
}

// randomNodeLine returns an X-Forwarded-For element or a Forwarded pair
// ending a line: a dotted quad or IPv6 address, often bracketed, often with
// a port or an obfuscated port, often after "for=" with or without quotes,
// sometimes with one byte changed, inserted or dropped.
func randomNodeLine(rng *rand.Rand) string {
	var b strings.Builder
	pick := func(s ...string) string { return s[rng.IntN(len(s))] }
	b.WriteString(pick("", "", "1.2.3.4,", "a=b;", " ", "x", ",\t", `c="d;e";`, "\"", "for=1.2.3.4;", "by=x ;\t"))
	fwd, quoted := rng.IntN(2) == 0, rng.IntN(2) == 0
	if fwd {
		b.WriteString(pick("for", "for", "for", "FoR", "for ", "fo", "by") + "=")
		if quoted {
			b.WriteByte('"')
		}
	}
	var node string
	if fwd && rng.IntN(4) == 0 {
		node = pick("https", "http", "", "unknown", "_hidden", "a.b-c", "x y", "1.2", "1.2.3.4x", "[::1]x", "é")
	} else if rng.IntN(2) == 0 {
		node = strconv.Itoa(rng.IntN(300)) + "." + strconv.Itoa(rng.IntN(260)) + "." + strconv.Itoa(rng.IntN(260)) + "." + strconv.Itoa(rng.IntN(300))
	} else {
		node = randomV6ish(rng)
		if rng.IntN(4) > 0 {
			node = "[" + node + "]"
		}
	}
	b.WriteString(node)
	switch rng.IntN(4) {
	case 0:
		b.WriteString(":" + strconv.Itoa(rng.IntN(70_000)))
	case 1:
		b.WriteString(pick(":0", ":00080", ":_", ":_edge", ":_a.b-c_", ":_1.2", ":x", ":", ":123456", ":_12345678"))
	}
	if fwd && quoted != (rng.IntN(8) == 0) {
		b.WriteByte('"')
	}
	b.WriteString(pick("", "", " ", "\t", "\r"))
	s := []byte(b.String())
	const alphabet = "\",;= \t[]:._0123459afAFxX\\%"
	switch rng.IntN(5) * min(len(s), 1) {
	case 0:
		// unchanged
	case 3:
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

func FuzzLastNode(f *testing.F) {
	f.Add("6.6.6.6, [2001:db8::7]:443")
	f.Add(` for="[2001:db8::1]:_edge"`)
	f.Add(`a=b;For=10.0.0.1:80`)
	f.Fuzz(checkLastNode)
}
