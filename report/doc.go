// Package report builds warden's security report over a period of the
// event log: the total and the count of each action, the top IPs,
// countries and paths, the new automatic blocks, suspicious logins,
// rate-limit denials, lockouts and the events of each hour. It is the
// daily report of the reference (its "generate_security_report" task) with
// the figures an operator asks for next.
//
//	now := time.Now()
//	r, err := report.Build(ctx, store, now.Add(-24*time.Hour), now)
//	if err != nil { … }
//	body := r.Text()              // plain text, for a terminal or an e-mail
//	data, err := json.Marshal(r)  // the same figures as JSON
//
// Build asks the store only for grouped counts (core.EventStore.CountEvents,
// at most seven calls, each limited to what the report shows), never for
// the events themselves: the database sums, and only the top entries travel.
// On PostgreSQL on a quiet 2-core machine a day holding a million events
// takes about 0.8 s, a day of a million-event table that spans a month
// about 80 ms (bunstore's BenchmarkReportBuild).
//
// Counts are sums of core.Event.Count, so the events the engine coalesced
// into one stored row are all counted. The period is [since, until) in UTC
// and at most MaxPeriod long; the hours of PerHour are UTC hours.
//
// Concurrency: Build may be called from many goroutines at once when the
// store allows it (every core store does); a Report is a plain value.
//
// Security: the keys of a report come from requests (a path is whatever the
// client sent). JSON escapes them as encoding/json does; Text quotes a key
// holding control characters, invalid UTF-8 or bidirectional controls, so a
// crafted path cannot add lines to the report or reorder what is around it.
// A report names client IPs and paths: send it only to people allowed to see
// the security log.
package report
