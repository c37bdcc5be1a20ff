// Package ginwarden puts a warden engine in front of a Gin application.
//
//	eng, _ := core.New(store, core.WithTrustedProxies(netip.MustParsePrefix("10.0.0.0/8")))
//	if err := eng.Start(ctx); err != nil { … }
//	defer eng.Close(ctx)
//
//	r := gin.New()
//	r.Use(auth, ginwarden.Middleware(eng, ginwarden.WithUser(func(c *gin.Context) string {
//		return c.GetString("user_id") // set by your authentication middleware
//	}))) // after authentication
//	r.POST("/login", ginwarden.LoginGuard(eng.Lockout(), func(c *gin.Context) string { return c.PostForm("username") }), login)
//	r.GET("/", func(c *gin.Context) {
//		d, _ := ginwarden.DecisionFrom(c)
//		c.String(200, "hello %s", d.ClientIP)
//	})
//
// Run the middleware after your authentication middleware: user exemptions
// (rule.WhitelistedUser) only apply when WithUser can read the authenticated
// user. A user ID taken from anything the client controls, such as an
// unverified header, lets any client claim an exemption.
//
// The client IP comes from the engine's trust model (core/clientip):
// forwarding headers are believed only from the trusted proxies given to
// core.New. Gin's own ClientIP, which trusts every proxy unless told
// otherwise, is never used, and neither are Gin's trusted-proxy settings.
// The engine gets the request's own context (c.Request.Context()), never the
// *gin.Context.
//
// A denied request gets the response every warden adapter gives, on
// c.Writer: the reference's text ("Access denied", "Access denied from your
// region", …) or JSON when the Accept header asks for it, with Cache-Control:
// no-store, Vary: Accept and X-Content-Type-Options: nosniff; then the chain
// is aborted, also after a custom WithDenyHandler. When the engine cannot
// decide (not started, store never loaded) its fail policy answers, 503 by
// default.
//
// Middleware and LoginGuard return the handler itself, so that they can be
// written inline; a nil engine, lockout or function, or a bad option, is a
// programmer error and panics at start-up with a message naming it.
//
// The decision travels in the request's context, so DecisionFrom works on a
// c.Copy() handed to a goroutine and the decision reaches net/http handlers
// mounted with gin.WrapH. Storing it costs one allocation per request.
//
// The middleware is safe for concurrent use.
package ginwarden
