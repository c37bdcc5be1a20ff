package redisstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/wardenkit/warden/core"
)

// Store holds the Redis client, the key prefix and the deadlines shared by
// its parts. Every call its Limiter and Attempts make to Redis runs under a
// deadline of its own that holds whatever the client's options (see
// WithLimiterTimeout); a client built as redis.NewClient(&redis.Options{Addr:
// addr}) is all it needs. A Store is safe for concurrent use.
type Store struct {
	rdb          redis.UniversalClient
	prefix       string
	limitTimeout time.Duration
	loginTimeout time.Duration
	loginMaxWait time.Duration
	startTimeout time.Duration
	breakMax     int
	breakCool    time.Duration
	silence      time.Duration
	maxInFlight  int
	loginCalls   int
	loginBatch   int
	guard        *guard
}

// New wraps a client. It does no I/O and accepts any client, whatever its
// timeouts and ContextTimeoutEnabled. Errors of the options read
// "redisstore: WithX: value: problem" and wrap ErrInvalidOption.
func New(rdb redis.UniversalClient, opts ...Option) (*Store, error) {
	if rdb == nil {
		return nil, errors.New("redisstore: New: nil client")
	}
	s := &Store{
		rdb: rdb, prefix: "warden:",
		limitTimeout: DefaultLimiterTimeout, loginTimeout: DefaultLoginTimeout, loginMaxWait: DefaultLoginMaxWait,
		startTimeout: DefaultStartTimeout,
		breakMax:     DefaultBreakerFailures, breakCool: DefaultBreakerCooldown, silence: DefaultSilence,
		maxInFlight: DefaultMaxInFlight, loginCalls: DefaultLoginCalls, loginBatch: DefaultLoginBatch,
	}
	for i, o := range opts {
		if o == nil {
			return nil, errorf(ErrInvalidOption, "redisstore: New: option %d is nil", i)
		}
		if err := o(s); err != nil {
			return nil, err
		}
	}
	s.loginMaxWait = max(s.loginMaxWait, s.loginTimeout)
	s.guard = newGuard(s.maxInFlight, s.silence)
	return s, nil
}

// Bus returns the pub/sub bus.
func (s *Store) Bus() *Bus { return &Bus{rdb: s.rdb, channel: s.prefix + "version"} }

// Bus is a core.Bus on Redis pub/sub.
type Bus struct {
	rdb     redis.UniversalClient
	channel string
}

var _ core.Bus = (*Bus)(nil)

// Publish announces version to every subscriber.
func (b *Bus) Publish(ctx context.Context, version int64) error {
	if err := b.rdb.Publish(ctx, b.channel, strconv.FormatInt(version, 10)).Err(); err != nil {
		return fmt.Errorf("redisstore: Bus.Publish: %w", err)
	}
	return nil
}

// Subscribe calls fn with every announced version, and with 0 after each
// (re)subscription so the caller checks the store for anything it missed.
// It returns once the first subscription is confirmed or fails; later
// connection losses are retried in the background until cancel is called.
func (b *Bus) Subscribe(ctx context.Context, fn func(version int64)) (func(), error) {
	if fn == nil {
		return nil, errors.New("redisstore: Bus.Subscribe: nil callback")
	}
	ctx, cancel := context.WithCancel(ctx)
	ps := b.rdb.Subscribe(ctx, b.channel)
	first := make(chan error, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		confirmed := false
		backoff := 50 * time.Millisecond
		for {
			msg, err := ps.Receive(ctx)
			if ctx.Err() != nil {
				if !confirmed {
					first <- ctx.Err()
				}
				return
			}
			if err != nil {
				if !confirmed {
					confirmed = true
					first <- err
				}
				// go-redis reconnects and resubscribes on the next Receive.
				select {
				case <-ctx.Done():
					return
				case <-time.After(backoff):
				}
				backoff = min(2*backoff, 5*time.Second)
				continue
			}
			backoff = 50 * time.Millisecond
			switch m := msg.(type) {
			case *redis.Subscription:
				if m.Kind == "subscribe" {
					if !confirmed {
						confirmed = true
						first <- nil
					}
					fn(0)
				}
			case *redis.Message:
				if v, err := strconv.ParseInt(m.Payload, 10, 64); err == nil && v > 0 {
					fn(v)
				}
			}
		}
	}()
	stop := func() {
		cancel()
		_ = ps.Close()
		<-done
	}
	select {
	case err := <-first:
		if err != nil {
			stop()
			return nil, fmt.Errorf("redisstore: Bus.Subscribe: %w", err)
		}
	case <-ctx.Done():
		stop()
		return nil, fmt.Errorf("redisstore: Bus.Subscribe: %w", ctx.Err())
	}
	return stop, nil
}
