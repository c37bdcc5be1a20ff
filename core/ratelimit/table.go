package ratelimit

import (
	"math"
	"math/bits"
	"strings"
)

// table maps Keys to TATs for one shard. It is an open-addressing hash table
// with linear probing over an index of words (tag<<32 | entry position+1),
// and the entries are kept densely in a slice, so that:
//
//   - a lookup hashes nothing: it uses the Memory's seeded 64-bit hash,
//     already computed to pick the shard (top bits: home slot; middle bits:
//     tag; low bits: shard);
//   - an update writes only the entry's TAT;
//   - a sweep scans a slice, and removal is a backward shift (no
//     tombstones) plus a swap with the last entry.
//
// Go's map would hash the 72-byte Key field by field on every lookup and
// again on every store, which is most of the cost of Allow.
//
// A table is not safe for concurrent use; the shard's mutex guards it.
type table struct {
	index []uint64
	ents  []entry
	shift uint  // 64 - log2(len(index))
	low   int64 // lower bound on every TAT in ents (TATs only grow); MaxInt64 when empty
}

type entry struct {
	key  Key
	tat  int64
	hash uint64
}

const minIndex = 8

func newTable() table {
	return table{index: make([]uint64, minIndex), shift: 64 - 3, low: math.MaxInt64}
}

func tagOf(h uint64) uint64 { return h >> 16 << 32 }

// find returns the position in ents of k, or -1.
func (t *table) find(k *Key, h uint64) int {
	mask := len(t.index) - 1
	tag := tagOf(h)
	for i := int(h >> t.shift); ; i = (i + 1) & mask {
		w := t.index[i]
		if w == 0 {
			return -1
		}
		if w&^math.MaxUint32 == tag {
			if e := int(uint32(w)) - 1; t.ents[e].key == *k {
				return e
			}
		}
	}
}

// slotOf returns the index slot that points at entry e.
func (t *table) slotOf(e int) int {
	mask := len(t.index) - 1
	want := uint64(e + 1)
	for i := int(t.ents[e].hash >> t.shift); ; i = (i + 1) & mask {
		if t.index[i]&math.MaxUint32 == want {
			return i
		}
	}
}

// insert adds k, which must be absent, with a private copy of its Value (so
// the table never pins a caller's larger buffer), and returns its position.
func (t *table) insert(k *Key, h uint64, tat int64) int {
	if (len(t.ents)+1)*4 > len(t.index)*3 {
		t.resize(len(t.index) * 2)
	}
	e := len(t.ents)
	key := *k
	key.Value = strings.Clone(k.Value)
	t.ents = append(t.ents, entry{key: key, tat: tat, hash: h})
	t.place(h, e)
	t.low = min(t.low, tat)
	return e
}

// place puts entry e in the first free slot from its home.
func (t *table) place(h uint64, e int) {
	mask := len(t.index) - 1
	i := int(h >> t.shift)
	for t.index[i] != 0 {
		i = (i + 1) & mask
	}
	t.index[i] = tagOf(h) | uint64(e+1)
}

// resize rebuilds the index with n slots (a power of two).
func (t *table) resize(n int) {
	t.index = make([]uint64, n)
	t.shift = uint(64 - bits.TrailingZeros(uint(n)))
	for e := range t.ents {
		t.place(t.ents[e].hash, e)
	}
}

// remove deletes entry e; the last entry takes its position.
func (t *table) remove(e int) {
	// Backward-shift deletion of e's slot.
	mask := len(t.index) - 1
	i := t.slotOf(e)
	for j := (i + 1) & mask; ; j = (j + 1) & mask {
		w := t.index[j]
		if w == 0 {
			break
		}
		home := int(t.ents[uint32(w)-1].hash >> t.shift)
		if (j-home)&mask >= (j-i)&mask { // may move back to i
			t.index[i] = w
			i = j
		}
	}
	t.index[i] = 0
	// Move the last entry into e.
	last := len(t.ents) - 1
	if e != last {
		s := t.slotOf(last)
		t.ents[e] = t.ents[last]
		t.index[s] = t.index[s]&^math.MaxUint32 | uint64(e+1)
	}
	t.ents[last] = entry{} // drop the references
	t.ents = t.ents[:last]
}

// sweep removes the entries whose TAT is at or before now and returns how
// many it removed. An idle counter behaves exactly like an absent one.
func (t *table) sweep(now int64) int {
	if now < t.low {
		return 0 // every TAT is later than now
	}
	n := 0
	low := int64(math.MaxInt64)
	// Downwards: remove moves the last entry, already kept, into e.
	for e := len(t.ents) - 1; e >= 0; e-- {
		if tat := t.ents[e].tat; tat <= now {
			t.remove(e)
			n++
		} else {
			low = min(low, tat)
		}
	}
	t.low = low
	t.shrink()
	return n
}

// shrink gives memory back after a spike: Go slices, like maps, keep their
// size otherwise.
func (t *table) shrink() {
	if n := len(t.ents); cap(t.ents) >= 256 && n < cap(t.ents)/4 {
		t.ents = append(make([]entry, 0, 2*n), t.ents...)
	}
	if len(t.index) >= 256 && len(t.ents)*8 < len(t.index) {
		n := minIndex
		for n < 2*len(t.ents) {
			n <<= 1
		}
		t.resize(n)
	}
}
