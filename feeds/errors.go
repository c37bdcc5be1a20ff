package feeds

import (
	"errors"
	"fmt"
)

// Sentinel errors, for errors.Is. Errors read "feeds: Op: problem" and name
// the source URL without its password.
var (
	// ErrInvalidOption is wrapped by the error of New or NewFetcher for a
	// nil option or an option given a value it refuses.
	ErrInvalidOption = errors.New("feeds: invalid option")
	// ErrHTTPStatus is wrapped when a source answers anything but 200 (or
	// 304 to a conditional request).
	ErrHTTPStatus = errors.New("feeds: unexpected HTTP status")
	// ErrTooLarge is wrapped when a body is longer than the fetcher's limit.
	ErrTooLarge = errors.New("feeds: body too large")
	// ErrRedirect is wrapped when a source redirects more often than allowed
	// or from https to http.
	ErrRedirect = errors.New("feeds: redirect refused")
	// ErrNotList is wrapped when a body is refused as a whole: an HTML page,
	// a JSON value that is not an array, an empty list, or a list with more
	// bad lines than the sync accepts.
	ErrNotList = errors.New("feeds: not a list")
	// ErrUnauthorized is wrapped, with ErrHTTPStatus, when a source answers
	// 401 or 403: missing or wrong credentials, or no access to the file.
	ErrUnauthorized = errors.New("feeds: download refused")
	// ErrInvalidSource is wrapped by DownloadGeoIP for a GeoIPSource that
	// does not validate.
	ErrInvalidSource = errors.New("feeds: invalid source")
	// ErrChecksum is wrapped when a download does not match the SHA-256
	// its publisher gives.
	ErrChecksum = errors.New("feeds: checksum mismatch")
	// ErrNotDatabase is wrapped when a download is not a country database
	// core/geo reads: an HTML page, a broken archive, an archive without an
	// .mmdb file, a truncated file, a database without country data.
	ErrNotDatabase = errors.New("feeds: not a country database")
	// ErrWriteFile is wrapped when the downloaded database cannot be written
	// beside the old one (a full disk, a read-only directory); the old file
	// is left in place.
	ErrWriteFile = errors.New("feeds: cannot write the database file")
	// ErrShrink is wrapped when a list would deactivate more of the synced
	// rows than the sync allows at once (WithMaxDeactivate); Request.Force
	// applies it anyway.
	ErrShrink = errors.New("feeds: list shrank too much")
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
