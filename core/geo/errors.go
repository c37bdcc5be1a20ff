package geo

import "errors"

// Sentinel errors. They are returned wrapped with the operation and path
// ("geo: Open /var/lib/GeoIP/GeoLite2-Country.mmdb: ..."); test with errors.Is.
var (
	// ErrNoCountryData means the file is a valid MaxMind DB but holds no
	// country data this package can read: a database type without countries
	// (ASN, ISP, Domain, ...) or records with neither country.iso_code nor a
	// top-level country_code.
	ErrNoCountryData = errors.New("database has no country data")

	// ErrNoFile is returned by Reload for a DB built with OpenBytes.
	ErrNoFile = errors.New("database was not opened from a file")

	// ErrClosed is returned by Start after Close.
	ErrClosed = errors.New("database closed")

	// ErrStarted is returned by a second Start.
	ErrStarted = errors.New("already started")
)
