package core

import (
	"fmt"
	"net/netip"
	"time"
)

// Clock tells the time. The engine reads it once per decision and passes the
// value down; clockwork's clocks satisfy it.
type Clock interface {
	Now() time.Time
}

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

// CountryLookup maps an address to its ISO 3166-1 alpha-2 country code.
// core/geo implements it over MaxMind-format files.
type CountryLookup interface {
	Country(netip.Addr) (string, bool)
}

// FailPolicy decides a request when the engine cannot (no snapshot loaded, a
// counter store down).
type FailPolicy int

const (
	// FailClosed denies with 503 (the default for Check errors).
	FailClosed FailPolicy = iota
	// FailOpen lets the request through.
	FailOpen
	// FailFallback uses an in-process substitute where one exists (the
	// in-memory limiter); otherwise it behaves as FailClosed.
	FailFallback
)

// String is the policy's name.
func (p FailPolicy) String() string {
	switch p {
	case FailClosed:
		return "closed"
	case FailOpen:
		return "open"
	case FailFallback:
		return "fallback"
	}
	return fmt.Sprintf("FailPolicy(%d)", int(p))
}
