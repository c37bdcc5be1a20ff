package bunstore

import (
	"errors"
	"fmt"
)

// Sentinel errors, for errors.Is. Every error of this package reads
// "bunstore: Op: problem", where Op is the function or method called
// ("bunstore: Open: sqlite DSN has no file name (want sqlite:file:warden.db)",
// `bunstore: BlockedIPs.Get "198.51.100.1": core: not found`), without
// repeating the text of a sentinel of this package; none holds a password.
// Row lookups wrap core.ErrNotFound and refused values core.ErrInvalid.
var (
	// ErrInvalidOption is wrapped by the error of Open for a nil option or
	// an option given a value it refuses.
	ErrInvalidOption = errors.New("bunstore: invalid option")
	// ErrInvalidDSN is wrapped by the error of Open for a DSN it cannot
	// read: a missing or unknown scheme, a malformed URL, a missing file,
	// host or database name, or a parameter the driver refuses. A database
	// that does not answer is a different error.
	ErrInvalidDSN = errors.New("bunstore: invalid DSN")
	// ErrUnsafeSession is wrapped by the error of Open (or of a later
	// query that opens a connection) when a new connection reports a
	// setting under which bun's quoting is unsafe, although the store set
	// it: a MySQL charset other than utf8mb4 or NO_BACKSLASH_ESCAPES,
	// PostgreSQL's standard_conforming_strings off or a client_encoding
	// other than UTF8. A server-side setting (init_connect, a pooler) is
	// changing the session; the connection is closed unused.
	ErrUnsafeSession = errors.New("bunstore: unsafe session settings")
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

// errf wraps err with the operation, without any secret of the DSN.
func (s *Store) errf(op string, err error) error {
	return fmt.Errorf("bunstore: %s: %w", op, redactErr(err, s.secrets))
}
