package httpwarden_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/wardenkit/warden/adapters/httpwarden"
	"github.com/wardenkit/warden/adapters/internal/adaptertest"
	"github.com/wardenkit/warden/core"
	"github.com/wardenkit/warden/core/memstore"
)

func usernameFromForm(r *http.Request) string { return r.PostFormValue("username") }

func TestLoginGuard(t *testing.T) {
	adaptertest.RunLogin(t, func(t testing.TB, lo *core.Lockout, app adaptertest.LoginApp) http.Handler {
		opts := []httpwarden.LoginOption{httpwarden.WithLogger(app.Logger)}
		if app.FromStatus != nil {
			opts = append(opts, httpwarden.WithOutcomeFromStatus(app.FromStatus))
		}
		guard := httpwarden.LoginGuard(lo, usernameFromForm, opts...)
		handle := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			app.Handle(w, r, adaptertest.Report{
				Failed: func() error { return httpwarden.LoginFailed(r) },
				Succeeded: func(id, session string) (core.LoginVerdict, error) {
					return httpwarden.LoginSucceeded(r, id, httpwarden.WithSessionKey(session))
				},
			})
		})
		mux := http.NewServeMux()
		mux.Handle("POST /login", guard(handle))
		mux.Handle("POST /unguarded", handle)
		return mux
	})
}

func lockout(t *testing.T) *core.Lockout {
	t.Helper()
	eng, err := core.New(memstore.New(), core.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = eng.Close(context.Background()) })
	return eng.Lockout()
}

func postLogin(h http.Handler, user, pw string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, "/login", strings.NewReader(url.Values{"username": {user}, "password": {pw}}.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.RemoteAddr = "203.0.113.7:4000"
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// The status recorder of WithOutcomeFromStatus keeps http.ResponseController
// working, and the first final status counts (not a 103 Early Hints).
func TestLoginGuardStatusRecorder(t *testing.T) {
	lo := lockout(t)
	guard := httpwarden.LoginGuard(lo, usernameFromForm,
		httpwarden.WithLogger(slog.New(slog.DiscardHandler)),
		httpwarden.WithOutcomeFromStatus(func(code int) bool { return code == http.StatusSeeOther }))
	h := guard(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusEarlyHints)
		if r.PostFormValue("password") == "right" {
			http.Redirect(w, r, "/home", http.StatusSeeOther)
		} else {
			_, _ = w.Write([]byte("the form again")) // 200: a failure here
		}
		if err := http.NewResponseController(w).Flush(); err != nil {
			t.Errorf("Flush through the recorder: %v", err)
		}
	}))
	for range 4 {
		if w := postLogin(h, "alice", "wrong"); w.Body.String() != "the form again" || !w.Flushed {
			t.Fatalf("failure: %q flushed %v", w.Body, w.Flushed)
		}
	}
	postLogin(h, "alice", "right") // 103, then 303: a success
	if st := lo.Stats(); st.Failed != 4 || st.Succeeded != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestLoginGuardLockedHandler(t *testing.T) {
	lo := lockout(t)
	guard := httpwarden.LoginGuard(lo, usernameFromForm, httpwarden.WithLogger(slog.New(slog.DiscardHandler)),
		httpwarden.WithLockedHandler(func(w http.ResponseWriter, r *http.Request, le *core.LockedError) {
			http.Error(w, "locked for "+le.RetryAfter.String(), http.StatusTooManyRequests)
		}))
	ran := 0
	h := guard(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ran++
		_ = httpwarden.LoginFailed(r)
		http.Error(w, "no", http.StatusUnauthorized)
	}))
	for range 5 {
		postLogin(h, "alice", "x")
	}
	if w := postLogin(h, "alice", "x"); w.Code != 429 || w.Body.String() != "locked for 15m0s\n" || ran != 5 {
		t.Fatalf("locked: %d %q, handler ran %d times", w.Code, w.Body, ran)
	}
}

// Programmer errors panic at construction with an error naming them.
func TestLoginGuardPanics(t *testing.T) {
	lo := lockout(t)
	guard := func(opts ...httpwarden.LoginOption) func() {
		return func() { httpwarden.LoginGuard(lo, usernameFromForm, opts...) }
	}
	for _, c := range []struct {
		name string
		call func()
		want string
	}{
		{"nil_lockout", func() { httpwarden.LoginGuard(nil, usernameFromForm) }, "httpwarden: LoginGuard: nil lockout"},
		{"nil_username", func() { httpwarden.LoginGuard(lo, nil) }, "httpwarden: LoginGuard: nil username function"},
		{"nil_option", guard(nil), "httpwarden: LoginGuard: nil option"},
		{"nil_logger", guard(httpwarden.WithLogger(nil)), "httpwarden: LoginGuard: WithLogger: nil logger"},
		{"nil_status_mapping", guard(httpwarden.WithOutcomeFromStatus(nil)), "httpwarden: LoginGuard: WithOutcomeFromStatus: nil function"},
		{"nil_locked_handler", guard(httpwarden.WithLockedHandler(nil)), "httpwarden: LoginGuard: WithLockedHandler: nil handler"},
		{"nil_handler", func() { httpwarden.LoginGuard(lo, usernameFromForm)(nil) }, "httpwarden: LoginGuard: nil handler"},
	} {
		adaptertest.WantPanic(t, c.name, c.want, c.call)
	}
}

func TestWriteLocked(t *testing.T) {
	for _, c := range []struct {
		accept, retryAfter, ctype, body string
		le                              core.LockedError
	}{
		{"", "2", "text/plain; charset=utf-8", "Too many login attempts",
			core.LockedError{Until: time.Unix(100, 0), RetryAfter: 1500 * time.Millisecond}},
		{"application/json", "", "application/json", `{"error":"Too many login attempts","status":429}` + "\n",
			core.LockedError{RetryAfter: time.Hour}}, // until unlocked: no Retry-After
	} {
		r := httptest.NewRequest("POST", "/login", nil)
		r.Header.Set("Accept", c.accept)
		w := httptest.NewRecorder()
		httpwarden.WriteLocked(w, r, &c.le)
		if w.Code != 429 || w.Body.String() != c.body || w.Header().Get("Retry-After") != c.retryAfter ||
			w.Header().Get("Content-Type") != c.ctype || w.Header().Get("Vary") != "Accept" {
			t.Errorf("%+v: %d %q %v", c.le, w.Code, w.Body, w.Header())
		}
	}
}

func TestLoginOutcomeWithoutGuard(t *testing.T) {
	r := httptest.NewRequest("POST", "/login", nil)
	if err := httpwarden.LoginFailed(r); !errors.Is(err, httpwarden.ErrNoLoginGuard) || err.Error() != "httpwarden: LoginFailed: no LoginGuard ran for this request" {
		t.Fatalf("LoginFailed = %v", err)
	}
	if v, err := httpwarden.LoginSucceeded(r, "1"); v != core.LoginRefuse || !errors.Is(err, httpwarden.ErrNoLoginGuard) {
		t.Fatalf("LoginSucceeded = %v, %v", v, err)
	}
}
