package adaptertest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wardenkit/warden/adapters/internal/loginguard"
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

// RunLogin runs the LoginGuard scenarios against the application mount
// builds: the reference's 100-attempt smoke test (§5.7) with and without a
// whitelist, the 429 answer (text, JSON, Retry-After until the lock ends),
// outcomes the handler did not report, status-inferred outcomes, what a
// success clears, the client address under the trust model, the fail
// policy, and concurrent attempts.
func RunLogin(t *testing.T, mount LoginMount) {
	t.Helper()
	t.Run("smoke_no_whitelist_locks_at_the_5th_failure", func(t *testing.T) {
		e := newLoginEnv(t, mount, loginSetup{})
		for i := 1; i <= 100; i++ {
			w := e.post("alice", "wrong")
			if i <= 5 {
				e.want(w, 401, msgInvalid, fmt.Sprintf("failure %d", i))
				continue
			}
			e.wantLocked(w, retryAfterFullLock, fmt.Sprintf("attempt %d", i))
		}
		e.wantLocked(e.post("alice", Password), retryAfterFullLock, "right password while locked")
		// The lock is on alice at this address; elsewhere she logs in.
		e.want(e.do(loginReq{user: "alice", pw: Password, remote: "198.51.100.1"}), 200, msgWelcome+"1", "other address")
		e.stats(core.LockoutStats{Attempts: 102, Refused: 96, Failed: 5, Succeeded: 1, Lockouts: 1})
		if e.warnings("level=WARN") != 0 {
			t.Fatalf("unexpected warnings: %s", e.log)
		}
	})

	bypass := []struct {
		name, user, remote, id string
		setup                  func(e *loginEnv) error
	}{
		{"whitelisted_user_ip_block", "boss", "203.0.113.7", "42", func(e *loginEnv) error {
			_, err := e.eng.Rules().WhitelistedUsers().Put(e.ctx(), core.WhitelistedUser{UserID: "42", Exemption: core.ExemptIPBlock})
			return err
		}},
		{"whitelisted_ip", "alice", "203.0.113.7", "1", func(e *loginEnv) error {
			_, err := e.eng.Rules().WhitelistedIPs().Put(e.ctx(), core.WhitelistedIP{Network: "203.0.113.7"})
			return err
		}},
		{"whitelisted_network_ipv6", "carol", "2001:db8::7", "7", func(e *loginEnv) error {
			_, err := e.eng.Rules().WhitelistedIPs().Put(e.ctx(), core.WhitelistedIP{Network: "2001:db8::/32"})
			return err
		}},
	}
	for _, c := range bypass {
		t.Run("smoke_"+c.name+"_never_locked", func(t *testing.T) {
			e := newLoginEnv(t, mount, loginSetup{opts: []core.Option{userLookup}})
			if err := c.setup(e); err != nil {
				t.Fatal(err)
			}
			for i := 1; i <= 100; i++ {
				e.want(e.do(loginReq{user: c.user, pw: "wrong", remote: c.remote}), 401, msgInvalid, fmt.Sprintf("failure %d", i))
			}
			e.want(e.do(loginReq{user: c.user, pw: Password, remote: c.remote}), 200, msgWelcome+c.id, "right password after 100 failures")
			if n := e.counter.Len(); n != 0 {
				t.Fatalf("whitelisted failures recorded: %d counter keys", n)
			}
			e.stats(core.LockoutStats{Attempts: 101, Bypassed: 101, Failed: 100, Succeeded: 1})
		})
	}

	t.Run("smoke_whitelisted_user_of_other_name_is_locked", func(t *testing.T) {
		e := newLoginEnv(t, mount, loginSetup{opts: []core.Option{userLookup}})
		if _, err := e.eng.Rules().WhitelistedUsers().Put(e.ctx(), core.WhitelistedUser{UserID: "42", Exemption: core.ExemptIPBlock}); err != nil {
			t.Fatal(err)
		}
		for range 5 {
			e.want(e.post("alice", "wrong"), 401, msgInvalid, "failure")
		}
		e.wantLocked(e.post("alice", Password), retryAfterFullLock, "alice is not whitelisted")
	})

	t.Run("locked_json", func(t *testing.T) {
		e := newLoginEnv(t, mount, loginSetup{})
		for range 5 {
			e.post("alice", "wrong")
		}
		w := e.do(loginReq{user: "alice", pw: "wrong", header: map[string]string{"Accept": "application/json"}})
		e.want(w, 429, `{"error":"Too many login attempts","status":429}`, "JSON")
		if got, want := w.Result().Header, lockedHeader("application/json", retryAfterFullLock); !equalHeader(got, want) {
			t.Fatalf("headers\n got %v\nwant %v", got, want)
		}
		w = e.do(loginReq{user: "alice", pw: "wrong", header: map[string]string{"Accept": "text/html,application/json"}})
		e.wantLocked(w, retryAfterFullLock, "HTML first")
	})

	t.Run("retry_after_counts_down_until_the_lock_ends", func(t *testing.T) {
		e := newLoginEnv(t, mount, loginSetup{})
		for range 5 {
			e.post("alice", "wrong")
		}
		e.wantLocked(e.post("alice", "wrong"), "900", "at once")
		e.clock.Add(10 * time.Minute)
		e.wantLocked(e.post("alice", Password), "300", "after 10 minutes") // refusals do not extend the lock
		e.clock.Add(4*time.Minute + 59*time.Second + 500*time.Millisecond)
		e.wantLocked(e.post("alice", Password), "1", "half a second before the end") // rounded up
		e.clock.Add(500 * time.Millisecond)
		e.want(e.post("alice", Password), 200, msgWelcome+"1", "after the cool-off")
	})

	t.Run("permanent_lock_has_no_retry_after", func(t *testing.T) {
		e := newLoginEnv(t, mount, loginSetup{})
		e.settings(func(s *core.Settings) { s.LockoutCooloffMinutes = 0; s.MaxLoginAttempts = 3 })
		for range 3 {
			e.want(e.post("alice", "wrong"), 401, msgInvalid, "failure")
		}
		e.clock.Add(48 * time.Hour)
		e.wantLocked(e.post("alice", Password), "", "two days later")
		if _, err := e.lo.Unlock(e.ctx(), core.UnlockRequest{Username: "alice", IP: "203.0.113.7"}); err != nil {
			t.Fatal(err)
		}
		e.want(e.post("alice", Password), 200, msgWelcome+"1", "after Unlock")
	})

	t.Run("no_outcome_counts_as_failed_and_warns_once", func(t *testing.T) {
		e := newLoginEnv(t, mount, loginSetup{handle: silentLogin})
		for range 4 {
			e.want(e.post("alice", "wrong"), 401, msgInvalid, "silent failure")
		}
		e.want(e.post("alice", Password), 200, "welcome", "silent success") // still a failure: the 5th
		e.wantLocked(e.post("alice", Password), retryAfterFullLock, "after 5 unreported attempts")
		e.stats(core.LockoutStats{Attempts: 6, Refused: 1, Failed: 5, Lockouts: 1})
		if n := e.warnings(noOutcomeWarning); n != 1 || e.warnings("level=WARN") != 1 {
			t.Fatalf("%d warnings about the missing outcome, want 1:\n%s", n, e.log)
		}
		if !strings.Contains(e.log.String(), "path=/login") || !strings.Contains(e.log.String(), "LoginFailed or LoginSucceeded") {
			t.Fatalf("warning lacks the path or the advice: %s", e.log)
		}
	})

	t.Run("outcome_from_status", func(t *testing.T) {
		e := newLoginEnv(t, mount, loginSetup{handle: silentLogin, fromStatus: func(code int) bool { return code == http.StatusOK }})
		for range 4 {
			e.want(e.post("alice", "wrong"), 401, msgInvalid, "failure")
		}
		e.want(e.post("alice", Password), 200, "welcome", "success") // clears alice's failures
		for range 5 {
			e.want(e.post("alice", "wrong"), 401, msgInvalid, "failure after the success")
		}
		e.wantLocked(e.post("alice", Password), retryAfterFullLock, "5 failures after the success")
		e.stats(core.LockoutStats{Attempts: 11, Refused: 1, Failed: 9, Succeeded: 1, Lockouts: 1})
		if e.log.String() != "" {
			t.Fatalf("warnings with WithOutcomeFromStatus: %s", e.log)
		}
	})

	t.Run("reported_outcome_wins_over_status", func(t *testing.T) {
		// The handler reports a failure but answers 200, which the mapping
		// calls a success.
		handle := func(w http.ResponseWriter, _ *http.Request, rep Report) {
			if err := rep.Failed(); err != nil {
				http.Error(w, err.Error(), 500)
				return
			}
			_, _ = w.Write([]byte("form again"))
		}
		e := newLoginEnv(t, mount, loginSetup{handle: handle, fromStatus: func(code int) bool { return code == http.StatusOK }})
		for range 5 {
			e.want(e.post("alice", "wrong"), 200, "form again", "reported failure")
		}
		e.wantLocked(e.post("alice", "wrong"), retryAfterFullLock, "after 5 reported failures")
	})

	t.Run("inferred_success_cannot_apply_the_verdict", func(t *testing.T) {
		hook := core.WithLoginHook(func(context.Context, core.LoginInfo) (core.LoginVerdict, error) {
			return core.LoginRefuse, nil
		})
		e := newLoginEnv(t, mount, loginSetup{opts: []core.Option{hook}, handle: silentLogin, fromStatus: func(code int) bool { return code == 200 }})
		e.want(e.post("alice", Password), 200, "welcome", "inferred success")
		if e.warnings(notAppliedWarning) != 1 || e.warnings("verdict=refuse") != 1 {
			t.Fatalf("no warning about the verdict: %s", e.log)
		}
	})

	t.Run("success_clears_the_username_not_the_address", func(t *testing.T) {
		e := newLoginEnv(t, mount, loginSetup{})
		// Username and address: 4 failures, a success, 4 failures: no lock.
		for range 4 {
			e.want(e.post("alice", "wrong"), 401, msgInvalid, "failure before the success")
		}
		e.want(e.post("alice", Password), 200, msgWelcome+"1", "success")
		for range 4 {
			e.want(e.post("alice", "wrong"), 401, msgInvalid, "failure after the success")
		}
		e.want(e.post("alice", "wrong"), 401, msgInvalid, "5th failure since the success")
		e.wantLocked(e.post("alice", Password), retryAfterFullLock, "locked")

		// The address alone (limit 10 × 5): spraying 49 usernames, then a
		// valid login, then one more failure locks the address for everyone.
		spray := loginReq{pw: "wrong", remote: "198.51.100.9"}
		for i := range 49 {
			spray.user = fmt.Sprintf("user%02d", i)
			e.want(e.do(spray), 401, msgInvalid, "spray "+spray.user)
		}
		e.want(e.do(loginReq{user: "carol", pw: Password, remote: "198.51.100.9"}), 200, msgWelcome+"7", "valid login amid the spray")
		spray.user = "user49"
		e.want(e.do(spray), 401, msgInvalid, "50th failure of the address")
		e.wantLocked(e.do(loginReq{user: "carol", pw: Password, remote: "198.51.100.9"}), retryAfterFullLock, "address locked")
		e.want(e.do(loginReq{user: "carol", pw: Password, remote: "198.51.100.10"}), 200, msgWelcome+"7", "other address")
	})

	t.Run("verdict_and_history", func(t *testing.T) {
		hook := core.WithLoginHook(func(_ context.Context, info core.LoginInfo) (core.LoginVerdict, error) {
			switch info.UserID {
			case "42":
				return core.LoginRequireSecondFactor, nil
			case "7":
				return core.LoginAllow, errors.New("hook broke")
			}
			return core.LoginAllow, nil
		})
		e := newLoginEnv(t, mount, loginSetup{opts: []core.Option{hook}})
		e.want(e.post("alice", Password), 200, msgWelcome+"1", "allowed")
		e.want(e.post("boss", Password), 202, msgSecond, "second factor")
		e.want(e.post("carol", Password), 403, msgRefused, "hook error refuses")
		recs, err := e.store.Logins(e.ctx(), core.LoginQuery{UserID: "1"})
		if err != nil || len(recs) != 1 || recs[0].SessionKey != "sess-1" || recs[0].IP != "203.0.113.7" || recs[0].UserAgent != UserAgent {
			t.Fatalf("login history = %+v, %v", recs, err)
		}
	})

	t.Run("spoofed_forwarded_for_does_not_change_the_key", func(t *testing.T) {
		e := newLoginEnv(t, mount, loginSetup{opts: behindProxy})
		for i := range 5 {
			q := loginReq{user: "alice", pw: "wrong", header: map[string]string{"X-Forwarded-For": fmt.Sprintf("192.0.2.%d", i+1)}}
			e.want(e.do(q), 401, msgInvalid, "failure with a spoofed header")
		}
		e.wantLocked(e.do(loginReq{user: "alice", pw: Password, header: map[string]string{"X-Forwarded-For": "192.0.2.99"}}),
			retryAfterFullLock, "new spoofed address")
		// From a trusted proxy the forwarded address is the client.
		viaProxy := func(client, pw string) *httptest.ResponseRecorder {
			return e.do(loginReq{user: "alice", pw: pw, remote: "10.0.0.1", header: map[string]string{"X-Forwarded-For": client}})
		}
		for range 5 {
			e.want(viaProxy("198.51.100.1", "wrong"), 401, msgInvalid, "failure via the proxy")
		}
		e.wantLocked(viaProxy("198.51.100.1", Password), retryAfterFullLock, "client behind the proxy locked")
		e.want(viaProxy("198.51.100.2", Password), 200, msgWelcome+"1", "other client behind the proxy")
	})

	t.Run("counter_down_fail_closed", func(t *testing.T) {
		e := newLoginEnv(t, mount, loginSetup{counter: downCounter{}})
		w := e.post("alice", Password)
		e.want(w, 503, "Service unavailable", "counter down")
		if w.Header().Get("Cache-Control") != "no-store" {
			t.Fatalf("503 without the safety headers: %v", w.Header())
		}
	})

	t.Run("counter_down_fail_open", func(t *testing.T) {
		e := newLoginEnv(t, mount, loginSetup{counter: downCounter{}, opts: []core.Option{core.WithLockoutFailPolicy(core.FailOpen)}})
		for range 10 {
			e.want(e.post("alice", "wrong"), 401, msgInvalid, "unguarded failure")
		}
		e.want(e.post("alice", Password), 200, msgWelcome+"1", "unguarded success")
	})

	t.Run("second_outcome_is_an_error", func(t *testing.T) {
		handle := func(w http.ResponseWriter, _ *http.Request, rep Report) {
			first := rep.Failed()
			second := rep.Failed()
			_, err := rep.Succeeded("1", "")
			fmt.Fprintf(w, "%v %t %t", first, errors.Is(second, core.ErrTicketUsed), errors.Is(err, core.ErrTicketUsed))
		}
		e := newLoginEnv(t, mount, loginSetup{handle: handle})
		e.want(e.post("alice", Password), 200, "<nil> true true", "outcomes")
		e.stats(core.LockoutStats{Attempts: 1, Failed: 1})
	})

	t.Run("no_guard", func(t *testing.T) {
		handle := func(w http.ResponseWriter, _ *http.Request, rep Report) {
			errF := rep.Failed()
			v, errS := rep.Succeeded("1", "")
			fmt.Fprintf(w, "%t %t %v", errors.Is(errF, loginguard.ErrNoGuard), errors.Is(errS, loginguard.ErrNoGuard), v)
		}
		e := newLoginEnv(t, mount, loginSetup{handle: handle})
		e.want(e.do(loginReq{target: "/unguarded", user: "alice", pw: Password}), 200, "true true refuse", "unguarded route")
	})

	t.Run("panic_counts_as_failed", func(t *testing.T) {
		handle := func(http.ResponseWriter, *http.Request, Report) { panic("boom") }
		e := newLoginEnv(t, mount, loginSetup{handle: handle})
		for range 5 {
			func() {
				defer func() {
					if recover() == nil {
						t.Fatal("the panic did not reach the caller")
					}
				}()
				e.post("alice", Password)
			}()
		}
		e.stats(core.LockoutStats{Attempts: 5, Failed: 5, Lockouts: 1})
		if e.log.String() != "" {
			t.Fatalf("a panic logged: %s", e.log)
		}
	})

	t.Run("concurrent_attempts_reach_the_handler_at_most_limit_times", func(t *testing.T) {
		e := newLoginEnv(t, mount, loginSetup{})
		var mu sync.Mutex
		codes := map[int]int{}
		var wg sync.WaitGroup
		for range 40 {
			wg.Go(func() {
				w := e.post("alice", "wrong")
				mu.Lock()
				codes[w.Code]++
				mu.Unlock()
			})
		}
		wg.Wait()
		if codes[401] != 5 || codes[429] != 35 || len(codes) != 2 {
			t.Fatalf("answers %v; want 5 × 401 and 35 × 429", codes)
		}
	})
}
