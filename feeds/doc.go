// Package feeds keeps the outside data warden uses current: the
// disposable e-mail domains that core.Engine.CheckEmail refuses, the
// bad-bot User-Agent patterns the request check blocks, and the country
// database (.mmdb) core/geo reads (DownloadGeoIP).
//
//	fetcher, err := feeds.NewFetcher(httpClient, feeds.WithTimeout(30*time.Second))
//	syncer, err := feeds.New(store, fetcher, feeds.WithBus(bus)) // store: *bunstore.Store
//	report, err := syncer.Sync(ctx, feeds.Request{})             // both lists, as the settings allow
//
// Run Sync from a scheduler (daily is plenty) or a command; it starts no
// goroutine of its own.
//
// # Sources
//
// Disposable domains come from WithDomainURLs (default DefaultDomainURL, the
// disposable-email-domains project's blocklist): plain text, one domain per
// line with "#" comments, or a JSON array of strings. An entry covers its
// sub-domains (core.Engine.CheckEmail); "*.example.com" is read as
// example.com and internationalised names are stored in punycode.
//
// Bad bots come from BuiltinBots (the 21 patterns of the reference: SEO
// scrapers, attack tools, AI crawlers; never curl/, python-requests,
// Go-http-client or wget/) and from WithBotURLs: plain text or a JSON array
// of strings ("contains" patterns), or the crawler-user-agents format, a
// JSON array of objects whose "pattern" is a regex, stored as a regex rule
// when rule validation accepts it.
//
// # What a sync does
//
// Each kind of list is applied all or nothing, in one transaction with one
// version bump, so every replica enforces it at its next rebuild (at once
// with WithBus):
//
//   - a new entry becomes an active row with AutoSynced set;
//   - a synced row no source lists any more is deactivated, never deleted;
//   - a row the sync deactivated comes back on when its entry does; a row
//     someone switched off is never switched on by the sync;
//   - a manual row (AutoSynced false) is never changed, and any write of a
//     row through the store (an operator's Put) takes it from the sync.
//     An admin page that lets an operator edit a synced row should save it
//     with AutoSynced false: the operator's judgement beats the list.
//
// A Request picks the kinds (Kinds); the settings switches
// Settings.SyncDisposableDomains and SyncBadBots are honoured whatever it
// says. After applying anything, Sync writes Settings.LastSyncAt on its own
// (SyncTimeStore), never by replacing the settings row.
//
// Sync asks with a conditional GET (If-None-Match / If-Modified-Since, the
// validators stored per URL after the list was applied): when every source
// answers 304, a sync costs one request per source and writes nothing. When
// only some sources changed, the others are downloaded again in full, since
// a kind is applied from all of its lists.
//
// # Bad input
//
// A list is someone else's data and arrives over the network; the sync
// assumes it may be broken or hostile:
//
//   - a body that is not a list (an HTML error page, a JSON object, an
//     empty body, or more than WithMaxInvalid of its lines unreadable) is
//     refused with ErrNotList and changes nothing;
//   - an unreadable line (not a domain, binary junk, longer than
//     MaxLineBytes) is counted and skipped, with up to ten samples in the
//     SourceReport;
//   - an entry that would lock out many users is rejected and counted: a
//     public suffix ("co.uk", "github.io": blocking one blocks every domain
//     under it), a protected mail provider (DefaultProtectedDomains), a
//     pattern that matches a browser, a common HTTP client, a health check
//     or a search engine (DefaultProtectedUserAgents), a regex rule
//     validation refuses;
//   - a list that would deactivate more than WithMaxDeactivate of the synced
//     rows at once (a truncated download, an upstream accident) is refused
//     with ErrShrink until a Request with Force applies it;
//   - one failing source leaves its whole kind unchanged.
//
// The Fetcher bounds each download in time (WithTimeout), size
// (WithMaxBytes, after decompression) and redirects (WithMaxRedirects), and
// refuses a redirect from https to http. It sends requests through the
// *http.Client it is given, whose proxy and TLS settings apply. Prefer
// https sources: over http anyone on the path can rewrite the list. URLs
// may carry credentials: errors, logs and reports show them without the
// password, and bunstore keeps a URL's validators under a hash of the URL,
// storing the URL itself without its password.
//
// # Country database
//
//	src := feeds.GeoIPSource{AccountID: id, LicenseKey: key} // GeoLite2-Country from MaxMind
//	// or feeds.GeoIPSource{URL: "https://…/dbip-country-lite-2026-01.mmdb.gz"}
//	res, err := feeds.DownloadGeoIP(ctx, src, "/var/lib/warden/country.mmdb")
//
// DownloadGeoIP fetches MaxMind's documented download endpoint with the
// account ID and licence key as HTTP basic authentication and checks the
// tar.gz against the SHA-256 MaxMind publishes beside it; or any URL of an
// .mmdb, .mmdb.gz or .tar.gz. The request is conditional on the file's
// modification time, which is set to the server's Last-Modified, so a
// daily run costs one 304 most days. The database is validated with
// core/geo before a temporary file beside the old one is synced and renamed
// over it: a core/geo DB watching the file reloads it, and a refused,
// failed, corrupt or unwritable download (a full disk) leaves the old file
// in place and returns an error. Downloads and what they decompress to are
// bounded (WithGeoIPMaxBytes), as is the time (WithGeoIPTimeout). The
// licence key is never printed, logged or put in an error: GeoIPSource
// prints without it and errors name URLs without their query or password.
// Go's HTTP client does not forward the credentials when MaxMind redirects
// to its storage host.
//
// # Concurrency
//
// DownloadGeoIP may run concurrently for different files.
// A Syncer and a Fetcher are safe for concurrent use; one Sync runs at a
// time per Syncer. Syncs from several processes are safe too (every write
// is conditional and takes the store's version lock) but redundant: run
// the sync from one place, such as a scheduler job with a leader lock.
package feeds
