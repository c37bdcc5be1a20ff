package clientip

import (
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
)

// checkLastV4 fails if the backwards fast path disagrees with the general
// path it stands in for.
func checkLastV4(t *testing.T, line string) {
	t.Helper()
	addr, start, ok := lastV4(line, len(line))
	if !ok {
		return
	}
	wantStart := strings.LastIndexByte(line, ',') + 1
	want, wantOK := parseHostPort(line[wantStart:], false)
	if !wantOK || want != addr || start != wantStart {
		t.Fatalf("lastV4(%q) = %v, %d; general path %v, %v, %d", line, addr, start, want, wantOK, wantStart)
	}
}

func TestLastV4MatchesGeneralPath(t *testing.T) {
	for _, s := range []string{
		"1.2.3.4", " 1.2.3.4 ", "\t1.2.3.4", "a, 1.2.3.4", "x1.2.3.4", "01.2.3.4", "1.2.3.04",
		"1.2.3.00", "1.2.3.0", "0.0.0.0", "255.255.255.255", "256.1.1.1", "1.2.3.4:80",
		"1111.2.3.4", "1.2.3", ".1.2.3.4", "1..3.4", "::ffff:1.2.3.4", "1.2.3.4,", "100.200.10.0",
	} {
		checkLastV4(t, s)
	}
	rng := rand.New(rand.NewPCG(5, 6))
	const alphabet = "0123459., \t:x"
	buf := make([]byte, 0, 24)
	hits := 0
	for range 300_000 {
		buf = buf[:0]
		if rng.IntN(2) == 0 {
			for range rng.IntN(4) { // prefix: another element, spaces
				buf = append(buf, alphabet[rng.IntN(len(alphabet))])
			}
			for f := range 4 {
				if f > 0 {
					buf = append(buf, '.')
				}
				buf = strconv.AppendInt(buf, int64(rng.IntN(300)), 10)
				if rng.IntN(20) == 0 {
					buf = append(buf, '0')
				}
			}
			for range rng.IntN(3) {
				buf = append(buf, " \t:"[rng.IntN(3)])
			}
		} else {
			for range 1 + rng.IntN(18) {
				buf = append(buf, alphabet[rng.IntN(len(alphabet))])
			}
		}
		if _, _, ok := lastV4(string(buf), len(buf)); ok {
			hits++
		}
		checkLastV4(t, string(buf))
	}
	if hits < 10_000 {
		t.Fatalf("only %d fast-path hits", hits)
	}
}

func FuzzLastV4(f *testing.F) {
	f.Add("6.6.6.6, 203.0.113.7")
	f.Add(" 010.1.1.1")
	f.Fuzz(checkLastV4)
}
