package notify

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/wardenkit/warden/core"
)

// Option configures NewWebhook, NewSMTP or NewBatcher. Each option says
// what it applies to; given to anything else it makes the constructor fail
// with ErrInvalidOption, as does a value the option refuses.
type Option func(*config) error

// target is the constructor an option is applied by.
type target uint8

const (
	forWebhook target = 1 << iota
	forSMTP
	forBatcher
	forSender = forWebhook | forSMTP
)

func (t target) String() string {
	switch t {
	case forWebhook:
		return "a Webhook"
	case forSMTP:
		return "an SMTP notifier"
	default:
		return "a Batcher"
	}
}

// config is every option's value; each constructor copies what it uses.
type config struct {
	target target
	logger *slog.Logger
	clock  core.Clock

	// Webhook and SMTP.
	timeout             time.Duration
	retries             int
	backoff, maxBackoff time.Duration
	sleep               func(context.Context, time.Duration) error
	secret              string
	client              *http.Client

	// Batcher.
	interval time.Duration
	maxItems int
	enabled  func() bool
	kind     string
	subject  func(items int) string
}

// Defaults.
const (
	DefaultWebhookTimeout = 10 * time.Second
	DefaultSMTPTimeout    = 30 * time.Second
	DefaultRetries        = 3
	DefaultBackoff        = time.Second
	DefaultMaxBackoff     = 30 * time.Second
	DefaultInterval       = time.Minute
	DefaultMaxItems       = 1000
	DefaultBatchKind      = "auto_block"
	maxRetries            = 20
)

func newConfig(t target, timeout time.Duration) config {
	return config{
		target: t, logger: slog.New(slog.DiscardHandler), clock: systemClock{},
		timeout: timeout, retries: DefaultRetries, backoff: DefaultBackoff, maxBackoff: DefaultMaxBackoff,
		sleep:    sleepCtx,
		interval: DefaultInterval, maxItems: DefaultMaxItems, kind: DefaultBatchKind, subject: defaultSubject,
	}
}

// apply runs opts for the constructor named op.
func (c *config) apply(op string, opts []Option) error {
	for i, o := range opts {
		if o == nil {
			return errorf(ErrInvalidOption, "notify: %s: option %d is nil", op, i)
		}
		if err := o(c); err != nil {
			return errorf(ErrInvalidOption, "notify: %s: %w", op, err)
		}
	}
	return nil
}

// only refuses an option named name outside the constructors in to.
func (c *config) only(name string, to target) error {
	if c.target&to == 0 {
		return errorf(ErrInvalidOption, "%s does not apply to %v", name, c.target)
	}
	return nil
}

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

// sleepCtx waits d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// WithLogger sets where a Webhook or SMTP notifier logs the attempts it
// retries, and where a Batcher logs the batches it could not deliver
// (default: nowhere). Applies to all.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error {
		if l == nil {
			return errorf(ErrInvalidOption, "WithLogger: nil logger")
		}
		c.logger = l
		return nil
	}
}

// WithClock sets the clock that stamps messages and webhook timestamps
// (default: the system clock). Applies to all; waits use WithSleep and
// the Batcher's timer.
func WithClock(clk core.Clock) Option {
	return func(c *config) error {
		if clk == nil {
			return errorf(ErrInvalidOption, "WithClock: nil clock")
		}
		c.clock = clk
		return nil
	}
}

// WithTimeout bounds each delivery attempt: the HTTP request and its
// response, or the SMTP session from dial to the end of DATA (default
// DefaultWebhookTimeout or DefaultSMTPTimeout). Webhook and SMTP.
func WithTimeout(d time.Duration) Option {
	return func(c *config) error {
		if err := c.only("WithTimeout", forSender); err != nil {
			return err
		}
		if d <= 0 {
			return errorf(ErrInvalidOption, "WithTimeout: %v is not positive", d)
		}
		c.timeout = d
		return nil
	}
}

// WithRetries sets how many times a failed attempt that might pass is
// retried before the message is dropped (default DefaultRetries; 0 to 20).
// Webhook and SMTP.
func WithRetries(n int) Option {
	return func(c *config) error {
		if err := c.only("WithRetries", forSender); err != nil {
			return err
		}
		if n < 0 || n > maxRetries {
			return errorf(ErrInvalidOption, "WithRetries: %d is not between 0 and %d", n, maxRetries)
		}
		c.retries = n
		return nil
	}
}

// WithBackoff sets the wait before the first retry and the longest wait
// (defaults DefaultBackoff and DefaultMaxBackoff). The wait doubles at each
// retry, with random jitter of up to half of it; a Retry-After the webhook
// sends replaces it, cut to max. Webhook and SMTP.
func WithBackoff(first, max time.Duration) Option {
	return func(c *config) error {
		if err := c.only("WithBackoff", forSender); err != nil {
			return err
		}
		if first <= 0 || max < first {
			return errorf(ErrInvalidOption, "WithBackoff: first %v must be positive and at most max %v", first, max)
		}
		c.backoff, c.maxBackoff = first, max
		return nil
	}
}

// WithSleep replaces the wait between attempts (default: a timer that ends
// early when the context does, returning its error). Tests pass a function
// that records the duration and returns at once. Webhook and SMTP.
func WithSleep(sleep func(ctx context.Context, d time.Duration) error) Option {
	return func(c *config) error {
		if err := c.only("WithSleep", forSender); err != nil {
			return err
		}
		if sleep == nil {
			return errorf(ErrInvalidOption, "WithSleep: nil function")
		}
		c.sleep = sleep
		return nil
	}
}

// WithSecret signs each webhook body: the X-Warden-Signature header is
// "sha256=" and the hex HMAC-SHA256 of the body under secret (see
// VerifySignature). Use at least 32 random bytes. The secret is never
// logged or put in an error. Webhook only.
func WithSecret(secret string) Option {
	return func(c *config) error {
		if err := c.only("WithSecret", forWebhook); err != nil {
			return err
		}
		if secret == "" {
			return errorf(ErrInvalidOption, "WithSecret: empty secret")
		}
		c.secret = secret
		return nil
	}
}

// WithHTTPClient sends webhooks through a copy of client, whose transport,
// proxy and TLS settings apply (default: a client on
// http.DefaultTransport). Redirects are never followed: a signed body goes
// to the configured URL or nowhere. Webhook only.
func WithHTTPClient(client *http.Client) Option {
	return func(c *config) error {
		if err := c.only("WithHTTPClient", forWebhook); err != nil {
			return err
		}
		if client == nil {
			return errorf(ErrInvalidOption, "WithHTTPClient: nil client")
		}
		c.client = client
		return nil
	}
}

// WithInterval sets how often a Batcher sends at most (default
// DefaultInterval). Batcher only.
func WithInterval(d time.Duration) Option {
	return func(c *config) error {
		if err := c.only("WithInterval", forBatcher); err != nil {
			return err
		}
		if d <= 0 {
			return errorf(ErrInvalidOption, "WithInterval: %v is not positive", d)
		}
		c.interval = d
		return nil
	}
}

// WithMaxItems bounds the items a Batcher holds between two messages
// (default DefaultMaxItems); items past it are dropped and counted.
// Batcher only.
func WithMaxItems(n int) Option {
	return func(c *config) error {
		if err := c.only("WithMaxItems", forBatcher); err != nil {
			return err
		}
		if n <= 0 {
			return errorf(ErrInvalidOption, "WithMaxItems: %d is not positive", n)
		}
		c.maxItems = n
		return nil
	}
}

// WithEnabled gates a Batcher's messages: enabled is called (on the
// Batcher's goroutine, so it must be quick and safe for concurrent use)
// when a batch is due, and when it returns false the batch is discarded (counted in
// BatcherStats.Suppressed). Pass a function that reads
// Settings.NotifyOnAutoBlock from the engine's current settings so a change
// applies at once. Default: always enabled. Batcher only.
func WithEnabled(enabled func() bool) Option {
	return func(c *config) error {
		if err := c.only("WithEnabled", forBatcher); err != nil {
			return err
		}
		if enabled == nil {
			return errorf(ErrInvalidOption, "WithEnabled: nil function")
		}
		c.enabled = enabled
		return nil
	}
}

// WithKind sets the Kind of a Batcher's messages (default
// DefaultBatchKind, whose subject reads "warden: 3 auto-blocks") and
// subject builds their Subject from the number of items (nil: "warden: 3
// notifications (kind)"). Batcher only.
func WithKind(kind string, subject func(items int) string) Option {
	return func(c *config) error {
		if err := c.only("WithKind", forBatcher); err != nil {
			return err
		}
		if err := validKind(kind); err != nil {
			return errorf(ErrInvalidOption, "WithKind: %w", err)
		}
		c.kind, c.subject = kind, subject
		if subject == nil {
			c.subject = func(n int) string { return fmt.Sprintf("warden: %d %s (%s)", n, plural(n, "notification"), kind) }
		}
		return nil
	}
}
