// Package options applies the options of an adapter's constructors
// (Middleware, LoginGuard). Those constructors return the middleware itself,
// so that it can be written inline (r.Use(ginwarden.Middleware(eng))); their
// only failures are programmer errors, caught at start-up with a panic, as
// net/http.Handle does. Nothing here runs per request.
package options

import (
	"errors"
	"fmt"
)

// Apply runs opts on cfg in order. fn names the constructor for the panic,
// such as "ginwarden: Middleware". A nil option panics with the error
// "<fn>: nil option"; an option that returns an error panics with that error
// wrapped as "<fn>: <error>" (errors.Is and errors.As see through it).
func Apply[C any, O ~func(*C) error](fn string, cfg *C, opts []O) {
	for _, o := range opts {
		if o == nil {
			panic(errors.New(fn + ": nil option"))
		}
		if err := o(cfg); err != nil {
			panic(fmt.Errorf("%s: %w", fn, err))
		}
	}
}
