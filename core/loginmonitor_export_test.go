package core

import (
	"context"
	"time"
)

// SyncLoginHistory waits until the login records m queued are stored (or
// dropped), for at most 10 s, and reports whether they were.
func SyncLoginHistory(m *LoginMonitor) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	m.hist.wait(ctx)
	return ctx.Err() == nil
}
