package geo

import (
	"errors"
	"fmt"
)

// Sentinel errors, for errors.Is. Every error of this package reads
// "geo: Op path: problem" ("geo: Open /var/lib/GeoIP/GeoLite2-Country.mmdb:
// database type "GeoLite2-ASN" has no country data"), without repeating the
// text of the sentinel it wraps.
var (
	// ErrNoCountryData means the file is a valid MaxMind DB but holds no
	// country data this package can read: a database type without countries
	// (ASN, ISP, Domain, ...) or records with neither country.iso_code nor a
	// top-level country_code.
	ErrNoCountryData = errors.New("geo: database has no country data")

	// ErrNoFile is returned by Reload for a DB built with OpenBytes.
	ErrNoFile = errors.New("geo: database was not opened from a file")

	// ErrClosed is returned by Start after Close.
	ErrClosed = errors.New("geo: database closed")

	// ErrStarted is returned by a second Start.
	ErrStarted = errors.New("geo: already started")

	// ErrInvalidOption is wrapped by the error of an option given a value it
	// refuses.
	ErrInvalidOption = errors.New("geo: invalid option")
)

// kindError reads as err and matches kind too with errors.Is, so that a
// message need not repeat the text of its sentinel.
type kindError struct{ err, kind error }

func (e *kindError) Error() string   { return e.err.Error() }
func (e *kindError) Unwrap() []error { return []error{e.err, e.kind} }

// errorf is fmt.Errorf whose result errors.Is also matches to kind.
func errorf(kind error, format string, args ...any) error {
	return &kindError{err: fmt.Errorf(format, args...), kind: kind}
}
