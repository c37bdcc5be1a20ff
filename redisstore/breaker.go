package redisstore

import (
	"sync"
	"sync/atomic"
	"time"
)

// breaker is a consecutive-failure circuit breaker: after max calls in a
// row that found the server dead, it refuses calls for cooldown, then lets
// one call at a time through until one gets a reply.
type breaker struct {
	mu       sync.Mutex
	max      int
	cooldown time.Duration
	fails    int
	openTill time.Time
	probing  bool
}

func (b *breaker) allow() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.fails < b.max {
		return true
	}
	if time.Now().Before(b.openTill) || b.probing {
		return false
	}
	b.probing = true // half-open: one call tests the water
	return true
}

// done reports the outcome of an allowed call; it returns true when the
// breaker opens.
func (b *breaker) done(o outcome) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.probing = false
	switch o {
	case replied:
		b.fails = 0
	case dead:
		b.fails++
		if b.fails >= b.max {
			b.openTill = time.Now().Add(b.cooldown)
			return true
		}
	}
	return false
}

// counters are the figures of one Limiter or Attempts.
type counters struct {
	calls, roundTrips, errors, deadlines, dead, trips, open atomic.Int64
}

// Stats counts what a Limiter or an Attempts did since it was made. Every
// error it returned left the decision to the engine's fail policy
// (core.WithLimiterFailPolicy, core.WithLockoutFailPolicy).
type Stats struct {
	Calls       int64 `json:"calls"`         // calls sent to Redis (not those that found no free slot, or whose caller left first)
	RoundTrips  int64 `json:"round_trips"`   // script calls and pipelines sent: fewer than Calls when steps shared a pipeline
	Errors      int64 `json:"errors"`        // calls that returned an error, whatever the cause
	Deadlines   int64 `json:"deadlines"`     // of those, calls that reached their deadline without a reply
	Dead        int64 `json:"dead"`          // of those, failures the breaker counted (connection errors, deadlines after a silence)
	Trips       int64 `json:"breaker_trips"` // times the breaker opened
	CircuitOpen int64 `json:"circuit_open"`  // calls refused at once by the open breaker (not in Calls)
	Abandoned   int64 `json:"abandoned"`     // calls of the Store running past their deadline now (a gauge)
}

func (c *counters) stats(g *guard) Stats {
	return Stats{
		Calls: c.calls.Load(), RoundTrips: c.roundTrips.Load(), Errors: c.errors.Load(), Deadlines: c.deadlines.Load(),
		Dead: c.dead.Load(), Trips: c.trips.Load(), CircuitOpen: c.open.Load(), Abandoned: g.abandoned.Load(),
	}
}
