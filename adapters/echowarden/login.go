package echowarden

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/wardenkit/warden/adapters/internal/loginguard"
	"github.com/wardenkit/warden/adapters/internal/options"
	"github.com/wardenkit/warden/adapters/internal/respond"
	"github.com/wardenkit/warden/core"
)

// ErrNoLoginGuard is returned by LoginFailed and LoginSucceeded when no
// LoginGuard began an attempt for the request (the same value as
// ginwarden's and httpwarden's ErrNoLoginGuard).
var ErrNoLoginGuard = loginguard.ErrNoGuard

type loginConfig struct {
	loginguard.Config
	locked func(echo.Context, *core.LockedError) error
}

// LoginOption configures LoginGuard.
type LoginOption func(*loginConfig) error

// WithLogger sets the logger of LoginGuard's warnings (default:
// slog.Default(), as the engine's own default). Give it the engine's logger.
func WithLogger(l *slog.Logger) LoginOption {
	return func(c *loginConfig) error { return c.SetLogger(l) }
}

// WithOutcomeFromStatus lets LoginGuard decide an attempt the handler
// reported nothing about from the response status: success(status) true
// counts it as a success, false as a failure, and no warning is logged.
// LoginFailed and LoginSucceeded still take precedence. The status is the
// one written (c.Response().Status), or, when the handler returned an error
// without writing, the *echo.HTTPError's code (500 for other errors).
//
// It is off by default because a failed login often answers 200 (the form
// again, with an error) or 302, just as a successful one does; give the
// mapping of your handler, such as
//
//	echowarden.WithOutcomeFromStatus(func(code int) bool { return code == http.StatusSeeOther })
//
// An inferred success happens after the handler returned, so the
// LoginMonitor's verdict (a second factor, a refusal) cannot be acted on and
// is only logged, and no login history is recorded (the user ID is not
// known). Handlers that can call LoginSucceeded should.
func WithOutcomeFromStatus(success func(status int) bool) LoginOption {
	return func(c *loginConfig) error { return c.SetFromStatus(success) }
}

// WithLockedHandler replaces the default answer to a locked-out attempt
// (429 "Too many login attempts" on c.Response(), see LoginGuard), for
// example with the login page and an error message. f must write the response or return an error for
// Echo's HTTPErrorHandler; the login handler does not run. Keep the 429
// status and le.RetryAfter's Retry-After where the client is a program.
func WithLockedHandler(f func(echo.Context, *core.LockedError) error) LoginOption {
	return func(c *loginConfig) error {
		if f == nil {
			return errors.New("WithLockedHandler: nil handler")
		}
		c.locked = f
		return nil
	}
}

// LoginGuard returns the Echo middleware protecting a login handler with l.
// Give it to the login route:
//
//	e.POST("/login", login, echowarden.LoginGuard(eng.Lockout(), func(c echo.Context) string { return c.FormValue("username") }))
//
// For each request it calls l.Begin with the username username returns, the
// request's own context (c.Request().Context()) and the client address of
// the engine's trust model; Echo's RealIP and IPExtractor are never used. A
// locked-out attempt gets 429 "Too many login attempts", as text or JSON
// (when Accept asks for it), with Cache-Control: no-store, Vary: Accept,
// X-Content-Type-Options: nosniff and, while the lock has an end,
// Retry-After. When the attempt cannot be judged (the attempt counter failed
// and the lockout's fail policy is closed) the answer is 503 "Service
// unavailable" with the same headers. Otherwise the handler runs with the attempt in c.Request()'s context
// and reports its outcome with LoginFailed or LoginSucceeded before
// returning.
//
// Every request through the guard is an attempt: guard the route that
// checks the password, not the one that shows the form. An attempt the
// handler reports nothing about counts as failed, and the first such
// attempt logs a warning; WithOutcomeFromStatus infers it from the status
// instead. An attempt whose handler panics counts as failed. Attempts the
// lockout bypasses (a whitelisted address; see core.WhitelistPolicy) go
// through the same calls and count nothing.
//
// A nil lockout, a nil username function, a nil option or an option that
// returns an error is a programmer error: LoginGuard panics with an error
// naming it ("echowarden: LoginGuard: nil lockout"), at start-up, as
// net/http.Handle does. Nothing a request carries makes the guard panic.
//
// The username function runs before the handler; c.FormValue there is fine,
// binding a JSON body is not (it consumes the body). The middleware costs
// one allocation per request beside Begin's: the copy of the request
// carrying the attempt. It is safe for concurrent use.
func LoginGuard(l *core.Lockout, username func(echo.Context) string, opts ...LoginOption) echo.MiddlewareFunc {
	switch {
	case l == nil:
		panic(errors.New("echowarden: LoginGuard: nil lockout"))
	case username == nil:
		panic(errors.New("echowarden: LoginGuard: nil username function"))
	}
	cfg := loginConfig{locked: writeLocked}
	options.Apply("echowarden: LoginGuard", &cfg, opts)
	g := loginguard.New("echowarden", l, cfg.Config)
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			r, st, err := g.Begin(c.Request(), username(c))
			if err != nil {
				var le *core.LockedError
				if errors.As(err, &le) {
					return cfg.locked(c, le)
				}
				respond.WriteDenial(c.Response(), c.Request(), core.Decision{Status: http.StatusServiceUnavailable})
				return nil
			}
			c.SetRequest(r)
			returned := false
			defer func() {
				if !returned {
					st.Abandon(r)
				}
			}()
			err = next(c)
			returned = true
			status := 0
			if g.CapturesStatus() {
				status = responseStatus(c, err)
			}
			st.Finish(r, status)
			return err
		}
	}
}

// responseStatus is the status c's response was or will be sent with.
func responseStatus(c echo.Context, err error) int {
	res := c.Response()
	if err == nil || res.Committed {
		return res.Status
	}
	var he *echo.HTTPError
	if errors.As(err, &he) {
		return he.Code
	}
	return http.StatusInternalServerError
}

func writeLocked(c echo.Context, le *core.LockedError) error {
	respond.WriteLocked(c.Response(), c.Request(), le)
	return nil
}

// LoginFailed reports that the attempt LoginGuard began for c's request
// failed (wrong password, unknown user). The failure that reaches a limit
// locks the key. It returns ErrNoLoginGuard when no guard ran, an error
// wrapping core.ErrTicketUsed when the attempt already has an outcome, and
// Lockout's error when the attempt counter could not be told (the attempt
// then counts as failed anyway, when its reservation times out).
func LoginFailed(c echo.Context) error {
	return loginguard.ReportFailed("echowarden", request(c))
}

// SuccessOption adds to what LoginSucceeded reports.
type SuccessOption func(*core.Success)

// WithSessionKey records the session key in the login history.
func WithSessionKey(key string) SuccessOption {
	return func(s *core.Success) { s.SessionKey = key }
}

// LoginSucceeded reports that the password of the attempt LoginGuard began
// for c's request was right, for the user userID (the application's ID, as
// in rule.WhitelistedUser). It clears the username's failures (not the
// address's) and returns the LoginMonitor's verdict: issue the session only
// on core.LoginAllow; ask for a second factor on
// core.LoginRequireSecondFactor; refuse otherwise, also whenever the error
// is not nil (the login hook failed, no guard ran, the attempt already had an
// outcome).
func LoginSucceeded(c echo.Context, userID string, opts ...SuccessOption) (core.LoginVerdict, error) {
	return loginguard.ReportSucceeded("echowarden", request(c), userID, opts)
}

func request(c echo.Context) *http.Request {
	if c == nil {
		return nil
	}
	return c.Request()
}
