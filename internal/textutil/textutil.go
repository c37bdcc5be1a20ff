// Package textutil makes text safe to store: valid UTF-8, no NUL bytes, cut
// on rune boundaries. Every package of the module that stores text uses it.
package textutil

import (
	"strings"
	"unicode/utf8"
)

// Truncate cuts s to at most maxBytes bytes without splitting a rune.
func Truncate(s string, maxBytes int) string {
	if len(s) <= maxBytes {
		return s
	}
	if maxBytes <= 0 {
		return ""
	}
	cut := maxBytes
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}

// Clean makes s safe to store: invalid UTF-8 is replaced by U+FFFD, NUL bytes
// are removed, and the result is cut to at most maxRunes runes (maxRunes <= 0
// means no limit). It returns s unchanged, without allocating, when s is
// already clean and short enough.
func Clean(s string, maxRunes int) string {
	if maxRunes > 0 && len(s) <= maxRunes && utf8.ValidString(s) && strings.IndexByte(s, 0) < 0 {
		return s
	}
	if maxRunes <= 0 && utf8.ValidString(s) && strings.IndexByte(s, 0) < 0 {
		return s
	}
	var b strings.Builder
	n := 0
	for _, r := range s { // ranging yields U+FFFD for each invalid byte
		if r == 0 {
			continue
		}
		if maxRunes > 0 && n == maxRunes {
			break
		}
		b.WriteRune(r)
		n++
	}
	return b.String()
}

// IsASCII reports whether s holds only ASCII bytes.
func IsASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
