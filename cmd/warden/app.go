package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/user"
	"time"

	"github.com/wardenkit/warden/bunstore"
	"github.com/wardenkit/warden/core"
	"github.com/wardenkit/warden/redisstore"
)

// defaultDSN is the embedded default of the examples: a SQLite file in the
// working directory.
const defaultDSN = "sqlite:file:warden.db"

// app is one invocation: its flags, its output and what it opened. It is
// not safe for concurrent use.
type app struct {
	dsn      string
	redisURL string
	actor    string
	geoip    string // --geoip or WARDEN_GEOIP; see geoipPath
	stdout   io.Writer
	stderr   io.Writer

	store   *bunstore.Store
	bus     core.Bus
	eng     *core.Engine
	closers []func()
}

func newApp(stdout, stderr io.Writer) *app {
	return &app{stdout: stdout, stderr: stderr, redisURL: os.Getenv("WARDEN_REDIS_URL")}
}

// openStore opens the database (without migrating it) and, when a Redis
// URL is set, the Redis client whose bus, limiter and counters the engine
// uses.
func (a *app) openStore(ctx context.Context) (*bunstore.Store, []core.Option, error) {
	if a.store != nil {
		return a.store, nil, nil
	}
	st, err := bunstore.Open(ctx, a.dsn)
	if err != nil {
		return nil, nil, fmt.Errorf("%w (check --dsn or WARDEN_DSN)", err)
	}
	a.store = st
	a.closers = append(a.closers, func() { _ = st.Close() })
	if a.redisURL == "" {
		return st, nil, nil
	}
	rdb, err := redisstore.ParseURL(a.redisURL)
	if err != nil {
		return nil, nil, fmt.Errorf("WARDEN_REDIS_URL: %w; fix or unset it", err)
	}
	a.closers = append(a.closers, func() { _ = rdb.Close() })
	if err := rdb.Ping(ctx).Err(); err != nil {
		return nil, nil, fmt.Errorf("redis at WARDEN_REDIS_URL does not answer (%v); start it or unset WARDEN_REDIS_URL", err)
	}
	rs, err := redisstore.New(rdb)
	if err != nil {
		return nil, nil, err
	}
	a.bus = rs.Bus()
	return st, []core.Option{core.WithBus(rs.Bus()), core.WithLimiter(rs.Limiter()), core.WithAttemptCounter(rs.Attempts())}, nil
}

// engine opens the store and starts an engine on it; close stops it,
// flushing its events.
func (a *app) engine(ctx context.Context) (*core.Engine, error) {
	if a.eng != nil {
		return a.eng, nil
	}
	st, opts, err := a.openStore(ctx)
	if err != nil {
		return nil, err
	}
	log := slog.New(slog.NewTextHandler(a.stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	opts = append(opts, core.WithLogger(log))
	eng, err := core.New(st, opts...)
	if err != nil {
		return nil, err
	}
	if err := eng.Start(ctx); err != nil {
		return nil, fmt.Errorf("cannot read the rules (%v); if the database is new, run: warden migrate", err)
	}
	a.eng = eng
	a.closers = append(a.closers, func() {
		cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := eng.Close(cctx); err != nil {
			fmt.Fprintf(a.stderr, "warden: closing the engine: %v\n", err)
		}
	})
	return eng, nil
}

// close releases everything opened, the engine first so that its events
// are stored before the database closes.
func (a *app) close() {
	for i := len(a.closers) - 1; i >= 0; i-- {
		a.closers[i]()
	}
	a.closers = nil
}

// admin records an ADMIN_ACTION event: who (the actor) did what to which
// rule. The engine stores it when it closes, if not before.
func (a *app) admin(change string) {
	if a.eng == nil {
		return
	}
	a.eng.RecordEvent(core.Event{
		Action:  core.ActionAdmin,
		Details: fmt.Sprintf("%s (by %s via warden CLI)", change, a.who()),
	})
}

// who is --actor, or the OS user, or "unknown".
func (a *app) who() string {
	if a.actor != "" {
		return a.actor
	}
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	return "unknown"
}

// say prints one line to stdout.
func (a *app) say(format string, args ...any) {
	fmt.Fprintf(a.stdout, format+"\n", args...)
}
