// Package scheduler runs warden's periodic jobs in process, on gocron v2:
//
//   - JobSweep: the AutoBlocker's sweep over the stored events
//     (core.Engine.SweepAutoBlocks), every 5 minutes, which catches up on
//     what a restart lost (built in);
//   - JobExpiry: deactivates blocked IPs and user exemptions whose ExpiresAt
//     has passed, hourly (built in);
//   - JobListSync: the disposable-domain and bad-bot lists, weekly
//     (WithSyncer, or WithListSync);
//   - JobGeoIP: the country database, weekly (WithGeoIPRefresh);
//   - JobRetention: deletes events, login history and lockout records older
//     than the retention_days setting (90 by default; WithRetention overrides
//     it), daily, in batches (built in; WithStore);
//   - JobReport: the daily report at 06:00 (WithReportAt, WithLocation),
//     given the day that just ended (WithReport).
//
// A job given no function is off; WithoutJob switches any job off and
// WithSchedule changes an interval.
//
//	s, err := scheduler.New(eng,
//		scheduler.WithStore(store),     // the store given to core.New
//		scheduler.WithSyncer(syncer),   // feeds.New(store, fetcher)
//		scheduler.WithElector(elector)) // redisstore.NewElector(rdb), started
//	if err != nil { … }
//	if err := s.Start(ctx); err != nil { … } // after eng.Start
//	defer s.Shutdown(ctx)                    // before eng.Close
//
// # Many replicas
//
// Every replica runs a Scheduler; with WithElector, each tick asks the
// Elector and only the leader runs the job, so each run happens on one
// replica (redisstore.Elector keeps a lease in Redis). Without it every
// replica runs every job: harmless for expiry and retention, wasteful for
// the sync, and the report would be sent once per replica. Interval jobs
// fall on multiples of their interval counted from a fixed epoch (every 5
// minutes: :00, :05, …; hourly: on the hour; daily: 00:00 UTC; weekly:
// Mondays 00:00 UTC), so the replicas tick together and a new leader keeps
// the rhythm. Stats counts the ticks a replica skipped as not the leader.
//
// # Failures
//
// A run that returns an error is logged at Error and counted; a run that
// panics is recovered, logged with its stack and counted as a failure and a
// panic; either way the job runs again at its next tick. A tick that finds
// the job's previous run still going is skipped and counted. Jobs get a
// context cancelled by Shutdown and should return when it ends.
//
// # Caveats
//
//   - A leader that loses its lease while a job runs finishes that run; if
//     the run outlasts the job's interval, the next leader may start the
//     job's next tick meanwhile.
//   - The expiry job writes each expired row back through the engine, which
//     rebuilds the snapshot for each write (writes in flight together share
//     a rebuild): about 300 rows a second. Expired rows are not enforced
//     whether or not the job has run; it keeps the tables truthful.
//   - Retention deletes lockout records by their lock time, those of locks
//     without end (cool-off 0) included.
//
// A Scheduler is safe for concurrent use. New does no I/O and starts no
// goroutine; Start starts gocron, Shutdown stops it.
package scheduler
