package adaptertest

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wardenkit/warden/adapters/internal/respond"
	"github.com/wardenkit/warden/core"
	"github.com/wardenkit/warden/core/attempt"
	"github.com/wardenkit/warden/core/memstore"
)

// LoginMount builds the login application under test on lo:
//
//   - POST /login: the adapter's LoginGuard(lo, username, opts...) in front of
//     a handler, where username reads the form field "username" with the
//     framework's own accessor and opts are WithLogger(app.Logger) and, when
//     app.FromStatus is set, WithOutcomeFromStatus(app.FromStatus);
//   - POST /unguarded: the same handler without a guard.
//
// The handler calls app.Handle with the framework's response writer, the
// request it sees, and the adapter's LoginFailed and LoginSucceeded (with
// WithSessionKey) bound to that request, and returns nil.
type LoginMount func(t testing.TB, lo *core.Lockout, app LoginApp) http.Handler

// LoginApp is what a LoginMount mounts.
type LoginApp struct {
	Logger     *slog.Logger          // for WithLogger; never nil
	FromStatus func(status int) bool // for WithOutcomeFromStatus, when set
	Handle     func(w http.ResponseWriter, r *http.Request, rep Report)
}

// Report is the adapter's outcome calls bound to one request.
type Report struct {
	Failed    func() error
	Succeeded func(userID, sessionKey string) (core.LoginVerdict, error)
}

// Clock is a settable core.Clock.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock at 2030-01-01 12:00 UTC.
func NewClock() *Clock { return &Clock{t: time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)} }

// Now implements core.Clock.
func (c *Clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

// Add moves the clock on.
func (c *Clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// The accounts of the login application: username → user ID; every
// password is Password.
var loginUsers = map[string]string{"alice": "1", "boss": "42", "carol": "7"}

// Password is the right password of every account of the login application.
const Password = "correct horse"

// Messages of the login application.
const (
	msgInvalid = "invalid credentials"
	msgWelcome = "welcome "
	msgSecond  = "second factor"
	msgRefused = "refused"
)

// PasswordLogin is the login handler of the suite: a wrong password or an
// unknown user → LoginFailed, 401; the right one → LoginSucceeded with the
// session key "sess-<id>", then 200 "welcome <id>" on LoginAllow, 202 on
// LoginRequireSecondFactor, 403 otherwise. A reporting error answers 500.
func PasswordLogin(w http.ResponseWriter, r *http.Request, rep Report) {
	id, ok := loginUsers[strings.ToLower(r.PostFormValue("username"))]
	if !ok || r.PostFormValue("password") != Password {
		if err := rep.Failed(); err != nil {
			http.Error(w, "LoginFailed: "+err.Error(), http.StatusInternalServerError)
			return
		}
		http.Error(w, msgInvalid, http.StatusUnauthorized)
		return
	}
	v, err := rep.Succeeded(id, "sess-"+id)
	switch {
	case err == nil && v == core.LoginAllow:
		_, _ = w.Write([]byte(msgWelcome + id))
	case err == nil && v == core.LoginRequireSecondFactor:
		w.WriteHeader(http.StatusAccepted)
		_, _ = w.Write([]byte(msgSecond))
	default:
		http.Error(w, msgRefused, http.StatusForbidden)
	}
}

// silentLogin answers like PasswordLogin without reporting anything.
func silentLogin(w http.ResponseWriter, r *http.Request, _ Report) {
	_, ok := loginUsers[strings.ToLower(r.PostFormValue("username"))]
	if !ok || r.PostFormValue("password") != Password {
		http.Error(w, msgInvalid, http.StatusUnauthorized)
		return
	}
	_, _ = w.Write([]byte("welcome"))
}

// logBuffer collects log lines.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

// loginEnv is one login case: an engine on a fake clock with a visible
// attempt counter, the guard's log, and the mounted application.
type loginEnv struct {
	t       *testing.T
	eng     *core.Engine
	store   *memstore.Store
	clock   *Clock
	counter *attempt.Memory
	lo      *core.Lockout
	log     *logBuffer
	h       http.Handler
}

type loginSetup struct {
	opts       []core.Option
	counter    attempt.Counter // default: a MemoryAttempts kept in loginEnv
	fromStatus func(int) bool
	handle     func(http.ResponseWriter, *http.Request, Report)
}

func newLoginEnv(t *testing.T, mount LoginMount, s loginSetup) *loginEnv {
	t.Helper()
	e := &loginEnv{t: t, clock: NewClock(), log: &logBuffer{}}
	e.store = memstore.New(memstore.WithNow(e.clock.Now))
	counter := s.counter
	if counter == nil {
		m, err := attempt.NewMemory(0)
		if err != nil {
			t.Fatal(err)
		}
		e.counter, counter = m, m
	}
	opts := append([]core.Option{
		core.WithClock(e.clock), core.WithAttemptCounter(counter), core.WithRebuildInterval(time.Millisecond),
		core.WithLogger(slog.New(slog.DiscardHandler)),
	}, s.opts...)
	eng, err := core.New(e.store, opts...)
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = eng.Close(context.Background()) })
	e.eng, e.lo = eng, eng.Lockout()
	if s.handle == nil {
		s.handle = PasswordLogin
	}
	e.h = mount(t, e.lo, LoginApp{
		Logger:     slog.New(slog.NewTextHandler(e.log, &slog.HandlerOptions{Level: slog.LevelDebug})),
		FromStatus: s.fromStatus,
		Handle:     s.handle,
	})
	return e
}

func (e *loginEnv) ctx() context.Context { return context.Background() }

// loginReq describes one POST.
type loginReq struct {
	target   string // default /login
	user, pw string
	remote   string // peer address, default 203.0.113.7
	header   map[string]string
}

func (e *loginEnv) do(q loginReq) *httptest.ResponseRecorder {
	e.t.Helper()
	form := url.Values{"username": {q.user}, "password": {q.pw}}
	r := httptest.NewRequest(http.MethodPost, cmpOr(q.target, "/login"), strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("User-Agent", UserAgent)
	r.RemoteAddr = cmpOr(q.remote, "203.0.113.7") + ":4000"
	if strings.Contains(q.remote, ":") {
		r.RemoteAddr = "[" + q.remote + "]:4000"
	}
	for k, v := range q.header {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, r)
	return w
}

// post sends a login for user with pw from the default address.
func (e *loginEnv) post(user, pw string) *httptest.ResponseRecorder {
	e.t.Helper()
	return e.do(loginReq{user: user, pw: pw})
}

// want checks status and body of a response.
func (e *loginEnv) want(w *httptest.ResponseRecorder, status int, body, what string) {
	e.t.Helper()
	if w.Code != status || strings.TrimSpace(w.Body.String()) != body {
		e.t.Fatalf("%s: %d %q, want %d %q", what, w.Code, w.Body, status, body)
	}
}

// lockedHeader is the full header of the default 429 answer.
func lockedHeader(contentType, retryAfter string) http.Header {
	h := http.Header{
		"Cache-Control":          {"no-store"},
		"Vary":                   {"Accept"},
		"X-Content-Type-Options": {"nosniff"},
		"Content-Type":           {contentType},
	}
	if retryAfter != "" {
		h.Set("Retry-After", retryAfter)
	}
	return h
}

// wantLocked checks a default 429 answer in text, headers in full.
func (e *loginEnv) wantLocked(w *httptest.ResponseRecorder, retryAfter, what string) {
	e.t.Helper()
	e.want(w, http.StatusTooManyRequests, respond.LockedMessage, what)
	if got, want := w.Result().Header, lockedHeader("text/plain; charset=utf-8", retryAfter); !equalHeader(got, want) {
		e.t.Fatalf("%s: headers\n got %v\nwant %v", what, got, want)
	}
}

func (e *loginEnv) stats(want core.LockoutStats) {
	e.t.Helper()
	got := e.lo.Stats()
	got.RecordsWritten, got.RecordsDropped = 0, 0 // written in the background
	got.TrackedNames = 0                          // a gauge of the source caps, not an outcome
	if got != want {
		e.t.Fatalf("lockout stats\n got %+v\nwant %+v", got, want)
	}
}

func (e *loginEnv) warnings(substr string) int {
	return strings.Count(e.log.String(), substr)
}

func (e *loginEnv) settings(f func(*core.Settings)) {
	e.t.Helper()
	s, err := e.eng.Settings(e.ctx())
	if err != nil {
		e.t.Fatal(err)
	}
	f(&s)
	if _, err := e.eng.PutSettings(e.ctx(), s); err != nil {
		e.t.Fatal(err)
	}
}

// userLookup resolves usernames of the login application, and the e-mail
// "boss@example.com", to user IDs (reference §5.2).
var userLookup = core.WithUserLookup(func(_ context.Context, name string) (string, bool) {
	n := strings.ToLower(name)
	if n == "boss@example.com" {
		n = "boss"
	}
	id, ok := loginUsers[n]
	return id, ok
})

const (
	noOutcomeWarning   = "reported no outcome"
	notAppliedWarning  = "verdict was not applied"
	retryAfterFullLock = "900" // the default cool-off, 15 minutes
)

// downCounter is an AttemptCounter that always fails.
type downCounter struct{}

var errDown = errors.New("counter down")

func (downCounter) Reserve(context.Context, time.Time, attempt.Policy, uint64, []attempt.Key) (bool, []attempt.State, error) {
	return false, nil, errDown
}
func (downCounter) Fail(context.Context, time.Time, attempt.Policy, uint64, []attempt.Key) ([]attempt.State, error) {
	return nil, errDown
}
func (downCounter) Release(context.Context, time.Time, attempt.Policy, uint64, []attempt.Key) ([]attempt.State, error) {
	return nil, errDown
}
func (downCounter) Reset(context.Context, []string) error { return errDown }
func (downCounter) Status(context.Context, time.Time, attempt.Policy, []attempt.Key) ([]attempt.State, error) {
	return nil, errDown
}
