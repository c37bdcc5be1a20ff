package ratelimit

import (
	"math"
	"math/bits"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strconv"
	"testing"
	"time"
	"unsafe"
)

func TestShardPadding(t *testing.T) {
	if s := unsafe.Sizeof(paddedShard{}); s%128 != 0 {
		t.Fatalf("paddedShard is %d bytes, want a multiple of 128", s)
	}
}

func TestInsertSorted(t *testing.T) {
	var s []uint32
	for _, v := range []uint32{5, 1, 5, 9, 0, 1, 7} {
		s = insertSorted(s, v)
	}
	if want := []uint32{0, 1, 5, 7, 9}; !slices.Equal(s, want) {
		t.Fatalf("got %v, want %v", s, want)
	}
}

// TestShardDueBound: the root of the due heap is a lower bound on every TAT
// of the shard, so a sweep where nothing can be idle does nothing, and it
// stays a true bound.
func TestShardDueBound(t *testing.T) {
	m, err := NewMemory(WithShards(1), WithMaxKeys(100))
	if err != nil {
		t.Fatal(err)
	}
	s := &m.shards[0]
	root := func() int64 {
		if len(s.t.due) == 0 {
			return math.MaxInt64
		}
		return s.t.due[0].tat
	}
	if root() != math.MaxInt64 {
		t.Fatalf("empty shard root = %d", root())
	}
	now := time.Unix(1_900_000_000, 0)
	l := Limit{N: 1, Period: time.Minute}
	h := Limit{N: 1, Period: time.Hour}
	if _, err := m.Allow(now, []Key{{Rule: 1, Limit: h}, {Rule: 2, Limit: l}}, nil); err != nil {
		t.Fatal(err)
	}
	if want := now.Add(time.Minute).UnixNano(); root() != want {
		t.Fatalf("root = %d, want %d", root(), want)
	}
	if n := m.Sweep(now.Add(time.Minute - 1)); n != 0 || root() != now.Add(time.Minute).UnixNano() {
		t.Fatalf("early sweep: %d removed, root %d", n, root())
	}
	if n := m.Sweep(now.Add(time.Minute)); n != 1 || root() != now.Add(time.Hour).UnixNano() {
		t.Fatalf("sweep: %d removed, root %d", n, root())
	}
}

// TestShrinkKeepsCounters: after a spike the table gives memory back and
// the surviving counters keep their TATs.
func TestShrinkKeepsCounters(t *testing.T) {
	m, err := NewMemory(WithShards(1), WithMaxKeys(10000))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_900_000_000, 0)
	short := Limit{N: 1, Period: time.Second}
	long := Limit{N: 3, Period: time.Hour}
	for i := range 2000 {
		k := Key{Rule: 1, IP: netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}), Limit: short}
		if _, err := m.Allow(now, []Key{k}, nil); err != nil {
			t.Fatal(err)
		}
	}
	keep := Key{Rule: 2, Value: "user", Limit: long}
	if _, err := m.Allow(now, []Key{keep}, nil); err != nil {
		t.Fatal(err)
	}
	s := &m.shards[0]
	if n := m.Sweep(now.Add(time.Second)); n != 2000 {
		t.Fatalf("swept %d", n)
	}
	if len(s.t.ents) != 1 || cap(s.t.ents) > 2 || len(s.t.index) != minIndex {
		t.Fatalf("not shrunk: ents %d/%d, index %d", len(s.t.ents), cap(s.t.ents), len(s.t.index))
	}
	rs, err := m.Allow(now.Add(time.Second), []Key{keep}, nil)
	if err != nil || !rs[0].Allowed || rs[0].Remaining != 1 {
		t.Fatalf("counter after shrinking: %+v %v", rs, err)
	}
}

// TestTableAgainstMap drives the table with random inserts, updates, removes
// and sweeps, with hashes crafted to collide, and checks it against a map.
func TestTableAgainstMap(t *testing.T) {
	for _, hashBits := range []uint{2, 6, 64} { // few distinct hashes: long probe chains
		rng := rand.New(rand.NewPCG(uint64(hashBits), 1))
		tb := newTable()
		ref := map[Key]int64{}
		hashOf := func(k Key) uint64 {
			h := uint64(k.Rule) * 0x9e3779b97f4a7c15
			if hashBits < 64 {
				h = bits.RotateLeft64(h%(1<<hashBits), 61) // collide in the top bits
			}
			return h
		}
		check := func(step int) {
			if len(tb.ents) != len(ref) {
				t.Fatalf("bits %d step %d: %d entries, want %d", hashBits, step, len(tb.ents), len(ref))
			}
			for k, tat := range ref {
				e := tb.find(&k, hashOf(k))
				if e < 0 || tb.ents[e].tat != tat {
					t.Fatalf("bits %d step %d: key %d: found %d", hashBits, step, k.Rule, e)
				}
			}
			for e := range tb.ents {
				if tb.slotOf(e) < 0 {
					t.Fatal("unreachable")
				}
			}
			checkDue(t, &tb)
		}
		for step := range 20000 {
			k := Key{Rule: int64(rng.IntN(300))}
			h := hashOf(k)
			switch op := rng.IntN(11); {
			case op < 6:
				tat := int64(rng.IntN(1000)) + 1
				if e := tb.find(&k, h); e >= 0 {
					tat = max(tat, tb.ents[e].tat) // TATs only grow
					tb.ents[e].tat = tat
				} else {
					tb.insert(&k, h, tat)
				}
				ref[k] = tat
			case op < 9:
				if e := tb.find(&k, h); e >= 0 {
					tb.remove(e)
				}
				delete(ref, k)
			case op == 9:
				// Evict a few idle entries: those, and only those.
				now, want := int64(rng.IntN(300)), 1+rng.IntN(4)
				idle := 0
				for _, tat := range ref {
					if tat <= now {
						idle++
					}
				}
				n := tb.evict(now, want)
				if n != min(want, idle) {
					t.Fatalf("evict(%d, %d) removed %d of %d idle", now, want, n, idle)
				}
				for k, tat := range ref {
					if tb.find(&k, hashOf(k)) < 0 {
						if tat > now {
							t.Fatalf("evict removed a live entry (TAT %d > %d)", tat, now)
						}
						delete(ref, k)
					}
				}
			default:
				now := int64(rng.IntN(300))
				n := tb.sweep(now)
				want := 0
				for k, tat := range ref {
					if tat <= now {
						delete(ref, k)
						want++
					}
				}
				if n != want {
					t.Fatalf("sweep removed %d, want %d", n, want)
				}
			}
			if step%97 == 0 {
				check(step)
			}
		}
		check(-1)
	}
}

// checkDue checks the due heap: one item per entry, each pointing at its
// entry and back, filed under a lower bound of the entry's TAT, in heap
// order.
func checkDue(t *testing.T, tb *table) {
	t.Helper()
	if len(tb.due) != len(tb.ents) {
		t.Fatalf("%d heap items for %d entries", len(tb.due), len(tb.ents))
	}
	for i, it := range tb.due {
		if int(tb.ents[it.ent].due) != i {
			t.Fatalf("heap item %d points at entry %d, which points at %d", i, it.ent, tb.ents[it.ent].due)
		}
		if it.tat > tb.ents[it.ent].tat {
			t.Fatalf("heap item %d filed at %d, above its entry's TAT %d", i, it.tat, tb.ents[it.ent].tat)
		}
		if p := (i - 1) / 2; i > 0 && tb.due[p].tat > it.tat {
			t.Fatalf("heap order broken at %d", i)
		}
	}
}

// TestInsertCopiesValue: the stored key does not share the caller's bytes.
func TestInsertCopiesValue(t *testing.T) {
	m, err := NewMemory(WithShards(1), WithMaxKeys(10))
	if err != nil {
		t.Fatal(err)
	}
	buf := []byte("header: token-123; more bytes that should not be pinned")
	v := unsafe.String(&buf[8], 9) // "token-123", inside buf
	k := Key{Rule: 1, Value: v, Limit: Limit{N: 5, Period: time.Second}}
	if _, err := m.Allow(time.Unix(1_900_000_000, 0), []Key{k}, nil); err != nil {
		t.Fatal(err)
	}
	for _, ent := range m.shards[0].t.ents {
		stored := ent.key
		if unsafe.StringData(stored.Value) == &buf[8] {
			t.Fatal("stored Value points into the caller's buffer")
		}
		if stored.Value != "token-123" {
			t.Fatalf("stored %q", stored.Value)
		}
	}
}

// TestShardSpread: sequential IPv4 addresses, IPv6 /64s and user IDs spread
// evenly over the shards.
func TestShardSpread(t *testing.T) {
	m, err := NewMemory(WithShards(64))
	if err != nil {
		t.Fatal(err)
	}
	l := Limit{N: 1, Period: time.Second}
	gens := map[string]func(i int) Key{
		"ipv4": func(i int) Key {
			return Key{Rule: 1, IP: netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), Limit: l}
		},
		"ipv6_64": func(i int) Key {
			var a [16]byte
			a[0], a[1], a[6], a[7] = 0x20, 0x01, byte(i>>8), byte(i)
			return Key{Rule: 1, IP: netip.AddrFrom16(a), Limit: l}
		},
		"value": func(i int) Key { return Key{Rule: 2, Value: "user-" + strconv.Itoa(i), Limit: l} },
		"rule":  func(i int) Key { return Key{Rule: int64(i), Limit: l} },
	}
	const n = 64 * 1024
	for name, gen := range gens {
		var count [64]int
		for i := range n {
			k := gen(i)
			count[m.hash(&k)&m.mask]++
		}
		lo, hi := slices.Min(count[:]), slices.Max(count[:])
		if mean := n / 64; float64(hi) > 1.15*float64(mean) || float64(lo) < 0.85*float64(mean) {
			t.Errorf("%s: shard sizes %d..%d, mean %d", name, lo, hi, mean)
		}
	}
}
