// Command gin is a Gin application protected by warden: it answers
// "hello <client ip>" on GET / and blocks what its flags say.
//
//	go run ./examples/gin -block-ip 203.0.113.0/24,198.51.100.7 -block-ua sqlmap
//	go run ./examples/gin -trust-proxy 10.0.0.0/8 -geoip GeoLite2-Country.mmdb -block-country RU
//
// Rules are stored in a SQLite file, warden.db in the working directory
// (-dsn or WARDEN_DSN selects PostgreSQL or MySQL instead), so they survive a
// restart; flags write them through eng.Rules() after eng.Start, the way an
// admin page or the CLI writes them. With -redis (or WARDEN_REDIS_URL)
// replicas share rule changes, rate limits and login counters. SIGINT or
// SIGTERM shuts the server down gracefully and flushes the security events.
package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"syscall"

	"github.com/gin-gonic/gin"

	"github.com/wardenkit/warden/adapters/ginwarden"
	"github.com/wardenkit/warden/core"
	"github.com/wardenkit/warden/examples/internal/app"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "gin example:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	return app.Run(ctx, "gin", args, stdout, func(a *app.App) http.Handler {
		eng, pages := a.Engine, a.Pages
		// In a real application, authentication runs first and WithUser reads
		// its result, so that user exemptions apply:
		//	r.Use(auth, ginwarden.Middleware(eng, ginwarden.WithUser(func(c *gin.Context) string { return c.GetString("user_id") })))
		gin.SetMode(gin.ReleaseMode)
		r := gin.New()
		r.Use(gin.Recovery(), ginwarden.Middleware(eng))
		r.GET("/", func(c *gin.Context) {
			d, _ := ginwarden.DecisionFrom(c)
			c.String(http.StatusOK, "hello %s\n", d.ClientIP)
		})
		r.GET("/health", func(c *gin.Context) { // exempt from every check by default
			if !eng.Ready() {
				c.String(http.StatusServiceUnavailable, "starting\n")
				return
			}
			c.String(http.StatusOK, "ok\n")
		})
		r.GET("/login", func(c *gin.Context) { pages.LoginForm(c.Writer, http.StatusOK, "", "") })
		// The guard counts every POST: five wrong passwords lock the account.
		r.POST("/login", ginwarden.LoginGuard(eng.Lockout(), func(c *gin.Context) string { return c.PostForm("username") }),
			func(c *gin.Context) {
				user := c.PostForm("username")
				if !pages.Verify(user, c.PostForm("password")) {
					_ = ginwarden.LoginFailed(c)
					pages.LoginForm(c.Writer, http.StatusUnauthorized, "Wrong username or password.", user)
					return
				}
				if v, err := ginwarden.LoginSucceeded(c, user); err != nil || v != core.LoginAllow {
					pages.LoginForm(c.Writer, http.StatusForbidden, "This sign-in needs a second factor.", user)
					return
				}
				pages.Welcome(c.Writer, "Signed in as "+user+".")
			})
		r.GET("/signup", func(c *gin.Context) { pages.SignupForm(c.Writer, http.StatusOK, "", "") })
		r.POST("/signup", func(c *gin.Context) {
			email := c.PostForm("email")
			if ok, _ := ginwarden.CheckEmail(c, eng, email); !ok {
				return // refused: CheckEmail wrote the middleware's denial
			}
			pages.Welcome(c.Writer, "Signed up as "+email+".")
		})
		ginwarden.MountAdmin(r.Group("/admin"), a.Admin) // behind the password printed at start-up
		r.GET("/metrics", gin.WrapH(a.Metrics))
		return r
	})
}
