// Package geo answers "which country is this IP address in?" from a MaxMind
// DB (.mmdb) file, and picks up a new version of the file without a restart.
//
// It implements core.CountryLookup for warden's country rules, and imports
// neither core nor any framework.
//
// # Usage
//
//	db, err := geo.Open("/var/lib/GeoIP/GeoLite2-Country.mmdb",
//		geo.WithLogger(logger))
//	if err != nil {
//		return err // names the path and the reason
//	}
//	if err := db.Start(ctx); err != nil { // optional: watch the file
//		return err
//	}
//	defer db.Close()
//	eng, err := core.New(store, core.WithCountryLookup(db))
//
//	code, ok := db.Country(netip.MustParseAddr("81.2.69.142")) // "GB", true
//
// # Databases
//
// Open accepts MaxMind DB files with country data in either of two layouts,
// detected once when a file is loaded:
//
//   - MaxMind's, {"country": {"iso_code": "FR", ...}}: GeoLite2 and GeoIP2
//     Country, City and Enterprise, and DB-IP's MaxMind-compatible files;
//   - a flat one, {"country_code": "FR", ...}: IPinfo Lite and similar free
//     databases.
//
// A file is validated before it is used: it must parse as a MaxMind DB;
// geoip2-golang must accept its database type as one with country data, or,
// for a type geoip2-golang does not know, its records must carry a country
// code in one of the layouts above; and a probe lookup must return a valid
// code (for MaxMind types, the same code geoip2-golang's Country returns).
// An ASN database, an HTML error page or a truncated download is refused.
//
// Country returns upper-case ISO 3166-1 alpha-2 codes. Only the "country"
// field is read, never "registered_country" or "represented_country": a
// network with no country (some anonymous or satellite networks) is unknown,
// like private, loopback, reserved and unallocated addresses and the code
// "ZZ". What unknown means for a request is core's policy (allowed in block
// mode, denied in allow-list mode).
//
// # Lookups
//
// A file is compiled into a table when it is loaded (by Open and by every
// reload): its search tree is walked once, each record's country decoded
// once, and the networks become sorted address ranges, neighbours with the
// same country merged, in flat arrays without pointers (the garbage
// collector does not scan them). A lookup reads a first-level index by the
// address's top 16 bits (for IPv6, also by the next 8 bits in the /16s
// holding more than 64 ranges) and binary-searches the few ranges it
// points to: tens of nanoseconds however large the file, where a walk of
// the tree reads some 24 nodes scattered over megabytes. The table answers
// exactly as maxminddb's Lookup does, including the IPv6 networks that a
// writer points at the IPv4 data (::ffff:0:0/96, 2001::/32, 2002::/16).
// Once compiled, the file's bytes are not kept. A country database of
// 600,000 networks compiles in about 60 ms into a 4 MB table.
//
// A file that would compile into more than 4,194,304 ranges (an IPv4 range
// costs 6 bytes, an IPv6 range 18), whose walk passes 16,777,216 networks,
// or whose search tree is corrupt somewhere is not compiled: it is used as
// before, each lookup walking the tree and decoding the record through a
// cache of decoded records, still without allocating. Stats.Ranges is the
// table's size, 0 for such a file.
//
// # Reloading
//
// Start polls the file (default every minute, WithPollInterval) and compares
// its inode, size and modification time with the version in use; Reload
// loads it now. A new file is read whole into memory — never memory-mapped,
// so an update that rewrites the file in place cannot corrupt lookups in
// flight — validated, compiled, and swapped in atomically. A file that fails
// validation is logged, counted in Stats and ignored until it changes again;
// the previous database stays in use. Replace the file by renaming a
// complete temporary file over it, as geoipupdate does: an in-place rewrite
// that keeps the size within the file system's timestamp granularity may
// not be noticed until the next change.
//
// # Concurrency
//
// A DB is safe for concurrent use. Country reads the current database through
// an atomic pointer, never blocks and does not allocate, also during a
// reload: lookups use the file in use until the new one is compiled and
// published. A replaced database is not closed: lookups still using it finish
// on it and the garbage collector reclaims it. Start starts the only
// goroutine; Close stops it and waits for it.
//
// # Caveats
//
// The package downloads nothing. The user supplies the file and keeps it
// current (geoipupdate, or the vendor's download with the user's licence);
// the MaxMind, DB-IP and IPinfo licences, not this package's, govern the
// data. Country data is an estimate: a VPN, proxy, Tor exit or mobile
// carrier can place a client in another country, so a country rule is a
// coarse filter, not an authentication mechanism. Run country rules in
// report-only mode first. The address looked up must be the real client
// address resolved under a trust model (core/clientip), or a client can
// choose its country with a forged X-Forwarded-For.
package geo
