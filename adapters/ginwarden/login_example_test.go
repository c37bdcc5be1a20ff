package ginwarden_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/wardenkit/warden/adapters/ginwarden"
	"github.com/wardenkit/warden/core"
	"github.com/wardenkit/warden/core/memstore"
)

// checkPassword stands for the application's own password check.
func checkPassword(username, password string) (userID string, ok bool) {
	if strings.EqualFold(username, "alice") && password == "secret" {
		return "42", true
	}
	return "", false
}

// The login handler reports each attempt's outcome; after five failures the
// guard answers 429 itself, even to the right password.
func ExampleLoginGuard() {
	ctx := context.Background()
	eng, err := core.New(memstore.New(), core.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		panic(err)
	}
	if err := eng.Start(ctx); err != nil {
		panic(err)
	}
	defer eng.Close(ctx)

	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.POST("/login", ginwarden.LoginGuard(eng.Lockout(), func(c *gin.Context) string { return c.PostForm("username") }), login)

	for _, password := range []string{"secret", "guess1", "guess2", "guess3", "guess4", "guess5", "secret"} {
		form := url.Values{"username": {"alice"}, "password": {password}}
		req := httptest.NewRequest(http.MethodPost, "/login", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.RemoteAddr = "203.0.113.7:4000"
		w := httptest.NewRecorder()
		r.ServeHTTP(w, req)
		line := fmt.Sprint(w.Code, " ", strings.TrimSpace(w.Body.String()))
		if ra := w.Header().Get("Retry-After"); ra != "" {
			line += ", Retry-After: " + ra
		}
		fmt.Println(line)
	}
	// Output:
	// 200 welcome
	// 401 invalid credentials
	// 401 invalid credentials
	// 401 invalid credentials
	// 401 invalid credentials
	// 401 invalid credentials
	// 429 Too many login attempts, Retry-After: 900
}

// login is the application's login handler: it reports each attempt's
// outcome to the guard.
func login(c *gin.Context) {
	userID, ok := checkPassword(c.PostForm("username"), c.PostForm("password"))
	if !ok {
		_ = ginwarden.LoginFailed(c)
		c.String(http.StatusUnauthorized, "invalid credentials")
		return
	}
	verdict, err := ginwarden.LoginSucceeded(c, userID)
	switch {
	case err != nil || verdict == core.LoginRefuse:
		c.String(http.StatusForbidden, "login refused")
	case verdict == core.LoginRequireSecondFactor:
		c.Redirect(http.StatusSeeOther, "/login/second-factor")
	default:
		c.String(http.StatusOK, "welcome") // issue the session here
	}
}
