package echowarden_test

import (
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/wardenkit/warden/adapters/echowarden"
	"github.com/wardenkit/warden/adapters/internal/adaptertest"
	"github.com/wardenkit/warden/core"
)

func usernameFromForm(c echo.Context) string { return c.FormValue("username") }

func TestLoginGuard(t *testing.T) {
	adaptertest.RunLogin(t, func(t testing.TB, lo *core.Lockout, app adaptertest.LoginApp) http.Handler {
		opts := []echowarden.LoginOption{echowarden.WithLogger(app.Logger)}
		if app.FromStatus != nil {
			opts = append(opts, echowarden.WithOutcomeFromStatus(app.FromStatus))
		}
		guard := echowarden.LoginGuard(lo, usernameFromForm, opts...)
		handle := func(c echo.Context) error {
			app.Handle(c.Response(), c.Request(), adaptertest.Report{
				Failed: func() error { return echowarden.LoginFailed(c) },
				Succeeded: func(id, session string) (core.LoginVerdict, error) {
					return echowarden.LoginSucceeded(c, id, echowarden.WithSessionKey(session))
				},
			})
			return nil
		}
		e := echo.New()
		e.POST("/login", handle, guard)
		e.POST("/unguarded", handle)
		return e
	})
}

func postLogin(h http.Handler, user, pw string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, "/login", strings.NewReader(url.Values{"username": {user}, "password": {pw}}.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.RemoteAddr = "203.0.113.7:4000"
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// With WithOutcomeFromStatus, an error returned by the handler is judged by
// the status Echo's error handler will send.
func TestLoginGuardOutcomeFromReturnedError(t *testing.T) {
	eng := engine(t)
	guard := echowarden.LoginGuard(eng.Lockout(), usernameFromForm,
		echowarden.WithLogger(slog.New(slog.DiscardHandler)),
		echowarden.WithOutcomeFromStatus(func(code int) bool { return code < 400 }))
	e := echo.New()
	e.POST("/login", func(c echo.Context) error {
		switch c.FormValue("password") {
		case "right":
			return c.Redirect(http.StatusSeeOther, "/home")
		case "boom":
			return errors.New("database down")
		}
		return echo.NewHTTPError(http.StatusUnauthorized, "invalid credentials")
	}, guard)
	for range 3 {
		if w := postLogin(e, "alice", "wrong"); w.Code != 401 {
			t.Fatalf("failure: %d %q", w.Code, w.Body)
		}
	}
	if w := postLogin(e, "alice", "boom"); w.Code != 500 {
		t.Fatalf("error: %d %q", w.Code, w.Body)
	}
	if w := postLogin(e, "alice", "right"); w.Code != 303 {
		t.Fatalf("success: %d %q", w.Code, w.Body)
	}
	if st := eng.Lockout().Stats(); st.Failed != 4 || st.Succeeded != 1 || st.Lockouts != 0 {
		t.Fatalf("stats %+v", st)
	}
}

// A custom locked handler may return an error for Echo's HTTPErrorHandler.
func TestLoginGuardLockedHandlerError(t *testing.T) {
	eng := engine(t)
	guard := echowarden.LoginGuard(eng.Lockout(), usernameFromForm,
		echowarden.WithLogger(slog.New(slog.DiscardHandler)),
		echowarden.WithLockedHandler(func(c echo.Context, le *core.LockedError) error {
			c.Response().Header().Set("Retry-After", "60")
			return echo.NewHTTPError(http.StatusTooManyRequests, "slow down")
		}))
	ran := 0
	e := echo.New()
	e.POST("/login", func(c echo.Context) error {
		ran++
		_ = echowarden.LoginFailed(c)
		return c.String(http.StatusUnauthorized, "no")
	}, guard)
	for range 5 {
		postLogin(e, "alice", "x")
	}
	w := postLogin(e, "alice", "x")
	if w.Code != 429 || strings.TrimSpace(w.Body.String()) != `{"message":"slow down"}` || w.Header().Get("Retry-After") != "60" || ran != 5 {
		t.Fatalf("locked: %d %q %v, handler ran %d times", w.Code, w.Body, w.Header(), ran)
	}
}

// Programmer errors panic at construction with an error naming them.
func TestLoginGuardPanics(t *testing.T) {
	lo := engine(t).Lockout()
	guard := func(opts ...echowarden.LoginOption) func() {
		return func() { echowarden.LoginGuard(lo, usernameFromForm, opts...) }
	}
	for _, c := range []struct {
		name string
		call func()
		want string
	}{
		{"nil_lockout", func() { echowarden.LoginGuard(nil, usernameFromForm) }, "echowarden: LoginGuard: nil lockout"},
		{"nil_username", func() { echowarden.LoginGuard(lo, nil) }, "echowarden: LoginGuard: nil username function"},
		{"nil_option", guard(nil), "echowarden: LoginGuard: nil option"},
		{"nil_logger", guard(echowarden.WithLogger(nil)), "echowarden: LoginGuard: WithLogger: nil logger"},
		{"nil_status_mapping", guard(echowarden.WithOutcomeFromStatus(nil)), "echowarden: LoginGuard: WithOutcomeFromStatus: nil function"},
		{"nil_locked_handler", guard(echowarden.WithLockedHandler(nil)), "echowarden: LoginGuard: WithLockedHandler: nil handler"},
	} {
		adaptertest.WantPanic(t, c.name, c.want, c.call)
	}
}

func TestLoginOutcomeWithoutGuard(t *testing.T) {
	if err := echowarden.LoginFailed(nil); !errors.Is(err, echowarden.ErrNoLoginGuard) {
		t.Fatalf("LoginFailed(nil) = %v", err)
	}
	c := echo.New().NewContext(httptest.NewRequest("POST", "/login", nil), httptest.NewRecorder())
	if v, err := echowarden.LoginSucceeded(c, "1"); v != core.LoginRefuse || !errors.Is(err, echowarden.ErrNoLoginGuard) {
		t.Fatalf("LoginSucceeded without guard = %v, %v", v, err)
	}
}
