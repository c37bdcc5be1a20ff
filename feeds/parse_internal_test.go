package feeds

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/wardenkit/warden/core/rule"
)

func TestSplitList(t *testing.T) {
	cases := []struct {
		name    string
		body    string
		ctype   string
		want    []string // item texts
		bad     int
		wantErr bool
	}{
		{"plain", "a.example\nb.example\n", "", []string{"a.example", "b.example"}, 0, false},
		{"crlf_bom_spaces", "\xef\xbb\xbf  a.example \r\n\tb.example\r\n", "", []string{"a.example", "b.example"}, 0, false},
		{"comments", "# header\na.example # trailing\nb.example#not-a-comment\n  # indented\n", "", []string{"a.example", "b.example#not-a-comment"}, 0, false},
		{"no_final_newline", "a.example", "", []string{"a.example"}, 0, false},
		{"huge_line", "a.example\n" + strings.Repeat("y", MaxLineBytes+1) + "\nb.example", "", []string{"a.example", "b.example"}, 1, false},
		{"control_chars", "a.example\nb\x00.example\nc\x1b[31m.example\n\xc3\x28.example\n", "", []string{"a.example"}, 3, false},
		{"json_strings", `[" a.example ", "b.example"]`, "application/json", []string{"a.example", "b.example"}, 0, false},
		{"json_crawler_objects", `[{"pattern": "Bot\\/", "instances": []}, {"url": "x"}, 3, ""]`, "", []string{`Bot\/`}, 3, false},
		{"json_invalid", `["a.example",`, "", nil, 0, true},
		{"json_object", `{"domains": []}`, "", nil, 0, true},
		{"html", "<!doctype html><p>hi", "", nil, 0, true},
		{"html_content_type", "a.example\n", "text/html; charset=utf-8", nil, 0, true},
		{"xml", "<?xml version=\"1.0\"?><list/>", "", nil, 0, true},
		{"empty", " \n\t\n", "", nil, 0, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			items, bad, err := splitList([]byte(c.body), c.ctype)
			if c.wantErr {
				if !errors.Is(err, ErrNotList) {
					t.Fatalf("err = %v, want ErrNotList", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, it := range items {
				got = append(got, it.text)
			}
			if strings.Join(got, "|") != strings.Join(c.want, "|") || len(bad) != c.bad {
				t.Fatalf("items %q, %d bad %+v; want %q, %d bad", got, len(bad), bad, c.want, c.bad)
			}
		})
	}
}

func TestGuards(t *testing.T) {
	dg := domainGuard{protected: DefaultProtectedDomains()}
	for d, bad := range map[string]bool{
		"co.uk": true, "github.io": true, "pp.ua": true, "gmail.com": true, "mail.ru": true,
		"yahoo.com": true, "10minutemail.com": false, "add3000.pp.ua": false, "mail.gmail.com": false,
	} {
		if got := dg.problem(d) != ""; got != bad {
			t.Errorf("domain %s rejected = %v, want %v", d, got, bad)
		}
	}
	ug := uaGuard{protected: DefaultProtectedUserAgents()}
	for _, c := range []struct {
		p    string
		m    rule.UAMatch
		want bool
	}{
		{"Mozilla", rule.UAContains, true}, {"bot", rule.UAContains, true}, {"a", rule.UAContains, true},
		{"CURL/", rule.UAContains, true}, {"kube-probe", rule.UAContains, true},
		{".*", rule.UARegex, true}, {"^$|x?", rule.UARegex, true}, {"[Gg]ooglebot", rule.UARegex, true},
		{"curl/8.8.0", rule.UAExact, true}, {"curl", rule.UAExact, false},
		{"AhrefsBot", rule.UAContains, false}, {"GPTBot", rule.UAContains, false}, {`^sqlmap/\d`, rule.UARegex, false},
	} {
		if got := ug.problem(rule.BlockedUserAgent{Pattern: c.p, Match: c.m}) != ""; got != c.want {
			t.Errorf("pattern %q (%s) rejected = %v, want %v", c.p, c.m, got, c.want)
		}
	}
	for _, b := range BuiltinBots() {
		if p := ug.problem(b); p != "" {
			t.Errorf("built-in %q rejected: %s", b.Pattern, p)
		}
	}
}

func TestStorableValidators(t *testing.T) {
	v := storable(Validators{ETag: `"` + strings.Repeat("a", 2000) + `"`, LastModified: "Mon, 02 Jan 2006 15:04:05 GMT"})
	if v.ETag != "" || v.LastModified == "" {
		t.Fatalf("storable = %+v; want the over-long ETag dropped, the date kept", v)
	}
	if v := storable(Validators{ETag: "\"a\r\nSet-Cookie: x\""}); v.ETag != "" {
		t.Fatalf("an ETag with a line break was kept: %q", v.ETag)
	}
}

// FuzzSplitList: any body gives items of clean text within the limits, or
// is refused as a whole; it never panics.
func FuzzSplitList(f *testing.F) {
	for _, s := range []string{"a.example\n", "[\"a\", {\"pattern\": \"b\"}]", "<html>", "\xff\x00\n#x\n", `[1, null, ""]`} {
		f.Add([]byte(s), "text/plain")
	}
	f.Fuzz(func(t *testing.T, body []byte, ctype string) {
		items, bad, err := splitList(body, ctype)
		if err != nil {
			if !errors.Is(err, ErrNotList) {
				t.Fatalf("error %v does not wrap ErrNotList", err)
			}
			return
		}
		for _, it := range items {
			if it.text == "" || len(it.text) > MaxLineBytes || !utf8.ValidString(it.text) {
				t.Fatalf("item %q", it.text)
			}
		}
		for _, b := range bad {
			if len(b.Text) > 80 || !utf8.ValidString(b.Text) || strings.ContainsRune(b.Text, 0) || b.Line < 1 {
				t.Fatalf("bad line %+v", b)
			}
		}
	})
}
