package redisstore

import (
	"errors"
	"fmt"

	"github.com/wardenkit/warden/core"
	"github.com/wardenkit/warden/core/attempt"
)

// Sentinel errors, for errors.Is. Every error of this package reads
// "redisstore: Type.Method: problem" (or "redisstore: WithX: value: problem"
// for an option) without repeating the text of the sentinel it wraps.
var (
	// ErrCircuitOpen is wrapped by the error of a Limiter or Attempts call
	// refused without calling Redis, because the breaker is open after
	// consecutive failures (WithBreaker).
	ErrCircuitOpen = errors.New("redisstore: circuit open")
	// ErrInvalidOption is wrapped by the error of New for a nil option or an
	// option given a value it refuses.
	ErrInvalidOption = errors.New("redisstore: invalid option")
)

// errInvalidArg is matched by the errors of Attempts for arguments out of
// range: core.ErrInvalid, as before the counter moved to core/attempt, and
// attempt.ErrInvalid, as for attempt.Memory. Its own text is never shown.
var errInvalidArg = errors.Join(core.ErrInvalid, attempt.ErrInvalid)

// kindError reads as err and matches kind too with errors.Is, so that a
// message need not repeat the text of its sentinel.
type kindError struct{ err, kind error }

func (e *kindError) Error() string   { return e.err.Error() }
func (e *kindError) Unwrap() []error { return []error{e.err, e.kind} }

// errorf is fmt.Errorf whose result errors.Is also matches to kind.
func errorf(kind error, format string, args ...any) error {
	return &kindError{err: fmt.Errorf(format, args...), kind: kind}
}
