// Package metrics exposes a warden engine to Prometheus
// (prometheus/client_golang): decisions by outcome and rule kind, a sampled
// check latency, and what the engine already counts (events, fail policies,
// the rate limiter, lockouts, auto-blocks, the rule snapshot) and the
// country database's age. The collectors are registered by the application
// on its own registry; the package registers nothing globally.
//
//	rec := metrics.NewRecorder()
//	eng, err := core.New(store, core.WithCheckObserver(rec), core.WithCountryLookup(db))
//	if err != nil { … }
//	c, err := metrics.New(eng, metrics.WithRecorder(rec), metrics.WithGeoIP(db))
//	if err != nil { … }
//	reg := prometheus.NewRegistry()
//	reg.MustRegister(c)
//	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
//
// # What is measured where
//
// The Recorder is the only part on the request path: core calls its Begin
// and End around every Check (core.WithCheckObserver). It counts the
// decision with one atomic add in a stripe picked by the goroutine, and
// times about one Check in SampleEvery (64): only those read the clock,
// twice; the others keep the engine's one clock read. It allocates nothing
// (TestCheckWithMetricsAllocs) and adds about 24 ns to a Check on a 2-core
// Xeon VM (BenchmarkCheckMetricsPaired, which alternates an engine with and
// one without metrics; the budget is 50 ns). Everything else is read from
// eng.Stats(), eng.Lockout().Stats() and eng.LoginMonitor().Stats() when
// the registry gathers.
//
// warden_decisions_total has the labels decision (allow, report_only, deny)
// and kind: the core.Action of a rule (IP_BLOCK, USER_AGENT_BLOCK,
// COUNTRY_BLOCK, COUNTRY_WHITELIST_BLOCK, RATE_LIMIT, NO_CLIENT_IP) or the
// core.Reason of a decision no rule made (exempt_path, whitelisted_ip,
// user_exempt, fail_open, fail_closed), none for an allowed request that
// matched nothing, other for a value this package does not know. The set
// is fixed, so the series are too (20 of them, all reported from the
// start); no client address, path, user or pattern ever becomes a label.
// A denial by a fail policy counts as fail_closed whichever step failed.
// CheckEmail is not observed; its denials are in the stored events.
//
// Counters read from the engine count since core.New, so they restart with
// the process, as Prometheus expects. warden_snapshot_age_seconds is absent
// until the first snapshot is loaded (warden_ready is 0 meanwhile), and the
// GeoIP age until a database with a build time is loaded.
//
// # Concurrency
//
// Recorder and Collector are safe for concurrent use. Neither starts a
// goroutine or needs closing.
//
// # Caveats
//
//   - The check latency histogram holds about 1/64 of the checks: its count
//     is not the number of requests (use warden_decisions_total) and its
//     quantiles need a few thousand requests to settle.
//   - A Recorder given to several engines counts them together; give each
//     engine its own Recorder and Collector, and tell the collectors apart on
//     one registry with WithConstLabels (the same label names on each).
//   - Two Collectors with the same constant labels (or none) cannot share a
//     registry: the second Register fails with
//     prometheus.AlreadyRegisteredError and the first keeps working.
package metrics
