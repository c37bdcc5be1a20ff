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
		guard, err := ginwarden.LoginGuard(lo, usernameFromForm, opts...)
		if err != nil {
			t.Fatal(err)
		}
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
	guard, err := ginwarden.LoginGuard(eng.Lockout(), usernameFromForm,
		ginwarden.WithLogger(slog.New(slog.DiscardHandler)),
		ginwarden.WithLockedHandler(func(c *gin.Context, le *core.LockedError) {
			seen = le
			c.String(http.StatusTooManyRequests, "login page: try again later") // no Abort: the guard aborts
		}))
	if err != nil {
		t.Fatal(err)
	}
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
	guard, _ := ginwarden.LoginGuard(eng.Lockout(), usernameFromForm, ginwarden.WithLogger(slog.New(slog.DiscardHandler)))
	r := gin.New()
	g := r.Group("/", guard)
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

func TestLoginGuardOptionErrors(t *testing.T) {
	lo := engine(t).Lockout()
	for name, opts := range map[string][]ginwarden.LoginOption{
		"nil_option":         {nil},
		"nil_logger":         {ginwarden.WithLogger(nil)},
		"nil_status_mapping": {ginwarden.WithOutcomeFromStatus(nil)},
		"nil_locked_handler": {ginwarden.WithLockedHandler(nil)},
	} {
		if _, err := ginwarden.LoginGuard(lo, usernameFromForm, opts...); err == nil || !strings.HasPrefix(err.Error(), "ginwarden: LoginGuard: ") {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := ginwarden.LoginGuard(nil, usernameFromForm); err == nil || err.Error() != "ginwarden: LoginGuard: nil lockout" {
		t.Errorf("nil lockout: %v", err)
	}
	if _, err := ginwarden.LoginGuard(lo, nil); err == nil || err.Error() != "ginwarden: LoginGuard: nil username function" {
		t.Errorf("nil username: %v", err)
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
