// Package uaparse turns a User-Agent header into a device class, a browser
// family and an operating system, for audit logs and "new device" checks.
//
// # Usage
//
//	ua := uaparse.Parse(r.UserAgent())
//	// ua.Device: "mobile", "tablet", "desktop", "bot" or "unknown"
//	// ua.Browser: "Chrome", "Firefox", "Safari", "Edge", "Opera",
//	//             "Samsung Internet" or ""
//	// ua.OS: "Windows", "macOS", "Linux", "ChromeOS", "Android", "iOS" or ""
//	key := ua.Family() // "Chrome/Windows": versions and device left out
//
// # Rules
//
// Matching is by substring, ignoring ASCII case. First match wins, in this
// order.
//
// Browser: Edge (Edg/, Edge/, EdgA/, EdgiOS/), Opera (OPR/, Opera, OPiOS/,
// OPT/), Samsung Internet (SamsungBrowser), Chrome (Chrome, CriOS/), Firefox
// (Firefox, FxiOS/), Safari (Safari). Other Chromium browsers that do not
// name themselves (Brave) or name themselves after "Chrome" (Vivaldi,
// YaBrowser, Silk) count as Chrome; Internet Explorer is "".
//
// OS: ChromeOS ("CrOS " as a word), iOS (iPhone, iPad, iPod, or iPadOS in
// desktop mode, below), Android, Windows, macOS (Mac OS, macOS, Macintosh),
// Linux.
//
// Device: bot (below); tablet for iPad and iPadOS desktop mode; mobile for
// iPhone and iPod; for Android, tablet when the UA says "Tablet" or has no
// "Mobile"/"Opera Mini" (phone browsers are asked to send "Mobile"), else
// mobile; otherwise "Mobile"/"Opera Mobi"/"Opera Mini" is mobile (tablet with
// "Tablet"); otherwise desktop when a browser or an OS was recognised, else
// unknown. An empty or all-blank UA is unknown with Browser and OS "".
//
// iPadOS desktop mode: Safari on iPadOS 13+ sends a macOS User-Agent by
// default. Parse reports iOS/tablet when a "Macintosh" UA also has the iOS
// build token "Mobile/" (WKWebView in-app browsers, some Safari modes) or an
// iOS-only browser token (CriOS/, FxiOS/, EdgiOS/, OPiOS/). Plain iPad Safari
// in desktop mode is byte for byte a Mac Safari UA and is reported as
// macOS/desktop; telling them apart needs client-side signals such as
// navigator.maxTouchPoints.
//
// Bots: a UA containing bot (not the phone brand "Cubot"), crawl, spider,
// slurp, archiver, facebookexternalhit, Mediapartners-Google, headless
// (HeadlessChrome), PhantomJS, Lighthouse, curl, wget, python
// (python-requests, Python-urllib, aiohttp, httpx), http-client
// (Go-http-client, Java-http-client), HttpClient (Apache), Java/, libwww,
// Scrapy, HTTPie, PostmanRuntime, axios/ or node-fetch is device "bot".
// Browser and OS still report what the UA claims (Googlebot Smartphone is
// bot, Chrome, Android). HTTP libraries of mobile apps (okhttp, Dalvik,
// CFNetwork) are not bots.
//
// # Differences from the original parse_user_agent
//
// The results match the Python original except where it was wrong: CriOS,
// FxiOS and OPiOS/OPT were Safari; Samsung Internet was Chrome; ChromeOS had
// no OS; Android tablets without "Tablet" were mobile; iPadOS desktop-mode
// UAs with the markers above were macOS/desktop; bots and scripts were
// desktop or mobile; a UA in which nothing was recognised (and an all-blank
// one) was desktop and is now unknown. The Edge tokens and OPR/ are matched
// with their slash at the start of a word, not as "edg" or "opr" anywhere
// ("KnowledgeBase" is not Edge).
//
// # Concurrency and cost
//
// Parse and Family are pure functions, safe for concurrent use. Parse makes
// one pass over the input, linear in its length, does not allocate and
// returns the package's constant strings; Family does not allocate for
// values returned by Parse. Neither panics on any input, including invalid
// UTF-8.
//
// # Security
//
// The User-Agent is chosen by the client. The result is a hint for logs and
// risk scoring, never an identity or an access decision: any client can claim
// to be Googlebot or an iPhone, and a bot that sends a browser UA is not
// reported as a bot. A "new device" check keyed on Family is coarse (every
// Chrome on Windows looks the same) and trivially spoofed; combine it with
// other signals. Parse reads the whole value; cap header sizes upstream
// (net/http's Server.MaxHeaderBytes) if untrusted input can be large.
package uaparse
