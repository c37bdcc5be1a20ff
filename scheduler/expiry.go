package scheduler

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wardenkit/warden/core"
	"github.com/wardenkit/warden/core/rule"
)

const (
	// expiryPage is how many rows one List of the expiry job reads.
	expiryPage = 500
	// expiryWriters is how many deactivations are in flight at once: each
	// write waits for the engine's rebuild, and writes in flight together
	// share one.
	expiryWriters = 32
)

// expire deactivates the active blocked IPs and user exemptions whose
// ExpiresAt has passed, through the engine's write-through tables (the
// version bumps and every replica rebuilds). Expired rows are already not
// enforced, since expiry is checked at decision time; this keeps the
// tables truthful. One ADMIN_ACTION event records what it did.
func (s *Scheduler) expire(ctx context.Context) error {
	now := s.cfg.clock.Now()
	rules := s.eng.Rules()
	ips, errIPs := deactivateExpired(ctx, rules.BlockedIPs(), now,
		func(r rule.BlockedIP) time.Time { return r.ExpiresAt },
		func(r rule.BlockedIP) rule.BlockedIP {
			r.Disabled = true
			r.Force = true // a broad network stored with Force needs it again to be written
			return r
		})
	users, errUsers := deactivateExpired(ctx, rules.WhitelistedUsers(), now,
		func(r rule.WhitelistedUser) time.Time { return r.ExpiresAt },
		func(r rule.WhitelistedUser) rule.WhitelistedUser { r.Disabled = true; return r })
	if ips+users > 0 {
		msg := fmt.Sprintf("expired rules deactivated: %d blocked IPs, %d user exemptions (by the scheduler)", ips, users)
		s.eng.RecordEvent(core.Event{Action: core.ActionAdmin, Details: msg})
		s.cfg.logger.Info("scheduler: "+msg, "job", string(JobExpiry))
	}
	if err := errors.Join(errIPs, errUsers); err != nil {
		return fmt.Errorf("scheduler: expiry: %w", err)
	}
	return nil
}

// deactivateExpired pages through t's active rows by ID and writes each row
// whose expiry is at or before now back with disable applied. Each row is
// read again just before it is written, so a row changed meanwhile (given a
// later expiry, switched off, deleted) is left as it is. A row that cannot
// be written does not stop the others; the error names how many failed.
func deactivateExpired[T rule.Rule](ctx context.Context, t core.Table[T], now time.Time,
	expiresAt func(T) time.Time, disable func(T) T) (int, error) {
	expired := func(r T) bool {
		e := expiresAt(r)
		return r.IsActive() && !e.IsZero() && !e.After(now)
	}
	var done, failed atomic.Int64
	var firstErr error
	var once sync.Once
	sem := make(chan struct{}, expiryWriters)
	var wg sync.WaitGroup
	var after int64
	for {
		rows, err := t.List(ctx, core.Query{ActiveOnly: true, AfterID: after, Limit: expiryPage})
		if err != nil {
			wg.Wait()
			return int(done.Load()), err
		}
		for _, r := range rows {
			if !expired(r) {
				continue
			}
			sem <- struct{}{}
			wg.Go(func() {
				defer func() { <-sem }()
				cur, err := t.Get(ctx, r.Key())
				if errors.Is(err, core.ErrNotFound) || (err == nil && !expired(cur)) {
					return
				}
				if err == nil {
					_, err = t.Put(ctx, disable(cur))
				}
				if err != nil {
					failed.Add(1)
					once.Do(func() { firstErr = err })
					return
				}
				done.Add(1)
			})
		}
		if len(rows) < expiryPage || ctx.Err() != nil {
			break
		}
		after = rows[len(rows)-1].GetMeta().ID
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return int(done.Load()), err
	}
	if n := failed.Load(); n > 0 {
		return int(done.Load()), fmt.Errorf("%d rows not deactivated, the first: %w", n, firstErr)
	}
	return int(done.Load()), nil
}
