package feeds

import "github.com/wardenkit/warden/core/rule"

// BuiltinBots returns the built-in bad-bot list: SEO scrapers, attack and
// scanning tools, and AI crawlers, every one a case-insensitive "contains"
// pattern. It deliberately holds no general-purpose HTTP client
// (python-requests, Go-http-client, curl/, wget/): scripts and integrations
// use them, and blocking them by default breaks more than it protects. The
// result is a new slice on every call.
func BuiltinBots() []rule.BlockedUserAgent {
	bot := func(pattern, category, description string) rule.BlockedUserAgent {
		return rule.BlockedUserAgent{Pattern: pattern, Match: rule.UAContains, Category: category,
			Description: description, AutoSynced: true}
	}
	return []rule.BlockedUserAgent{
		bot("AhrefsBot", "scraper", "SEO scraper"),
		bot("SemrushBot", "scraper", "SEO scraper"),
		bot("MJ12bot", "scraper", "SEO scraper"),
		bot("DotBot", "scraper", "SEO scraper"),
		bot("BLEXBot", "scraper", "SEO scraper"),
		bot("serpstatbot", "scraper", "SEO scraper"),
		bot("SeekportBot", "scraper", "SEO scraper"),
		bot("zgrab", "attack", "Internet-wide scanner"),
		bot("masscan", "attack", "port scanner"),
		bot("Nuclei", "attack", "security scanner"),
		bot("sqlmap", "attack", "SQL injection tool"),
		bot("nikto", "attack", "vulnerability scanner"),
		bot("nmap", "attack", "network scanner"),
		bot("libwww-perl", "bot", "Perl HTTP library, mostly abuse"),
		bot("Scrapy", "scraper", "scraping framework"),
		bot("CCBot", "scraper", "Common Crawl"),
		bot("Bytespider", "scraper", "ByteDance crawler"),
		bot("GPTBot", "scraper", "OpenAI crawler"),
		bot("ChatGPT-User", "scraper", "OpenAI"),
		bot("ClaudeBot", "scraper", "Anthropic crawler"),
		bot("anthropic-ai", "scraper", "Anthropic"),
	}
}
