package httpwarden_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"

	"github.com/wardenkit/warden/adapters/httpwarden"
	"github.com/wardenkit/warden/core"
	"github.com/wardenkit/warden/core/memstore"
	"github.com/wardenkit/warden/core/rule"
)

// checkPassword stands for the application's own password check.
func checkPassword(username, password string) (userID string, ok bool) {
	if strings.EqualFold(username, "alice") && password == "secret" {
		return "42", true
	}
	return "", false
}

// The login handler reports each attempt's outcome; after five failures the
// guard answers 429 itself, even to the right password. A whitelisted
// address is never locked out.
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
	if _, err := eng.Rules().WhitelistedIPs().Put(ctx, rule.WhitelistedIP{Network: "192.0.2.10", Description: "office"}); err != nil {
		panic(err)
	}

	login := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		userID, ok := checkPassword(r.PostFormValue("username"), r.PostFormValue("password"))
		if !ok {
			_ = httpwarden.LoginFailed(r)
			http.Error(w, "invalid credentials", http.StatusUnauthorized)
			return
		}
		verdict, err := httpwarden.LoginSucceeded(r, userID)
		switch {
		case err != nil || verdict == core.LoginRefuse:
			http.Error(w, "login refused", http.StatusForbidden)
		case verdict == core.LoginRequireSecondFactor:
			http.Redirect(w, r, "/login/second-factor", http.StatusSeeOther)
		default:
			fmt.Fprint(w, "welcome") // issue the session here
		}
	})
	mux := http.NewServeMux()
	mux.Handle("POST /login", httpwarden.LoginGuard(eng.Lockout(), func(r *http.Request) string { return r.PostFormValue("username") })(login))

	try := func(peer, password string) string {
		form := url.Values{"username": {"alice"}, "password": {password}}
		req := httptest.NewRequest(http.MethodPost, "/login", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.RemoteAddr = peer + ":4000"
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, req)
		line := fmt.Sprint(peer, " ", w.Code, " ", strings.TrimSpace(w.Body.String()))
		if ra := w.Header().Get("Retry-After"); ra != "" {
			line += ", Retry-After: " + ra
		}
		return line
	}
	for range 5 {
		fmt.Println(try("203.0.113.7", "guess"))
	}
	fmt.Println(try("203.0.113.7", "secret"))

	answers := map[string]int{}
	for range 100 {
		answers[try("192.0.2.10", "guess")]++
	}
	fmt.Println(answers)
	fmt.Println(try("192.0.2.10", "secret"))
	// Output:
	// 203.0.113.7 401 invalid credentials
	// 203.0.113.7 401 invalid credentials
	// 203.0.113.7 401 invalid credentials
	// 203.0.113.7 401 invalid credentials
	// 203.0.113.7 401 invalid credentials
	// 203.0.113.7 429 Too many login attempts, Retry-After: 900
	// map[192.0.2.10 401 invalid credentials:100]
	// 192.0.2.10 200 welcome
}
