package acmatch

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// Matcher is a compiled set of patterns. It is immutable after Build and safe
// for concurrent use.
type Matcher struct {
	// class maps each byte to its class (column of the transition table).
	class [256]uint8
	// stride is the row length of trans: the number of byte classes plus one
	// column that holds the state's depth (length of its trie string).
	stride int
	// trans holds states×stride entries. The entry for state s and class c is
	// at s*stride+c and holds the target state's row offset (target*stride),
	// bitwise complemented (so negative) when the target state has an output.
	// Entry s*stride+stride-1 holds the depth of s.
	trans []int32
	// minOut[s] is the smallest pattern index ending at state s (own or via
	// dictionary links), -1 if none.
	minOut []int32
	// dict[s] is the nearest proper suffix state of s that is the end state
	// of some pattern (dictionary link), -1 if none.
	dict []int32
	// The patterns whose end state is s (more than one only for duplicates)
	// are ownIdx[ownOff[s]:ownOff[s+1]], in ascending order.
	ownOff []int32
	ownIdx []int32
	// n is the number of patterns.
	n int
}

// Build compiles patterns into a Matcher. Every pattern must be non-empty;
// an empty pattern is reported with its index. Duplicate patterns are
// allowed (FirstMatch reports the smallest index). Patterns are matched byte
// for byte. Build with zero patterns returns a Matcher that never matches.
// Build does not retain patterns.
func Build(patterns []string) (*Matcher, error) { return build("Build", patterns) }

// build is Build; op names the exported function in errors.
func build(op string, patterns []string) (*Matcher, error) {
	n := len(patterns)
	if n >= math.MaxInt32 {
		return nil, fmt.Errorf("acmatch: %s: %d patterns, at most %d", op, n, math.MaxInt32-1)
	}
	for i, p := range patterns {
		if p == "" {
			return nil, fmt.Errorf("acmatch: %s: pattern %d is empty", op, i)
		}
	}
	m := &Matcher{n: n}
	if n == 0 {
		return m, nil
	}
	classes := m.setClasses(patterns)
	m.stride = classes + 1
	order := sortedOrder(patterns)
	states := trieStates(patterns, order)
	if states > math.MaxInt32/m.stride {
		return nil, fmt.Errorf("acmatch: %s: automaton too large: %d states × %d byte classes", op, states, classes)
	}
	m.trans, m.ownOff, m.ownIdx = m.buildTrie(patterns, order, states)
	m.minOut, m.dict = completeDFA(m.trans, m.ownOff, m.ownIdx, states, m.stride)
	encodeTargets(m.trans, m.minOut, m.stride)
	return m, nil
}

// setClasses fills m.class and returns the number of byte classes: used
// bytes get 1..k in byte order, unused bytes share 0 (or, when all 256 are
// used, each byte is its own class).
func (m *Matcher) setClasses(patterns []string) int {
	var used [256]bool
	for _, p := range patterns {
		for i := 0; i < len(p); i++ {
			used[p[i]] = true
		}
	}
	k := 0
	for _, u := range used {
		if u {
			k++
		}
	}
	if k == 256 {
		for b := range 256 {
			m.class[b] = uint8(b)
		}
		return 256
	}
	c := 0
	for b := range 256 {
		if used[b] {
			c++
			m.class[b] = uint8(c)
		}
	}
	return k + 1
}

// sortedOrder returns the pattern indices in pattern order (ties by index).
func sortedOrder(patterns []string) []int32 {
	order := make([]int32, len(patterns))
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(a, b int32) int {
		if c := strings.Compare(patterns[a], patterns[b]); c != 0 {
			return c
		}
		return int(a - b)
	})
	return order
}

// trieStates returns the exact trie size of the sorted patterns: 1 plus, for
// each pattern, the bytes beyond its longest common prefix with its
// predecessor. It stops counting once the size exceeds math.MaxInt32.
func trieStates(patterns []string, order []int32) int {
	states := 1
	prev := ""
	for _, i := range order {
		p := patterns[i]
		l := 0
		for l < len(p) && l < len(prev) && p[l] == prev[l] {
			l++
		}
		states += len(p) - l
		if states > math.MaxInt32 {
			break
		}
		prev = p
	}
	return states
}

// buildTrie builds the trie (goto function) directly in the dense table, one
// depth at a time, so that states are numbered in breadth-first order:
// shallow (hot) rows are contiguous, and the failure pass needs no queue. -1
// marks a missing edge. It returns the table and the patterns of each end
// state (ownIdx[ownOff[s]:ownOff[s+1]], ascending).
func (m *Matcher) buildTrie(patterns []string, order []int32, states int) (trans, ownOff, ownIdx []int32) {
	stride, depthCol := m.stride, m.stride-1
	trans = make([]int32, states*stride)
	for i := range trans {
		trans[i] = -1
	}
	trans[depthCol] = 0
	cur := make([]int32, len(patterns)) // state of each pattern's prefix of the current depth
	ownOff = make([]int32, states+1)
	next := int32(1)
	active := order // patterns longer than the current depth, sorted
	for d := 1; len(active) > 0; d++ {
		prevParent, prevByte, prevNode := int32(-1), byte(0), int32(0)
		keep := active[:0]
		for _, i := range active {
			p := patterns[i]
			parent, b := cur[i], p[d-1]
			if parent != prevParent || b != prevByte {
				prevParent, prevByte, prevNode = parent, b, next
				trans[int(parent)*stride+int(m.class[b])] = next
				trans[int(next)*stride+depthCol] = int32(d)
				next++
			}
			cur[i] = prevNode
			if len(p) > d {
				keep = append(keep, i)
			} else {
				ownOff[prevNode+1]++
			}
		}
		active = keep
	}
	for s := 1; s <= states; s++ {
		ownOff[s] += ownOff[s-1]
	}
	ownIdx = make([]int32, len(patterns))
	fill := make([]int32, states) // insertion cursor per state
	for i, s := range cur {       // cur[i] is now the end state of pattern i
		ownIdx[ownOff[s]+fill[s]] = int32(i)
		fill[s]++
	}
	return trans, ownOff, ownIdx
}

// completeDFA completes the trie into a DFA in breadth-first (= state
// number) order, with failure links, and returns each state's smallest
// output and dictionary link. A state's failure target is shallower, so its
// row is complete before it is used.
func completeDFA(trans, ownOff, ownIdx []int32, states, stride int) (minOut, dict []int32) {
	classes := stride - 1
	fail := make([]int32, states)
	minOut = make([]int32, states)
	dict = make([]int32, states)
	minOut[0], dict[0] = -1, -1
	for c := range classes {
		if t := trans[c]; t < 0 {
			trans[c] = 0
		} else {
			fail[t] = 0
		}
	}
	for u := 1; u < states; u++ {
		f := fail[u]
		// Outputs of u: its own patterns plus those of its failure state.
		mo := minOut[f]
		if ownOff[u] < ownOff[u+1] {
			if own := ownIdx[ownOff[u]]; mo < 0 || own < mo {
				mo = own
			}
		}
		minOut[u] = mo
		if ownOff[f] < ownOff[f+1] {
			dict[u] = f
		} else {
			dict[u] = dict[f]
		}
		row, frow := u*stride, int(f)*stride
		r, fr := trans[row:row+classes], trans[frow:frow+classes]
		for c, t := range r {
			if t < 0 {
				r[c] = fr[c]
			} else {
				fail[t] = fr[c]
			}
		}
	}
	return minOut, dict
}

// encodeTargets turns the target states in trans into row offsets,
// complemented for output states.
func encodeTargets(trans, minOut []int32, stride int) {
	classes := stride - 1
	for row := 0; row < len(trans); row += stride {
		r := trans[row : row+classes]
		for i, t := range r {
			off := t * int32(stride)
			if minOut[t] >= 0 {
				off = ^off
			}
			r[i] = off
		}
	}
}

// Len returns the number of patterns the Matcher was built from (duplicates
// included), 0 for a nil Matcher.
func (m *Matcher) Len() int {
	if m == nil {
		return 0
	}
	return m.n
}

// FirstMatch returns the index of the pattern whose occurrence ends earliest
// in text; among patterns ending at the same byte it returns the smallest
// index. It returns -1 if no pattern occurs in text. It stops at the first
// byte that completes a pattern and does not allocate.
func (m *Matcher) FirstMatch(text []byte) int {
	if m == nil || m.n == 0 {
		return -1
	}
	if _, st := m.find(text, 0); st >= 0 {
		return int(m.minOut[st/m.stride])
	}
	return -1
}

// Scan visits every occurrence of every pattern in text in order of end
// position and, for occurrences ending at the same byte, in ascending pattern
// index, calling accept with the pattern index. It returns the first index
// for which accept returns true, or -1 if there is none. A nil accept accepts
// every match (Scan then equals FirstMatch). Scan does not allocate unless
// accept does (or escapes).
func (m *Matcher) Scan(text []byte, accept func(pattern int) bool) int {
	if m == nil || m.n == 0 {
		return -1
	}
	if accept == nil {
		return m.FirstMatch(text)
	}
	s := 0
	for len(text) > 0 {
		i, st := m.find(text, s)
		if st < 0 {
			return -1
		}
		if p := m.emit(st/m.stride, accept); p >= 0 {
			return p
		}
		text, s = text[i+1:], st
	}
	return -1
}

// Text lengths from which find interleaves 2 or 4 DFA walks.
const (
	minLen2 = 32
	minLen4 = 64
)

// find runs the DFA over text starting in state s (a row offset) and returns
// the position of the first byte after which the DFA is in an output state,
// together with that state's row offset; it returns (-1, -1) if there is no
// such byte.
//
// One walk is a chain of dependent loads, one per byte, so its speed is
// bound by load latency. For longer texts find therefore splits the text
// into 2 or 4 segments and walks them in one interleaved loop, each later
// segment starting in the root state; see settle for how the exact result is
// recovered.
func (m *Matcher) find(text []byte, s int) (int, int) {
	switch n := len(text); {
	case n >= minLen4:
		return m.find4(text, s)
	case n >= minLen2:
		return m.find2(text, s)
	}
	return m.find1(text, s)
}

// find1 is the plain single walk.
func (m *Matcher) find1(text []byte, s int) (int, int) {
	trans := m.trans
	cls := &m.class
	for i, b := range text {
		s = int(trans[s+int(cls[b])])
		if s < 0 {
			return i, ^s
		}
	}
	return -1, -1
}

// find2 walks two interleaved segments; see find and settle.
func (m *Matcher) find2(text []byte, s int) (int, int) {
	w := (len(text) + 1) / 2
	t1 := text[w:]
	t0 := text[:len(t1)]
	trans := m.trans
	cls := &m.class
	s0, s1 := s, 0
	for i := range t1 {
		s0 = int(trans[s0+int(cls[t0[i]])])
		s1 = int(trans[s1+int(cls[t1[i]])])
		if s0|s1 < 0 {
			if s0 < 0 {
				return i, ^s0
			}
			return m.settle(text, s0, [4]int{0, w}, [4]int{0, s1}, 2, i+1, 1)
		}
	}
	return m.settle(text, s0, [4]int{0, w}, [4]int{0, s1}, 2, len(t1), 2)
}

// find4 walks four interleaved segments; see find and settle.
func (m *Matcher) find4(text []byte, s int) (int, int) {
	w := (len(text) + 3) / 4
	b1, b2, b3 := w, 2*w, 3*w
	t3 := text[b3:]
	n := len(t3)
	t0, t1, t2 := text[:n], text[b1:b1+n], text[b2:b2+n]
	trans := m.trans
	cls := &m.class
	s0, s1, s2, s3 := s, 0, 0, 0
	for i := range t3 {
		s0 = int(trans[s0+int(cls[t0[i]])])
		s1 = int(trans[s1+int(cls[t1[i]])])
		s2 = int(trans[s2+int(cls[t2[i]])])
		s3 = int(trans[s3+int(cls[t3[i]])])
		if s0|s1|s2|s3 < 0 {
			hit := 3
			switch {
			case s0 < 0:
				return i, ^s0
			case s1 < 0:
				hit = 1
			case s2 < 0:
				hit = 2
			}
			return m.settle(text, s0, [4]int{0, b1, b2, b3}, [4]int{0, s1, s2, s3}, 4, i+1, hit)
		}
	}
	return m.settle(text, s0, [4]int{0, b1, b2, b3}, [4]int{0, s1, s2, s3}, 4, n, 4)
}

// settle finishes an interleaved walk. Segment j of k starts at starts[j]
// and its walk has consumed cnt bytes, ending in state states[j]; segment 0
// is exact (it started in the caller's state) and is in state s0. Segments
// j > 0 started in the root state, so until their state catches up they may
// lack states (and outputs) of trie strings that began in an earlier
// segment. If hit < k, segment hit reached an output state at its last
// consumed byte (states[hit] is complemented) and no segment before it did;
// otherwise no segment reached an output state.
//
// settle continues one exact walk from the end of segment 0's consumed part.
// When the exact walk, at position p inside segment j's consumed part, is in
// a state whose depth is at most p-starts[j], its trie string lies within
// segment j, so segment j's walk was in the same state there (a DFA state is
// the longest suffix of the input read so far that is a trie string). From
// then on segment j's walk was exact, so the exact walk jumps to its end.
// Otherwise the exact walk covers segment j byte by byte. An output state
// seen by a non-exact walk is a real occurrence, but the exact state at that
// byte may have more outputs (longer patterns starting in an earlier
// segment), so it is reported only after such a hand-over.
func (m *Matcher) settle(text []byte, s0 int, starts, states [4]int, k, cnt, hit int) (int, int) {
	trans := m.trans
	cls := &m.class
	depth := m.stride - 1
	s, p := s0, cnt
	for j := 1; ; {
		if j < k && p >= starts[j] {
			end := starts[j] + cnt
			if p <= end && int(trans[s+depth]) <= p-starts[j] {
				if j == hit {
					return end - 1, ^states[j]
				}
				s, p = states[j], end
				j++
				continue
			}
			if p >= end {
				j++
				continue
			}
		}
		if p >= len(text) {
			return -1, -1
		}
		s = int(trans[s+int(cls[text[p]])])
		if s < 0 {
			return p, ^s
		}
		p++
	}
}

// emit offers every pattern ending at state st to accept, in ascending index
// order, and returns the first accepted index or -1.
func (m *Matcher) emit(st int, accept func(pattern int) bool) int {
	first := int32(st)
	if m.ownOff[st] == m.ownOff[st+1] {
		first = m.dict[st]
	}
	if m.dict[first] < 0 {
		// Common case: a single end state (one pattern or duplicates).
		for _, p := range m.ownIdx[m.ownOff[first]:m.ownOff[first+1]] {
			if accept(int(p)) {
				return int(p)
			}
		}
		return -1
	}
	// Several patterns of different lengths end here: each chain node's own
	// list is sorted, so repeatedly select the smallest index above the last
	// one offered. Chains are short (at most the number of distinct lengths
	// among patterns that are suffixes of one another).
	last := int32(-1)
	for {
		best := int32(math.MaxInt32)
		for n := first; n >= 0; n = m.dict[n] {
			for _, p := range m.ownIdx[m.ownOff[n]:m.ownOff[n+1]] {
				if p > last {
					best = min(best, p)
					break
				}
			}
		}
		if best == math.MaxInt32 {
			return -1
		}
		if accept(int(best)) {
			return int(best)
		}
		last = best
	}
}

// BuildFold is Build for ASCII case-insensitive matching: patterns are
// lower-cased (ASCII letters only) and the upper-case letters A-Z share the
// byte classes of a-z, so a text matches without being lower-cased first.
// Other bytes, including non-ASCII ones, are matched as they are.
func BuildFold(patterns []string) (*Matcher, error) {
	lower := make([]string, len(patterns))
	for i, p := range patterns {
		lower[i] = toLowerASCII(p)
	}
	m, err := build("BuildFold", lower)
	if err != nil {
		return nil, err
	}
	for b := 'A'; b <= 'Z'; b++ {
		m.class[b] = m.class[b+('a'-'A')]
	}
	return m, nil
}

func toLowerASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + ('a' - 'A')
		}
	}
	return string(b)
}
