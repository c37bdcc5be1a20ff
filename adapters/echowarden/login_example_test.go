package echowarden_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/wardenkit/warden/adapters/echowarden"
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
// guard answers 429 itself, even to the right password, in JSON when the
// client asks for it.
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

	e := echo.New()
	e.POST("/login", login, echowarden.LoginGuard(eng.Lockout(), func(c echo.Context) string { return c.FormValue("username") }))

	for _, password := range []string{"secret", "guess1", "guess2", "guess3", "guess4", "guess5", "secret"} {
		form := url.Values{"username": {"alice"}, "password": {password}}
		req := httptest.NewRequest(http.MethodPost, "/login", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Accept", "application/json")
		req.RemoteAddr = "203.0.113.7:4000"
		w := httptest.NewRecorder()
		e.ServeHTTP(w, req)
		line := fmt.Sprint(w.Code, " ", strings.TrimSpace(w.Body.String()))
		if ra := w.Header().Get("Retry-After"); ra != "" {
			line += ", Retry-After: " + ra
		}
		fmt.Println(line)
	}
	// Output:
	// 200 {"welcome":"42"}
	// 401 {"error":"invalid credentials"}
	// 401 {"error":"invalid credentials"}
	// 401 {"error":"invalid credentials"}
	// 401 {"error":"invalid credentials"}
	// 401 {"error":"invalid credentials"}
	// 429 {"error":"Too many login attempts","status":429}, Retry-After: 900
}

// login is the application's login handler: it reports each attempt's
// outcome to the guard.
func login(c echo.Context) error {
	userID, ok := checkPassword(c.FormValue("username"), c.FormValue("password"))
	if !ok {
		_ = echowarden.LoginFailed(c)
		return c.JSON(http.StatusUnauthorized, map[string]string{"error": "invalid credentials"})
	}
	verdict, err := echowarden.LoginSucceeded(c, userID)
	switch {
	case err != nil || verdict == core.LoginRefuse:
		return c.JSON(http.StatusForbidden, map[string]string{"error": "login refused"})
	case verdict == core.LoginRequireSecondFactor:
		return c.JSON(http.StatusAccepted, map[string]string{"next": "second factor"})
	}
	return c.JSON(http.StatusOK, map[string]string{"welcome": userID}) // issue the session here
}
