package notify_test

import (
	"context"
	"sync"
	"time"
)

// sleeps records the waits a notifier asks for and returns at once.
type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.d = append(s.d, d)
	s.mu.Unlock()
	return ctx.Err()
}

func (s *sleeps) waits() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.d...)
}

// fixedClock is a core.Clock that always says t.
type fixedClock struct{ t time.Time }

func (c fixedClock) Now() time.Time { return c.t }
