package acmatch_test

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/wardenkit/warden/core/internal/acmatch"
)

// occurrence is one match: the pattern index and the end offset (exclusive)
// of its occurrence in the text.
type occurrence struct{ end, pattern int }

// naiveAll returns every occurrence of every pattern in text, ordered by end
// position and then by pattern index (the order Scan promises).
func naiveAll(patterns []string, text []byte) []occurrence {
	s := string(text)
	var out []occurrence
	for i, p := range patterns {
		for from := 0; from+len(p) <= len(s); {
			j := strings.Index(s[from:], p)
			if j < 0 {
				break
			}
			out = append(out, occurrence{end: from + j + len(p), pattern: i})
			from += j + 1
		}
	}
	slices.SortFunc(out, func(a, b occurrence) int {
		if a.end != b.end {
			return a.end - b.end
		}
		return a.pattern - b.pattern
	})
	return out
}

func naiveFirst(patterns []string, text []byte) int {
	all := naiveAll(patterns, text)
	if len(all) == 0 {
		return -1
	}
	return all[0].pattern
}

// scanAll collects the pattern indices Scan offers, in order.
func scanAll(m *acmatch.Matcher, text []byte) []int {
	var got []int
	r := m.Scan(text, func(p int) bool {
		got = append(got, p)
		return false
	})
	if r != -1 {
		panic("Scan returned a pattern although accept never returned true")
	}
	return got
}

func patternsOf(occ []occurrence) []int {
	out := make([]int, len(occ))
	for i, o := range occ {
		out[i] = o.pattern
	}
	return out
}

func mustBuild(t testing.TB, patterns []string) *acmatch.Matcher {
	t.Helper()
	m, err := acmatch.Build(patterns)
	if err != nil {
		t.Fatalf("Build(%q): %v", patterns, err)
	}
	return m
}

// check compares FirstMatch and Scan against the naive reference.
func check(t *testing.T, m *acmatch.Matcher, patterns []string, text []byte) {
	t.Helper()
	want := naiveAll(patterns, text)
	wantFirst := -1
	if len(want) > 0 {
		wantFirst = want[0].pattern
	}
	if got := m.FirstMatch(text); got != wantFirst {
		t.Fatalf("FirstMatch(%q) with patterns %q = %d, want %d", text, patterns, got, wantFirst)
	}
	if got := m.Scan(text, func(int) bool { return true }); got != wantFirst {
		t.Fatalf("Scan(%q, always) with patterns %q = %d, want %d", text, patterns, got, wantFirst)
	}
	if got, w := scanAll(m, text), patternsOf(want); !slices.Equal(got, w) {
		t.Fatalf("Scan(%q) with patterns %q visited %v, want %v", text, patterns, got, w)
	}
	// Accept only odd indices: the result must be the first odd one in order.
	wantOdd := -1
	for _, o := range want {
		if o.pattern%2 == 1 {
			wantOdd = o.pattern
			break
		}
	}
	if got := m.Scan(text, func(p int) bool { return p%2 == 1 }); got != wantOdd {
		t.Fatalf("Scan(%q, odd) with patterns %q = %d, want %d", text, patterns, got, wantOdd)
	}
}

func TestTable(t *testing.T) {
	tests := []struct {
		name      string
		patterns  []string
		text      string
		first     int
		scanOrder []int
	}{
		{"classic ushers", []string{"he", "she", "his", "hers"}, "ushers", 0, []int{0, 1, 3}},
		{"classic reversed order", []string{"hers", "his", "she", "he"}, "ushers", 2, []int{2, 3, 0}},
		{"suffix of another", []string{"abcd", "cd"}, "xxabcdxx", 0, []int{0, 1}},
		{"suffix ends earlier alone", []string{"abcd", "bc"}, "abcd", 1, []int{1, 0}},
		{"prefix of another", []string{"abc", "ab"}, "abc", 1, []int{1, 0}},
		{"at start", []string{"moz", "zzz"}, "mozilla", 0, []int{0}},
		{"at end", []string{"bot", "xyz"}, "ahrefsbot", 0, []int{0}},
		{"whole text", []string{"sqlmap"}, "sqlmap", 0, []int{0}},
		{"longer than text", []string{"sqlmap/1.0"}, "sqlmap", -1, nil},
		{"no match", []string{"ahrefsbot", "sqlmap", "python-requests/"}, "mozilla/5.0 (x11; linux x86_64)", -1, nil},
		{"empty text", []string{"a"}, "", -1, nil},
		{"duplicates first wins", []string{"bot", "x", "bot", "bot"}, "a bot", 0, []int{0, 2, 3}},
		{"duplicate later smaller end", []string{"xbot", "bot", "bot"}, "xbot", 0, []int{0, 1, 2}},
		{"overlapping repeats", []string{"aa"}, "aaaa", 0, []int{0, 0, 0}},
		{"nested chain", []string{"a", "aa", "aaa"}, "aaa", 0, []int{0, 0, 1, 0, 1, 2}},
		{"chain index order", []string{"aaa", "aa", "a"}, "aaa", 2, []int{2, 1, 2, 0, 1, 2}},
		{"binary", []string{"\x00\xff", "\xff\x00", "\x00"}, "a\xff\x00\xffb", 1, []int{1, 2, 0}},
		{"nul only", []string{"\x00\x00"}, "\x00\x01\x00\x00", 0, []int{0}},
		{"high bytes", []string{"\xfe\xff"}, "\xfd\xfe\xff", 0, []int{0}},
		{"python-requests", []string{"curl/", "python-requests/"}, "python-requests/2.31.0", 1, []int{1}},
		{"failure across", []string{"abcde", "bcx"}, "abcx", 1, []int{1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := mustBuild(t, tc.patterns)
			if got := m.Len(); got != len(tc.patterns) {
				t.Errorf("Len = %d, want %d", got, len(tc.patterns))
			}
			if got := m.FirstMatch([]byte(tc.text)); got != tc.first {
				t.Errorf("FirstMatch = %d, want %d", got, tc.first)
			}
			if got := scanAll(m, []byte(tc.text)); !slices.Equal(got, tc.scanOrder) {
				t.Errorf("Scan order = %v, want %v", got, tc.scanOrder)
			}
			check(t, m, tc.patterns, []byte(tc.text))
		})
	}
}

func TestAllByteValues(t *testing.T) {
	// Every byte value used by some pattern: no shared "unused" class.
	patterns := make([]string, 0, 257)
	for b := range 256 {
		patterns = append(patterns, string([]byte{byte(b), byte(255 - b)}))
	}
	patterns = append(patterns, "\x00\x00\x00")
	m := mustBuild(t, patterns)
	r := rand.New(rand.NewPCG(7, 7))
	for range 200 {
		text := make([]byte, r.IntN(64))
		for i := range text {
			text[i] = byte(r.UintN(256))
		}
		check(t, m, patterns, text)
	}
	check(t, m, patterns, []byte{0, 0, 0, 0})
	check(t, m, patterns, []byte{0xff, 0x00})
}

func TestBuildErrors(t *testing.T) {
	_, err := acmatch.Build([]string{"a", "b", ""})
	if err == nil || !strings.Contains(err.Error(), "pattern 2") {
		t.Fatalf("Build with empty pattern: err = %v, want one naming pattern 2", err)
	}
	if _, err := acmatch.Build([]string{""}); err == nil {
		t.Fatal("Build([\"\"]) succeeded")
	}
}

func TestEmptyAndNil(t *testing.T) {
	for _, pats := range [][]string{nil, {}} {
		m := mustBuild(t, pats)
		if got := m.FirstMatch([]byte("anything")); got != -1 {
			t.Errorf("zero patterns: FirstMatch = %d", got)
		}
		if got := m.Scan([]byte("anything"), func(int) bool { t.Error("accept called"); return true }); got != -1 {
			t.Errorf("zero patterns: Scan = %d", got)
		}
		if m.Len() != 0 {
			t.Errorf("zero patterns: Len = %d", m.Len())
		}
	}
	var m *acmatch.Matcher
	if m.FirstMatch([]byte("x")) != -1 || m.Scan([]byte("x"), func(int) bool { return true }) != -1 || m.Len() != 0 {
		t.Error("nil Matcher should report no match and Len 0")
	}
}

func TestScanNilAccept(t *testing.T) {
	m := mustBuild(t, []string{"b", "ab"})
	if got := m.Scan([]byte("xab"), nil); got != 0 {
		t.Fatalf("Scan with nil accept = %d, want 0", got)
	}
}

func TestScanStopsAtAccept(t *testing.T) {
	m := mustBuild(t, []string{"a", "b", "c"})
	calls := 0
	got := m.Scan([]byte("abcabc"), func(p int) bool {
		calls++
		return p == 2
	})
	if got != 2 || calls != 3 {
		t.Fatalf("Scan = %d after %d calls, want 2 after 3", got, calls)
	}
}

func TestInputNotRetained(t *testing.T) {
	pats := []string{"abc", "bcd"}
	m := mustBuild(t, pats)
	pats[0] = "zzz"
	if got := m.FirstMatch([]byte("xabc")); got != 0 {
		t.Fatalf("FirstMatch after mutating input slice = %d, want 0", got)
	}
}

// randomCase draws patterns and a text over a small (sometimes full)
// alphabet so that matches, overlaps, prefixes and suffixes are frequent.
func randomCase(r *rand.Rand) ([]string, []byte) {
	var alphabet []byte
	switch r.IntN(4) {
	case 0:
		alphabet = []byte("ab")
	case 1:
		alphabet = []byte("abc")
	case 2:
		alphabet = []byte{0x00, 'x', 0xff, '/', '-'}
	default:
		alphabet = nil // full byte range
	}
	pick := func() byte {
		if alphabet == nil {
			return byte(r.UintN(256))
		}
		return alphabet[r.IntN(len(alphabet))]
	}
	np := 1 + r.IntN(40)
	patterns := make([]string, np)
	for i := range patterns {
		if i > 0 && r.IntN(10) == 0 {
			patterns[i] = patterns[r.IntN(i)] // duplicate
			continue
		}
		b := make([]byte, 1+r.IntN(6))
		for j := range b {
			b[j] = pick()
		}
		patterns[i] = string(b)
	}
	text := make([]byte, r.IntN(120))
	for i := range text {
		text[i] = pick()
	}
	if alphabet == nil && len(text) > 0 && r.IntN(2) == 0 {
		// Plant a pattern so that the full-range case also matches.
		p := patterns[r.IntN(np)]
		at := r.IntN(len(text))
		copy(text[at:], p)
	}
	return patterns, text
}

func TestPropertyAgainstNaive(t *testing.T) {
	r := rand.New(rand.NewPCG(0x5eed, 0xacac))
	n := 5000
	if testing.Short() {
		n = 500
	}
	for range n {
		patterns, text := randomCase(r)
		m := mustBuild(t, patterns)
		check(t, m, patterns, text)
		// A second text against the same automaton.
		_, text2 := randomCase(r)
		check(t, m, patterns, text2)
	}
}

func FuzzMatcher(f *testing.F) {
	f.Add([]byte("\x02he\x03she\x03his\x04hers"), []byte("ushers"), false)
	f.Add([]byte("\x01a\x02aa\x03aaa"), []byte("aaaaab"), false)
	f.Add([]byte("\x02\x00\xff\x01\x00"), []byte("\xff\x00\xff"), false)
	f.Add([]byte("\x05abcde\x03bcx"), []byte("abcx"), true)
	f.Add([]byte("\x03bot\x03bot"), []byte("robots bot"), true)
	f.Fuzz(func(t *testing.T, spec, text []byte, small bool) {
		// spec is a sequence of length-prefixed patterns (length 1..16).
		var patterns []string
		for len(spec) > 0 && len(patterns) < 32 {
			l := int(spec[0])%16 + 1
			spec = spec[1:]
			l = min(l, len(spec))
			if l == 0 {
				break
			}
			patterns = append(patterns, string(spec[:l]))
			spec = spec[l:]
		}
		if len(text) > 1024 {
			text = text[:1024]
		}
		if small {
			// Fold onto a 3-letter alphabet to make matches likely.
			fold := func(b []byte) []byte {
				out := make([]byte, len(b))
				for i, c := range b {
					out[i] = "ab\x00"[c%3]
				}
				return out
			}
			for i, p := range patterns {
				patterns[i] = string(fold([]byte(p)))
			}
			text = fold(text)
		}
		m, err := acmatch.Build(patterns)
		if err != nil {
			t.Fatalf("Build(%q): %v", patterns, err)
		}
		if m.Len() != len(patterns) {
			t.Fatalf("Len = %d, want %d", m.Len(), len(patterns))
		}
		check(t, m, patterns, text)
	})
}

func TestConcurrentUse(t *testing.T) {
	pats := []string{"ahrefsbot", "sqlmap", "python-requests/", "bot", "curl/"}
	m := mustBuild(t, pats)
	texts := [][]byte{
		[]byte("mozilla/5.0 (compatible; ahrefsbot/7.0; +http://ahrefs.com/robot/)"),
		[]byte("python-requests/2.31.0"),
		[]byte("mozilla/5.0 (x11; linux x86_64) applewebkit/537.36 (khtml, like gecko) chrome/126.0.0.0 safari/537.36"),
	}
	want := make([]int, len(texts))
	for i, tx := range texts {
		want[i] = naiveFirst(pats, tx)
	}
	done := make(chan struct{})
	for g := range 4 {
		go func() {
			defer func() { done <- struct{}{} }()
			for k := range 200 {
				i := (g + k) % len(texts)
				if got := m.FirstMatch(texts[i]); got != want[i] {
					t.Errorf("FirstMatch = %d, want %d", got, want[i])
					return
				}
				if got := m.Scan(texts[i], func(int) bool { return true }); got != want[i] {
					t.Errorf("Scan = %d, want %d", got, want[i])
					return
				}
			}
		}()
	}
	for range 4 {
		<-done
	}
}
