package scheduler_test

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/wardenkit/warden/core"
	"github.com/wardenkit/warden/core/memstore"
	"github.com/wardenkit/warden/scheduler"
)

// A scheduler on an in-memory store, driven by a fake clock: five minutes
// after midnight the sweep runs.
func Example() {
	ctx := context.Background()
	store := memstore.New()
	eng, err := core.New(store, core.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		panic(err)
	}
	if err := eng.Start(ctx); err != nil {
		panic(err)
	}
	defer eng.Close(ctx)

	clock := clockwork.NewFakeClockAt(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	swept := make(chan time.Time, 1)
	s, err := scheduler.New(eng,
		scheduler.WithStore(store), // the retention job deletes from it
		scheduler.WithSweep(func(ctx context.Context) error { swept <- clock.Now(); return nil }),
		scheduler.WithClock(clock),
		scheduler.WithLogger(slog.New(slog.DiscardHandler)),
	)
	if err != nil {
		panic(err)
	}
	if err := s.Start(ctx); err != nil {
		panic(err)
	}
	_ = clock.BlockUntilContext(ctx, 3) // the timers of the sweep, expiry and retention
	clock.Advance(5 * time.Minute)
	fmt.Println("swept at", (<-swept).Format("15:04"))
	if err := s.Shutdown(ctx); err != nil { // waits for the run to be counted
		panic(err)
	}
	for _, st := range s.Stats() {
		fmt.Printf("%s: %s, %d runs\n", st.Job, st.Schedule, st.Runs)
	}
	// Output:
	// swept at 00:05
	// sweep: every 5m0s, 1 runs
	// expiry: every 1h0m0s, 0 runs
	// retention: every 24h0m0s, 0 runs
}

// The daily report is given the day that ended at the scheduled time; Run
// runs a job at once on this replica.
func ExampleWithReport() {
	eng, _ := core.New(memstore.New())
	clock := clockwork.NewFakeClockAt(time.Date(2030, 6, 2, 9, 15, 0, 0, time.UTC))
	s, err := scheduler.New(eng,
		scheduler.WithoutJob(scheduler.JobRetention),
		scheduler.WithReportAt(6, 0),
		scheduler.WithClock(clock),
		scheduler.WithLogger(slog.New(slog.DiscardHandler)),
		scheduler.WithReport(func(ctx context.Context, since, until time.Time) error {
			fmt.Println("report from", since.Format(time.RFC3339), "to", until.Format(time.RFC3339))
			return nil
		}),
	)
	if err != nil {
		panic(err)
	}
	if err := s.Run(context.Background(), scheduler.JobReport); err != nil {
		panic(err)
	}
	// Output:
	// report from 2030-06-01T06:00:00Z to 2030-06-02T06:00:00Z
}
