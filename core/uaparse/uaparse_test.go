package uaparse_test

import (
	"strings"
	"testing"

	"github.com/wardenkit/warden/core/uaparse"
)

// refParse is the original parse_user_agent, transcribed from the
// behavioural specification (§10), to show where Parse agrees with it and
// where it deliberately does not.
func refParse(ua string) uaparse.UserAgent {
	if ua == "" {
		return uaparse.UserAgent{Device: "unknown"}
	}
	s := strings.ToLower(ua)
	has := func(subs ...string) bool {
		for _, sub := range subs {
			if strings.Contains(s, sub) {
				return true
			}
		}
		return false
	}
	var u uaparse.UserAgent
	switch {
	case has("mobile", "android", "iphone", "ipad") && has("ipad", "tablet"):
		u.Device = "tablet"
	case has("mobile", "android", "iphone", "ipad"):
		u.Device = "mobile"
	default:
		u.Device = "desktop"
	}
	switch {
	case has("edg"):
		u.Browser = "Edge"
	case has("opera", "opr"):
		u.Browser = "Opera"
	case has("chrome"):
		u.Browser = "Chrome"
	case has("firefox"):
		u.Browser = "Firefox"
	case has("safari"):
		u.Browser = "Safari"
	}
	switch {
	case has("iphone", "ipad"):
		u.OS = "iOS"
	case has("android"):
		u.OS = "Android"
	case has("windows"):
		u.OS = "Windows"
	case has("mac os", "macos"):
		u.OS = "macOS"
	case has("linux"):
		u.OS = "Linux"
	}
	return u
}

type uaCase struct {
	name string
	ua   string
	want uaparse.UserAgent
	// differs says why the original parse_user_agent gets this one wrong;
	// "" means Parse must agree with it.
	differs string
}

func ua(device, browser, os string) uaparse.UserAgent {
	return uaparse.UserAgent{Device: device, Browser: browser, OS: os}
}

// big is a real UA followed by ~8 KiB of padding, the largest header a
// deployment is expected to pass through.
var big = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 " +
	strings.Repeat("x-padding ", 800)

var cases = []uaCase{
	// Desktop.
	{name: "chrome_windows", ua: "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
		want: ua("desktop", "Chrome", "Windows")},
	{name: "chrome_macos", ua: "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
		want: ua("desktop", "Chrome", "macOS")},
	{name: "chrome_linux", ua: "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
		want: ua("desktop", "Chrome", "Linux")},
	{name: "firefox_windows", ua: "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0",
		want: ua("desktop", "Firefox", "Windows")},
	{name: "firefox_macos", ua: "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:125.0) Gecko/20100101 Firefox/125.0",
		want: ua("desktop", "Firefox", "macOS")},
	{name: "firefox_ubuntu", ua: "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
		want: ua("desktop", "Firefox", "Linux")},
	{name: "safari_macos", ua: "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Safari/605.1.15",
		want: ua("desktop", "Safari", "macOS")},
	{name: "edge_windows", ua: "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.80",
		want: ua("desktop", "Edge", "Windows")},
	{name: "edge_macos", ua: "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.80",
		want: ua("desktop", "Edge", "macOS")},
	{name: "edge_legacy_windows", ua: "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/70.0.3538.102 Safari/537.36 Edge/18.19582",
		want: ua("desktop", "Edge", "Windows")},
	{name: "opera_windows", ua: "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 OPR/110.0.0.0",
		want: ua("desktop", "Opera", "Windows")},
	{name: "opera_linux", ua: "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 OPR/110.0.0.0",
		want: ua("desktop", "Opera", "Linux")},
	{name: "opera_presto_windows", ua: "Opera/9.80 (Windows NT 6.1; WOW64) Presto/2.12.388 Version/12.18",
		want: ua("desktop", "Opera", "Windows")},
	{name: "ie11_windows_no_browser", ua: "Mozilla/5.0 (Windows NT 10.0; WOW64; Trident/7.0; rv:11.0) like Gecko",
		want: ua("desktop", "", "Windows")},
	{name: "ie8_tablet_pc_is_desktop", ua: "Mozilla/4.0 (compatible; MSIE 8.0; Windows NT 6.1; Trident/4.0; Tablet PC 2.0)",
		want: ua("desktop", "", "Windows")},
	{name: "outlook_microsoft_is_not_chromeos", ua: "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17328; Pro)",
		want: ua("desktop", "", "Windows")},
	{name: "chromeos_x86", ua: "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
		want: ua("desktop", "Chrome", "ChromeOS"), differs: "CrOS had no OS"},
	{name: "chromeos_arm", ua: "Mozilla/5.0 (X11; CrOS aarch64 15633.69.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.6045.212 Safari/537.36",
		want: ua("desktop", "Chrome", "ChromeOS"), differs: "CrOS had no OS"},

	// Android.
	{name: "chrome_android_phone", ua: "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36",
		want: ua("mobile", "Chrome", "Android")},
	{name: "chrome_android_pixel", ua: "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.6367.113 Mobile Safari/537.36",
		want: ua("mobile", "Chrome", "Android")},
	{name: "chrome_android_tablet_no_mobile_token", ua: "Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
		want: ua("tablet", "Chrome", "Android"), differs: "Android without Mobile was mobile"},
	{name: "android_webview_phone", ua: "Mozilla/5.0 (Linux; Android 13; Pixel 7 Build/TQ3A.230901.001; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/116.0.0.0 Mobile Safari/537.36",
		want: ua("mobile", "Chrome", "Android")},
	{name: "kindle_fire_silk_tablet", ua: "Mozilla/5.0 (Linux; Android 9; KFTRWI) AppleWebKit/537.36 (KHTML, like Gecko) Silk/124.3.1 like Chrome/124.0.6367.179 Safari/537.36",
		want: ua("tablet", "Chrome", "Android"), differs: "Android without Mobile was mobile"},
	{name: "firefox_android_phone", ua: "Mozilla/5.0 (Android 14; Mobile; rv:125.0) Gecko/125.0 Firefox/125.0",
		want: ua("mobile", "Firefox", "Android")},
	{name: "firefox_android_tablet", ua: "Mozilla/5.0 (Android 14; Tablet; rv:125.0) Gecko/125.0 Firefox/125.0",
		want: ua("tablet", "Firefox", "Android")},
	{name: "samsung_internet_phone", ua: "Mozilla/5.0 (Linux; Android 13; SAMSUNG SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/24.0 Chrome/117.0.0.0 Mobile Safari/537.36",
		want: ua("mobile", "Samsung Internet", "Android"), differs: "Samsung Internet was Chrome"},
	{name: "samsung_internet_tablet", ua: "Mozilla/5.0 (Linux; Android 13; SAMSUNG SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/24.0 Chrome/117.0.0.0 Safari/537.36",
		want: ua("tablet", "Samsung Internet", "Android"), differs: "Samsung Internet was Chrome, the tablet mobile"},
	{name: "samsung_internet_dex_desktop", ua: "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/24.0 Chrome/117.0.0.0 Safari/537.36",
		want: ua("desktop", "Samsung Internet", "Linux"), differs: "Samsung Internet was Chrome"},
	{name: "edge_android_edga", ua: "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36 EdgA/124.0.2478.64",
		want: ua("mobile", "Edge", "Android")},
	{name: "opera_android_opr", ua: "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36 OPR/81.1.4292.78446",
		want: ua("mobile", "Opera", "Android")},
	{name: "opera_mini_android_is_mobile", ua: "Opera/9.80 (Android; Opera Mini/36.2.2254/119.132; U; id) Presto/2.12.423 Version/12.16",
		want: ua("mobile", "Opera", "Android")},
	{name: "cubot_phone_is_not_a_bot", ua: "Mozilla/5.0 (Linux; Android 10; CUBOT X30) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36",
		want: ua("mobile", "Chrome", "Android")},

	// iPhone, iPod.
	{name: "safari_iphone", ua: "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Mobile/15E148 Safari/604.1",
		want: ua("mobile", "Safari", "iOS")},
	{name: "chrome_iphone_crios", ua: "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/124.0.6367.88 Mobile/15E148 Safari/604.1",
		want: ua("mobile", "Chrome", "iOS"), differs: "CriOS was Safari"},
	{name: "firefox_iphone_fxios", ua: "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) FxiOS/125.0 Mobile/15E148 Safari/605.1.15",
		want: ua("mobile", "Firefox", "iOS"), differs: "FxiOS was Safari"},
	{name: "edge_iphone_edgios", ua: "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 EdgiOS/124.2478.71 Mobile/15E148 Safari/605.1.15",
		want: ua("mobile", "Edge", "iOS")},
	{name: "opera_mini_iphone_opios", ua: "Mozilla/5.0 (iPhone; CPU iPhone OS 12_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) OPiOS/16.0.14.122053 Mobile/15E148 Safari/9537.53",
		want: ua("mobile", "Opera", "iOS"), differs: "OPiOS was Safari"},
	{name: "opera_touch_iphone_opt", ua: "Mozilla/5.0 (iPhone; CPU iPhone OS 13_3 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/13.0.5 Mobile/15E148 Safari/604.1 OPT/2.2.0",
		want: ua("mobile", "Opera", "iOS"), differs: "OPT was Safari"},
	{name: "safari_ipod", ua: "Mozilla/5.0 (iPod touch; CPU iPhone OS 12_5_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/12.1.2 Mobile/15E148 Safari/604.1",
		want: ua("mobile", "Safari", "iOS")},
	{name: "iphone_upper_case", ua: "MOZILLA/5.0 (IPHONE; CPU IPHONE OS 17_4 LIKE MAC OS X) APPLEWEBKIT/605.1.15 (KHTML, LIKE GECKO) CRIOS/124.0 MOBILE/15E148 SAFARI/604.1",
		want: ua("mobile", "Chrome", "iOS"), differs: "CriOS was Safari"},

	// iPad.
	{name: "safari_ipad", ua: "Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
		want: ua("tablet", "Safari", "iOS")},
	{name: "chrome_ipad_crios", ua: "Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/124.0.6367.88 Mobile/15E148 Safari/604.1",
		want: ua("tablet", "Chrome", "iOS"), differs: "CriOS was Safari"},
	{name: "ipad_desktop_mode_webview_mobile_token", ua: "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
		want: ua("tablet", "", "iOS"), differs: "iPadOS desktop mode was macOS desktop"},
	{name: "ipad_desktop_mode_safari_mobile_token", ua: "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
		want: ua("tablet", "Safari", "iOS"), differs: "iPadOS desktop mode was macOS desktop"},
	{name: "ipad_desktop_mode_fxios", ua: "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) FxiOS/125.0 Safari/605.1.15",
		want: ua("tablet", "Firefox", "iOS"), differs: "iPadOS desktop mode was macOS desktop, FxiOS Safari"},
	{name: "ipad_desktop_mode_crios", ua: "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/124.0.6367.111 Safari/604.1",
		want: ua("tablet", "Chrome", "iOS"), differs: "iPadOS desktop mode was macOS desktop, CriOS Safari"},
	// Plain iPad Safari in desktop mode sends exactly the Mac Safari UA:
	// indistinguishable without client-side signals (documented limit).
	{name: "ipad_desktop_mode_plain_safari_indistinguishable", ua: "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15",
		want: ua("desktop", "Safari", "macOS")},

	// Bots and scripts: device bot, browser and OS as claimed.
	{name: "googlebot", ua: "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
		want: ua("bot", "", ""), differs: "bots were desktop"},
	{name: "googlebot_smartphone", ua: "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.6367.201 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
		want: ua("bot", "Chrome", "Android"), differs: "bots were mobile"},
	{name: "bingbot", ua: "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
		want: ua("bot", "", ""), differs: "bots were desktop"},
	{name: "bingbot_chrome", ua: "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm) Chrome/116.0.1938.76 Safari/537.36",
		want: ua("bot", "Chrome", ""), differs: "bots were desktop"},
	{name: "applebot", ua: "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/13.1.1 Safari/605.1.15 (Applebot/0.1; +http://www.apple.com/go/applebot)",
		want: ua("bot", "Safari", "macOS"), differs: "bots were desktop"},
	{name: "baiduspider", ua: "Mozilla/5.0 (compatible; Baiduspider/2.0; +http://www.baidu.com/search/spider.html)",
		want: ua("bot", "", ""), differs: "bots were desktop"},
	{name: "yahoo_slurp", ua: "Mozilla/5.0 (compatible; Yahoo! Slurp; http://help.yahoo.com/help/us/ysearch/slurp)",
		want: ua("bot", "", ""), differs: "bots were desktop"},
	{name: "facebook_link_preview", ua: "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
		want: ua("bot", "", ""), differs: "bots were desktop"},
	{name: "headless_chrome", ua: "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/124.0.6367.60 Safari/537.36",
		want: ua("bot", "Chrome", "Linux"), differs: "headless browsers were desktop"},
	{name: "curl", ua: "curl/8.5.0", want: ua("bot", "", ""), differs: "scripts were desktop"},
	{name: "wget", ua: "Wget/1.21.4", want: ua("bot", "", ""), differs: "scripts were desktop"},
	{name: "python_requests", ua: "python-requests/2.31.0", want: ua("bot", "", ""), differs: "scripts were desktop"},
	{name: "python_aiohttp", ua: "Python/3.12 aiohttp/3.9.5", want: ua("bot", "", ""), differs: "scripts were desktop"},
	{name: "go_http_client", ua: "Go-http-client/1.1", want: ua("bot", "", ""), differs: "scripts were desktop"},
	{name: "apache_httpclient_java", ua: "Apache-HttpClient/4.5.14 (Java/17.0.10)", want: ua("bot", "", ""), differs: "scripts were desktop"},

	// Empty, blank and junk.
	{name: "empty", ua: "", want: ua("unknown", "", "")},
	{name: "blank", ua: " \t ", want: ua("unknown", "", ""), differs: "blank was desktop"},
	{name: "garbage_word", ua: "asdfghjkl", want: ua("unknown", "", ""), differs: "unrecognised was desktop"},
	{name: "bare_mozilla", ua: "Mozilla/5.0", want: ua("unknown", "", ""), differs: "unrecognised was desktop"},
	{name: "binary", ua: "\x00\xff\xfe\x80Chr\xc3\xb6me\r\n\x1b[31m", want: ua("unknown", "", ""), differs: "unrecognised was desktop"},
	{name: "edg_inside_a_word_is_not_edge", ua: "KnowledgeBase/1.0 (Windows NT 10.0)",
		want: ua("desktop", "", "Windows"), differs: `"edg" inside a word was Edge`},
	{name: "invalid_utf8_around_tokens", ua: "\xffMozilla/5.0 (\xc0Linux; Android 14\xfe) Chrome/124\x80 Mobile Safari",
		want: ua("mobile", "Chrome", "Android")},
	{name: "8kib_padding", ua: big, want: ua("desktop", "Chrome", "Windows")},
}

func TestParse(t *testing.T) {
	if len(cases) < 40 {
		t.Fatalf("only %d cases", len(cases))
	}
	seen := map[string]bool{}
	for _, c := range cases {
		if seen[c.name] {
			t.Fatalf("duplicate case name %q", c.name)
		}
		seen[c.name] = true
		t.Run(c.name, func(t *testing.T) {
			got := uaparse.Parse(c.ua)
			if got != c.want {
				t.Fatalf("Parse(%q)\n got %+v\nwant %+v", c.ua, got, c.want)
			}
			ref := refParse(c.ua)
			switch {
			case c.differs == "" && ref != got:
				t.Errorf("differs from the original (%+v) without a reason given", ref)
			case c.differs != "" && ref == got:
				t.Errorf("marked as differing (%s) but the original agrees", c.differs)
			}
			if want := got.Browser + "/" + got.OS; got.Family() != want {
				t.Errorf("Family() = %q, want %q", got.Family(), want)
			}
		})
	}
}

func TestFamily(t *testing.T) {
	for _, c := range []struct {
		u    uaparse.UserAgent
		want string
	}{
		{uaparse.UserAgent{Device: "desktop", Browser: "Chrome", OS: "Windows"}, "Chrome/Windows"},
		{uaparse.UserAgent{Device: "tablet", Browser: "Samsung Internet", OS: "Android"}, "Samsung Internet/Android"},
		{uaparse.UserAgent{Device: "unknown"}, "/"},
		{uaparse.UserAgent{Browser: "Lynx", OS: "FreeBSD"}, "Lynx/FreeBSD"}, // not from Parse: concatenated
	} {
		if got := c.u.Family(); got != c.want {
			t.Errorf("%+v.Family() = %q, want %q", c.u, got, c.want)
		}
	}
	// A browser update changes nothing; another browser or OS does.
	a := uaparse.Parse("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/123.0.0.0 Safari/537.36")
	b := uaparse.Parse("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36")
	c := uaparse.Parse("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.80")
	if a.Family() != b.Family() || a.Family() == c.Family() {
		t.Errorf("families: %q %q %q", a.Family(), b.Family(), c.Family())
	}
}

func TestParseAllocs(t *testing.T) {
	for _, c := range cases {
		n := testing.AllocsPerRun(100, func() {
			u := uaparse.Parse(c.ua)
			_ = u.Family()
		})
		if n > 0 {
			t.Errorf("%s: %v allocs per Parse+Family, want 0", c.name, n)
		}
	}
}
