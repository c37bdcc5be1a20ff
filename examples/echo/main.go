// Command echo is an Echo application protected by warden; it takes the
// same flags as examples/gin:
//
//	go run ./examples/echo -block-ip 203.0.113.0/24 -block-ua sqlmap -trust-proxy 10.0.0.0/8
//
// Rules are stored in warden.db (or -dsn / WARDEN_DSN) and written through
// eng.Rules() after eng.Start. SIGINT or SIGTERM shuts down gracefully and
// flushes the security events.
package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"syscall"

	"github.com/labstack/echo/v4"

	"github.com/wardenkit/warden/adapters/echowarden"
	"github.com/wardenkit/warden/core"
	"github.com/wardenkit/warden/examples/internal/app"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "echo example:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	return app.Run(ctx, "echo", args, stdout, func(a *app.App) http.Handler {
		eng, pages := a.Engine, a.Pages
		// Authentication, when there is one, goes first, with
		// echowarden.WithUser reading the user it found:
		//	e.Use(auth, echowarden.Middleware(eng, echowarden.WithUser(userID)))
		e := echo.New()
		e.HideBanner, e.HidePort = true, true
		e.Use(echowarden.Middleware(eng))
		e.GET("/", func(c echo.Context) error {
			d, _ := echowarden.DecisionFrom(c)
			return c.String(http.StatusOK, "hello "+d.ClientIP.String()+"\n")
		})
		e.GET("/health", func(c echo.Context) error { // exempt from every check by default
			if !eng.Ready() {
				return c.String(http.StatusServiceUnavailable, "starting\n")
			}
			return c.String(http.StatusOK, "ok\n")
		})
		e.GET("/login", func(c echo.Context) error { pages.LoginForm(c.Response(), http.StatusOK, "", ""); return nil })
		// The guard counts every POST: five wrong passwords lock the account.
		e.POST("/login", func(c echo.Context) error {
			user := c.FormValue("username")
			if !pages.Verify(user, c.FormValue("password")) {
				_ = echowarden.LoginFailed(c)
				pages.LoginForm(c.Response(), http.StatusUnauthorized, "Wrong username or password.", user)
				return nil
			}
			if v, err := echowarden.LoginSucceeded(c, user); err != nil || v != core.LoginAllow {
				pages.LoginForm(c.Response(), http.StatusForbidden, "This sign-in needs a second factor.", user)
				return nil
			}
			pages.Welcome(c.Response(), "Signed in as "+user+".")
			return nil
		}, echowarden.LoginGuard(eng.Lockout(), func(c echo.Context) string { return c.FormValue("username") }))
		e.GET("/signup", func(c echo.Context) error { pages.SignupForm(c.Response(), http.StatusOK, "", ""); return nil })
		e.POST("/signup", func(c echo.Context) error {
			email := c.FormValue("email")
			if ok, _ := echowarden.CheckEmail(c, eng, email); !ok {
				return nil // refused: CheckEmail wrote the middleware's denial
			}
			pages.Welcome(c.Response(), "Signed up as "+email+".")
			return nil
		})
		echowarden.MountAdmin(e.Group("/admin"), a.Admin) // behind the password printed at start-up
		e.GET("/metrics", echo.WrapHandler(a.Metrics))
		return e
	})
}
