// Package core is warden's decision engine. It decides each request in
// memory, from an immutable snapshot of the rules: whitelisted and blocked
// IPs and networks, user exemptions, blocked User-Agents, country block or
// allow-list, and rate limits; it protects login forms (Lockout,
// LoginMonitor) and keeps a security event log.
//
//	eng, err := core.New(store, core.WithTrustedProxies(netip.MustParsePrefix("10.0.0.0/8")))
//	if err != nil { … }
//	if err := eng.Start(ctx); err != nil { … } // loads the first snapshot
//	defer eng.Close(ctx)                        // flushes queued events
//	_, err = eng.Rules().BlockedIPs().Put(ctx, rule.BlockedIP{Network: "203.0.113.0/24"})
//	d, err := eng.Check(ctx, core.Request{HTTP: r, UserID: uid})
//
// Check runs the steps in order (exempt path, client IP, whitelisted IP, user
// exemption, blocked IP, User-Agent, country, rate limits) and stops at the
// first denial. Denials are values (Decision), not errors; when the engine
// cannot decide, the fail policy answers (default 503). The allow path reads
// an immutable snapshot and does not allocate; only a matching rate rule
// touches shared counters (a shard lock, or one Redis round trip).
//
// The Store is the source of truth. A write through Engine.Rules or
// Engine.PutSettings goes to the store, is announced on the Bus and is
// enforced by this engine before the call returns; other replicas follow
// through the Bus or the version poll. Expiry is checked at decision time. A
// stored row that fails validation is skipped and listed in Stats.
//
// Events go to a bounded queue and are stored in batches by one goroutine, so
// a request never waits for the database. An Engine is safe for concurrent
// use; New does no I/O, Start starts the background work, Close stops it.
package core
