package uamatch

import (
	"fmt"
	"math/rand/v2"
	"regexp"
	"slices"
	"strings"
	"testing"
)

func build(t testing.TB, add func(b *Builder)) *Set {
	t.Helper()
	var b Builder
	add(&b)
	s, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestMatch(t *testing.T) {
	s := build(t, func(b *Builder) {
		b.Exact("Wget", 1)
		b.Contains("sqlmap", 2)
		if err := b.Regex(`nikto/\d+`, 3); err != nil {
			t.Fatal(err)
		}
		if err := b.Regex(`(?:curl|wget|python-requests)/\d+`, 4); err != nil {
			t.Fatal(err)
		}
		b.Contains("ÄrgerBot", 5)
		b.Exact("Ünïcode Exact", 6)
		if err := b.Regex(`^x{2,3}$`, 7); err != nil { // no literal of two bytes: always run
			t.Fatal(err)
		}
	})
	pad := strings.Repeat("a", 1100)
	for _, c := range []struct {
		name, ua string
		want     int64
	}{
		{"exact_any_case", "WGET", 1},
		{"exact_needs_whole_value", "wget please", 0},
		{"contains", "Mozilla sqlMAP/1.7", 2},
		{"regex", "Nikto/2.1.6", 3},
		{"regex_needs_digit", "nikto/x", 0},
		{"regex_past_first_kib", pad + "nikto/2", 3},
		{"regex_alternation_middle", "foo Python-Requests/2.31", 4},
		{"regex_alternation_first", "curl/8.1", 4},
		{"regex_alternation_literal_only", "curl/", 0},
		{"unicode_lower_of_upper_pattern", "ärgerbot/1.0", 5},
		{"unicode_upper", "ÄRGERBOT", 5},
		{"unicode_exact", "ünïcode exact", 6},
		{"no_literal_regex", "XXX", 7},
		{"none", "Mozilla/5.0 (X11; Linux x86_64)", 0},
		{"invalid_utf8", "\xff\xfe sqlmap", 2},
	} {
		if got := s.Match(c.ua); got != c.want {
			t.Errorf("%s: Match(%.40q) = %d, want %d", c.name, c.ua, got, c.want)
		}
		if got := s.Match(c.ua); got != c.want { // from the verdict cache now
			t.Errorf("%s: second Match(%.40q) = %d, want %d", c.name, c.ua, got, c.want)
		}
	}
}

func TestCheckRegexRefusesCostlyPatterns(t *testing.T) {
	costly := strings.Repeat("[a-z]{0,999}", 10) + "x"
	if len(costly) != 121 {
		t.Fatalf("pattern length %d, want the 121 characters of the attack", len(costly))
	}
	_, err := CheckRegex(costly)
	if err == nil || !strings.Contains(err.Error(), "compiled instructions") {
		t.Fatalf("CheckRegex(costly) = %v, want a refusal naming the instruction count", err)
	}
	if _, err := CheckRegex(`(?:curl|wget|python-requests)/\d+`); err != nil {
		t.Fatalf("ordinary pattern refused: %v", err)
	}
	if _, err := CheckRegex(`(`); err == nil {
		t.Fatal("invalid pattern accepted")
	}
}

func TestRequiredLiterals(t *testing.T) {
	for _, c := range []struct {
		src  string
		want []string
	}{
		{`sqlmap/\d`, []string{"sqlmap/"}},
		{`(?:curl|wget|python-requests)/\d+`, []string{"curl", "wget", "python-requests"}},
		{`python-(?:requests|urllib)`, []string{"python-"}},
		{`[a-z]+`, nil},
		{`a|bc`, nil}, // a one-byte member is no filter
		{`ärger`, nil},
	} {
		got, _ := requiredLiterals(c.src)
		slices.Sort(got)
		want := slices.Clone(c.want)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("requiredLiterals(%q) = %q, want %q", c.src, got, want)
		}
	}
}

// tools are 50 names of scanners and bad bots.
var tools = strings.Fields(`sqlmap nikto nmap masscan zgrab nuclei dirbuster gobuster wpscan acunetix
	netsparker havij w3af skipfish openvas nessus arachni commix hydra medusa wfuzz ffuf feroxbuster
	jaeles xsstrike sqlninja bbqsql joomscan whatweb wapiti zmap httpx katana dalfox gospider hakrawler
	paros webinspect appscan burpsuite qualys metasploit fimap grabber vega ratproxy wafw00f dotdotpwn
	uniscan golismero`)

// fiftyRegexes are 50 accepted regex rules, each with a literal.
func fiftyRegexes() []string {
	var out []string
	for _, name := range tools[:50] {
		out = append(out, fmt.Sprintf(`%s/\d+\.\d+`, name))
	}
	return out
}

// nearMissUA is a 1 KiB User-Agent that holds every rule's literal and
// matches none of them.
func nearMissUA() string {
	var b strings.Builder
	for _, name := range tools[:50] {
		fmt.Fprintf(&b, "%s/x ", name)
	}
	for b.Len() < 1024 {
		b.WriteString("Mozilla ")
	}
	return b.String()[:1024]
}

func TestFiftyRegexesNearMiss(t *testing.T) {
	if len(tools) != 50 || len(nearMissUA()) != 1024 {
		t.Fatalf("%d tools, UA of %d bytes; want 50 and 1024", len(tools), len(nearMissUA()))
	}
	s := build(t, func(b *Builder) {
		for i, p := range fiftyRegexes() {
			if err := b.Regex(p, int64(i+1)); err != nil {
				t.Fatal(err)
			}
		}
	})
	if id := s.Match(nearMissUA()); id != 0 {
		t.Fatalf("near miss matched rule %d", id)
	}
	if id := s.Match(nearMissUA() + " golismero/1.0"); id != 50 {
		t.Fatalf("hit = %d, want 50", id)
	}
}

func BenchmarkFiftyRegexesNearMiss(b *testing.B) {
	s := build(b, func(bb *Builder) {
		for i, p := range fiftyRegexes() {
			if err := bb.Regex(p, int64(i+1)); err != nil {
				b.Fatal(err)
			}
		}
	})
	ua := nearMissUA()
	b.ReportAllocs()
	for b.Loop() {
		if s.match(ua) != 0 { // the matcher, not the verdict cache
			b.Fatal("matched")
		}
	}
}

func BenchmarkCostlyRegexRefusedAlternative(b *testing.B) {
	s := build(b, func(bb *Builder) {
		if err := bb.Regex(`(?:curl|wget|python-requests)/\d+`, 1); err != nil {
			b.Fatal(err)
		}
	})
	ua := strings.Repeat("Mozilla/5.0 ", 86)[:1024]
	b.ReportAllocs()
	for b.Loop() {
		s.match(ua)
	}
}

func FuzzMatch(f *testing.F) {
	s := build(f, func(b *Builder) {
		b.Contains("ÄrgerBot", 1)
		b.Exact("wget", 2)
		_ = b.Regex(`sqlmap/\d`, 3)
	})
	f.Add("ärgerbot")
	f.Add("\xff\xfe")
	f.Fuzz(func(t *testing.T, ua string) {
		_ = s.Match(ua) // must not panic
	})
}

// The prefilters (literals, anchored simulation, follow sets) must never
// change an answer: every Set decision equals running each regex with
// (?i) over the whole text.
func TestRegexShortcutsAgreeWithRegexp(t *testing.T) {
	patterns := []string{`sqlmap/\d`, `(?:curl|wget|python-requests)/\d+`, `nikto$`, `\bzgrab`, `^masscan`,
		`bot[0-9]{2,3}x`, `a.c`, `Ärger\d`, `scan(?:ner)?/[a-z]+`, `hydra.*\d{3}`}
	var b Builder
	for i, p := range patterns {
		if err := b.Regex(p, int64(i+1)); err != nil {
			t.Fatal(err)
		}
	}
	s, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	var res []*regexp.Regexp
	for _, p := range patterns {
		res = append(res, regexp.MustCompile("(?i)"+p))
	}
	alphabet := []string{"sqlmap/", "SQLMAP/", "1", "x", " ", "curl/", "wget/", "python-requests/", "nikto", "zgrab", "azgrab",
		"masscan", "bot", "12", "123", "abc", "ärger", "ÄRGER", "7", "scan", "scanner/", "q", "hydra", "999", "/", "é"}
	rng := rand.New(rand.NewPCG(1, 2))
	for n := range 20000 {
		var sb strings.Builder
		for range rng.IntN(8) + 1 {
			sb.WriteString(alphabet[rng.IntN(len(alphabet))])
		}
		ua := sb.String()
		want := false
		for _, re := range res {
			want = want || re.MatchString(ua)
		}
		if got := s.Match(ua) != 0; got != want {
			t.Fatalf("case %d: Match(%q) = %v, regexp says %v", n, ua, got, want)
		}
	}
}
