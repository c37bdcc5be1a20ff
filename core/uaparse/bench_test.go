package uaparse_test

import (
	"strings"
	"testing"

	"github.com/wardenkit/warden/core/uaparse"
)

var sink uaparse.UserAgent

func BenchmarkParse(b *testing.B) {
	for _, bc := range []struct{ name, ua string }{
		{"chrome_windows", cases[0].ua},
		{"safari_iphone", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Mobile/15E148 Safari/604.1"},
		{"googlebot", "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"},
		{"8kib_padding", big},
		// Worst case: every position starts a near-match of the longest
		// needles of a shared first letter.
		{"8kib_near_misses", strings.Repeat("macintosmobilsafar", 8192/18)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(bc.ua)))
			for b.Loop() {
				sink = uaparse.Parse(bc.ua)
			}
		})
	}
}
