package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync/atomic"
	"time"
)

// DeliveryStats counts what a Webhook or SMTP notifier did since it was
// built.
type DeliveryStats struct {
	// Sent counts messages delivered.
	Sent uint64
	// Retried counts attempts made after a failed one.
	Retried uint64
	// Failed counts messages dropped: invalid, rejected, still failing
	// after the last retry, or abandoned when the context ended.
	Failed uint64
}

type counters struct{ sent, retried, failed atomic.Uint64 }

func (c *counters) stats() DeliveryStats {
	return DeliveryStats{Sent: c.sent.Load(), Retried: c.retried.Load(), Failed: c.failed.Load()}
}

// attemptError is what one attempt reports: err, whether a retry may
// help, and the wait the receiver asked for (Retry-After), if any.
type attemptError struct {
	err        error
	permanent  bool
	retryAfter time.Duration
}

// retrier runs attempts with exponential backoff and jitter.
type retrier struct {
	name                string // "webhook", "smtp"
	retries             int
	backoff, maxBackoff time.Duration
	sleep               func(context.Context, time.Duration) error
	logger              *slog.Logger
	counters
}

func newRetrier(name string, c *config) retrier {
	return retrier{name: name, retries: c.retries, backoff: c.backoff, maxBackoff: c.maxBackoff, sleep: c.sleep, logger: c.logger}
}

// run calls attempt until it succeeds, fails permanently, the retries are
// spent or ctx ends. what names the delivery in errors ("POST
// https://host/…"). The error wraps ErrRejected, ErrUndelivered or the
// context's error, and the last attempt's error.
func (r *retrier) run(ctx context.Context, what string, attempt func(ctx context.Context) *attemptError) error {
	for n := 1; ; n++ {
		ae := attempt(ctx)
		if ae == nil {
			r.sent.Add(1)
			return nil
		}
		err := r.stop(ctx, what, n, ae)
		if err == nil {
			wait := r.wait(n, ae.retryAfter)
			r.logger.LogAttrs(ctx, slog.LevelWarn, "notify: delivery attempt failed, retrying",
				slog.String("notifier", r.name), slog.String("to", what), slog.Int("attempt", n),
				slog.Int("attempts", r.retries+1), slog.Duration("wait", wait), slog.String("err", ae.err.Error()))
			if serr := r.sleep(ctx, wait); serr != nil {
				err = r.stopped(what, n, ae.err, serr)
			}
		}
		if err != nil {
			r.failed.Add(1)
			return err
		}
		r.retried.Add(1)
	}
}

// stop returns the error that ends delivery after failed attempt n, or nil
// when a retry follows.
func (r *retrier) stop(ctx context.Context, what string, n int, ae *attemptError) error {
	switch {
	case ae.permanent:
		return errorf(ErrRejected, "notify: %s: %s: %w (not retried)", r.name, what, ae.err)
	case ctx.Err() != nil:
		return r.stopped(what, n, ae.err, context.Cause(ctx))
	case n > r.retries:
		return errorf(ErrUndelivered, "notify: %s: %s: %w after %d %s", r.name, what, ae.err, n, plural(n, "attempt"))
	}
	return nil
}

// stopped is the error of a delivery abandoned because ctx ended.
func (r *retrier) stopped(what string, n int, last, cause error) error {
	if errors.Is(last, cause) {
		return fmt.Errorf("notify: %s: %s: %w after %d %s", r.name, what, last, n, plural(n, "attempt"))
	}
	return fmt.Errorf("notify: %s: %s: %w after %d %s: %w", r.name, what, last, n, plural(n, "attempt"), cause)
}

// wait is the pause after failed attempt n (1-based): Retry-After when the
// receiver sent one, else backoff·2^(n-1) less up to half of it at random,
// never more than maxBackoff.
func (r *retrier) wait(n int, retryAfter time.Duration) time.Duration {
	if retryAfter > 0 {
		return min(retryAfter, r.maxBackoff)
	}
	d := r.backoff
	for i := 1; i < n && d < r.maxBackoff; i++ {
		d *= 2
	}
	d = min(d, r.maxBackoff)
	return d - time.Duration(rand.Int64N(int64(d/2)+1))
}

func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}

// isTimeout reports whether err is a deadline.
func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.Is(err, context.DeadlineExceeded) || errors.As(err, &t) && t.Timeout()
}
