package httpwarden

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/wardenkit/warden/adapters/internal/loginguard"
	"github.com/wardenkit/warden/adapters/internal/options"
	"github.com/wardenkit/warden/core"
)

// ErrNoLoginGuard is returned by LoginFailed and LoginSucceeded (of every
// warden adapter) when no LoginGuard began an attempt for the request.
var ErrNoLoginGuard = loginguard.ErrNoGuard

type loginConfig struct {
	loginguard.Config
	locked func(http.ResponseWriter, *http.Request, *core.LockedError)
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
// LoginFailed and LoginSucceeded still take precedence.
//
// It is off by default because a failed login often answers 200 (the form
// again, with an error) or 302, just as a successful one does; give the
// mapping of your handler, such as
//
//	httpwarden.WithOutcomeFromStatus(func(code int) bool { return code == http.StatusSeeOther })
//
// An inferred success happens after the response is written, so the
// LoginMonitor's verdict (a second factor, a refusal) cannot be acted on and
// is only logged, and no login history is recorded (the user ID is not
// known). Handlers that can call LoginSucceeded should.
func WithOutcomeFromStatus(success func(status int) bool) LoginOption {
	return func(c *loginConfig) error { return c.SetFromStatus(success) }
}

// WithLockedHandler replaces the default answer to a locked-out attempt
// (WriteLocked), for example with the login page and an error message. f
// must write the response; the login handler does not run. Keep the 429
// status and le.RetryAfter's Retry-After where the client is a program.
func WithLockedHandler(f func(http.ResponseWriter, *http.Request, *core.LockedError)) LoginOption {
	return func(c *loginConfig) error {
		if f == nil {
			return errors.New("WithLockedHandler: nil handler")
		}
		c.locked = f
		return nil
	}
}

// LoginGuard returns the net/http middleware protecting a login handler with
// l:
//
//	guard := httpwarden.LoginGuard(eng.Lockout(), func(r *http.Request) string { return r.PostFormValue("username") })
//	mux.Handle("POST /login", guard(http.HandlerFunc(login)))
//
// For each request it calls l.Begin with the username username returns, the
// request's own context and the client address of the engine's trust model
// (forwarding headers count only from trusted proxies). A locked-out
// attempt gets WriteLocked's answer: 429 "Too many login attempts", as text
// or JSON, with Retry-After while the lock has an end. When the attempt
// cannot be judged (the attempt counter failed and the lockout's fail policy
// is closed) the answer is WriteDenial's 503. Otherwise the handler runs
// with the attempt in its request's context and reports its outcome with
// LoginFailed or LoginSucceeded before returning.
//
// Every request through the guard is an attempt: guard the route that
// checks the password, not the one that shows the form. An attempt the
// handler reports nothing about counts as failed, and the first such
// attempt logs a warning; WithOutcomeFromStatus infers it from the status
// instead. An attempt whose handler panics counts as failed. Attempts the
// lockout bypasses (a whitelisted address; see core.WhitelistPolicy) go
// through the same calls and count nothing.
//
// A nil lockout, a nil username function, a nil option, an option that
// returns an error and wrapping a nil handler are programmer errors: they
// panic with an error naming them ("httpwarden: LoginGuard: nil lockout"), at
// start-up, as net/http.Handle does. Nothing a request carries makes the
// guard panic.
//
// The username function runs before the handler; reading a form there is
// fine (the parsed form is kept), reading a JSON body means putting it back.
// The middleware costs one allocation per request beside Begin's: the copy
// of the request carrying the attempt. It is safe for concurrent use.
func LoginGuard(l *core.Lockout, username func(*http.Request) string, opts ...LoginOption) func(http.Handler) http.Handler {
	switch {
	case l == nil:
		panic(errors.New("httpwarden: LoginGuard: nil lockout"))
	case username == nil:
		panic(errors.New("httpwarden: LoginGuard: nil username function"))
	}
	cfg := loginConfig{locked: WriteLocked}
	options.Apply("httpwarden: LoginGuard", &cfg, opts)
	g := loginguard.New("httpwarden", l, cfg.Config)
	return func(next http.Handler) http.Handler {
		if next == nil {
			panic(errors.New("httpwarden: LoginGuard: nil handler"))
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			r2, st, err := g.Begin(r, username(r))
			if err != nil {
				var le *core.LockedError
				if errors.As(err, &le) {
					cfg.locked(w, r, le)
					return
				}
				WriteDenial(w, r, core.Decision{Status: http.StatusServiceUnavailable})
				return
			}
			if g.CapturesStatus() {
				w = st.Writer(w)
			}
			returned := false
			defer func() {
				if !returned {
					st.Abandon(r2)
				}
			}()
			next.ServeHTTP(w, r2)
			returned = true
			st.Finish(r2, st.Status())
		})
	}
}

// LoginFailed reports that the attempt LoginGuard began for r failed (wrong
// password, unknown user). The failure that reaches a limit locks the key.
// It returns ErrNoLoginGuard when no guard ran for r, an error wrapping
// core.ErrTicketUsed when the attempt already has an outcome, and Lockout's
// error when the attempt counter could not be told (the attempt then counts
// as failed anyway, when its reservation times out).
func LoginFailed(r *http.Request) error {
	return loginguard.ReportFailed("httpwarden", r)
}

// SuccessOption adds to what LoginSucceeded reports.
type SuccessOption func(*core.Success)

// WithSessionKey records the session key in the login history.
func WithSessionKey(key string) SuccessOption {
	return func(s *core.Success) { s.SessionKey = key }
}

// LoginSucceeded reports that the password of the attempt LoginGuard began
// for r was right, for the user userID (the application's ID, as in
// rule.WhitelistedUser). It clears the username's failures (not the
// address's) and returns the LoginMonitor's verdict: issue the session only
// on core.LoginAllow; ask for a second factor on
// core.LoginRequireSecondFactor; refuse otherwise, also whenever the error
// is not nil (the login hook failed, no guard ran, the attempt already had an
// outcome).
func LoginSucceeded(r *http.Request, userID string, opts ...SuccessOption) (core.LoginVerdict, error) {
	return loginguard.ReportSucceeded("httpwarden", r, userID, opts)
}
