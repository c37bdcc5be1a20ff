package acmatch

import (
	"math/rand/v2"
	"runtime"
	"testing"
)

// retainedBytes is the heap size of m's tables.
func (m *Matcher) retainedBytes() int {
	return 256 + 4*(len(m.trans)+len(m.minOut)+len(m.dict)+len(m.ownOff)+len(m.ownIdx))
}

func randomWords(n int) []string {
	r := rand.New(rand.NewPCG(1, 2))
	const letters = "abcdefghijklmnopqrstuvwxyz0123456789-_/."
	out := make([]string, n)
	for i := range out {
		b := make([]byte, 6+r.IntN(13))
		for j := range b {
			b[j] = letters[r.IntN(len(letters))]
		}
		out[i] = string(b)
	}
	return out
}

func TestMemory(t *testing.T) {
	for _, n := range []int{500, 5000} {
		pats := randomWords(n)
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		m, err := Build(pats)
		runtime.ReadMemStats(&after)
		if err != nil {
			t.Fatal(err)
		}
		// Build time is measured by BenchmarkBuild, not gated here.
		t.Logf("%d patterns: %d states, %d byte classes, retained %.2f MB, build allocated %.2f MB",
			n, len(m.minOut), m.stride-1, float64(m.retainedBytes())/1e6,
			float64(after.TotalAlloc-before.TotalAlloc)/1e6)
		if n == 5000 {
			if mb := float64(m.retainedBytes()) / 1e6; mb > 10 {
				t.Errorf("5000 patterns retain %.2f MB, want < 10", mb)
			}
		}
	}
}
