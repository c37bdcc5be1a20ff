package admin

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/wardenkit/warden/core"
)

// Limits on what a request may send.
const (
	MaxFormBytes   = 1 << 20  // a form or a JSON body: 1 MiB
	MaxImportBytes = 10 << 20 // an imported CSV or JSON file: 10 MiB
)

// ErrInvalidOption is wrapped by every error New returns for an option.
var ErrInvalidOption = errors.New("admin: invalid option")

// Store is what the event log, the login history and the dashboard read;
// every core.Store (bunstore, memstore) is one.
type Store interface {
	core.EventStore
	core.LoginHistoryStore
}

type config struct {
	authorize func(*http.Request) (string, bool)
	readOnly  func(*http.Request) bool
	challenge string // WWW-Authenticate of a 401, "" for none
	store     Store
	log       *slog.Logger
	clock     core.Clock
	geoip     string
}

// Option configures the admin handler. Options validate their arguments.
type Option func(*config) error

// WithAuthorizer sets who may use the admin: f returns the actor's name
// (recorded in every ADMIN_ACTION event) and true, or false to refuse the
// request with 401. It runs on every request but those for the style
// sheet, script and icon (fixed, public files from the binary).
// New fails without it or WithBasicAuth.
func WithAuthorizer(f func(r *http.Request) (actor string, ok bool)) Option {
	return func(c *config) error {
		if f == nil {
			return fmt.Errorf("%w: WithAuthorizer: nil function", ErrInvalidOption)
		}
		c.authorize = f
		return nil
	}
}

// WithBasicAuth authorises one user by HTTP Basic authentication (the
// password compared in constant time) and asks the browser for it on a
// 401. Serve the admin over HTTPS only: Basic credentials travel with every
// request.
func WithBasicAuth(username, password string) Option {
	return func(c *config) error {
		if username == "" || password == "" {
			return fmt.Errorf("%w: WithBasicAuth: empty username or password", ErrInvalidOption)
		}
		c.challenge = `Basic realm="warden admin", charset="UTF-8"`
		c.authorize = func(r *http.Request) (string, bool) {
			u, p, ok := r.BasicAuth()
			uok := subtle.ConstantTimeCompare([]byte(u), []byte(username))
			pok := subtle.ConstantTimeCompare([]byte(p), []byte(password))
			return username, ok && uok&pok == 1
		}
		return nil
	}
}

// WithReadOnly gives a request for which f returns true the read-only
// role: it sees every page, and every write (any method but GET and HEAD)
// is refused with 403.
func WithReadOnly(f func(r *http.Request) bool) Option {
	return func(c *config) error {
		if f == nil {
			return fmt.Errorf("%w: WithReadOnly: nil function", ErrInvalidOption)
		}
		c.readOnly = f
		return nil
	}
}

// WithStore gives the admin the event log and the login history (the
// engine's store). Without it the dashboard shows no counts and the event
// log and login history pages say they are not configured.
func WithStore(s Store) Option {
	return func(c *config) error {
		if s == nil {
			return fmt.Errorf("%w: WithStore: nil store", ErrInvalidOption)
		}
		c.store = s
		return nil
	}
}

// WithLogger sets where failures are logged (default: slog.Default()).
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error {
		if l == nil {
			return fmt.Errorf("%w: WithLogger: nil logger", ErrInvalidOption)
		}
		c.log = l
		return nil
	}
}

// WithClock sets the clock of expiry times and the dashboard's period
// (default: the system clock).
func WithClock(cl core.Clock) Option {
	return func(c *config) error {
		if cl == nil {
			return fmt.Errorf("%w: WithClock: nil clock", ErrInvalidOption)
		}
		c.clock = cl
		return nil
	}
}

// WithGeoIPFile names the country database the engine reads, so that the
// dashboard warns when it is missing, unreadable or older than 30 days.
func WithGeoIPFile(path string) Option {
	return func(c *config) error {
		if path == "" {
			return fmt.Errorf("%w: WithGeoIPFile: empty path", ErrInvalidOption)
		}
		c.geoip = path
		return nil
	}
}

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

// New returns the admin's handler for eng. It fails without an authoriser
// (WithAuthorizer or WithBasicAuth), so that no admin is ever open by
// mistake. The handler is safe for concurrent use and starts no goroutine.
func New(eng *core.Engine, opts ...Option) (http.Handler, error) {
	if eng == nil {
		return nil, fmt.Errorf("%w: New: nil engine", ErrInvalidOption)
	}
	c := config{log: slog.Default(), clock: systemClock{}}
	for _, o := range opts {
		if o == nil {
			return nil, fmt.Errorf("%w: New: nil option", ErrInvalidOption)
		}
		if err := o(&c); err != nil {
			return nil, err
		}
	}
	if c.authorize == nil {
		return nil, fmt.Errorf("%w: New: no authoriser; use WithAuthorizer or WithBasicAuth", ErrInvalidOption)
	}
	return newServer(eng, c)
}
