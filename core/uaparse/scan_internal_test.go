package uaparse

import "testing"

func TestNeedlesWellFormed(t *testing.T) {
	seen := map[string]bool{}
	for _, n := range needles {
		if len(n.s) < 2 || n.s[0] < 'a' || n.s[0] > 'z' || n.flags == 0 || seen[n.s] {
			t.Errorf("needle %q: must be unique, ≥ 2 bytes, start with a letter and set flags", n.s)
		}
		seen[n.s] = true
		for i := 0; i < len(n.s); i++ {
			if lower[n.s[i]] != n.s[i] || n.s[i] >= 0x80 {
				t.Errorf("needle %q is not lower-case ASCII", n.s)
			}
		}
	}
	if len(groups) > 255 {
		t.Fatalf("%d groups do not fit in uint8", len(groups))
	}
}

func TestScanBoundaries(t *testing.T) {
	for _, c := range []struct {
		s    string
		flag uint32
		want bool
	}{
		{"Chrome/1 Edg/1", fEdge, true},
		{"Edg/1", fEdge, true},
		{"Pledg/1", fEdge, false},  // word: letter before
		{"v2edge/1", fEdge, false}, // word: digit before
		{"(X11; CrOS x86_64)", fCrOS, true},
		{"Macros 1", fCrOS, false},
		{"Cubot X30", fBot, false},      // notAfter
		{"CUBOT; Applebot", fBot, true}, // a later real bot still counts
		{"bot", fBot, true},             // match at the very start
		{"bo", fBot, false},             // truncated
		{"xMOBI", fMobi, true},          // match at the very end
	} {
		if got := scan(c.s)&c.flag != 0; got != c.want {
			t.Errorf("scan(%q) has flag %#x: %v, want %v", c.s, c.flag, got, c.want)
		}
	}
}
