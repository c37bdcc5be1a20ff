// Package attempt holds the login attempt counter that core.Lockout judges
// attempts with: the Counter interface, its contract, and Memory, the
// in-process implementation. redisstore.Attempts implements Counter for
// replicas that must share counters.
//
// A counter stores timestamped reservations and failures per key and judges
// them, at every call, against the Policy and limits the caller passes, so a
// changed setting applies to existing counters at once.
//
//	m, _ := attempt.NewMemory(0)
//	ok, st, err := m.Reserve(ctx, now, attempt.Policy{Cooloff: 15 * time.Minute}, token,
//		[]attempt.Key{{Key: "ui:{203.0.113.9}:…", Limit: 5, ResetOnSuccess: true}})
//
// Every implementation must be safe for concurrent use and atomic across the
// keys of one call. The package imports only the standard library.
package attempt

import (
	"context"
	"errors"
	"time"
)

// ReservationTimeout is how long a login attempt may stay reserved without an
// outcome. After it, the reservation counts as a failure made at its
// reservation time plus ReservationTimeout (a handler that crashed, hung or
// forgot to report must not give an attacker free guesses).
const ReservationTimeout = 60 * time.Second

// Errors of this package; callers branch on them with errors.Is.
var (
	// ErrFull is wrapped by a Counter that refuses a new key because it
	// holds as many keys as it may. core.Lockout applies its fail policy.
	ErrFull = errors.New("attempt: counter full")
	// ErrInvalid is wrapped by Memory when a call's arguments are out of
	// range (a key that is empty or over 256 bytes, a limit below 1, a
	// negative duration, a time before 1970).
	ErrInvalid = errors.New("attempt: invalid argument")
)

// Key is one counter of a login attempt and the limit it has now.
//
// Key is opaque to the counter. Lockout builds it as "<scope>:{<group>}…":
// the part in braces is the same for every key of one attempt that shares a
// client address, so a Redis Cluster implementation can use it as the hash
// tag and keep those keys in one slot. Keys are at most 100 bytes; usernames
// in them are hashed.
type Key struct {
	Key string
	// Limit is the number of failures (failed plus reserved attempts) at
	// which the key locks, at least 1.
	Limit int
	// ResetOnSuccess makes Release clear the key's failures and lock (the
	// username keys; never the IP-only key, or one valid account would reset
	// an attacker's address).
	ResetOnSuccess bool
}

// Policy is the part of the current settings a Counter judges
// stored attempts by. It is passed on every call, never remembered as
// authoritative, so a changed setting applies to existing counters at once.
type Policy struct {
	// Cooloff is how long a lock lasts from the failure that reached the
	// limit; 0 means until Reset. When the lock ends the key starts afresh.
	Cooloff time.Duration
	// AttemptExpiry makes each failure below the limit expire Cooloff after
	// it was made. Without it, failures below the limit expire together,
	// Window() after the latest one. It needs Cooloff > 0.
	AttemptExpiry bool
	// ReservationTimeout turns a reservation without an outcome into a
	// failure; Lockout passes the constant ReservationTimeout.
	ReservationTimeout time.Duration
}

// Window is how long failures below the limit are kept after the latest one
// when AttemptExpiry is off: max(Cooloff, 24 h).
func (p Policy) Window() time.Duration { return max(p.Cooloff, 24*time.Hour) }

// State is what a counter step found for one key, after applying the
// step.
type State struct {
	Failures int  // failures that count now (timed-out reservations included)
	Reserved int  // reservations without an outcome
	Locked   bool // failures reached the limit and the lock has not ended
	// LockedAt is when the key locked: the time of the failure that reached
	// the limit. Zero when not locked.
	LockedAt time.Time
	// Until is when the key accepts attempts again: the end of the lock
	// (zero for a lock that lasts until Reset), or, for a key that is full of
	// reservations without being locked, when the oldest one times out. Zero
	// when the key has room.
	Until time.Time
	// LockedNow is true for exactly one step per lock: the one that locked
	// the key (a Fail, or a Reserve or Release that found a timed-out
	// reservation or a lowered limit). Lockout records one LOCKOUT event for
	// it. Status never sets it.
	LockedNow bool
}

// Counter keeps the attempts of login keys: reservations and failures,
// each with its time, judged at every call against the limits and the
// Policy given to that call.
//
// Contract for every implementation (Memory is the
// reference; a Redis implementation does each call in one round trip):
//   - Reserve reserves one attempt, identified by token, on every key, or on
//     none: it refuses when any key is locked or has failures + reservations
//     >= Limit. A refused attempt changes nothing and does not extend a lock.
//     ok reports whether the attempt was reserved.
//   - Fail turns the token's reservation into a failure made at now. A token
//     whose reservation already timed out into a failure is not counted
//     twice; an unknown token records nothing.
//   - Release drops the token's reservation (or the failure it timed out
//     into) and clears failures and lock of keys with ResetOnSuccess; other
//     reservations on those keys stay.
//   - Reset forgets the keys entirely (a manual unlock).
//   - Status reports the keys as they are and changes nothing.
//   - States are returned one per key, in order. now is the caller's clock;
//     implementations never read their own.
//   - Errors are system failures (store unreachable, ErrFull).
//
// Implementations must be safe for concurrent use, and every call must be
// atomic across its keys.
type Counter interface {
	Reserve(ctx context.Context, now time.Time, p Policy, token uint64, keys []Key) (ok bool, st []State, err error)
	Fail(ctx context.Context, now time.Time, p Policy, token uint64, keys []Key) ([]State, error)
	Release(ctx context.Context, now time.Time, p Policy, token uint64, keys []Key) ([]State, error)
	Reset(ctx context.Context, keys []string) error
	Status(ctx context.Context, now time.Time, p Policy, keys []Key) ([]State, error)
}
