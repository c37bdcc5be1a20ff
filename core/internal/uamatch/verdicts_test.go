package uamatch

import (
	"fmt"
	"strings"
	"sync"
	"testing"
)

// botSet is 500 patterns of the kind a blocklist holds, and UAs that hit
// and miss them.
func botSet(t testing.TB) (*Set, []string) {
	s := build(t, func(b *Builder) {
		for i := range 490 {
			b.Contains(fmt.Sprintf("bot%03d", i), int64(i+1))
		}
		for i := range 10 {
			if err := b.Regex(fmt.Sprintf(`evil%d/\d+\.\d+`, i), int64(1000+i)); err != nil {
				t.Fatal(err)
			}
		}
		b.Exact("wget", 1<<40) // an ID too large to cache
	})
	var uas []string
	for i := range 20_000 { // five times the cache's slots: slots are shared and overwritten
		switch i % 4 {
		case 0:
			uas = append(uas, fmt.Sprintf("Mozilla/5.0 (Windows NT 10.0) Chrome/%d.0 Safari/537.36", i))
		case 1:
			uas = append(uas, fmt.Sprintf("Mozilla/5.0 (compatible; Bot%03d/2.1; +http://example.com/%d)", i%490, i))
		case 2:
			uas = append(uas, fmt.Sprintf("evil%d/%d.%d", i%10, i, i%7))
		default:
			uas = append(uas, strings.Repeat("WGET", 1+i%2)[:4])
		}
	}
	return s, uas
}

// The cache never changes an answer, with many more values than slots and
// with goroutines writing the same slots at once (run with -race).
func TestVerdictCacheAgreesWithMatcher(t *testing.T) {
	s, uas := botSet(t)
	want := make([]int64, len(uas))
	for i, ua := range uas {
		want[i] = s.match(ua)
	}
	if want[3] != 1<<40 || want[1] != 2 || want[2] != 1002 || want[0] != 0 {
		t.Fatalf("fixture: answers %v; want 0, 2, 1002, 1<<40", want[:4])
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for round := range 3 {
				for i := range uas {
					j := (i*7 + g*997 + round*31) % len(uas)
					if got := s.Match(uas[j]); got != want[j] {
						t.Errorf("Match(%q) = %d, want %d", uas[j], got, want[j])
						return
					}
				}
			}
		})
	}
	wg.Wait()
}

// An entry whose two words come from different values is a miss: the tag of
// one value beside the upper bits of another, as a read torn between two
// writers of the slot would see.
func TestVerdictCacheRefusesTornEntry(t *testing.T) {
	c := newVerdictCache()
	const a, b = uint64(0x1111_2222_0000_0005), uint64(0x3333_4444_0000_0005) // same slot
	c.put(a, 7)
	if id, ok := c.get(a); !ok || id != 7 {
		t.Fatalf("get(a) = %d, %v; want 7, true", id, ok)
	}
	if _, ok := c.get(b); ok {
		t.Fatal("get(b) hit an entry written for a")
	}
	e := &c.slots[a&(verdictSlots-1)]
	e.tag.Store(b) // b's tag beside a's upper bits
	if id, ok := c.get(b); ok {
		t.Fatalf("torn entry answered %d", id)
	}
	c.put(b, 1<<32) // too large: not cached, and the slot keeps nothing wrong
	if id, ok := c.get(b); ok {
		t.Fatalf("an ID of 2^32 was cached as %d", id)
	}
}

func TestMatchCachedAllocs(t *testing.T) {
	s, uas := botSet(t)
	if n := testing.AllocsPerRun(100, func() { s.Match(uas[0]) }); n != 0 {
		t.Errorf("Match from the cache allocates %v times; want 0", n)
	}
}

// BenchmarkMatch is a browser User-Agent against 500 patterns: "cached" is
// the common case of a value seen before, "uncached" the matcher's pass.
func BenchmarkMatch(b *testing.B) {
	s, _ := botSet(b)
	ua := "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
	b.Run("cached", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			s.Match(ua)
		}
	})
	b.Run("uncached", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			s.match(ua)
		}
	})
}
