// Package admin is warden's admin interface: an http.Handler with HTML
// pages and a JSON API over an engine's rules, settings, lockouts, login
// history and event log, to mount in the application under any prefix.
//
// Pages: a dashboard (events per hour by action over the last 24 hours as
// a server-rendered SVG chart, top IPs, countries and paths, active rules,
// locked accounts, warnings and engine health); one page per rule kind
// (list with filters, search and keyset pages, inline activate/deactivate,
// add, edit, delete, bulk actions, CSV and JSON import and export in
// package ruleio's format); the settings; locked accounts with unlock;
// login history; the event log; and "Why?", which shows what the engine
// would decide now for a request and which rule decided, through
// core.Engine.Explain, without recording anything or taking a rate-limit
// token. The JSON API under /api/ offers the same operations with the same
// validation (the handlers share their code); openapi.json, served at
// /api/openapi.json, describes it.
//
// # Mounting
//
//	h, err := admin.New(eng,
//		admin.WithBasicAuth("admin", os.Getenv("ADMIN_PASSWORD")), // or WithAuthorizer
//		admin.WithStore(store)) // the event log, login history and dashboard counts
//	if err != nil { … }
//
//	mux.Handle("/admin/", http.StripPrefix("/admin", h))    // net/http
//	ginwarden.MountAdmin(r.Group("/admin"), h)               // Gin
//	echowarden.MountAdmin(e.Group("/admin"), h)              // Echo
//
// Every link, form and redirect is relative to the mount point, so the
// handler needs no prefix option and works under any prefix, behind a
// reverse proxy that strips one too. It works with JavaScript off: its one
// small script (ticking every row of a list) is optional.
//
// # Security model
//
//   - Authorisation: New fails without WithAuthorizer or WithBasicAuth, so
//     no admin is open by mistake. The authoriser runs on every request
//     but GET and HEAD of the style sheet, script and icon (fixed files
//     from the binary, public so that the sign-in error page is styled);
//     it returns the actor's name, recorded in the events. WithReadOnly gives a role that sees everything and changes
//     nothing (every method but GET and HEAD is answered 403).
//   - Cross-site request forgery: writes from another origin are refused
//     with 403 by http.CrossOriginProtection, which reads the browser's
//     Sec-Fetch-Site header, or compares Origin with Host. A request with
//     neither header is taken for a non-browser client (curl, a script) and
//     allowed, as every browser since 2020 sends Origin on a POST. There is
//     no per-session token.
//   - Output: every value is escaped by html/template; no page holds inline
//     script or style, and every answer carries Content-Security-Policy
//     "default-src 'self'; script-src 'self'; style-src 'self';
//     frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
//     X-Content-Type-Options nosniff, Cache-Control no-store and
//     Referrer-Policy same-origin. Exports neutralise spreadsheet formulas.
//   - Input: forms and JSON bodies are limited to MaxFormBytes, imports to
//     MaxImportBytes; bad IDs, kinds, filters and pages past the end are
//     answered with a 4xx naming the problem; invalid rules are refused by
//     core's validation, the error shown beside its field (JSON: field and
//     value).
//   - Audit: every write records one ADMIN_ACTION event naming the actor,
//     the rule and the change. The event's address is the request's
//     RemoteAddr: behind a proxy it is the proxy's.
//
// Serve the admin over HTTPS: Basic credentials travel with every request.
//
// # Speed
//
// Lists page by rule ID with core.Query (keyset), so a page of a million
// rows costs what a page of a hundred does. Filters and searches that
// core.Query cannot express are applied to keyset batches, reading at most
// 5,000 rows for a page and offering to go on from there; lists are ordered
// by ID only, as core.Query is. The dashboard asks the store for grouped
// counts only (core.EventStore.CountEvents) and keeps them for a minute;
// while one request reads them again, the others get the previous ones.
//
// Measured on PostgreSQL with 1,000,000 events and 100,000 blocked IPs, on
// a 2-core machine shared with other work (BenchmarkAdminPostgres): a rule
// list page 3-4 ms (the API 0.3-0.7 ms), a filtered one 4-5 ms, a search
// that reads its 5,000 rows 16-17 ms; an event log page 2-2.5 ms; the
// dashboard 1.7 ms from its cache and 0.44 s uncached when the events span
// a month, 2 s when all million fall within its 24 hours (nine grouped
// counts over a million rows; the report package's figures for such a day
// are of the same order).
//
// # Concurrency
//
// The handler is safe for concurrent use. It starts no goroutine and needs
// no Close; it uses the engine, which the application starts and closes.
package admin
