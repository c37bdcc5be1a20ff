package uamatch

import (
	"hash/maphash"
	"sync/atomic"
)

// Real traffic repeats a few thousand User-Agents (browser builds, crawlers,
// app clients) millions of times, so a Set remembers its answers: a
// direct-mapped cache of verdictSlots entries keyed by a hash of the whole
// User-Agent under a seed drawn when the Set is built (an attacker cannot
// compute which values share a slot or a tag). A hit costs one hash of the
// value and two loads instead of the Aho-Corasick pass and any regex.
//
// An entry is two words written without a lock: tag, the value's 64-bit
// hash, and val, the hash's upper 32 bits beside the rule ID (IDs of 2^32
// and above are not cached). A reader accepts an entry only when tag is its
// hash and val carries the same upper bits, so a read torn between two
// writers of the slot is a miss unless both values' hashes agree in 44 bits
// (the slot's 12 and the upper 32) and still differ: as likely as a random
// 64-bit collision between live values, like any hash table keyed by a
// 64-bit digest. The cache is pointer-free, so the garbage collector never
// scans it; it lives as long as its Set, so rebuilding the rules empties it.
const verdictBits = 12

const verdictSlots = 1 << verdictBits

type verdictCache struct {
	seed  maphash.Seed
	slots [verdictSlots]struct{ tag, val atomic.Uint64 }
}

func newVerdictCache() *verdictCache { return &verdictCache{seed: maphash.MakeSeed()} }

// get returns the cached rule ID (0: no pattern matches) of the value whose
// hash is h.
func (c *verdictCache) get(h uint64) (id int64, ok bool) {
	e := &c.slots[h&(verdictSlots-1)]
	if e.tag.Load() != h {
		return 0, false
	}
	v := e.val.Load()
	if v>>32 != h>>32 {
		return 0, false
	}
	return int64(uint32(v)), true
}

// put remembers the rule ID of the value whose hash is h.
func (c *verdictCache) put(h uint64, id int64) {
	if id < 0 || id > 1<<32-1 {
		return
	}
	e := &c.slots[h&(verdictSlots-1)]
	e.tag.Store(0) // a reader between the two stores misses
	e.val.Store(h>>32<<32 | uint64(id))
	e.tag.Store(h)
}
