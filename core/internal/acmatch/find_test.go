package acmatch

import (
	"math/rand/v2"
	"testing"
)

// TestInterleavedWalksAgree checks the 2- and 4-way interleaved walks (and
// their settling) against the plain walk for every text length, including
// lengths below the production thresholds, random start states, and
// patterns long enough that segment hand-over often fails.
func TestInterleavedWalksAgree(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 13))
	iters := 3000
	if testing.Short() {
		iters = 300
	}
	for it := range iters {
		alpha := "ab"
		if it%3 == 1 {
			alpha = "abc"
		} else if it%3 == 2 {
			alpha = "abcdefgh"
		}
		np := 1 + r.IntN(12)
		pats := make([]string, np)
		maxPat := 4
		if it%2 == 0 {
			maxPat = 40
		}
		for i := range pats {
			b := make([]byte, 1+r.IntN(maxPat))
			for j := range b {
				b[j] = alpha[r.IntN(len(alpha))]
			}
			pats[i] = string(b)
		}
		m, err := Build(pats)
		if err != nil {
			t.Fatal(err)
		}
		states := len(m.minOut)
		text := make([]byte, r.IntN(400))
		for i := range text {
			text[i] = alpha[r.IntN(len(alpha))]
		}
		for range 3 {
			s := r.IntN(states) * m.stride
			if r.IntN(2) == 0 {
				s = 0
			}
			p1, st1 := m.find1(text, s)
			if p2, st2 := m.find2(text, s); p2 != p1 || st2 != st1 {
				t.Fatalf("find2(%q, %d) = %d,%d; find1 = %d,%d (patterns %q)", text, s, p2, st2, p1, st1, pats)
			}
			if len(text) >= 6 {
				if p4, st4 := m.find4(text, s); p4 != p1 || st4 != st1 {
					t.Fatalf("find4(%q, %d) = %d,%d; find1 = %d,%d (patterns %q)", text, s, p4, st4, p1, st1, pats)
				}
			}
		}
	}
}

// TestStatesBreadthFirst checks structural invariants of the table.
func TestStatesBreadthFirst(t *testing.T) {
	m, err := Build([]string{"he", "she", "his", "hers", "h"})
	if err != nil {
		t.Fatal(err)
	}
	prevDepth := int32(0)
	for off := 0; off < len(m.trans); off += m.stride {
		d := m.trans[off+m.stride-1]
		if d < prevDepth {
			t.Fatalf("state %d has depth %d after depth %d", off/m.stride, d, prevDepth)
		}
		prevDepth = d
		for c := 0; c < m.stride-1; c++ {
			v := m.trans[off+c]
			if v < 0 {
				v = ^v
			}
			if int(v)%m.stride != 0 || int(v) >= len(m.trans) {
				t.Fatalf("bad target %d", m.trans[off+c])
			}
		}
	}
	if len(m.minOut) != 1+len("h")+len("e")+len("rs")+len("is")+len("she") {
		t.Fatalf("states = %d", len(m.minOut))
	}
}
