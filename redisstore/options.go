package redisstore

import (
	"strings"
	"time"
)

// Defaults of the options.
const (
	// DefaultLimiterTimeout is the deadline of one Limiter.Allow.
	DefaultLimiterTimeout = 50 * time.Millisecond
	// DefaultLoginTimeout is how long a step of Attempts waits for any
	// reply at all from Redis: longer than the limiter's deadline.
	DefaultLoginTimeout = 250 * time.Millisecond
	// DefaultLoginMaxWait is the most a step of Attempts waits while Redis
	// keeps answering other calls (a burst queued ahead of it).
	DefaultLoginMaxWait = 2 * time.Second
	// DefaultStartTimeout is the deadline of Limiter.Start and
	// Attempts.Start (SCRIPT LOAD).
	DefaultStartTimeout = time.Second
	// DefaultBreakerFailures and DefaultBreakerCooldown: the breaker opens
	// after 5 dead calls in a row and stays open 1 s.
	DefaultBreakerFailures = 5
	DefaultBreakerCooldown = time.Second
	// DefaultSilence is how long Redis must have sent no reply at all for a
	// deadline to count as a dead server.
	DefaultSilence = time.Second
	// DefaultMaxInFlight bounds the calls of a Store at once.
	DefaultMaxInFlight = 1000
	// DefaultLoginCalls and DefaultLoginBatch: at most 4 round trips of one
	// Attempts in flight, each carrying at most 16 steps.
	DefaultLoginCalls = 4
	DefaultLoginBatch = 16
)

// Option configures a Store.
type Option func(*Store) error

// WithPrefix sets the prefix of every key and channel (default "warden:").
// Replicas of one installation must share it; two installations on one Redis
// must not.
func WithPrefix(p string) Option {
	return func(s *Store) error {
		if p == "" || strings.ContainsAny(p, " {}\r\n") {
			return errorf(ErrInvalidOption, "redisstore: WithPrefix: %q is empty or holds a space, a brace or a line break", p)
		}
		s.prefix = p
		return nil
	}
}

// WithLimiterTimeout sets the deadline of one Limiter.Allow (default 50 ms,
// at most 10 s). The deadline holds whatever the client's options: the
// request returns by then with an error wrapping context.DeadlineExceeded,
// and the engine's limiter fail policy decides.
func WithLimiterTimeout(d time.Duration) Option {
	return func(s *Store) error {
		if d <= 0 || d > 10*time.Second {
			return errorf(ErrInvalidOption, "redisstore: WithLimiterTimeout: %s is out of range (0, 10s]", d)
		}
		s.limitTimeout = d
		return nil
	}
}

// WithLoginTimeout sets how long a step of Attempts (Reserve, Fail,
// Release, Status) waits for Redis to send any reply at all, to it or to
// another call of the Store, after the step was made (default 250 ms, at
// most 10 s); and the deadline of Reset. Once Redis has answered something,
// a step queued behind a burst waits on for its own reply, up to
// WithLoginMaxWait: load is not an outage. A step that gives up returns an
// error wrapping context.DeadlineExceeded and the Lockout's fail policy
// decides (core.WithLockoutFailPolicy).
func WithLoginTimeout(d time.Duration) Option {
	return func(s *Store) error {
		if d <= 0 || d > 10*time.Second {
			return errorf(ErrInvalidOption, "redisstore: WithLoginTimeout: %s is out of range (0, 10s]", d)
		}
		s.loginTimeout = d
		return nil
	}
}

// WithLoginMaxWait sets the most a step of Attempts waits, however busy
// Redis is (default 2 s, at most 1 min; a WithLoginTimeout above it takes
// its place). Past it the step returns an error wrapping
// context.DeadlineExceeded and the Lockout's fail policy decides.
func WithLoginMaxWait(d time.Duration) Option {
	return func(s *Store) error {
		if d <= 0 || d > time.Minute {
			return errorf(ErrInvalidOption, "redisstore: WithLoginMaxWait: %s is out of range (0, 1m]", d)
		}
		s.loginMaxWait = d
		return nil
	}
}

// WithStartTimeout sets the deadline of Limiter.Start and Attempts.Start
// (default 1 s, at most 1 min). A Start that fails is harmless: the first
// call sends the script itself.
func WithStartTimeout(d time.Duration) Option {
	return func(s *Store) error {
		if d <= 0 || d > time.Minute {
			return errorf(ErrInvalidOption, "redisstore: WithStartTimeout: %s is out of range (0, 1m]", d)
		}
		s.startTimeout = d
		return nil
	}
}

// WithBreaker opens the circuit after failures dead calls in a row and
// keeps it open for cooldown (defaults 5 and 1 s); then one call at a time
// is let through until one gets a reply. A dead call is one that ends in a
// connection error, or at its deadline after Redis has sent no reply for
// the silence (WithSilence). Calls refused by the open circuit return at
// once an error wrapping ErrCircuitOpen, and the fail policy decides.
func WithBreaker(failures int, cooldown time.Duration) Option {
	return func(s *Store) error {
		if failures < 1 || cooldown <= 0 {
			return errorf(ErrInvalidOption, "redisstore: WithBreaker: failures %d, cooldown %s: want failures >= 1 and cooldown > 0", failures, cooldown)
		}
		s.breakMax, s.breakCool = failures, cooldown
		return nil
	}
}

// WithSilence sets how long Redis must have sent no reply, to any call of
// the Store, for a deadline to count toward the breaker (default 1 s, at
// most 1 min). A deadline while replies still arrive is load, not an
// outage: that call fails alone and the breaker stays closed.
func WithSilence(d time.Duration) Option {
	return func(s *Store) error {
		if d <= 0 || d > time.Minute {
			return errorf(ErrInvalidOption, "redisstore: WithSilence: %s is out of range (0, 1m]", d)
		}
		s.silence = d
		return nil
	}
}

// WithMaxInFlight bounds the calls of the Store to Redis at once, counting
// the calls that run on past their deadline (default 1,000): a caller always
// returns at the deadline, but unless the client was built with
// ContextTimeoutEnabled, go-redis keeps a call that waits on the socket
// until the client's ReadTimeout (5 s by default, for ever with -1), and
// the call keeps its slot until then. A call that finds no free slot waits
// for one within its deadline, and returns at the deadline as if Redis had
// not answered; so at most n goroutines of the Store are ever running.
func WithMaxInFlight(n int) Option {
	return func(s *Store) error {
		if n < 1 || n > 1<<20 {
			return errorf(ErrInvalidOption, "redisstore: WithMaxInFlight: %d is out of range [1, 1048576]", n)
		}
		s.maxInFlight = n
		return nil
	}
}

// WithLoginPipeline sets how the steps of one Attempts go to Redis: at most
// calls round trips in flight at once, and the steps that arrive meanwhile
// share the next one, at most steps of them in one pipeline (defaults 4 and
// 16). Each step is still one script call of its own, atomic as before; a
// quiet counter sends each alone, at once. Sharing is what keeps a burst of
// logins cheap: a thousand steps cost Redis and the client about a hundred
// round trips. Small pipelines bring replies back often, and a reply is
// what tells a waiting step that Redis is busy rather than gone. A step
// whose caller left before it was sent is not sent. On Cluster, a step
// whose keys span slots makes one script call per slot, each shared alike.
func WithLoginPipeline(calls, steps int) Option {
	return func(s *Store) error {
		if calls < 1 || calls > 1024 || steps < 1 || steps > 4096 {
			return errorf(ErrInvalidOption, "redisstore: WithLoginPipeline: calls %d, steps %d: want calls in [1, 1024] and steps in [1, 4096]", calls, steps)
		}
		s.loginCalls, s.loginBatch = calls, steps
		return nil
	}
}
