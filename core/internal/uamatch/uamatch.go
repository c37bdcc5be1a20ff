// Package uamatch compiles User-Agent patterns into one matcher: exact
// patterns in a map, contains patterns and one required literal of each
// regex in one case-folding Aho-Corasick automaton (core/internal/acmatch),
// so a User-Agent that matches nothing costs one pass over its bytes. A
// regex runs only when its literal was seen, or on every call when it has
// none. All matching is case-insensitive (ASCII folding).
//
// A Set is immutable after Build and safe for concurrent use; a Builder is
// not.
package uamatch

import (
	"regexp"
	"regexp/syntax"
	"strings"
	"sync"
	"unsafe"

	"github.com/wardenkit/warden/core/internal/acmatch"
)

// RegexWindow is how much of a User-Agent regex patterns see.
const RegexWindow = 1 << 10

// Set is one compiled group of patterns.
type Set struct {
	exact     map[string]int64 // lower-cased pattern -> rule ID
	ac        *acmatch.Matcher // contains patterns, then regex literals
	cIDs      []int64          // rule ID per contains pattern
	litRegex  [][]int          // regexes per literal (AC index - len(cIDs))
	res       []*regexp.Regexp
	reIDs     []int64
	always    *regexp.Regexp // alternation of the regexes with no literal
	alwaysIdx []int
}

// Empty reports whether the set holds no pattern.
func (u *Set) Empty() bool {
	return u == nil || (len(u.exact) == 0 && len(u.cIDs) == 0 && len(u.reIDs) == 0)
}

// Match returns the ID of a pattern that matches ua, 0 if none. Regexes see
// the first RegexWindow bytes.
func (u *Set) Match(ua string) int64 {
	if u.Empty() {
		return 0
	}
	if len(u.exact) > 0 {
		bp := bufPool.Get().(*[]byte)
		lower := LowerASCII(*bp, ua)
		id, ok := u.exact[string(lower)]
		*bp = lower
		bufPool.Put(bp)
		if ok {
			return id
		}
	}
	w := ua[:min(len(ua), RegexWindow)]
	var found int64
	// The automaton folds ASCII case itself; it only reads the bytes.
	u.ac.Scan(unsafe.Slice(unsafe.StringData(ua), len(ua)), func(p int) bool {
		if p < len(u.cIDs) {
			found = u.cIDs[p]
			return true
		}
		for _, ri := range u.litRegex[p-len(u.cIDs)] {
			if u.res[ri].MatchString(w) {
				found = u.reIDs[ri]
				return true
			}
		}
		return false
	})
	if found != 0 || u.always == nil || !u.always.MatchString(w) {
		return found
	}
	for _, ri := range u.alwaysIdx {
		if u.res[ri].MatchString(w) {
			return u.reIDs[ri]
		}
	}
	return 0
}

// Builder collects patterns for one Set.
type Builder struct {
	exact    map[string]int64
	patterns []string
	cIDs     []int64
	reSrc    []string
	res      []*regexp.Regexp
	reIDs    []int64
}

// Exact adds a pattern that must equal the whole User-Agent. The first ID
// given for a pattern wins.
func (b *Builder) Exact(pattern string, id int64) {
	if b.exact == nil {
		b.exact = map[string]int64{}
	}
	k := string(LowerASCII(nil, pattern))
	if _, dup := b.exact[k]; !dup {
		b.exact[k] = id
	}
}

// Contains adds a substring pattern.
func (b *Builder) Contains(pattern string, id int64) {
	b.patterns = append(b.patterns, pattern) // BuildFold folds case
	b.cIDs = append(b.cIDs, id)
}

// Regex adds an RE2 pattern, matched case-insensitively and unanchored.
func (b *Builder) Regex(pattern string, id int64) error {
	re, err := regexp.Compile("(?i)" + pattern)
	if err != nil {
		return err
	}
	b.reSrc = append(b.reSrc, pattern)
	b.res = append(b.res, re)
	b.reIDs = append(b.reIDs, id)
	return nil
}

// Regexes reports how many regex patterns were added.
func (b *Builder) Regexes() int { return len(b.reSrc) }

// Build compiles the patterns.
func (b *Builder) Build() (*Set, error) {
	s := &Set{exact: b.exact, cIDs: b.cIDs, res: b.res, reIDs: b.reIDs}
	patterns := b.patterns
	litIndex := map[string]int{}
	var always []string
	for i, src := range b.reSrc {
		lit := requiredLiteral(src)
		if lit == "" {
			always = append(always, src)
			s.alwaysIdx = append(s.alwaysIdx, i)
			continue
		}
		j, ok := litIndex[lit]
		if !ok {
			j = len(s.litRegex)
			litIndex[lit] = j
			s.litRegex = append(s.litRegex, nil)
			patterns = append(patterns, lit)
		}
		s.litRegex[j] = append(s.litRegex[j], i)
	}
	m, err := acmatch.BuildFold(patterns)
	if err != nil {
		return nil, err
	}
	s.ac = m
	if len(always) > 0 {
		s.always, err = regexp.Compile("(?i)(?:" + strings.Join(always, ")|(?:") + ")")
		if err != nil {
			return nil, err
		}
	}
	return s, nil
}

// requiredLiteral returns a lower-cased ASCII string of at least two bytes
// that every match of the case-insensitive regex src contains, or "" when it
// cannot find one.
func requiredLiteral(src string) string {
	re, err := syntax.Parse(src, syntax.Perl|syntax.FoldCase)
	if err != nil {
		return ""
	}
	lit := mustLiteral(re.Simplify())
	for i := 0; i < len(lit); i++ {
		if lit[i] >= 0x80 {
			return ""
		}
	}
	if len(lit) < 2 {
		return ""
	}
	return string(LowerASCII(nil, lit))
}

// mustLiteral returns the longest literal string every match of re contains.
func mustLiteral(re *syntax.Regexp) string {
	switch re.Op {
	case syntax.OpLiteral:
		return string(re.Rune)
	case syntax.OpCapture, syntax.OpPlus:
		return mustLiteral(re.Sub[0])
	case syntax.OpRepeat:
		if re.Min >= 1 {
			return mustLiteral(re.Sub[0])
		}
	case syntax.OpConcat:
		best, run := "", ""
		for _, sub := range re.Sub {
			if sub.Op == syntax.OpLiteral {
				run += string(sub.Rune)
				if len(run) > len(best) {
					best = run
				}
				continue
			}
			run = ""
			if l := mustLiteral(sub); len(l) > len(best) {
				best = l
			}
		}
		return best
	}
	return ""
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

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
