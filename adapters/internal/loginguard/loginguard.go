// Package loginguard is the framework-free part of the adapters' LoginGuard:
// it holds the options every adapter shares (Config), begins a login attempt
// on a core.Lockout, carries the ticket in the request's context, keeps track
// of whether the handler reported an outcome, and settles attempts the
// handler left open. The 429 answer to a locked-out attempt is
// respond.WriteLocked.
//
// An adapter calls Guard.Begin before its login handler and State.Finish (or
// State.Abandon, when the handler panicked) after it; its LoginFailed and
// LoginSucceeded are ReportFailed and ReportSucceeded.
//
// Everything here is safe for concurrent use.
package loginguard

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync/atomic"

	"github.com/wardenkit/warden/core"
)

// ErrNoGuard is returned by LoginFailed and LoginSucceeded when no LoginGuard
// began an attempt for the request.
var ErrNoGuard = errors.New("no LoginGuard ran for this request")

// Config is the framework-free part of a LoginGuard's options.
type Config struct {
	// Logger receives the warning about a handler that reported no outcome
	// and about login verdicts an inferred success could not apply. nil
	// means slog.Default() at the time of the warning.
	Logger *slog.Logger
	// FromStatus, when set, decides the outcome of an attempt the handler
	// left open from the response status: true is a success, false a
	// failure. When nil such an attempt fails and a warning is logged once.
	FromStatus func(status int) bool
}

// SetLogger is the adapters' WithLogger: it refuses a nil logger.
func (c *Config) SetLogger(l *slog.Logger) error {
	if l == nil {
		return errors.New("WithLogger: nil logger")
	}
	c.Logger = l
	return nil
}

// SetFromStatus is the adapters' WithOutcomeFromStatus: it refuses a nil
// function.
func (c *Config) SetFromStatus(success func(status int) bool) error {
	if success == nil {
		return errors.New("WithOutcomeFromStatus: nil function")
	}
	c.FromStatus = success
	return nil
}

// Guard is the state one LoginGuard shares across its requests.
type Guard struct {
	name   string // the adapter, for log lines and errors
	lo     *core.Lockout
	cfg    Config
	warned atomic.Bool
}

// New returns the guard of an adapter's LoginGuard; name ("ginwarden", …)
// prefixes its errors and log lines.
func New(name string, lo *core.Lockout, cfg Config) *Guard {
	return &Guard{name: name, lo: lo, cfg: cfg}
}

func (g *Guard) logger() *slog.Logger {
	if g.cfg.Logger != nil {
		return g.cfg.Logger
	}
	return slog.Default()
}

// CapturesStatus reports whether the guard needs the response status
// (WithOutcomeFromStatus).
func (g *Guard) CapturesStatus() bool { return g.cfg.FromStatus != nil }

type key struct{}

// State is one guarded attempt: its ticket and whether it has an outcome.
type State struct {
	g    *Guard
	t    *core.Ticket
	done atomic.Bool
	sw   statusWriter
}

// stateCtx carries the State beside its parent context, so that the context,
// the State and the request copy that carries them are one allocation.
type stateCtx struct {
	context.Context
	st State
}

func (c *stateCtx) Value(k any) any {
	if k == (key{}) {
		return &c.st
	}
	return c.Context.Value(k)
}

type holder struct {
	req http.Request
	ctx stateCtx
}

// Begin calls Lockout.Begin for the attempt of r by username, with r's own
// context; the client address comes from the engine's trust model. On
// success it returns a shallow copy of r whose context carries the attempt's
// State (for From), and the State. The error is Begin's: a
// *core.LockedError when the attempt is locked out, anything else when it
// could not be judged (the lockout's fail policy already applied).
func (g *Guard) Begin(r *http.Request, username string) (*http.Request, *State, error) {
	ctx := r.Context()
	t, err := g.lo.Begin(ctx, core.Attempt{Username: username, HTTP: r})
	if err != nil {
		return nil, nil, err
	}
	if t == nil { // not done by core: every allowed attempt, bypassed or unguarded, has a ticket
		return nil, nil, fmt.Errorf("%s: LoginGuard: Lockout.Begin returned no ticket", g.name)
	}
	h := new(holder)
	h.ctx.Context = ctx
	h.ctx.st.g, h.ctx.st.t = g, t
	h.req = *r.WithContext(&h.ctx)
	return &h.req, &h.ctx.st, nil
}

// From returns the State a Guard attached to ctx, or nil.
func From(ctx context.Context) *State {
	if ctx == nil {
		return nil
	}
	s, _ := ctx.Value(key{}).(*State)
	return s
}

// ReportFailed is an adapter's LoginFailed for the request r (nil when the
// framework has none): State.Fail for the attempt in r's context, or an error
// "<name>: LoginFailed: " wrapping ErrNoGuard when no guard began one.
func ReportFailed(name string, r *http.Request) error {
	st := fromRequest(r)
	if st == nil {
		return fmt.Errorf("%s: LoginFailed: %w", name, ErrNoGuard)
	}
	return st.Fail(r.Context(), "LoginFailed")
}

// ReportSucceeded is an adapter's LoginSucceeded for the request r (nil when
// the framework has none): State.Succeed for the attempt in r's context with
// the success of userID that opts (nil ones skipped) fill in, or LoginRefuse
// and an error "<name>: LoginSucceeded: " wrapping ErrNoGuard when no guard
// began one.
func ReportSucceeded[O ~func(*core.Success)](name string, r *http.Request, userID string, opts []O) (core.LoginVerdict, error) {
	st := fromRequest(r)
	if st == nil {
		return core.LoginRefuse, fmt.Errorf("%s: LoginSucceeded: %w", name, ErrNoGuard)
	}
	s := core.Success{UserID: userID}
	for _, o := range opts {
		if o != nil {
			o(&s)
		}
	}
	return st.Succeed(r.Context(), "LoginSucceeded", s)
}

func fromRequest(r *http.Request) *State {
	if r == nil {
		return nil
	}
	return From(r.Context())
}

// Ticket is the attempt's ticket.
func (s *State) Ticket() *core.Ticket { return s.t }

// Fail reports the attempt as failed; op names the caller in errors
// ("LoginFailed"). A second outcome returns an error wrapping
// core.ErrTicketUsed.
func (s *State) Fail(ctx context.Context, op string) error {
	if !s.done.CompareAndSwap(false, true) {
		return fmt.Errorf("%s: %s: %w", s.g.name, op, core.ErrTicketUsed)
	}
	return s.g.lo.Fail(ctx, s.t)
}

// Succeed reports the attempt as successful and returns the LoginMonitor's
// verdict. A second outcome returns LoginRefuse and an error wrapping
// core.ErrTicketUsed.
func (s *State) Succeed(ctx context.Context, op string, sc core.Success) (core.LoginVerdict, error) {
	if !s.done.CompareAndSwap(false, true) {
		return core.LoginRefuse, fmt.Errorf("%s: %s: %w", s.g.name, op, core.ErrTicketUsed)
	}
	return s.g.lo.Succeed(ctx, s.t, sc)
}

// Finish settles an attempt the handler returned from without reporting:
// with FromStatus, by the status the response was (or will be) sent with;
// without, as a failure, logging a warning the first time per Guard. It does
// nothing when the handler reported. r is the request, for the log line.
func (s *State) Finish(r *http.Request, status int) {
	if !s.done.CompareAndSwap(false, true) {
		return
	}
	g := s.g
	ctx := context.WithoutCancel(r.Context()) // a client that hung up must not escape counting
	if g.cfg.FromStatus == nil {
		_ = g.lo.Fail(ctx, s.t) // counter errors are counted and logged by core
		if g.warned.CompareAndSwap(false, true) {
			g.logger().Warn(g.name+": LoginGuard: the login handler reported no outcome; the attempt counts as failed. "+
				"Call LoginFailed or LoginSucceeded before the handler returns, or use WithOutcomeFromStatus",
				"method", r.Method, "path", r.URL.Path)
		}
		return
	}
	if !g.cfg.FromStatus(status) {
		_ = g.lo.Fail(ctx, s.t)
		return
	}
	v, err := g.lo.Succeed(ctx, s.t, core.Success{})
	if v != core.LoginAllow || err != nil {
		// The response is out: a verdict can no longer stop this login.
		args := []any{"verdict", v.String(), "status", status, "method", r.Method, "path", r.URL.Path}
		if err != nil {
			args = append(args, "error", err)
		}
		g.logger().Warn(g.name+": LoginGuard: the login verdict was not applied: the outcome was inferred from the status "+
			"after the response was written; call LoginSucceeded to act on it", args...)
	}
}

// Abandon settles an attempt whose handler panicked: it fails, quietly (the
// panic is the news).
func (s *State) Abandon(r *http.Request) {
	if s.done.CompareAndSwap(false, true) {
		_ = s.g.lo.Fail(context.WithoutCancel(r.Context()), s.t)
	}
}

// Writer returns w wrapped to record the response status, for Status; the
// wrapper lives in the State, so it costs no allocation. It supports
// http.ResponseController through Unwrap, and http.Flusher.
func (s *State) Writer(w http.ResponseWriter) http.ResponseWriter {
	s.sw.ResponseWriter = w
	return &s.sw
}

// Status is the status recorded by Writer's wrapper: the first final status
// written, 200 when the handler wrote a body without one or wrote nothing
// (net/http then answers 200).
func (s *State) Status() int {
	if s.sw.status == 0 {
		return http.StatusOK
	}
	return s.sw.status
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 && code >= 200 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Flush() {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
