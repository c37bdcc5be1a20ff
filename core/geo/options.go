package geo

import (
	"log/slog"
	"time"
)

// DefaultPollInterval is how often Start checks the file for a change unless
// WithPollInterval says otherwise.
const DefaultPollInterval = time.Minute

// Option configures Open. Options validate themselves; Open returns their
// error, which reads "geo: WithX: value: problem" and wraps ErrInvalidOption.
type Option func(*config) error

type config struct {
	pollInterval time.Duration
	logger       *slog.Logger
}

func defaultConfig() config {
	return config{
		pollInterval: DefaultPollInterval,
		logger:       slog.New(slog.DiscardHandler),
	}
}

// WithPollInterval sets how often the file is checked for a change after
// Start (default DefaultPollInterval, one minute). d must be > 0.
func WithPollInterval(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 {
			return errorf(ErrInvalidOption, "geo: WithPollInterval: %v is not positive", d)
		}
		c.pollInterval = d
		return nil
	}
}

// WithLogger sets the logger for reloads: a successful reload is logged at
// Info, a rejected file at Error. The default discards records; rejected
// reloads are still counted in Stats and returned by Reload.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error {
		if l == nil {
			return errorf(ErrInvalidOption, "geo: WithLogger: nil logger")
		}
		c.logger = l
		return nil
	}
}
