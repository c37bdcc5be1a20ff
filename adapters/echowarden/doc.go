// Package echowarden puts a warden engine in front of an Echo (v4)
// application.
//
//	eng, _ := core.New(store, core.WithTrustedProxies(netip.MustParsePrefix("10.0.0.0/8")))
//	if err := eng.Start(ctx); err != nil { … }
//	defer eng.Close(ctx)
//
//	e := echo.New()
//	e.Use(auth, echowarden.Middleware(eng, echowarden.WithUser(func(c echo.Context) string {
//		id, _ := c.Get("user_id").(string) // set by your authentication middleware
//		return id
//	}))) // after authentication
//	e.POST("/login", login, echowarden.LoginGuard(eng.Lockout(), func(c echo.Context) string { return c.FormValue("username") }))
//	e.GET("/", func(c echo.Context) error {
//		d, _ := echowarden.DecisionFrom(c)
//		return c.String(200, "hello "+d.ClientIP.String())
//	})
//
// Run the middleware after your authentication middleware: user exemptions
// (rule.WhitelistedUser) only apply when WithUser can read the authenticated
// user. A user ID taken from anything the client controls, such as an
// unverified header, lets any client claim an exemption.
//
// The client IP comes from the engine's trust model (core/clientip):
// forwarding headers are believed only from the trusted proxies given to
// core.New. Echo's RealIP and IPExtractor are never used. The engine gets
// the request's own context (c.Request().Context()), never the echo.Context.
//
// A denied request gets the response every warden adapter gives, on
// c.Response(): the reference's text ("Access denied", "Access denied from your region",
// …) or JSON when the Accept header asks for it, with Cache-Control:
// no-store, Vary: Accept and X-Content-Type-Options: nosniff. A
// WithDenyHandler may instead return an error (an *echo.HTTPError, say) for
// Echo's HTTPErrorHandler to render. The next handler never runs for a
// denied request. When the engine cannot decide (not started, store never
// loaded) its fail policy answers, 503 by default.
//
// Middleware and LoginGuard return the middleware itself, so that they can
// be written inline; a nil engine, lockout or function, or a bad option, is a
// programmer error and panics at start-up with a message naming it.
//
// The decision travels in the request's context (c.Request()), which costs
// one allocation per request. Echo v4 itself wraps every middleware anew on
// each request, one more allocation per middleware, whatever it does.
//
// The middleware is safe for concurrent use.
package echowarden
