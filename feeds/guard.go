package feeds

import (
	"regexp"
	"strings"

	"golang.org/x/net/publicsuffix"

	"github.com/wardenkit/warden/core/rule"
)

// A list from the network is data someone else controls. Blocking a domain
// blocks its every sub-domain, and a User-Agent pattern is matched against
// every request, so one bad entry ("co.uk", "gmail.com", "Mozilla", ".*")
// would lock out most users. The sync rejects such entries (they are counted
// and reported, never stored): a public suffix; a protected domain or a
// parent of one; a pattern that matches a protected User-Agent.

// DefaultProtectedDomains are large mail providers no disposable-domain list
// should block; a list entry equal to one of them, or a parent of one, is
// rejected.
func DefaultProtectedDomains() []string {
	return []string{
		"gmail.com", "googlemail.com", "outlook.com", "hotmail.com", "live.com", "msn.com",
		"yahoo.com", "ymail.com", "icloud.com", "me.com", "mac.com", "aol.com",
		"proton.me", "protonmail.com", "zoho.com", "fastmail.com", "gmx.com", "gmx.de", "gmx.net",
		"web.de", "t-online.de", "orange.fr", "free.fr", "yandex.ru", "yandex.com", "mail.ru",
		"qq.com", "163.com", "126.com", "naver.com", "comcast.net", "att.net",
	}
}

// DefaultProtectedUserAgents are clients no synced pattern may block:
// current browsers, the HTTP clients of scripts and integrations (curl,
// python-requests, Go, wget, okhttp, Java), load-balancer and Kubernetes
// health checks, and the two largest search engines. A synced pattern that
// matches any of them is rejected. Block such clients by hand if you mean
// to.
func DefaultProtectedUserAgents() []string {
	return []string{
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126.0.0.0",
		"Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
		"Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36",
		"curl/8.8.0",
		"Wget/1.24.5",
		"python-requests/2.32.3",
		"Python-urllib/3.12",
		"Go-http-client/1.1",
		"Go-http-client/2.0",
		"okhttp/4.12.0",
		"Java-http-client/21.0.3",
		"kube-probe/1.30",
		"ELB-HealthChecker/2.0",
		"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
		"Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
	}
}

// domainGuard rejects domains a sync must not block.
type domainGuard struct{ protected []string }

// problem says why d (normalised) must not be synced, or "".
func (g domainGuard) problem(d string) string {
	if s, _ := publicsuffix.PublicSuffix(d); s == d {
		return "a public suffix: blocking it would block every domain under it"
	}
	for _, p := range g.protected {
		if p == d || len(p) > len(d) && p[len(p)-len(d)-1] == '.' && strings.HasSuffix(p, d) {
			return "would block the protected domain " + p
		}
	}
	return ""
}

// uaGuard rejects User-Agent patterns that match a protected User-Agent.
type uaGuard struct{ protected []string }

// problem says why u (normalised) must not be synced, or "". It matches as
// the engine does, case-insensitively; a regex that does not compile here
// is refused too.
func (g uaGuard) problem(u rule.BlockedUserAgent) string {
	var match func(string) bool
	switch u.Match {
	case rule.UARegex:
		re, err := regexp.Compile("(?i)" + u.Pattern)
		if err != nil {
			return "bad regular expression"
		}
		match = re.MatchString
	case rule.UAExact:
		match = func(ua string) bool { return strings.EqualFold(ua, u.Pattern) }
	default:
		p := strings.ToLower(u.Pattern)
		match = func(ua string) bool { return strings.Contains(strings.ToLower(ua), p) }
	}
	for _, ua := range g.protected {
		if match(ua) {
			return "would block the protected User-Agent " + ua
		}
	}
	return ""
}
