// Package uamatch compiles User-Agent patterns into one matcher. Exact
// patterns go in a map; contains patterns, and the literals that every match
// of each regex must contain, go in one case-folding Aho-Corasick automaton
// (core/internal/acmatch), so a User-Agent that matches nothing costs one
// pass over its bytes. A regex runs only when one of its literals was seen,
// or on every call when it has none.
//
// Matching is case-insensitive. ASCII patterns are folded byte by byte on
// the fast path; patterns with non-ASCII letters are matched against the
// User-Agent folded with Unicode simple case folding, which costs one
// allocation per call and is done only when such a pattern exists. Regexes
// fold case themselves ((?i)). Every kind sees the whole value it is given.
//
// A Set remembers the answer for each User-Agent it has matched, in a small
// pointer-free cache keyed by a seeded hash (verdicts.go): traffic repeats a
// few thousand values, and a repeated one costs a hash instead of a pass.
//
// A Set's patterns are immutable after Build and it is safe for concurrent
// use; a Builder is not.
package uamatch

import (
	"hash/maphash"
	"regexp"
	"slices"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
	"unsafe"

	"github.com/wardenkit/warden/core/internal/acmatch"
	"github.com/wardenkit/warden/internal/textutil"
)

// Set is one compiled group of patterns.
type Set struct {
	exact     map[string]int64 // ASCII-lower-cased pattern -> rule ID
	ac        *acmatch.Matcher // contains patterns, then regex literals
	cIDs      []int64          // rule ID per contains pattern
	litRegex  [][]int          // regexes per literal (AC index - len(cIDs))
	lits      []string         // the literal of each AC index past the contains patterns
	follows   [][]*follow      // per literal, per regex of litRegex: what may follow it
	res       []*regexp.Regexp // (?i), for User-Agents with non-ASCII bytes
	fast      []*regexp.Regexp // case-sensitive over the ASCII-lower-cased text; nil: use res
	anchored  []*regexp.Regexp // fast, anchored, for regexes whose every match starts with a literal
	sims      []*nfa           // anchored's program, simulated first
	reIDs     []int64
	always    *regexp.Regexp // alternation of the regexes with no literal
	alwaysIdx []int

	// Patterns with non-ASCII letters, Unicode-folded (Fold).
	uniExact map[string]int64
	uniAC    *acmatch.Matcher
	uniIDs   []int64

	verdicts *verdictCache // answers by value (verdicts.go); nil in an empty Set
}

// Empty reports whether the set holds no pattern.
func (u *Set) Empty() bool {
	return u == nil || (len(u.exact) == 0 && len(u.cIDs) == 0 && len(u.reIDs) == 0 &&
		len(u.uniExact) == 0 && len(u.uniIDs) == 0)
}

// Match returns the ID of a pattern that matches ua, 0 if none.
func (u *Set) Match(ua string) int64 {
	if u.Empty() {
		return 0
	}
	h := maphash.String(u.verdicts.seed, ua)
	if id, ok := u.verdicts.get(h); ok {
		return id
	}
	id := u.match(ua)
	u.verdicts.put(h, id)
	return id
}

// match is Match without the cache.
func (u *Set) match(ua string) int64 {
	t := text{ua: ua}
	defer t.release()
	if len(u.exact) > 0 {
		if id, ok := u.exact[string(t.lowered())]; ok {
			return id
		}
	}
	if id := u.matchUnicode(ua); id != 0 {
		return id
	}
	if found := u.scan(&t); found != 0 || u.always == nil || !u.always.MatchString(ua) {
		return found
	}
	for _, ri := range u.alwaysIdx {
		if u.regexMatch(ri, &t) {
			return u.reIDs[ri]
		}
	}
	return 0
}

// text is the User-Agent being matched, lower-cased only when a pattern
// needs it (an exact pattern, or a regex whose literal occurred).
type text struct {
	ua    string
	buf   *[]byte
	lower []byte
	ascii bool
}

func (t *text) lowered() []byte {
	if t.buf == nil {
		t.buf = bufPool.Get().(*[]byte)
		t.lower, t.ascii = lowerCheck((*t.buf)[:0], t.ua)
		*t.buf = t.lower
	}
	return t.lower
}

func (t *text) release() {
	if t.buf != nil {
		bufPool.Put(t.buf)
	}
}

// maxAnchoredTries is how many occurrences of its literals an anchored regex
// is tried at before it runs once over the whole text instead, so a text
// made of one literal repeated costs a bounded number of regex runs.
const maxAnchoredTries = 8

// scan runs the automaton; contains patterns match outright, and a regex
// runs when one of its literals occurs: anchored at the occurrence when
// every match starts with a literal, else once over the whole text.
func (u *Set) scan(t *text) int64 {
	var tries [64]uint8 // per regex: anchored tries so far; 255 = ran on the whole text
	var found int64
	// The automaton folds ASCII case itself; it only reads the bytes.
	u.ac.ScanAt(unsafe.Slice(unsafe.StringData(t.ua), len(t.ua)), func(p, end int) bool {
		if p < len(u.cIDs) {
			found = u.cIDs[p]
			return true
		}
		j := p - len(u.cIDs)
		for k, ri := range u.litRegex[j] {
			if ri < len(tries) && tries[ri] == 255 {
				continue // already ran on the whole text and did not match
			}
			if f := u.follows[j][k]; f != nil && !f.allowsAt(t.ua, end) {
				continue // the byte after the literal cannot continue a match here
			}
			var hit bool
			if a := u.anchored[ri]; a != nil && u.sims[ri] != nil && ri < len(tries) && tries[ri] < maxAnchoredTries && t.isASCII() {
				tries[ri]++
				at := t.lower[end-len(u.lits[j]):]
				switch u.sims[ri].run(at) {
				case nfaMatch:
					hit = true
				case nfaUndecided:
					hit = a.Match(at)
				}
			} else {
				hit = u.regexMatch(ri, t)
				if ri < len(tries) {
					tries[ri] = 255
				}
			}
			if hit {
				found = u.reIDs[ri]
				return true
			}
		}
		return false
	})
	return found
}

// regexMatch runs regex ri: case-sensitively over the lower-cased text when
// the User-Agent is ASCII and the regex could be rewritten (Go's regexp then
// skips to its literal prefix), else with (?i) over the original.
func (u *Set) regexMatch(ri int, t *text) bool {
	if f := u.fast[ri]; f != nil && t.isASCII() {
		return f.Match(t.lower)
	}
	return u.res[ri].MatchString(t.ua)
}

// isASCII lowers the text if it was not yet, and reports whether it is ASCII.
func (t *text) isASCII() bool {
	t.lowered()
	return t.ascii
}

func (u *Set) matchUnicode(ua string) int64 {
	if len(u.uniExact) == 0 && len(u.uniIDs) == 0 {
		return 0
	}
	f := Fold(ua)
	if id, ok := u.uniExact[f]; ok {
		return id
	}
	if u.uniAC != nil {
		if p := u.uniAC.FirstMatch([]byte(f)); p >= 0 {
			return u.uniIDs[p]
		}
	}
	return 0
}

// Builder collects patterns for one Set.
type Builder struct {
	exact, uniExact     map[string]int64
	patterns, uniPat    []string
	cIDs, uniIDs        []int64
	reSrc               []string
	res, fast, anchored []*regexp.Regexp
	sims                []*nfa
	reIDs               []int64
}

// Exact adds a pattern that must equal the whole User-Agent. The first ID
// given for a pattern wins.
func (b *Builder) Exact(pattern string, id int64) {
	m, k := &b.exact, string(LowerASCII(nil, pattern))
	if !textutil.IsASCII(pattern) {
		m, k = &b.uniExact, Fold(pattern)
	}
	if *m == nil {
		*m = map[string]int64{}
	}
	if _, dup := (*m)[k]; !dup {
		(*m)[k] = id
	}
}

// Contains adds a substring pattern.
func (b *Builder) Contains(pattern string, id int64) {
	if !textutil.IsASCII(pattern) {
		b.uniPat = append(b.uniPat, Fold(pattern))
		b.uniIDs = append(b.uniIDs, id)
		return
	}
	b.patterns = append(b.patterns, pattern) // BuildFold folds case
	b.cIDs = append(b.cIDs, id)
}

// Regex adds an RE2 pattern, matched case-insensitively and unanchored. It
// refuses a pattern that does not compile or costs more than MaxRegexInsts
// (see CheckRegex).
func (b *Builder) Regex(pattern string, id int64) error {
	re, err := CheckRegex(pattern)
	if err != nil {
		return err
	}
	b.reSrc = append(b.reSrc, pattern)
	b.res = append(b.res, re)
	fast, anchored, sim := lowerRegex(pattern)
	b.fast = append(b.fast, fast)
	b.anchored = append(b.anchored, anchored)
	b.sims = append(b.sims, sim)
	b.reIDs = append(b.reIDs, id)
	return nil
}

// Regexes reports how many regex patterns were added.
func (b *Builder) Regexes() int { return len(b.reSrc) }

// Build compiles the patterns.
func (b *Builder) Build() (*Set, error) {
	s := &Set{exact: b.exact, cIDs: b.cIDs, res: b.res, fast: b.fast, anchored: slices.Clone(b.anchored), sims: b.sims, reIDs: b.reIDs,
		uniExact: b.uniExact, uniIDs: b.uniIDs, verdicts: newVerdictCache()}
	patterns := b.patterns
	litIndex := map[string]int{}
	var always []string
	for i, src := range b.reSrc {
		lits, prefix := requiredLiterals(src)
		if !prefix {
			s.anchored[i] = nil
		}
		if len(lits) == 0 {
			always = append(always, src)
			s.alwaysIdx = append(s.alwaysIdx, i)
			continue
		}
		for _, lit := range lits {
			j, ok := litIndex[lit]
			if !ok {
				j = len(s.litRegex)
				litIndex[lit] = j
				s.litRegex = append(s.litRegex, nil)
				s.lits = append(s.lits, lit)
				patterns = append(patterns, lit)
			}
			s.litRegex[j] = append(s.litRegex[j], i)
		}
	}
	s.follows = make([][]*follow, len(s.litRegex))
	for j, ris := range s.litRegex {
		s.follows[j] = make([]*follow, len(ris))
		for k, ri := range ris {
			if s.anchored[ri] != nil && b.sims[ri] != nil {
				s.follows[j][k] = b.sims[ri].after(s.lits[j])
			}
		}
	}
	m, err := acmatch.BuildFold(patterns)
	if err != nil {
		return nil, err
	}
	s.ac = m
	if len(b.uniPat) > 0 {
		if s.uniAC, err = acmatch.Build(b.uniPat); err != nil {
			return nil, err
		}
	}
	if len(always) > 0 {
		s.always, err = regexp.Compile("(?i)(?:" + strings.Join(always, ")|(?:") + ")")
		if err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Fold maps s to its Unicode simple case folding: every rune becomes the
// smallest rune of its case orbit (so "Ä", "ä" and "ä" written in other cases
// agree, and the Kelvin sign meets "k"). Invalid UTF-8 bytes become U+FFFD.
func Fold(s string) string {
	return strings.Map(foldRune, s)
}

func foldRune(r rune) rune {
	m := r
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		m = min(m, f)
	}
	return m
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// lowerCheck is LowerASCII that also reports whether src is all ASCII.
func lowerCheck(dst []byte, src string) ([]byte, bool) {
	var hi byte
	for i := 0; i < len(src); i++ {
		c := src[i]
		hi |= c
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst, hi < utf8.RuneSelf
}

// LowerASCII writes the ASCII-lower-cased src into dst[:0] and returns it.
// Non-ASCII bytes are copied unchanged; patterns are lower-cased the same
// way, so both sides always agree.
func LowerASCII(dst []byte, src string) []byte {
	dst = dst[:0]
	for i := 0; i < len(src); i++ {
		c := src[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}
