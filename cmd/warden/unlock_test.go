package main

import (
	"context"
	"errors"
	"log/slog"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/wardenkit/warden/bunstore"
	"github.com/wardenkit/warden/core"
)

// The CLI's unlock must free a lock held in the in-process counters of a
// running app on the same SQLite file (no shared bus: the app learns of it
// at its version poll).
func TestUnlockReleasesAnotherEnginesLock(t *testing.T) {
	dsn := backends()[0].newDSN(t)
	must(t, dsn, "migrate")
	ctx := testCtx(t)
	st, err := bunstore.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	const poll = 200 * time.Millisecond
	app, err := core.New(st, core.WithLogger(slog.New(slog.DiscardHandler)), core.WithPollInterval(poll),
		core.WithEventQueue(100, 10*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	if err := app.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = app.Close(context.Background()) })
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
	for !strings.Contains(must(t, dsn, "locked"), "alice") {
		if time.Now().After(deadline) {
			t.Fatal("warden locked never listed alice")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if out := must(t, dsn, "unlock", "user", "alice"); !strings.Contains(out, "1 lockout records released") {
		t.Fatalf("unlock: %s", out)
	}
	released := time.Now()
	for {
		_, err := app.Lockout().Begin(ctx, core.Attempt{Username: "alice", IP: ip})
		if err == nil {
			break
		}
		if time.Since(released) > 2*poll+time.Second {
			t.Fatalf("alice still locked %v after the CLI's unlock: %v", time.Since(released), err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if out := must(t, dsn, "locked"); strings.Contains(out, "alice") {
		t.Errorf("still listed after unlock:\n%s", out)
	}
	if out := must(t, dsn, "events", "--action", "ADMIN_ACTION"); !strings.Contains(out, "unlock user alice (1 records released) (by tester") {
		t.Errorf("no ADMIN_ACTION for the unlock:\n%s", out)
	}
}
