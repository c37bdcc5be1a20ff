// Package httpwarden puts a warden engine in front of any net/http handler.
//
//	eng, _ := core.New(store, core.WithTrustedProxies(netip.MustParsePrefix("10.0.0.0/8")))
//	_ = eng.Start(ctx)
//	mux := http.NewServeMux()
//	mux.Handle("POST /login", httpwarden.LoginGuard(eng.Lockout(), usernameFromForm)(login))
//	mux.Handle("/", app)
//	mw := httpwarden.Middleware(eng, httpwarden.WithUser(userIDFromSession))
//	http.ListenAndServe(":8080", authenticate(mw(mux)))
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
// Middleware and LoginGuard return the middleware itself; a nil engine,
// lockout, function or handler, or a bad option, is a programmer error and
// panics at start-up with a message naming it, as net/http.Handle does.
//
// The middleware is safe for concurrent use.
package httpwarden
