package core_test

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/wardenkit/warden/core"
)

func FuzzNormalizeUsername(f *testing.F) {
	for _, s := range []string{"", " Alice ", "a\x00b", "\xff\xfe", strings.Repeat("İ", 200), "ÉLODIE", " \u2028x\u00a0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n := core.NormalizeUsername(s)
		if !utf8.ValidString(n) {
			t.Fatalf("invalid UTF-8: %q", n)
		}
		if c := utf8.RuneCountInString(n); c > core.MaxUsernameLen {
			t.Fatalf("%d runes", c)
		}
		if strings.ContainsFunc(n, unicode.IsControl) {
			t.Fatalf("control character in %q", n)
		}
		if n != strings.TrimSpace(n) {
			t.Fatalf("not trimmed: %q", n)
		}
		if core.NormalizeUsername(n) != n {
			t.Fatalf("not idempotent: %q -> %q", n, core.NormalizeUsername(n))
		}
	})
}
