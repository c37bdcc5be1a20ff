package metrics

import (
	"errors"
	"fmt"
)

// Sentinel errors, for errors.Is. Errors read "metrics: Func: problem".
var (
	// ErrNilEngine is returned by New for a nil engine.
	ErrNilEngine = errors.New("metrics: New: nil engine")
	// ErrInvalidOption is wrapped by the error of New for a nil option or an
	// option given a value it refuses.
	ErrInvalidOption = errors.New("metrics: invalid option")
)

// optionError reads as its message and matches ErrInvalidOption.
type optionError struct{ msg string }

func (e *optionError) Error() string { return e.msg }
func (e *optionError) Unwrap() error { return ErrInvalidOption }

// invalid is the error of an option: "metrics: WithX: problem".
func invalid(format string, args ...any) error {
	return &optionError{msg: "metrics: " + fmt.Sprintf(format, args...)}
}
