package clientip

import "errors"

// ErrInvalidOption is wrapped by every error New returns: an option given a
// value it refuses, a nil option, or options that cannot be combined.
var ErrInvalidOption = errors.New("clientip: invalid option")

// optionError is an ErrInvalidOption that reads "clientip: Op: problem"
// without repeating the text of ErrInvalidOption. Op is the option or New.
type optionError struct {
	op      string
	problem string
}

func (e *optionError) Error() string { return "clientip: " + e.op + ": " + e.problem }

func (e *optionError) Unwrap() error { return ErrInvalidOption }
