package acmatch_test

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/wardenkit/warden/core/internal/acmatch"
)

// botNames is a realistic set of lower-case User-Agent block patterns.
var botNames = []string{
	"ahrefsbot", "semrushbot", "mj12bot", "dotbot", "petalbot", "bytespider",
	"gptbot", "ccbot", "claudebot", "anthropic-ai", "amazonbot", "applebot",
	"baiduspider", "yandexbot", "sogou", "exabot", "blexbot", "dataforseobot",
	"seznambot", "megaindex", "serpstatbot", "zoominfobot", "barkrowler",
	"sqlmap", "nikto", "nmap", "masscan", "zgrab", "nuclei", "wpscan",
	"dirbuster", "gobuster", "feroxbuster", "ffuf", "python-requests/",
	"python-urllib/", "go-http-client/", "curl/", "wget/", "libwww-perl",
	"java/", "okhttp/", "scrapy", "httpclient", "aiohttp", "node-fetch",
	"axios/", "headlesschrome", "phantomjs", "selenium", "puppeteer",
	"facebookexternalhit", "twitterbot", "slurp", "duckduckbot", "mechanize",
	"httrack", "webcopier", "harvest", "crawler", "spider", "nessus",
	"openvas", "acunetix", "netsparker", "w3af", "zmeu", "morfeus", "jorgee",
	"masscan/", "censysinspect", "expanse", "internetmeasurement", "paloalto",
	"l9explore", "l9tcpid", "odin", "shodan", "zgrab/", "nimbostratus",
	"cloudsystemnetworks", "httpunit", "winhttp", "indy library", "lwp-trivial",
	"php/", "ruby", "perl", "pycurl", "rogerbot", "screaming frog",
	"siteauditbot", "sitebulb", "linkdexbot", "spbot", "turnitinbot",
	"proximic", "grapeshot", "magpie-crawler", "omgili", "diffbot",
	"ia_archiver", "archive.org_bot", "heritrix", "nutch", "yisouspider",
	"360spider", "haosouspider", "sosospider", "qwantify", "mail.ru_bot",
}

// chromeUA is a 150-byte lower-cased desktop Chrome/Edge User-Agent.
const chromeUA = "mozilla/5.0 (macintosh; intel mac os x 10_15_7) applewebkit/537.36 " +
	"(khtml, like gecko) chrome/126.0.6478.127 safari/537.36 edg/126.0.2592.87 opr/111.0"

// benchPatterns returns the bot names topped up with random lower-case
// words (fixed seed) to n patterns, none of which occurs in avoid.
func benchPatterns(n int, avoid string) []string {
	pats := make([]string, 0, n)
	for _, p := range botNames {
		if len(pats) < n && !strings.Contains(avoid, p) {
			pats = append(pats, p)
		}
	}
	r := rand.New(rand.NewPCG(42, 4242))
	const letters = "abcdefghijklmnopqrstuvwxyz0123456789-_/."
	for len(pats) < n {
		b := make([]byte, 6+r.IntN(13)) // 6..18, mean 12
		for i := range b {
			if i == 0 {
				b[i] = letters[r.IntN(26)]
			} else {
				b[i] = letters[r.IntN(len(letters))]
			}
		}
		if w := string(b); !strings.Contains(avoid, w) {
			pats = append(pats, w)
		}
	}
	return pats
}

// longText is 8 KiB of header-like text without any pattern.
func longText(pats []string) []byte {
	var buf bytes.Buffer
	for i := 0; buf.Len() < 8192; i++ {
		fmt.Fprintf(&buf, "%s; session=%08x; lang=en-us,en;q=0.9; ", chromeUA, uint32(i*2654435761))
	}
	t := buf.Bytes()[:8192]
	m, _ := acmatch.Build(pats)
	if p := m.FirstMatch(t); p >= 0 {
		panic(fmt.Sprintf("long text unexpectedly contains pattern %q", pats[p]))
	}
	return t
}

func benchMatcher(b *testing.B, n int) (*acmatch.Matcher, []string) {
	pats := benchPatterns(n, chromeUA+"; session=; lang=en-us,en;q=0.9; ")
	m, err := acmatch.Build(pats)
	if err != nil {
		b.Fatal(err)
	}
	if p := m.FirstMatch([]byte(chromeUA)); p >= 0 {
		b.Fatalf("Chrome UA unexpectedly matches %q", pats[p])
	}
	return m, pats
}

func benchFirst(b *testing.B, n int, long bool) {
	m, pats := benchMatcher(b, n)
	text := []byte(chromeUA)
	if long {
		text = longText(pats)
	}
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	for b.Loop() {
		if m.FirstMatch(text) >= 0 {
			b.Fatal("unexpected match")
		}
	}
}

func benchScan(b *testing.B, n int, long bool) {
	m, pats := benchMatcher(b, n)
	text := []byte(chromeUA)
	if long {
		text = longText(pats)
	}
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	for b.Loop() {
		if m.Scan(text, func(int) bool { return true }) >= 0 {
			b.Fatal("unexpected match")
		}
	}
}

func BenchmarkFirstMatch500ChromeUA(b *testing.B)  { benchFirst(b, 500, false) }
func BenchmarkFirstMatch500Text8K(b *testing.B)    { benchFirst(b, 500, true) }
func BenchmarkFirstMatch5000ChromeUA(b *testing.B) { benchFirst(b, 5000, false) }
func BenchmarkFirstMatch5000Text8K(b *testing.B)   { benchFirst(b, 5000, true) }
func BenchmarkScan500ChromeUA(b *testing.B)        { benchScan(b, 500, false) }
func BenchmarkScan500Text8K(b *testing.B)          { benchScan(b, 500, true) }

// BenchmarkFirstMatch500BotUA measures an early hit ("python-requests/").
func BenchmarkFirstMatch500BotUA(b *testing.B) {
	m, _ := benchMatcher(b, 500)
	text := []byte("python-requests/2.31.0")
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	for b.Loop() {
		if m.FirstMatch(text) < 0 {
			b.Fatal("expected a match")
		}
	}
}

func benchBuild(b *testing.B, n int) {
	pats := benchPatterns(n, chromeUA)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := acmatch.Build(pats); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBuild500(b *testing.B)  { benchBuild(b, 500) }
func BenchmarkBuild5000(b *testing.B) { benchBuild(b, 5000) }

func TestMatcherAllocs(t *testing.T) {
	if testing.CoverMode() != "" {
		t.Skip("coverage instrumentation may allocate")
	}
	pats := benchPatterns(500, chromeUA)
	m, err := acmatch.Build(pats)
	if err != nil {
		t.Fatal(err)
	}
	texts := [][]byte{[]byte(chromeUA), longText(pats), []byte("x python-requests/2.31 ahrefsbot"), nil}
	for _, text := range texts {
		if a := testing.AllocsPerRun(100, func() { m.FirstMatch(text) }); a > 0 {
			t.Errorf("FirstMatch(%d bytes): %v allocs/op", len(text), a)
		}
		seen := 0
		if a := testing.AllocsPerRun(100, func() {
			m.Scan(text, func(p int) bool { seen += p; return false })
		}); a > 0 {
			t.Errorf("Scan(%d bytes): %v allocs/op", len(text), a)
		}
		if a := testing.AllocsPerRun(100, func() {
			m.Scan(text, func(p int) bool { return p == 1 })
		}); a > 0 {
			t.Errorf("Scan(%d bytes, stop): %v allocs/op", len(text), a)
		}
	}
	// Nested outputs (selection path in Scan).
	m2, _ := acmatch.Build([]string{"aaa", "aa", "a", "aa"})
	text := []byte(strings.Repeat("a", 100))
	if a := testing.AllocsPerRun(100, func() { m2.Scan(text, func(int) bool { return false }) }); a > 0 {
		t.Errorf("Scan nested: %v allocs/op", a)
	}
}
