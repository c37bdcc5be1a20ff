package ratelimit

import "errors"

// Sentinel errors. Functions wrap them with the operation, so errors.Is tells
// the cases apart.
var (
	// ErrInvalid is wrapped by every error about bad input: a Limit that does
	// not validate, a string Parse refuses, a bad option, a Key whose Value is
	// too long, or a time outside the supported range.
	ErrInvalid = errors.New("invalid input")
	// ErrFull is returned by Memory.Allow when a new key arrives at a shard
	// that holds its share of WithMaxKeys live counters. No counter is evicted
	// and nothing is consumed; the caller applies its fail policy.
	ErrFull = errors.New("key cap reached")
	// ErrClosed is returned by Memory.Start after Close.
	ErrClosed = errors.New("closed")
)

// inputError is an ErrInvalid with the operation and the problem. It prints
// as "ratelimit: Op: problem" or `ratelimit: Op "input": problem`.
type inputError struct {
	op      string
	input   string
	quoted  bool
	problem string
}

func (e *inputError) Error() string {
	if e.quoted {
		in := e.input
		if len(in) > 64 {
			in = in[:64] + "…"
		}
		return "ratelimit: " + e.op + " " + quote(in) + ": " + e.problem
	}
	return "ratelimit: " + e.op + ": " + e.problem
}

func (e *inputError) Unwrap() error { return ErrInvalid }
