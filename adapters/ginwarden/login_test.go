package ginwarden_test

import (
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/wardenkit/warden/adapters/ginwarden"
	"github.com/wardenkit/warden/adapters/internal/adaptertest"
	"github.com/wardenkit/warden/core"
)

func usernameFromForm(c *gin.Context) string { return c.PostForm("username") }

func TestLoginGuard(t *testing.T) {
	adaptertest.RunLogin(t, func(t testing.TB, lo *core.Lockout, app adaptertest.LoginApp) http.Handler {
		opts := []ginwarden.LoginOption{ginwarden.WithLogger(app.Logger)}
		if app.FromStatus != nil {
			opts = append(opts, ginwarden.WithOutcomeFromStatus(app.FromStatus))
		}
		guard := ginwarden.LoginGuard(lo, usernameFromForm, opts...)
		handle := func(c *gin.Context) {
			app.Handle(c.Writer, c.Request, adaptertest.Report{
				Failed: func() error { return ginwarden.LoginFailed(c) },
				Succeeded: func(id, session string) (core.LoginVerdict, error) {
					return ginwarden.LoginSucceeded(c, id, ginwarden.WithSessionKey(session))
				},
			})
		}
		r := gin.New()
		r.POST("/login", guard, handle)
		r.POST("/unguarded", handle)
		return r
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

// A locked-out attempt aborts the chain: neither the login handler nor
// later middleware runs, and a custom locked handler's answer is kept.
func TestLoginGuardLockedHandlerAbortsChain(t *testing.T) {
	eng := engine(t)
	var seen *core.LockedError
	guard := ginwarden.LoginGuard(eng.Lockout(), usernameFromForm,
		ginwarden.WithLogger(slog.New(slog.DiscardHandler)),
		ginwarden.WithLockedHandler(func(c *gin.Context, le *core.LockedError) {
			seen = le
			c.String(http.StatusTooManyRequests, "login page: try again later") // no Abort: the guard aborts
		}))
	ran := 0
	r := gin.New()
	r.POST("/login", guard, func(c *gin.Context) { ran++ }, func(c *gin.Context) {
		ran++
		_ = ginwarden.LoginFailed(c)
		c.String(http.StatusUnauthorized, "no")
	})
	for range 5 {
		if w := postLogin(r, "alice", "x"); w.Code != 401 {
			t.Fatalf("failure: %d %q", w.Code, w.Body)
		}
	}
	w := postLogin(r, "alice", "x")
	if w.Code != 429 || w.Body.String() != "login page: try again later" || ran != 10 || seen == nil || !errors.Is(seen, core.ErrLocked) {
		t.Fatalf("locked: %d %q, handlers ran %d times, handler got %v", w.Code, w.Body, ran, seen)
	}
}

// LoginGuard as group middleware, and the attempt on a c.Copy() for a
// goroutine.
func TestLoginGuardAsGroupMiddleware(t *testing.T) {
	eng := engine(t)
	r := gin.New()
	g := r.Group("/", ginwarden.LoginGuard(eng.Lockout(), usernameFromForm, ginwarden.WithLogger(slog.New(slog.DiscardHandler))))
	g.POST("/login", func(c *gin.Context) {
		cp := c.Copy()
		done := make(chan error)
		go func() { done <- ginwarden.LoginFailed(cp) }()
		if err := <-done; err != nil {
			c.String(500, err.Error())
			return
		}
		c.String(http.StatusUnauthorized, "no")
	})
	for range 5 {
		if w := postLogin(r, "alice", "x"); w.Code != 401 {
			t.Fatalf("failure: %d %q", w.Code, w.Body)
		}
	}
	if w := postLogin(r, "alice", "x"); w.Code != 429 {
		t.Fatalf("locked: %d %q", w.Code, w.Body)
	}
	if st := eng.Lockout().Stats(); st.Failed != 5 {
		t.Fatalf("stats %+v", st)
	}
}

// Programmer errors panic at construction with an error naming them.
func TestLoginGuardPanics(t *testing.T) {
	lo := engine(t).Lockout()
	guard := func(opts ...ginwarden.LoginOption) func() {
		return func() { ginwarden.LoginGuard(lo, usernameFromForm, opts...) }
	}
	for _, c := range []struct {
		name string
		call func()
		want string
	}{
		{"nil_lockout", func() { ginwarden.LoginGuard(nil, usernameFromForm) }, "ginwarden: LoginGuard: nil lockout"},
		{"nil_username", func() { ginwarden.LoginGuard(lo, nil) }, "ginwarden: LoginGuard: nil username function"},
		{"nil_option", guard(nil), "ginwarden: LoginGuard: nil option"},
		{"nil_logger", guard(ginwarden.WithLogger(nil)), "ginwarden: LoginGuard: WithLogger: nil logger"},
		{"nil_status_mapping", guard(ginwarden.WithOutcomeFromStatus(nil)), "ginwarden: LoginGuard: WithOutcomeFromStatus: nil function"},
		{"nil_locked_handler", guard(ginwarden.WithLockedHandler(nil)), "ginwarden: LoginGuard: WithLockedHandler: nil handler"},
	} {
		adaptertest.WantPanic(t, c.name, c.want, c.call)
	}
}

func TestLoginOutcomeWithoutGuard(t *testing.T) {
	if err := ginwarden.LoginFailed(nil); !errors.Is(err, ginwarden.ErrNoLoginGuard) {
		t.Fatalf("LoginFailed(nil) = %v", err)
	}
	c, _ := gin.CreateTestContext(httptest.NewRecorder())
	if v, err := ginwarden.LoginSucceeded(c, "1"); v != core.LoginRefuse || !errors.Is(err, ginwarden.ErrNoLoginGuard) {
		t.Fatalf("LoginSucceeded without request = %v, %v", v, err)
	}
}
