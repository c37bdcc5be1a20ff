package core

import (
	"errors"
	"fmt"
)

// Sentinel errors, for errors.Is. Stores and the engine wrap them with %w
// and the operation that failed.
var (
	// ErrNotFound is returned by a Store when a row with the given key does not exist.
	ErrNotFound = errors.New("core: not found")
	// ErrInvalid is wrapped by every *ValidationError, so errors.Is(err, ErrInvalid)
	// tells bad input from a system failure.
	ErrInvalid = errors.New("core: invalid input")
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
)

// ValidationError names the field and the value that were refused and why.
type ValidationError struct {
	Type    string // entity, e.g. "BlockedIP"
	Field   string // field name as stored, e.g. "network"
	Value   string // the offending value, cut to 100 bytes
	Problem string // what is wrong with it
}

func (e *ValidationError) Error() string {
	return fmt.Sprintf("core: invalid %s.%s %q: %s", e.Type, e.Field, e.Value, e.Problem)
}

// Unwrap makes errors.Is(err, ErrInvalid) true.
func (e *ValidationError) Unwrap() error { return ErrInvalid }

func invalid(typ, field, value, problem string) error {
	if len(value) > 100 {
		value = TruncateUTF8(value, 100)
	}
	return &ValidationError{Type: typ, Field: field, Value: value, Problem: problem}
}
