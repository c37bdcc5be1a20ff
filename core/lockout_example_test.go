package core_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http/httptest"

	"github.com/wardenkit/warden/core"
	"github.com/wardenkit/warden/core/memstore"
)

func ExampleLockout() {
	ctx := context.Background()
	eng, err := core.New(memstore.New(), core.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		panic(err)
	}
	if err := eng.Start(ctx); err != nil {
		panic(err)
	}
	defer eng.Close(ctx)
	lo := eng.Lockout()

	// A login handler: Begin before the password check, then Fail or Succeed.
	login := func(username, password string) string {
		r := httptest.NewRequest("POST", "/login", nil)
		r.RemoteAddr = "203.0.113.7:4000"
		t, err := lo.Begin(ctx, core.Attempt{Username: username, HTTP: r})
		var locked *core.LockedError
		switch {
		case errors.As(err, &locked):
			return fmt.Sprintf("429, Retry-After: %.0f", locked.RetryAfter.Seconds())
		case err != nil:
			return "503"
		}
		if password != "secret" {
			_ = lo.Fail(ctx, t)
			return "401"
		}
		verdict, _ := lo.Succeed(ctx, t, core.Success{UserID: "42"})
		return "200 " + verdict.String()
	}
	fmt.Println(login("alice", "secret"))
	for range 5 {
		fmt.Println(login(" Alice", "guess"))
	}
	fmt.Println(login("alice", "secret")) // refused, even with the right password
	// Output:
	// 200 allow
	// 401
	// 401
	// 401
	// 401
	// 401
	// 429, Retry-After: 900
}

func ExampleLoginMonitor() {
	ctx := context.Background()
	eng, err := core.New(memstore.New(), core.WithLogger(slog.New(slog.DiscardHandler)),
		core.WithLoginHook(func(_ context.Context, info core.LoginInfo) (core.LoginVerdict, error) {
			if info.Suspicious {
				fmt.Println("suspicious:", info.Reasons)
				return core.LoginRequireSecondFactor, nil
			}
			return core.LoginAllow, nil
		}))
	if err != nil {
		panic(err)
	}
	if err := eng.Start(ctx); err != nil {
		panic(err)
	}
	defer eng.Close(ctx)
	for _, ua := range []string{
		"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0",
	} {
		r := httptest.NewRequest("POST", "/login", nil)
		r.Header.Set("User-Agent", ua)
		v, _ := eng.LoginMonitor().Observe(ctx, core.Login{UserID: "42", HTTP: r})
		fmt.Println(v)
	}
	// Output:
	// allow
	// suspicious: [New device: Firefox/Windows]
	// require_second_factor
}
