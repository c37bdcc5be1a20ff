package ratelimit

import "errors"

// Sentinel errors, for errors.Is. Every error of this package reads
// "ratelimit: Op: problem" (or `ratelimit: Op "input": problem`) and wraps
// exactly one of them.
var (
	// ErrInvalid is wrapped by every error about bad input: a Limit that does
	// not validate, a string Parse refuses, a bad option, a Key whose Value is
	// too long, or a time outside the supported range.
	ErrInvalid = errors.New("ratelimit: invalid input")
	// ErrFull is wrapped by the error of Memory.Allow when a new key arrives
	// at a shard that holds its share of WithMaxKeys live counters. No
	// counter is evicted and nothing is consumed; the caller applies its fail
	// policy.
	ErrFull = errors.New("ratelimit: key cap reached")
	// ErrClosed is wrapped by the error of Memory.Start after Close.
	ErrClosed = errors.New("ratelimit: closed")
	// ErrStarted is wrapped by the error of a second Memory.Start.
	ErrStarted = errors.New("ratelimit: already started")
)

// opError is an error of operation op that errors.Is matches to kind. It
// prints as "ratelimit: Op: problem", or `ratelimit: Op "input": problem`
// when quoted, without repeating the text of kind.
type opError struct {
	kind    error
	op      string
	input   string
	quoted  bool
	problem string
}

func (e *opError) Error() string {
	if e.quoted {
		in := e.input
		if len(in) > 64 {
			in = in[:64] + "…"
		}
		return "ratelimit: " + e.op + " " + quote(in) + ": " + e.problem
	}
	return "ratelimit: " + e.op + ": " + e.problem
}

func (e *opError) Unwrap() error { return e.kind }

// invalid returns an ErrInvalid error of op.
func invalid(op, problem string) error {
	return &opError{kind: ErrInvalid, op: op, problem: problem}
}
