package uamatch

import (
	"fmt"
	"regexp"
	"regexp/syntax"
	"unicode"
	"unicode/utf8"

	"github.com/wardenkit/warden/internal/textutil"
)

// MaxRegexInsts bounds the compiled size of one regex pattern. RE2 matching
// is linear in the text, but its constant is the program's size: a pattern
// such as `[a-z]{0,999}` repeated ten times compiles to tens of thousands of
// instructions and costs a second per request. The bound is static, so every
// replica accepts and refuses the same patterns.
const MaxRegexInsts = 2000

// maxLiterals bounds the prefilter literals of one regex.
const maxLiterals = 16

// CheckRegex compiles a User-Agent regex (case-insensitive) and refuses it
// when it is invalid or compiles to more than MaxRegexInsts instructions.
func CheckRegex(pattern string) (*regexp.Regexp, error) {
	re, err := syntax.Parse(pattern, syntax.Perl|syntax.FoldCase)
	if err != nil {
		return nil, fmt.Errorf("bad regular expression: %w", err)
	}
	prog, err := syntax.Compile(re.Simplify())
	if err != nil {
		return nil, fmt.Errorf("bad regular expression: %w", err)
	}
	if n := len(prog.Inst); n > MaxRegexInsts {
		return nil, fmt.Errorf("regular expression too costly: %d compiled instructions, at most %d (use fewer or smaller repetitions)", n, MaxRegexInsts)
	}
	return regexp.Compile("(?i)" + pattern)
}

// lowerRegex rewrites the case-insensitive pattern into a case-sensitive
// regex that matches an ASCII-lower-cased ASCII text exactly when the
// original matches the text itself: literal letters are lower-cased and lose
// their fold flag (character classes were already widened by the parser).
// anchored is the same regex anchored at the start of its text, and sim its
// program for the anchored simulation (nfa). All are nil
// when a literal holds a non-ASCII letter, whose folding the rewrite cannot
// keep.
func lowerRegex(pattern string) (fast, anchored *regexp.Regexp, sim *nfa) {
	re, err := syntax.Parse(pattern, syntax.Perl|syntax.FoldCase)
	if err != nil || !unfold(re) {
		return nil, nil, nil
	}
	src := re.String()
	if fast, err = regexp.Compile(src); err != nil {
		return nil, nil, nil
	}
	if anchored, err = regexp.Compile(`^(?:` + src + `)`); err != nil {
		return nil, nil, nil
	}
	return fast, anchored, newNFA(re)
}

func unfold(re *syntax.Regexp) bool {
	if re.Op == syntax.OpLiteral && re.Flags&syntax.FoldCase != 0 {
		for i, r := range re.Rune {
			switch {
			case r >= 'A' && r <= 'Z':
				re.Rune[i] = r + 'a' - 'A'
			case r >= utf8.RuneSelf && unicode.SimpleFold(r) != r:
				return false
			}
		}
		re.Flags &^= syntax.FoldCase
	}
	for _, sub := range re.Sub {
		if !unfold(sub) {
			return false
		}
	}
	return true
}

// requiredLiterals returns lower-cased ASCII strings of at least two bytes
// such that every match of the case-insensitive regex src contains one of
// them, or nil when it cannot find such a set. prefix reports that every
// match starts with one of them and that the regex looks at nothing before
// its match (no ^, \A or word boundary), so it can be run anchored at an
// occurrence.
func requiredLiterals(src string) (set []string, prefix bool) {
	re, err := syntax.Parse(src, syntax.Perl|syntax.FoldCase)
	if err != nil {
		return nil, false
	}
	re = re.Simplify()
	if set = prefixLiterals(re); set != nil && !looksBehind(re) && usable(set) {
		prefix = true
	} else {
		set = literals(re)
	}
	if !usable(set) {
		return nil, false
	}
	for i, l := range set {
		set[i] = string(LowerASCII(nil, l))
	}
	return set, prefix
}

// usable reports whether every member of set is ASCII of at least two bytes.
func usable(set []string) bool {
	for _, l := range set {
		if len(l) < 2 || !textutil.IsASCII(l) {
			return false
		}
	}
	return len(set) > 0
}

// prefixLiterals returns a set of strings one of which every match of re
// starts with, or nil.
func prefixLiterals(re *syntax.Regexp) []string {
	switch re.Op {
	case syntax.OpLiteral:
		return []string{string(re.Rune)}
	case syntax.OpCapture, syntax.OpPlus:
		return prefixLiterals(re.Sub[0])
	case syntax.OpRepeat:
		if re.Min >= 1 {
			return prefixLiterals(re.Sub[0])
		}
	case syntax.OpConcat:
		if len(re.Sub) > 0 {
			return prefixLiterals(re.Sub[0])
		}
	case syntax.OpAlternate:
		var all []string
		for _, sub := range re.Sub {
			s := prefixLiterals(sub)
			if s == nil || len(all)+len(s) > maxLiterals {
				return nil
			}
			all = append(all, s...)
		}
		return all
	}
	return nil
}

// looksBehind reports whether re holds an assertion that depends on the
// text before the match position.
func looksBehind(re *syntax.Regexp) bool {
	switch re.Op {
	case syntax.OpBeginLine, syntax.OpBeginText, syntax.OpWordBoundary, syntax.OpNoWordBoundary:
		return true
	}
	for _, sub := range re.Sub {
		if looksBehind(sub) {
			return true
		}
	}
	return false
}

// literals returns a set of strings, one of which every match of re
// contains, or nil. Better sets have longer shortest members.
func literals(re *syntax.Regexp) []string {
	switch re.Op {
	case syntax.OpLiteral:
		return []string{string(re.Rune)}
	case syntax.OpCapture, syntax.OpPlus:
		return literals(re.Sub[0])
	case syntax.OpRepeat:
		if re.Min >= 1 {
			return literals(re.Sub[0])
		}
	case syntax.OpConcat:
		return concatLiterals(re.Sub)
	case syntax.OpAlternate:
		var all []string
		for _, sub := range re.Sub {
			s := literals(sub)
			if s == nil || len(all)+len(s) > maxLiterals {
				return nil
			}
			all = append(all, s...)
		}
		return all
	}
	return nil
}

// concatLiterals picks the best set among the parts of a concatenation,
// joining runs of adjacent literals into one.
func concatLiterals(subs []*syntax.Regexp) []string {
	var best []string
	run := ""
	consider := func(s []string) {
		if score(s) > score(best) {
			best = s
		}
	}
	for _, sub := range subs {
		if sub.Op == syntax.OpLiteral {
			run += string(sub.Rune)
			consider([]string{run})
			continue
		}
		run = ""
		consider(literals(sub))
	}
	return best
}

// score is the length of the shortest member, 0 for no set.
func score(s []string) int {
	if len(s) == 0 {
		return 0
	}
	m := len(s[0])
	for _, x := range s[1:] {
		m = min(m, len(x))
	}
	return m
}
