// Package httpwarden puts a warden engine in front of any net/http handler.
//
//	eng, _ := core.New(store, core.WithTrustedProxies(netip.MustParsePrefix("10.0.0.0/8")))
//	_ = eng.Start(ctx)
//	mw, _ := httpwarden.Middleware(eng, httpwarden.WithUser(userIDFromSession))
//	http.ListenAndServe(":8080", authenticate(mw(app)))
//
// The middleware must run after the application's authentication when user
// exemptions are used: WithUser reads the authenticated user from the
// request. It never trusts forwarding headers on its own; the client IP comes
// from the engine's trust model (core/clientip).
//
// A denial answers with the reference's text body ("Access denied", "Access
// denied from your region", "Too many requests"), or JSON when the Accept
// header asks for application/json, plus Cache-Control: no-store,
// Vary: Accept, X-Content-Type-Options: nosniff and Retry-After when known.
// Bodies never name the matched pattern or country.
//
// When the engine cannot decide (not started, store never loaded), its fail
// policy decides (default: 503).
//
// The middleware is safe for concurrent use.
package httpwarden
