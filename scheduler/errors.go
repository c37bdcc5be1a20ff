package scheduler

import (
	"errors"
	"fmt"
)

// Sentinel errors, for errors.Is. Errors read "scheduler: Func: problem".
var (
	// ErrInvalidOption is wrapped by the error of New for a nil option or
	// an option given a value it refuses.
	ErrInvalidOption = errors.New("scheduler: invalid option")
	// ErrPanic is wrapped by the error of a run that panicked; the panic
	// is recovered, logged with its stack and counted, and the job runs
	// again at its next tick.
	ErrPanic = errors.New("scheduler: job panicked")
	// ErrRunning is returned by Run when the job is already running.
	ErrRunning = errors.New("scheduler: job already running")
	// ErrState is wrapped by the error of Start called twice or after
	// Shutdown.
	ErrState = errors.New("scheduler: misuse")
	// ErrJobOff is wrapped by the error of Run for a job that is off.
	ErrJobOff = errors.New("scheduler: job is off")
)

// optionError reads as its message and matches ErrInvalidOption.
type optionError struct{ msg string }

func (e *optionError) Error() string { return e.msg }
func (e *optionError) Unwrap() error { return ErrInvalidOption }

// invalid is the error of an option: "scheduler: WithX: problem".
func invalid(format string, args ...any) error {
	return &optionError{msg: "scheduler: " + fmt.Sprintf(format, args...)}
}

// panicError is a recovered panic.
type panicError struct {
	value any
	stack []byte
}

func (e *panicError) Error() string { return fmt.Sprintf("scheduler: job panicked: %v", e.value) }
func (e *panicError) Unwrap() error { return ErrPanic }
