package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
)

// engineStat is one series read from the engine at each gather.
type engineStat struct {
	name, help string
	typ        prometheus.ValueType
	get        func(*reading) float64
}

const (
	counter = prometheus.CounterValue
	gauge   = prometheus.GaugeValue
)

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// engineStats are the series every Collector reports. Counters count since
// the engine was made, so they restart from zero with the process, as
// Prometheus expects.
var engineStats = []engineStat{
	{"ready", "1 when the engine has a rule snapshot and can decide, else 0.", gauge, func(r *reading) float64 { return b2f(r.ready) }},
	{"snapshot_version", "Store version of the rule snapshot in use.", gauge, func(r *reading) float64 { return float64(r.st.SnapshotVersion) }},
	{"snapshot_rebuilds_total", "Rule snapshots built.", counter, func(r *reading) float64 { return float64(r.st.Rebuilds) }},
	{"snapshot_rebuild_errors_total", "Rule snapshot builds that failed; the previous snapshot stayed in use.", counter, func(r *reading) float64 { return float64(r.st.RebuildErrors) }},
	{"snapshot_invalid_rows", "Stored rules the snapshot in use left out because they failed validation.", gauge, func(r *reading) float64 { return float64(len(r.st.InvalidRows)) }},

	{"events_queued", "Events waiting to be written.", gauge, func(r *reading) float64 { return float64(r.st.EventsQueued) }},
	{"events_written_total", "Events stored.", counter, func(r *reading) float64 { return float64(r.st.EventsWritten) }},
	{"events_coalesced_total", "Events merged into an identical one's count.", counter, func(r *reading) float64 { return float64(r.st.EventsCoalesced) }},
	{"events_folded_total", "Denials folded into per-source summary rows.", counter, func(r *reading) float64 { return float64(r.st.EventsFolded) }},
	{"events_dropped_total", "Events lost because the queue was full.", counter, func(r *reading) float64 { return float64(r.st.EventsDropped) }},
	{"events_rejected_total", "Events the store refused.", counter, func(r *reading) float64 { return float64(r.st.EventsRejected) }},
	{"events_critical_overflow_total", "Critical events that found their reserved queue room full.", counter, func(r *reading) float64 { return float64(r.st.CriticalOverflow) }},

	{"fail_policy_trips_total", "Decisions a fail policy made because the engine, the rate limiter or the attempt counter failed.", counter, func(r *reading) float64 { return float64(r.st.FailPolicyTrips) }},
	{"limiter_failures_total", "Rate limiter calls that failed.", counter, func(r *reading) float64 { return float64(r.st.LimiterFailures) }},
	{"rate_value_overflow_total", "Requests whose rate-limit header or user value shared its source's counter (too many values from one source).", counter, func(r *reading) float64 { return float64(r.st.RateValueOverflow) }},

	{"autoblock_ips_blocked_total", "Address groups the auto-blocker blocked.", counter, func(r *reading) float64 { return float64(r.st.AutoBlock.IPsBlocked) }},
	{"autoblock_countries_blocked_total", "Countries the auto-blocker blocked.", counter, func(r *reading) float64 { return float64(r.st.AutoBlock.CountriesBlocked) }},
	{"autoblock_countries_flagged_total", "Countries the auto-blocker flagged for review.", counter, func(r *reading) float64 { return float64(r.st.AutoBlock.CountriesFlagged) }},
	{"autoblock_would_block_total", "Auto-blocks a dry run reported without blocking.", counter, func(r *reading) float64 { return float64(r.st.AutoBlock.WouldBlock) }},
	{"autoblock_failures_total", "Auto-blocker counter or store calls that failed.", counter, func(r *reading) float64 { return float64(r.st.AutoBlock.Failures) }},
	{"autoblock_overflow_total", "Events the auto-blocker did not count: too many groups at once.", counter, func(r *reading) float64 { return float64(r.st.AutoBlock.Overflow) }},

	{"login_attempts_total", "Login attempts begun.", counter, func(r *reading) float64 { return float64(r.lo.Attempts) }},
	{"login_refused_total", "Login attempts refused because a key was locked out.", counter, func(r *reading) float64 { return float64(r.lo.Refused) }},
	{"login_bypassed_total", "Login attempts of whitelisted users let through under WhitelistBypass.", counter, func(r *reading) float64 { return float64(r.lo.Bypassed) }},
	{"login_failed_total", "Login attempts that failed.", counter, func(r *reading) float64 { return float64(r.lo.Failed) }},
	{"login_succeeded_total", "Login attempts that succeeded.", counter, func(r *reading) float64 { return float64(r.lo.Succeeded) }},
	{"lockouts_total", "Keys locked out (LOCKOUT events).", counter, func(r *reading) float64 { return float64(r.lo.Lockouts) }},
	{"lockout_counter_errors_total", "Attempt counter calls that failed; the lockout fail policy applied.", counter, func(r *reading) float64 { return float64(r.lo.CounterErrors) }},
	{"lockout_records_written_total", "Lockout records stored.", counter, func(r *reading) float64 { return float64(r.lo.RecordsWritten) }},
	{"lockout_records_dropped_total", "Lockout records lost (queue full or refused by the store).", counter, func(r *reading) float64 { return float64(r.lo.RecordsDropped) }},
	{"lockout_source_overflow_total", "Login attempts counted on a source's shared overflow key (past its username caps).", counter, func(r *reading) float64 { return float64(r.lo.SourceOverflow) }},
	{"lockout_tracked_usernames", "Usernames tracked per address and network.", gauge, func(r *reading) float64 { return float64(r.lo.TrackedNames) }},

	{"logins_observed_total", "Successful logins the login monitor judged.", counter, func(r *reading) float64 { return float64(r.lm.Observed) }},
	{"logins_suspicious_total", "Logins the login monitor found suspicious.", counter, func(r *reading) float64 { return float64(r.lm.Suspicious) }},
	{"logins_refused_by_hook_total", "Logins the login hook refused.", counter, func(r *reading) float64 { return float64(r.lm.Refused) }},
	{"login_history_errors_total", "Login history reads or writes that failed.", counter, func(r *reading) float64 { return float64(r.lm.StoreErrors) }},
	{"logins_unjudged_total", "Successful logins judged without their history (the read failed or took longer than WithLoginHistoryWait).", counter, func(r *reading) float64 { return float64(r.lm.RulesSkipped) }},
	{"login_history_queued", "Login history records waiting to be stored.", gauge, func(r *reading) float64 { return float64(r.lm.HistoryQueued) }},
	{"login_history_written_total", "Login history records stored.", counter, func(r *reading) float64 { return float64(r.lm.HistoryWritten) }},
	{"login_history_dropped_total", "Login history records lost: queue full, store refused, or Close's deadline.", counter, func(r *reading) float64 { return float64(r.lm.HistoryDropped) }},
}
