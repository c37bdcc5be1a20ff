package scheduler

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// RetentionStore is what the retention job deletes from; core.Store
// satisfies it. Each method deletes rows older than before, at most batch
// of them, and reports how many (see core.EventStore, core.LoginHistoryStore
// and core.LockoutStore).
type RetentionStore interface {
	DeleteEventsBefore(ctx context.Context, before time.Time, batch int) (int64, error)
	DeleteLoginsBefore(ctx context.Context, before time.Time, batch int) (int64, error)
	DeleteLockoutsBefore(ctx context.Context, before time.Time, batch int) (int64, error)
}

// retain deletes events, login history and lockout records older than the
// retention, batch rows per statement, each kind until a statement deletes
// fewer than a batch. A failing kind does not stop the others.
func (s *Scheduler) retain(ctx context.Context) error {
	keep := s.cfg.retention
	if keep == 0 {
		set, err := s.eng.Settings(ctx)
		if err != nil {
			return fmt.Errorf("scheduler: retention: reading retention_days: %w", err)
		}
		if set.RetentionDays == 0 {
			return nil // kept for good
		}
		keep = time.Duration(set.RetentionDays) * 24 * time.Hour
	}
	cutoff := s.cfg.clock.Now().Add(-keep)
	st := s.cfg.store
	var errs []error
	for _, k := range []struct {
		name string
		del  func(context.Context, time.Time, int) (int64, error)
	}{
		{"events", st.DeleteEventsBefore},
		{"login history", st.DeleteLoginsBefore},
		{"lockout records", st.DeleteLockoutsBefore},
	} {
		n, err := deleteInBatches(ctx, k.del, cutoff, s.cfg.batch)
		if n > 0 {
			s.cfg.logger.Info("scheduler: retention deleted old rows", "job", string(JobRetention),
				"kind", k.name, "rows", n, "before", cutoff)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s (%d deleted): %w", k.name, n, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("scheduler: retention: %w", err)
	}
	return nil
}

// deleteInBatches calls del until it deletes fewer than batch rows or ctx
// ends, and reports the total.
func deleteInBatches(ctx context.Context, del func(context.Context, time.Time, int) (int64, error), before time.Time, batch int) (int64, error) {
	var total int64
	for {
		if err := ctx.Err(); err != nil {
			return total, err
		}
		n, err := del(ctx, before, batch)
		total += n
		if err != nil || n < int64(batch) {
			return total, err
		}
	}
}
