// Package acmatch is a multi-pattern "contains" matcher for hot request paths
// such as User-Agent blocking: it finds which of up to several thousand byte
// patterns occur in a text, in one pass, without allocating.
//
// # Design
//
// Build compiles the patterns into an Aho-Corasick automaton and then into a
// dense DFA over a compressed byte alphabet:
//
//   - every byte that occurs in some pattern gets its own class (1..k); all
//     bytes that occur in no pattern share class 0 (if all 256 byte values
//     occur, the class of a byte is the byte itself);
//   - the transition table is one flat []int32 with a row per state and a
//     column per class (plus one column holding the state's depth); entries
//     are target row offsets, so scanning costs one table load and one add
//     per input byte, with no failure-link chasing;
//   - each state records the smallest pattern index that ends there,
//     including patterns reached through dictionary (output) suffix links,
//     or -1; a transition into such a state is stored complemented
//     (negative), so the scan loop detects matches with a sign test;
//   - states are numbered breadth-first, so the hot shallow rows are
//     contiguous.
//
// A single DFA walk is a chain of dependent loads and runs at the load
// latency of the CPU. Texts of 32 bytes or more are therefore cut into 2 or 4
// segments that are walked in one interleaved loop; later segments start in
// the root state and are reconciled exactly afterwards (a later segment's
// walk is handed over to as soon as the exact state's trie string lies within
// that segment, which is normally after a few bytes). Results are identical
// to a single walk (see the comments on find and settle).
//
// Patterns are matched byte for byte. The package does no case folding: a
// caller that wants case-insensitive matching lower-cases both the patterns
// and the text (as the User-Agent step does).
//
// # Semantics
//
// FirstMatch reports the pattern whose occurrence ends earliest in the text,
// breaking ties (several patterns ending at the same byte, including
// duplicates) by the smallest pattern index. Scan visits every occurrence in
// order of end position and, within one end position, in ascending pattern
// index, so Scan with an accept function that always returns true returns the
// same index as FirstMatch.
//
// A Matcher is immutable after Build and safe for concurrent use. Build with
// zero patterns returns a Matcher that never matches; FirstMatch and Scan on
// a nil *Matcher return -1 and Len returns 0.
//
// # Memory
//
// Let S be the number of automaton states (1 + the number of distinct
// non-empty pattern prefixes; at most 1 + the total length of the patterns),
// C the number of byte classes (distinct bytes used by the patterns + 1, at
// most 256) and N the number of patterns. A built Matcher retains
//
//	4·S·(C+1)  bytes  transition table (incl. the depth column)
//	+ 12·S     bytes  per state: smallest output, dictionary link, output offset
//	+ 4·N      bytes  pattern indices grouped by end state
//	+ ~400     bytes  byte-class map and header
//
// Build temporarily needs another 8·S + 8·N bytes. Measured: 500 patterns
// (bot names and random words of 6..18 bytes over [a-z0-9-_/.]) give
// S ≈ 5,600, C = 41 and 1.0 MB; 5,000 such patterns (~12 bytes each) give
// S ≈ 51,600 and 9.3 MB, built in about 20-40 ms. Real User-Agent block
// lists share more prefixes and are smaller. Build fails if S·(C+1) exceeds
// 2^31-1 entries.
package acmatch
