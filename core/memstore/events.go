package memstore

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/wardenkit/warden/core"
)

// AppendEvents stores a batch. Like a SQL store it refuses the whole batch
// when one event is unstorable (not cleaned: invalid UTF-8 or NUL bytes).
func (s *Store) AppendEvents(ctx context.Context, events []core.Event) error {
	if err := ctxErr(ctx, "AppendEvents"); err != nil {
		return err
	}
	for i, e := range events {
		if c := e.Clean(); c.Path != e.Path || c.UserAgent != e.UserAgent || c.Details != e.Details ||
			c.IP != e.IP || c.UserEmail != e.UserEmail || c.Method != e.Method || c.Action != e.Action {
			return fmt.Errorf("memstore: AppendEvents: event %d: unstorable text: %w", i, core.ErrInvalid)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range events {
		s.nextID++
		e.ID = s.nextID
		if e.CreatedAt.IsZero() {
			e.CreatedAt = s.now()
		}
		e.CreatedAt = e.CreatedAt.UTC()
		if e.Severity == "" {
			e.Severity = core.DefaultSeverity(e.Action)
		}
		if e.Count < 1 {
			e.Count = 1
		}
		s.events = append(s.events, e)
	}
	return nil
}

func match(e core.Event, q core.EventQuery) bool {
	return (q.Action == "" || e.Action == q.Action) &&
		(q.IP == "" || e.IP == q.IP) &&
		(q.Country == "" || e.CountryCode == q.Country) &&
		(q.Since.IsZero() || !e.CreatedAt.Before(q.Since)) &&
		(q.Until.IsZero() || e.CreatedAt.Before(q.Until)) &&
		(q.BeforeID == 0 || e.ID < q.BeforeID)
}

// Events returns matching events, newest first.
func (s *Store) Events(ctx context.Context, q core.EventQuery) ([]core.Event, error) {
	if err := ctxErr(ctx, "Events"); err != nil {
		return nil, err
	}
	limit := q.Limit
	if limit <= 0 {
		limit = 100
	}
	limit = min(limit, 10_000)
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []core.Event
	for i := len(s.events) - 1; i >= 0 && len(out) < limit; i-- {
		if match(s.events[i], q) {
			out = append(out, s.events[i])
		}
	}
	slices.SortStableFunc(out, func(a, b core.Event) int {
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		return cmp.Compare(b.ID, a.ID)
	})
	return out, nil
}

// countKeys gives the group key of an event for each GroupBy.
var countKeys = map[core.GroupBy]func(core.Event) string{
	core.GroupByIP:      func(e core.Event) string { return e.IP },
	core.GroupByCountry: func(e core.Event) string { return e.CountryCode },
	core.GroupByAction:  func(e core.Event) string { return string(e.Action) },
	core.GroupByPath:    func(e core.Event) string { return e.Path },
	core.GroupByHour:    hourKey,
	core.GroupByHourAction: func(e core.Event) string {
		return hourKey(e) + " " + string(e.Action)
	},
}

func hourKey(e core.Event) string { return e.CreatedAt.UTC().Truncate(time.Hour).Format(time.RFC3339) }

// CountEvents sums Count per group of the events created in [Since, Until),
// largest first, ties by key in byte order; with Limit > 0, the first Limit
// of those groups.
func (s *Store) CountEvents(ctx context.Context, q core.CountQuery) ([]core.GroupCount, error) {
	if err := ctxErr(ctx, "CountEvents"); err != nil {
		return nil, err
	}
	key := countKeys[q.GroupBy]
	if key == nil {
		return nil, fmt.Errorf("memstore: CountEvents: unknown group by %q: %w", q.GroupBy, core.ErrInvalid)
	}
	if q.Limit < 0 {
		return nil, fmt.Errorf("memstore: CountEvents: Limit %d is negative: %w", q.Limit, core.ErrInvalid)
	}
	s.mu.Lock()
	sums := map[string]int64{}
	for _, e := range s.events {
		if (!q.Since.IsZero() && e.CreatedAt.Before(q.Since)) || (!q.Until.IsZero() && !e.CreatedAt.Before(q.Until)) ||
			(q.Actions != nil && !slices.Contains(q.Actions, e.Action)) {
			continue
		}
		sums[key(e)] += e.Count
	}
	s.mu.Unlock()
	out := make([]core.GroupCount, 0, len(sums))
	for k, n := range sums {
		if n >= q.Min {
			out = append(out, core.GroupCount{Key: k, Count: n})
		}
	}
	slices.SortFunc(out, func(a, b core.GroupCount) int {
		if c := cmp.Compare(b.Count, a.Count); c != 0 {
			return c
		}
		return cmp.Compare(a.Key, b.Key)
	})
	if q.Limit > 0 && len(out) > q.Limit {
		out = out[:q.Limit]
	}
	return out, nil
}

// DeleteEventsBefore deletes events created before the given time, at most
// batch of them (batch <= 0 means all), and reports how many it deleted.
func (s *Store) DeleteEventsBefore(ctx context.Context, before time.Time, batch int) (int64, error) {
	if err := ctxErr(ctx, "DeleteEventsBefore"); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var n int64
	kept := s.events[:0]
	for _, e := range s.events {
		if e.CreatedAt.Before(before) && (batch <= 0 || n < int64(batch)) {
			n++
			continue
		}
		kept = append(kept, e)
	}
	s.events = kept
	return n, nil
}
