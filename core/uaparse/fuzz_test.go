package uaparse_test

import (
	"testing"

	"github.com/wardenkit/warden/core/uaparse"
)

var (
	devices  = map[string]bool{"mobile": true, "tablet": true, "desktop": true, "bot": true, "unknown": true}
	browsers = map[string]bool{"": true, "Edge": true, "Opera": true, "Samsung Internet": true, "Chrome": true, "Firefox": true, "Safari": true}
	systems  = map[string]bool{"": true, "iOS": true, "Android": true, "ChromeOS": true, "Windows": true, "macOS": true, "Linux": true}
)

// asciiSwapCase flips the case of ASCII letters and leaves every other byte.
func asciiSwapCase(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'a' <= c|0x20 && c|0x20 <= 'z' {
			b[i] = c ^ 0x20
		}
	}
	return string(b)
}

// FuzzParse checks Parse never panics, only returns the documented values,
// ignores ASCII case and keeps Family consistent.
func FuzzParse(f *testing.F) {
	for _, c := range cases {
		f.Add(c.ua)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u := uaparse.Parse(s)
		if !devices[u.Device] || !browsers[u.Browser] || !systems[u.OS] {
			t.Fatalf("Parse(%q) = %+v: value outside the documented sets", s, u)
		}
		if u.Device == "unknown" && (u.Browser != "" || u.OS != "") {
			t.Fatalf("Parse(%q) = %+v: unknown device with a browser or OS", s, u)
		}
		if u.Device == "desktop" && u.Browser == "" && u.OS == "" {
			t.Fatalf("Parse(%q) = %+v: desktop with nothing recognised", s, u)
		}
		if got := u.Family(); got != u.Browser+"/"+u.OS {
			t.Fatalf("Parse(%q).Family() = %q", s, got)
		}
		if v := uaparse.Parse(asciiSwapCase(s)); v != u {
			t.Fatalf("case changes the result: Parse(%q) = %+v, swapped %+v", s, u, v)
		}
	})
}
