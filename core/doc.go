// Package core is warden's decision engine: IP and network blocking,
// User-Agent blocking, country blocking or allow-listing, whitelisted IPs and
// users, report-only roll-outs, and a security event log, decided in memory
// from an immutable snapshot of the rules.
//
//	store := memstore.New() // or bunstore.Open(ctx, "sqlite:file:warden.db")
//	eng, err := core.New(store,
//		core.WithTrustedProxies(netip.MustParsePrefix("10.0.0.0/8")),
//		core.WithCountryLookup(geoDB))
//	if err != nil { … }
//	if err := eng.Start(ctx); err != nil { … } // loads the first snapshot
//	defer eng.Close(ctx)                        // flushes queued events
//	_, err = eng.Rules().BlockedIPs().Put(ctx, core.BlockedIP{Network: "203.0.113.0/24", Reason: "scanner"})
//	d, err := eng.Check(ctx, core.Request{HTTP: r, UserID: uid})
//
// # Request path
//
// Check runs, in order: exempt path (exact URL.Path match, never for a
// percent-encoded path), client IP (core/clientip; forwarding headers are
// believed only from trusted proxies; no IP means 403), whitelisted IP or
// network (allow; nothing else applies), user exemption (all, ip_block,
// geo_block, rate_limit), blocked IP or network, blocked User-Agent (contains
// and exact patterns over the first 8 KiB with one Aho-Corasick pass; at most
// 50 RE2 regexes over the first 1 KiB, each run only when a literal it needs
// is present), and country (block mode or allow-list mode; unknown countries
// pass in block mode and are denied in allow-list mode; private, loopback and
// CGNAT addresses use Settings.InternalCountry). The allow path does no I/O,
// takes no lock, writes no shared memory and does not allocate.
//
// Denials are values (Decision), not errors. Check returns an error only when
// it cannot decide; Decide applies the FailPolicy then (default: 503).
//
// # Rules and propagation
//
// The Store is the source of truth. Writes through Engine.Rules() and
// Engine.PutSettings go to the store (which bumps its version in the same
// transaction), are announced on the Bus, and rebuild the snapshot before the
// call returns. Rebuilds are coalesced (at most one per 100 ms by default). Other
// replicas follow through the Bus or, if a message is lost, the version poll.
// Expiry is checked at decision time, so an expired block stops applying at
// once, and an expired host block never hides an active network block around
// it. A stored row that fails validation is skipped and reported in Stats; a
// store error keeps the previous snapshot.
//
// # Events
//
// Denials and report-only matches become events in a bounded queue; one
// goroutine coalesces identical events (action, client IP or IPv6 /64, rule,
// path) per flush interval and stores them in batches. A request never waits
// for the database; a full queue drops and counts. Strings are cleaned (valid
// UTF-8, no NUL, cut on rune boundaries) before they are queued.
//
// # Concurrency
//
// An Engine is safe for concurrent use. New does no I/O and starts no
// goroutine; Start starts the event writer, the rebuilder and the version
// poll; Close stops them.
package core
