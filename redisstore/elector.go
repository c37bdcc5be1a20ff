package redisstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// ErrNotLeader is wrapped by the error of Elector.IsLeader when this
// instance does not hold the lease.
var ErrNotLeader = errors.New("redisstore: not the leader")

// DefaultLeaseTTL is the lease an Elector holds without WithLeaseTTL.
const DefaultLeaseTTL = 15 * time.Second

// Clock is the local clock of an Elector: clockwork's clocks satisfy it.
type Clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

// ElectorOption configures NewElector.
type ElectorOption func(*Elector) error

// WithElectorPrefix sets the prefix of the lease key (default "warden:",
// as WithPrefix): the key is prefix + "scheduler:leader". Replicas that
// share a schedule must share it.
func WithElectorPrefix(p string) ElectorOption {
	return func(e *Elector) error {
		if p == "" || strings.ContainsAny(p, " {}\r\n") {
			return errorf(ErrInvalidOption, "redisstore: WithElectorPrefix: %q is empty or holds a space, a brace or a line break", p)
		}
		e.key = p + "scheduler:leader"
		return nil
	}
}

// WithLeaseTTL sets how long the lease lives in Redis without renewal
// (default 15 s, in [1s, 10m]). It is renewed every third of it; a leader
// that stops renewing (crashed, or cut off from Redis) is replaced within
// about the TTL and a third.
func WithLeaseTTL(d time.Duration) ElectorOption {
	return func(e *Elector) error {
		if d < time.Second || d > 10*time.Minute {
			return errorf(ErrInvalidOption, "redisstore: WithLeaseTTL: %s is out of range [1s, 10m]", d)
		}
		e.ttl = d
		return nil
	}
}

// WithElectorClock sets the local clock that times the renewals and judges
// the lease (default: the system clock).
func WithElectorClock(c Clock) ElectorOption {
	return func(e *Elector) error {
		if c == nil {
			return errorf(ErrInvalidOption, "redisstore: WithElectorClock: nil clock")
		}
		e.clock = c
		return nil
	}
}

// WithElectorLogger sets the logger told when the lease is won or lost and
// when Redis fails (default: slog.Default()).
func WithElectorLogger(l *slog.Logger) ElectorOption {
	return func(e *Elector) error {
		if l == nil {
			return errorf(ErrInvalidOption, "redisstore: WithElectorLogger: nil logger")
		}
		e.log = l
		return nil
	}
}

// Elector elects one leader among replicas with a lease in Redis, for
// warden's scheduler (it has the method set of scheduler.Elector and of
// gocron's Elector). Each Elector holds a random token; the lease is a key
// set to the token with SET NX PX and renewed, by the goroutine Start
// starts, every third of its TTL with a script that extends it only if the
// token is still there. Close stops renewing and deletes the key, again
// only if it still holds this token, so it never removes another holder's
// lease.
//
// IsLeader reads local state and does no I/O: it answers nil only while the
// lease, counted on the local clock from before the call that won or
// renewed it, has at least a fifth of its TTL to run. Redis counts the
// same TTL from when it ran the call, later, so a leader stops before the
// key can expire and another replica take it: no job runs twice, whatever
// the clock skew between replicas (only the rates of their clocks matter).
// When Redis fails the lease is not renewed and the leader steps down when
// its local lease ends; no one leads until Redis answers again. A
// replaced or stolen key is noticed at the next renewal.
//
// Caveat: the lease is as safe as the Redis holding it. A failover that
// loses the key (asynchronous replication) can give two leaders until the
// old one's next renewal, at most a third of the TTL.
//
// An Elector is safe for concurrent use.
type Elector struct {
	rdb   redis.UniversalClient
	key   string
	token string
	ttl   time.Duration
	clock Clock
	log   *slog.Logger

	mu       sync.Mutex
	leaseEnd time.Time // local end of the lease; zero when not held
	failing  bool      // the last round failed (logged once per streak)
	state    int       // 0 new, 1 started, 2 closed
	cancel   context.CancelFunc
	done     chan struct{}
	st       ElectorStats
}

// ElectorStats are an Elector's counters since NewElector.
type ElectorStats struct {
	Leader   bool  `json:"leader"`   // IsLeader would answer nil now
	Acquired int64 `json:"acquired"` // times the lease was won
	Renewed  int64 `json:"renewed"`  // renewals of a held lease
	Lost     int64 `json:"lost"`     // times the key was found held by another
	Errors   int64 `json:"errors"`   // calls to Redis that failed
}

var errElectorState = errors.New("redisstore: elector misuse")

// leaseScript wins the lease when the key is free (SET NX PX: 2), renews it
// when it holds our token (1), and reports 0 when another holds it.
var leaseScript = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if v == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if not v then
  redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2])
  return 2
end
return 0`)

// releaseScript deletes the key only when it holds our token.
var releaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0`)

// NewElector returns an Elector on rdb. It does no I/O and starts no
// goroutine; call Start, and Close on shutdown. Errors of the options wrap
// ErrInvalidOption.
func NewElector(rdb redis.UniversalClient, opts ...ElectorOption) (*Elector, error) {
	if rdb == nil {
		return nil, errorf(ErrInvalidOption, "redisstore: NewElector: nil client")
	}
	var tok [16]byte
	if _, err := rand.Read(tok[:]); err != nil {
		return nil, fmt.Errorf("redisstore: NewElector: token: %w", err)
	}
	e := &Elector{rdb: rdb, key: "warden:scheduler:leader", token: hex.EncodeToString(tok[:]),
		ttl: DefaultLeaseTTL, clock: realClock{}, log: slog.Default()}
	for i, o := range opts {
		if o == nil {
			return nil, errorf(ErrInvalidOption, "redisstore: NewElector: option %d is nil", i)
		}
		if err := o(e); err != nil {
			return nil, err
		}
	}
	return e, nil
}

// Key is the Redis key of the lease.
func (e *Elector) Key() string { return e.key }

// Start tries once to win the lease, bounded by ctx, then starts the
// goroutine that renews it or tries again every third of the TTL until
// Close. A Redis failure is not an error: the elector is not the leader
// until a later try succeeds. Start fails only when called twice or after
// Close.
func (e *Elector) Start(ctx context.Context) error {
	e.mu.Lock()
	if e.state != 0 {
		e.mu.Unlock()
		return fmt.Errorf("redisstore: Elector.Start: already started or closed: %w", errElectorState)
	}
	e.state = 1
	loop, cancel := context.WithCancel(context.Background())
	e.cancel, e.done = cancel, make(chan struct{})
	e.mu.Unlock()
	e.round(ctx)
	go e.run(loop)
	return nil
}

func (e *Elector) run(ctx context.Context) {
	defer close(e.done)
	for {
		select {
		case <-ctx.Done():
			return
		case <-e.clock.After(e.ttl / 3):
		}
		e.round(ctx)
	}
}

// round wins or renews the lease once. The lease's local end is counted
// from before the call, so it ends before Redis's.
func (e *Elector) round(ctx context.Context) {
	t0 := e.clock.Now()
	rctx, cancel := context.WithTimeout(ctx, e.ttl/3)
	res, err := leaseScript.Run(rctx, e.rdb, []string{e.key}, e.token, e.ttl.Milliseconds()).Int()
	cancel()
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.state == 2 {
		return // closed meanwhile: Close owns the lease now
	}
	held := e.holds(t0)
	switch {
	case err != nil:
		// The lease, if any, runs out on its own: no renewal, no leader.
		e.st.Errors++
		if !e.failing {
			e.log.Warn("redisstore: Elector: lease call failed", "key", e.key, "err", err)
		}
		e.failing = true
		return
	case res == 0:
		if !e.leaseEnd.IsZero() {
			e.st.Lost++
			e.log.Warn("redisstore: Elector: lease held by another replica; stepping down", "key", e.key)
		}
		e.leaseEnd = time.Time{}
	default:
		e.leaseEnd = t0.Add(e.ttl - e.ttl/5)
		if res == 1 && held {
			e.st.Renewed++
		} else {
			e.st.Acquired++
			e.log.Info("redisstore: Elector: leader", "key", e.key, "ttl", e.ttl)
		}
	}
	if e.failing {
		e.log.Info("redisstore: Elector: Redis answers again", "key", e.key)
	}
	e.failing = false
}

// holds reports whether the lease is held at now; e.mu is held.
func (e *Elector) holds(now time.Time) bool {
	return !e.leaseEnd.IsZero() && now.Before(e.leaseEnd)
}

// IsLeader returns nil while this instance holds an unexpired lease, and an
// error wrapping ErrNotLeader otherwise. It does no I/O.
func (e *Elector) IsLeader(context.Context) error {
	now := e.clock.Now()
	e.mu.Lock()
	defer e.mu.Unlock()
	switch {
	case e.holds(now):
		return nil
	case e.leaseEnd.IsZero():
		return fmt.Errorf("redisstore: Elector.IsLeader: lease %s not held: %w", e.key, ErrNotLeader)
	default:
		return fmt.Errorf("redisstore: Elector.IsLeader: lease %s not renewed since it ended at %s: %w",
			e.key, e.leaseEnd.Format(time.RFC3339Nano), ErrNotLeader)
	}
}

// Stats reports the elector's counters.
func (e *Elector) Stats() ElectorStats {
	now := e.clock.Now()
	e.mu.Lock()
	defer e.mu.Unlock()
	st := e.st
	st.Leader = e.holds(now)
	return st
}

// Close stops the renewals, steps down at once, and deletes the lease key
// if it still holds this elector's token, so another replica can lead at
// its next try rather than after the TTL. It waits for the renewal
// goroutine and for Redis, bounded by ctx. Calling it again does nothing.
func (e *Elector) Close(ctx context.Context) error {
	e.mu.Lock()
	if e.state == 2 {
		e.mu.Unlock()
		return nil
	}
	started := e.state == 1
	e.state = 2
	held := !e.leaseEnd.IsZero()
	e.leaseEnd = time.Time{}
	e.mu.Unlock()
	if started {
		e.cancel()
		select {
		case <-e.done:
		case <-ctx.Done():
			return fmt.Errorf("redisstore: Elector.Close: %w", ctx.Err())
		}
	}
	if !held {
		return nil
	}
	if err := releaseScript.Run(ctx, e.rdb, []string{e.key}, e.token).Err(); err != nil {
		return fmt.Errorf("redisstore: Elector.Close: release %s: %w", e.key, err)
	}
	return nil
}

// realClock is the system clock.
type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }
