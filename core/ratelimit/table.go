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
//   - removal is a backward shift (no tombstones) plus a swap with the last
//     entry.
//
// Beside it, due is a min-heap with one item per entry: the entry's TAT when
// it was filed. TATs only grow, so a filed TAT is a lower bound on the
// entry's TAT, and the heap's root says in O(1) whether any counter can be
// idle. evict pops idle counters from it in O(log n) each; an entry renewed
// since it was filed (its TAT grew past now) is filed again, work paid for by
// the request that renewed it. Updating a TAT never touches the heap, so the
// hot path does not either.
//
// Go's map would hash the 72-byte Key field by field on every lookup and
// again on every store, which is most of the cost of Allow.
//
// A table is not safe for concurrent use; the shard's mutex guards it.
type table struct {
	index []uint64
	ents  []entry
	due   []dueItem // min-heap on tat; due[ents[e].due].ent == e
	shift uint      // 64 - log2(len(index))
}

type entry struct {
	key  Key
	tat  int64
	hash uint64
	due  int32 // position of the entry's item in due
}

// dueItem files entry ent under tat, a lower bound on its TAT.
type dueItem struct {
	tat int64
	ent int32
}

const minIndex = 8

func newTable() table {
	return table{index: make([]uint64, minIndex), shift: 64 - 3}
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
	t.ents = append(t.ents, entry{key: key, tat: tat, hash: h, due: int32(len(t.due))})
	t.place(h, e)
	t.due = append(t.due, dueItem{tat: tat, ent: int32(e)})
	t.up(len(t.due) - 1)
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
	t.unfile(int(t.ents[e].due))
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
		t.due[t.ents[e].due].ent = int32(e)
	}
	t.ents[last] = entry{} // drop the references
	t.ents = t.ents[:last]
}

// evict removes up to want entries whose TAT is at or before now, those
// filed earliest first, and returns how many it removed. An idle counter
// behaves exactly like an absent one; a live counter is never removed.
func (t *table) evict(now int64, want int) int {
	n := 0
	for n < want && len(t.due) > 0 && t.due[0].tat <= now {
		e := int(t.due[0].ent)
		if tat := t.ents[e].tat; tat > now {
			t.due[0].tat = tat // renewed since it was filed
			t.down(0)
			continue
		}
		t.remove(e)
		n++
	}
	return n
}

// sweep removes every entry whose TAT is at or before now, returns how many
// it removed, and gives memory back.
func (t *table) sweep(now int64) int {
	n := t.evict(now, math.MaxInt)
	if n > 0 {
		t.shrink()
	}
	return n
}

// unfile removes the heap item at i.
func (t *table) unfile(i int) {
	last := len(t.due) - 1
	if i != last {
		t.due[i] = t.due[last]
		t.ents[t.due[i].ent].due = int32(i)
	}
	t.due = t.due[:last]
	if i < last {
		t.down(i)
		t.up(i)
	}
}

// up and down restore the heap order from item i, keeping each entry's
// position in due.
func (t *table) up(i int) {
	it := t.due[i]
	for i > 0 {
		p := (i - 1) / 2
		if t.due[p].tat <= it.tat {
			break
		}
		t.due[i] = t.due[p]
		t.ents[t.due[i].ent].due = int32(i)
		i = p
	}
	t.due[i] = it
	t.ents[it.ent].due = int32(i)
}

func (t *table) down(i int) {
	it := t.due[i]
	n := len(t.due)
	for {
		c := 2*i + 1
		if c >= n {
			break
		}
		if c+1 < n && t.due[c+1].tat < t.due[c].tat {
			c++
		}
		if it.tat <= t.due[c].tat {
			break
		}
		t.due[i] = t.due[c]
		t.ents[t.due[i].ent].due = int32(i)
		i = c
	}
	t.due[i] = it
	t.ents[it.ent].due = int32(i)
}

// shrink gives memory back after a spike: Go slices, like maps, keep their
// size otherwise.
func (t *table) shrink() {
	if n := len(t.ents); cap(t.ents) >= 256 && n < cap(t.ents)/4 {
		t.ents = append(make([]entry, 0, 2*n), t.ents...)
	}
	if n := len(t.due); cap(t.due) >= 256 && n < cap(t.due)/4 {
		t.due = append(make([]dueItem, 0, 2*n), t.due...)
	}
	if len(t.index) >= 256 && len(t.ents)*8 < len(t.index) {
		n := minIndex
		for n < 2*len(t.ents) {
			n <<= 1
		}
		t.resize(n)
	}
}
