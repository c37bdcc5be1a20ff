package app

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/wardenkit/warden/core"
	"github.com/wardenkit/warden/feeds"
	"github.com/wardenkit/warden/notify"
	"github.com/wardenkit/warden/scheduler"
)

// notices batches auto-block notifications (at most one message a minute,
// while the notify_on_auto_block setting is on) to the log.
type notices struct {
	n     notify.Notifier
	b     *notify.Batcher
	eng   atomic.Pointer[core.Engine] // set once the engine exists
	close func()
}

func autoBlockNotices(ctx context.Context, log *slog.Logger) (*notices, error) {
	ns := &notices{n: notify.Slog(log)}
	on := func() bool {
		eng := ns.eng.Load()
		if eng == nil {
			return false
		}
		s, err := eng.Settings(ctx)
		return err == nil && s.NotifyOnAutoBlock
	}
	b, err := notify.NewBatcher(ns.n, notify.WithEnabled(on), notify.WithLogger(log))
	if err != nil {
		return nil, err
	}
	if err := b.Start(ctx); err != nil {
		return nil, err
	}
	ns.b = b
	ns.close = func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = b.Close(cctx) // sends what is pending
	}
	return ns, nil
}

func (ns *notices) add(ev core.Event) { ns.b.AddEvent(ev) }

// startScheduler starts the periodic jobs: the auto-block sweep, expiry,
// retention, the weekly list sync and the daily report (to the log). With
// an elector only the replica holding the lease runs a tick.
func startScheduler(ctx context.Context, eng *core.Engine, store core.Store, el scheduler.Elector, n notify.Notifier, log *slog.Logger) (stop func(), err error) {
	opts := []scheduler.Option{scheduler.WithStore(store), scheduler.WithLogger(log)}
	if el != nil {
		opts = append(opts, scheduler.WithElector(el))
	}
	if fs, ok := store.(feeds.Store); ok {
		fetcher, err := feeds.NewFetcher(nil)
		if err != nil {
			return nil, err
		}
		syncer, err := feeds.New(fs, fetcher, feeds.WithLogger(log))
		if err != nil {
			return nil, err
		}
		opts = append(opts, scheduler.WithSyncer(syncer))
	}
	report, err := notify.ReportJob(eng.Settings, store, n)
	if err != nil {
		return nil, err
	}
	opts = append(opts, scheduler.WithReport(report))
	every, err := jobSchedules() // WARDEN_EXAMPLE_JOB_EVERY, for soak tests
	if err != nil {
		return nil, err
	}
	opts = append(opts, every...)
	s, err := scheduler.New(eng, opts...)
	if err != nil {
		return nil, fmt.Errorf("scheduler: %w", err)
	}
	if err := s.Start(ctx); err != nil {
		return nil, err
	}
	return func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = s.Shutdown(cctx)
	}, nil
}
