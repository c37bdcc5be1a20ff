package core

import (
	"errors"

	"github.com/wardenkit/warden/core/rule"
	"github.com/wardenkit/warden/internal/textutil"
)

// Sentinel errors, for errors.Is. Stores and the engine wrap them with %w
// and the operation that failed.
var (
	// ErrNotFound is returned by a Store when a row with the given key does not exist.
	ErrNotFound = errors.New("core: not found")
	// ErrInvalid is rule.ErrInvalid, wrapped by every *rule.ValidationError:
	// errors.Is(err, ErrInvalid) tells bad input from a system failure.
	ErrInvalid = rule.ErrInvalid
	// ErrNotStarted is returned by Engine.Check before Start has loaded a snapshot.
	ErrNotStarted = errors.New("core: engine not started")
	// ErrClosed is returned by an Engine after Close.
	ErrClosed = errors.New("core: engine closed")
	// ErrNilRequest is returned by Engine.Check for a request without HTTP or URL.
	ErrNilRequest = errors.New("core: Check: nil request")
	// ErrLocked is wrapped by every *LockedError.
	ErrLocked = errors.New("core: login locked out")
	// ErrEventsLost is wrapped by Close when queued events could not be stored.
	ErrEventsLost = errors.New("core: events lost")
	// ErrTicketUsed is returned when a Ticket is given a second outcome.
	ErrTicketUsed = errors.New("core: login ticket already has an outcome")
	// ErrConflict is returned by PutSettings when the settings changed since
	// they were read (their UpdatedAt differs): read them again and retry.
	ErrConflict = errors.New("core: settings changed since they were read")
)

// invalid builds the *rule.ValidationError of a core type (Settings,
// LockoutRecord, LoginRecord, UnlockRequest).
func invalid(typ, field, value, problem string) error {
	return &rule.ValidationError{Type: typ, Field: field, Value: textutil.Truncate(value, 100), Problem: problem}
}
