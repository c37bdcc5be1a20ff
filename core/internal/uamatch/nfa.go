package uamatch

import (
	"regexp/syntax"
	"sync"
)

// nfa decides cheaply whether a regex matches at one place: a Thompson
// simulation of its program, anchored at an occurrence of one of its prefix
// literals, over an ASCII-lower-cased text, for at most nfaLimit bytes. Near
// misses (the literal followed by the wrong byte) die after a step or two,
// without the setup cost of a regexp call; the rare run that is still alive
// at the limit is handed to the regexp package.
type nfa struct {
	prog *syntax.Prog
}

// nfaLimit is how many bytes after its start the simulation reads before it
// gives up and lets the regexp package decide.
const nfaLimit = 256

// Results of nfa.run.
const (
	nfaNoMatch = iota
	nfaMatch
	nfaUndecided
)

// newNFA compiles the lower-cased, unfolded pattern tree re.
func newNFA(re *syntax.Regexp) *nfa {
	prog, err := syntax.Compile(re.Simplify())
	if err != nil || len(prog.Inst) > MaxRegexInsts {
		return nil
	}
	return &nfa{prog: prog}
}

// sparse is a set of instruction indexes with O(1) insert, test and clear.
type sparse struct {
	dense, sparse []uint32
}

func (s *sparse) has(pc uint32) bool {
	i := s.sparse[pc]
	return int(i) < len(s.dense) && s.dense[i] == pc
}

func (s *sparse) insert(pc uint32) {
	s.sparse[pc] = uint32(len(s.dense))
	s.dense = append(s.dense, pc)
}

type nfaScratch struct{ cur, next sparse }

var nfaPool = sync.Pool{New: func() any { return new(nfaScratch) }}

func (sc *nfaScratch) size(n int) {
	for _, s := range []*sparse{&sc.cur, &sc.next} {
		if len(s.sparse) < n {
			s.sparse = make([]uint32, n)
			s.dense = make([]uint32, 0, n)
		}
		s.dense = s.dense[:0]
	}
}

// run reports whether the regex matches text at its start.
func (n *nfa) run(text []byte) int {
	sc := nfaPool.Get().(*nfaScratch)
	defer nfaPool.Put(sc)
	sc.size(len(n.prog.Inst))
	cur, next := &sc.cur, &sc.next
	if n.add(cur, uint32(n.prog.Start), text, 0, nil) {
		return nfaMatch
	}
	for pos := 0; pos < len(text) && len(cur.dense) > 0; pos++ {
		if pos == nfaLimit {
			return nfaUndecided
		}
		r := rune(text[pos])
		next.dense = next.dense[:0]
		for _, pc := range cur.dense {
			if n.consumes(&n.prog.Inst[pc], r) && n.add(next, n.prog.Inst[pc].Out, text, pos+1, nil) {
				return nfaMatch
			}
		}
		cur, next = next, cur
	}
	return nfaNoMatch
}

func (n *nfa) consumes(i *syntax.Inst, r rune) bool {
	switch i.Op {
	case syntax.InstRune:
		return i.MatchRune(r)
	case syntax.InstRune1:
		return r == i.Rune[0]
	case syntax.InstRuneAny:
		return true
	case syntax.InstRuneAnyNotNL:
		return r != '\n'
	}
	return false
}

// add puts pc and the instructions reachable from it without reading a byte
// into q, and reports whether a match instruction is among them. With f set
// (the follow computation), an assertion at the text's end, whose outcome
// depends on the unknown next byte, sets f.any instead.
func (n *nfa) add(q *sparse, pc uint32, text []byte, pos int, f *follow) bool {
	if f != nil && pos == len(text) && n.prog.Inst[pc].Op == syntax.InstEmptyWidth {
		f.any = true
		return false
	}
	if q.has(pc) {
		return false
	}
	q.insert(pc)
	i := &n.prog.Inst[pc]
	switch i.Op {
	case syntax.InstMatch:
		return true
	case syntax.InstAlt, syntax.InstAltMatch:
		return n.add(q, i.Out, text, pos, f) || n.add(q, i.Arg, text, pos, f)
	case syntax.InstNop, syntax.InstCapture:
		return n.add(q, i.Out, text, pos, f)
	case syntax.InstEmptyWidth:
		before, after := rune(-1), rune(-1)
		if pos > 0 {
			before = rune(text[pos-1])
		}
		if pos < len(text) {
			after = rune(text[pos])
		}
		if syntax.EmptyOp(i.Arg)&^syntax.EmptyOpContext(before, after) == 0 {
			return n.add(q, i.Out, text, pos, f)
		}
	}
	return false
}

// follow is what may come after one literal of a regex that every match
// starts with: the bytes a match can continue with, or any when the
// simulation cannot tell (a match already possible, or an assertion that
// looks at the next byte).
type follow struct {
	any  bool
	next [128]bool // ASCII: the text is ASCII when the filter is used
}

// after simulates the program over lit from its start and returns the
// follow set at lit's end.
func (n *nfa) after(lit string) *follow {
	f := &follow{}
	sc := &nfaScratch{}
	sc.size(len(n.prog.Inst))
	cur, next := &sc.cur, &sc.next
	text := []byte(lit)
	if n.add(cur, uint32(n.prog.Start), text, 0, f) {
		f.any = true
		return f
	}
	for pos := 0; pos < len(text); pos++ {
		next.dense = next.dense[:0]
		for _, pc := range cur.dense {
			// At the literal's end the next byte is unknown: an assertion
			// there makes the filter give up.
			if n.consumes(&n.prog.Inst[pc], rune(text[pos])) && n.add(next, n.prog.Inst[pc].Out, text, pos+1, f) {
				f.any = true
				return f
			}
		}
		cur, next = next, cur
		if f.any {
			return f
		}
	}
	for _, pc := range cur.dense {
		for b := range f.next {
			if n.consumes(&n.prog.Inst[pc], rune(b)) {
				f.next[b] = true
			}
		}
	}
	return f
}

// allowsAt reports whether a match may continue at ua[end:], reading the
// one byte there (ASCII-lower-cased); a non-ASCII byte is allowed, since the
// filter only knows ASCII.
func (f *follow) allowsAt(ua string, end int) bool {
	if f.any {
		return true
	}
	if end >= len(ua) {
		return false
	}
	c := ua[end]
	if c >= 0x80 {
		return true
	}
	if c >= 'A' && c <= 'Z' {
		c += 'a' - 'A'
	}
	return f.next[c]
}
