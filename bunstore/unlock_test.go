package bunstore_test

import (
	"context"
	"errors"
	"log/slog"
	"net/netip"
	"testing"
	"time"

	"github.com/wardenkit/warden/bunstore"
	"github.com/wardenkit/warden/core"
)

// An unlock made by one process (the CLI, the admin of another replica)
// must free a lock held in another process's in-memory counters: two
// engines on one SQLite file, each with its own counters and no shared bus.
func TestUnlockReachesAnotherProcess(t *testing.T) {
	dsn := sqliteDSN(t)
	quiet := core.WithLogger(slog.New(slog.DiscardHandler))
	const poll = 200 * time.Millisecond
	engine := func() *core.Engine {
		st := openStore(t, dsn, bunstore.WithAutoMigrate())
		eng, err := core.New(st, quiet, core.WithPollInterval(poll), core.WithEventQueue(100, 10*time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		if err := eng.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = eng.Close(context.Background()) })
		return eng
	}
	app, cli := engine(), engine()
	ctx := context.Background()
	ip := netip.MustParseAddr("203.0.113.7")
	for range 5 {
		tk, err := app.Lockout().Begin(ctx, core.Attempt{Username: "alice", IP: ip})
		if err != nil {
			t.Fatal(err)
		}
		_ = app.Lockout().Fail(ctx, tk)
	}
	if _, err := app.Lockout().Begin(ctx, core.Attempt{Username: "alice", IP: ip}); !errors.Is(err, core.ErrLocked) {
		t.Fatalf("after 5 failures: %v; want locked", err)
	}
	// The app stores its lockout record in the background.
	deadline := time.Now().Add(5 * time.Second)
	var n int
	for n == 0 && time.Now().Before(deadline) {
		var err error
		if n, err = cli.Lockout().Unlock(ctx, core.UnlockRequest{Username: "alice", By: "cli"}); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			time.Sleep(20 * time.Millisecond)
		}
	}
	if n != 1 {
		t.Fatalf("the CLI released %d records; want 1", n)
	}
	released := time.Now()
	for {
		tk, err := app.Lockout().Begin(ctx, core.Attempt{Username: "alice", IP: ip})
		if err == nil {
			if _, err := app.Lockout().Succeed(ctx, tk, core.Success{UserID: "1"}); err != nil {
				t.Fatal(err)
			}
			t.Logf("the app let alice in %v after the CLI's unlock", time.Since(released).Round(time.Millisecond))
			return
		}
		if time.Since(released) > 2*poll+time.Second {
			t.Fatalf("alice still locked in the app %v after the CLI's unlock (poll %v): %v", time.Since(released), poll, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
