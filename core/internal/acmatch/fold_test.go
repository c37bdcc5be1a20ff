package acmatch_test

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/wardenkit/warden/core/internal/acmatch"
)

func lowerASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 32
		}
	}
	return string(b)
}

// BuildFold over a mixed-case text answers as Build over the lower-cased
// text and patterns.
func TestBuildFoldMatchesLowered(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	const alpha = "aAbBcCzZ-/1é"
	word := func(n int) string {
		var sb strings.Builder
		for range n {
			sb.WriteByte(alpha[r.IntN(len(alpha))])
		}
		return sb.String()
	}
	for range 2000 {
		pats := make([]string, 1+r.IntN(8))
		lower := make([]string, len(pats))
		for i := range pats {
			pats[i] = word(1 + r.IntN(4))
			lower[i] = lowerASCII(pats[i])
		}
		text := word(r.IntN(80))
		fold, err := acmatch.BuildFold(pats)
		if err != nil {
			t.Fatal(err)
		}
		plain, _ := acmatch.Build(lower)
		if got, want := fold.FirstMatch([]byte(text)), plain.FirstMatch([]byte(lowerASCII(text))); got != want {
			t.Fatalf("patterns %q text %q: fold %d, lowered %d", pats, text, got, want)
		}
	}
	m, _ := acmatch.BuildFold([]string{"SqlMap"})
	if m.FirstMatch([]byte("xx SQLMAP/1.7")) != 0 || m.FirstMatch([]byte("sqlmaq")) != -1 {
		t.Fatal("case folding")
	}
}
