// Package app is what the example applications share: flags, storage, the
// engine with the rules the flags ask for, and a server with graceful
// shutdown. Storage is a SQLite file by default, PostgreSQL or MySQL when a
// DSN says so, and Redis for the bus, the rate limiter and the login counters
// when a URL is given.
package app

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/wardenkit/warden/bunstore"
	"github.com/wardenkit/warden/core"
	"github.com/wardenkit/warden/redisstore"
	"github.com/wardenkit/warden/scheduler"
)

// DefaultDSN is the embedded default: a SQLite file in the working directory.
const DefaultDSN = "sqlite:file:warden.db"

// DSN is WARDEN_DSN, or DefaultDSN when it is unset.
func DSN() string {
	if v := os.Getenv("WARDEN_DSN"); v != "" {
		return v
	}
	return DefaultDSN
}

// RedisURL is WARDEN_REDIS_URL ("" when unset: in-process bus and counters):
// one server (redis://host:6379/0), a Cluster
// (redis+cluster://host:7001,host:7002) or Sentinels
// (redis+sentinel://host:26379,host:26380/mymaster); see
// redisstore.ParseURL.
func RedisURL() string { return os.Getenv("WARDEN_REDIS_URL") }

// JobEveryEnv names the environment variable that, when set, runs the
// built-in scheduled jobs (sweep, expiry, retention) at that interval
// rather than their defaults (5 min, hourly, daily): a Go duration of at
// least a minute, such as 1m. It is for soak tests and demonstrations; the
// list sync and the report keep their schedules.
const JobEveryEnv = "WARDEN_EXAMPLE_JOB_EVERY"

// jobSchedules returns the scheduler options JobEveryEnv asks for (none
// when it is unset).
func jobSchedules() ([]scheduler.Option, error) {
	v := os.Getenv(JobEveryEnv)
	if v == "" {
		return nil, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return nil, fmt.Errorf("%s=%q: not a duration such as 1m", JobEveryEnv, v)
	}
	return []scheduler.Option{scheduler.WithSchedule(scheduler.JobSweep, d),
		scheduler.WithSchedule(scheduler.JobExpiry, d), scheduler.WithSchedule(scheduler.JobRetention, d)}, nil
}

// Open opens (and migrates) the store at dsn and, when redisURL is set, a
// Redis client whose bus, limiter, attempt and tally counters it returns as
// engine options, with a started scheduler elector (nil without Redis).
// close releases them.
func Open(ctx context.Context, dsn, redisURL string) (st core.Store, opts []core.Option, elector scheduler.Elector, close func(), err error) {
	bs, err := bunstore.Open(ctx, dsn, bunstore.WithAutoMigrate())
	if err != nil {
		return nil, nil, nil, nil, err
	}
	closers := []func(){func() { _ = bs.Close() }}
	closeAll := func() {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
	}
	if redisURL != "" {
		rdb, err := redisstore.ParseURL(redisURL)
		if err != nil {
			closeAll()
			return nil, nil, nil, nil, fmt.Errorf("WARDEN_REDIS_URL: %w", err)
		}
		closers = append(closers, func() { _ = rdb.Close() })
		if err := rdb.Ping(ctx).Err(); err != nil {
			closeAll()
			return nil, nil, nil, nil, fmt.Errorf("WARDEN_REDIS_URL: redis does not answer: %w", err)
		}
		rs, err := redisstore.New(rdb)
		if err != nil {
			closeAll()
			return nil, nil, nil, nil, err
		}
		opts = append(opts, core.WithBus(rs.Bus()), core.WithLimiter(rs.Limiter()), core.WithAttemptCounter(rs.Attempts()),
			core.WithTallyCounter(rs.Tally()))
		el, err := redisstore.NewElector(rdb)
		if err != nil {
			closeAll()
			return nil, nil, nil, nil, err
		}
		if err := el.Start(ctx); err != nil {
			closeAll()
			return nil, nil, nil, nil, err
		}
		closers = append(closers, func() { _ = el.Close(context.Background()) })
		return bs, opts, el, closeAll, nil
	}
	return bs, opts, nil, closeAll, nil
}
