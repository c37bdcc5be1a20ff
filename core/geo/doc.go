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
// # Reloading
//
// Start polls the file (default every minute, WithPollInterval) and compares
// its inode, size and modification time with the version in use; Reload
// loads it now. A new file is read whole into memory — never memory-mapped,
// so an update that rewrites the file in place cannot corrupt lookups in
// flight — validated, and swapped in atomically. A file that fails
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
// reload. A replaced database is not closed: lookups still using it finish
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
