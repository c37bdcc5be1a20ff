package uaparse

// Feature bits set by scan.
const (
	fMobi        uint32 = 1 << iota // "Mobile", "Opera Mobi"
	fMobileSlash                    // "Mobile/15E148": the iOS build token
	fOperaMini
	fAndroid
	fIPhone
	fIPad
	fIPod
	fTablet
	fWindows
	fMac       // "Mac OS", "macOS", "Macintosh"
	fMacintosh // "Macintosh" alone: the platform iPadOS desktop mode claims
	fLinux
	fCrOS
	fEdge
	fOpera
	fSamsung
	fChrome
	fFirefox
	fSafari
	fIOSApp // a browser token that only exists on iOS/iPadOS
	fBot
)

// A needle is a lower-case ASCII substring whose presence sets flags.
type needle struct {
	s     string
	flags uint32
	// word: the byte before the match must not be an ASCII letter or digit
	// (so "CrOS " does not match inside "Microsoft ").
	word bool
	// notAfter: no match when immediately preceded by this (lower-case).
	notAfter string
}

// needles is every substring Parse looks for. Each is at least two bytes
// long and starts with a letter.
var needles = [...]needle{
	// Device hints.
	{s: "mobi", flags: fMobi},
	{s: "mobile/", flags: fMobileSlash},
	{s: "opera mini", flags: fOperaMini | fOpera},
	{s: "tablet", flags: fTablet},

	// Platforms.
	{s: "android", flags: fAndroid},
	{s: "iphone", flags: fIPhone},
	{s: "ipad", flags: fIPad},
	{s: "ipod", flags: fIPod},
	{s: "windows", flags: fWindows},
	{s: "mac os", flags: fMac},
	{s: "macos", flags: fMac},
	{s: "macintosh", flags: fMac | fMacintosh},
	{s: "linux", flags: fLinux},
	{s: "cros ", flags: fCrOS, word: true},

	// Browsers. Edge: Edg/ (Chromium), Edge/ (legacy), EdgA/ (Android),
	// EdgiOS/. Opera: OPR/ (Chromium), Opera (Presto, Mini), OPiOS/ (Mini on
	// iOS), OPT/ (Touch).
	{s: "edg/", flags: fEdge, word: true},
	{s: "edge/", flags: fEdge, word: true},
	{s: "edga/", flags: fEdge, word: true},
	{s: "edgios/", flags: fEdge | fIOSApp, word: true},
	{s: "opr/", flags: fOpera, word: true},
	{s: "opera", flags: fOpera},
	{s: "opios/", flags: fOpera | fIOSApp, word: true},
	{s: "opt/", flags: fOpera, word: true},
	{s: "samsungbrowser", flags: fSamsung},
	{s: "chrome", flags: fChrome},
	{s: "crios/", flags: fChrome | fIOSApp, word: true},
	{s: "firefox", flags: fFirefox},
	{s: "fxios/", flags: fFirefox | fIOSApp, word: true},
	{s: "safari", flags: fSafari},

	// Robots, crawlers and scripted clients. "bot" covers Googlebot,
	// bingbot, AdsBot-Google, Applebot, DuckDuckBot, YandexBot, AhrefsBot,
	// GPTBot, Twitterbot, Slackbot, Discordbot, ... but not the phone maker
	// Cubot.
	{s: "bot", flags: fBot, notAfter: "cu"},
	{s: "crawl", flags: fBot},
	{s: "spider", flags: fBot},
	{s: "slurp", flags: fBot},
	{s: "archiver", flags: fBot},
	{s: "facebookexternalhit", flags: fBot},
	{s: "mediapartners-google", flags: fBot},
	{s: "headless", flags: fBot},
	{s: "phantomjs", flags: fBot},
	{s: "lighthouse", flags: fBot},
	{s: "curl", flags: fBot},
	{s: "wget", flags: fBot},
	{s: "python", flags: fBot},
	{s: "http-client", flags: fBot},
	{s: "httpclient", flags: fBot},
	{s: "java/", flags: fBot, word: true},
	{s: "libwww", flags: fBot},
	{s: "scrapy", flags: fBot},
	{s: "httpie", flags: fBot},
	{s: "postmanruntime", flags: fBot},
	{s: "axios/", flags: fBot, word: true},
	{s: "node-fetch", flags: fBot},
}

// Lookup tables built by init from needles.
var (
	// lower maps ASCII upper-case letters to lower case and every other
	// byte to itself.
	lower [256]byte
	// row maps a byte to 0..25 for the letters a..z (either case) and to 26,
	// an all-zero row of group, for anything else.
	row [256]uint8
	// group maps the first two bytes of a candidate match (row of the first,
	// lower-cased second) to 1 + its index in groups, or 0 when no needle
	// starts with them. Most positions of a User-Agent stop here.
	group [27][256]uint8
	// groups holds the needles sharing their first two bytes.
	groups [][]needle
)

func init() {
	for i := range lower {
		lower[i] = byte(i)
		if 'A' <= i && i <= 'Z' {
			lower[i] += 'a' - 'A'
		}
		row[i] = 26
		if 'a' <= lower[i] && lower[i] <= 'z' {
			row[i] = lower[i] - 'a'
		}
	}
	for _, n := range needles {
		g := &group[n.s[0]-'a'][n.s[1]]
		if *g == 0 {
			groups = append(groups, nil)
			*g = uint8(len(groups))
		}
		groups[*g-1] = append(groups[*g-1], n)
	}
}

// scan makes one pass over s and returns the flags of every needle found.
// The work per byte is two table look-ups, plus, where two bytes start some
// needle, a comparison with the few needles starting with them, each at most
// as long as the longest needle: scan is linear in len(s).
func scan(s string) uint32 {
	var f uint32
	for i := 0; i+1 < len(s); i++ {
		g := group[row[s[i]]][lower[s[i+1]]]
		if g == 0 {
			continue
		}
		for j := range groups[g-1] {
			n := &groups[g-1][j]
			if f&n.flags == n.flags || !hasPrefixFold(s[i:], n.s) {
				continue
			}
			if n.word && i > 0 && isAlnum(s[i-1]) {
				continue
			}
			if n.notAfter != "" && i >= len(n.notAfter) && hasPrefixFold(s[i-len(n.notAfter):], n.notAfter) {
				continue
			}
			f |= n.flags
		}
	}
	return f
}

// hasPrefixFold reports whether s starts with the lower-case ASCII prefix,
// ignoring ASCII case in s.
func hasPrefixFold(s, prefix string) bool {
	if len(s) < len(prefix) {
		return false
	}
	for i := 0; i < len(prefix); i++ {
		if lower[s[i]] != prefix[i] {
			return false
		}
	}
	return true
}

func isAlnum(c byte) bool {
	return 'a' <= c|0x20 && c|0x20 <= 'z' || '0' <= c && c <= '9'
}
