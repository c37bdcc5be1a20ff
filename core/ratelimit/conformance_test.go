package ratelimit_test

import (
	"context"
	"testing"
	"time"

	"github.com/wardenkit/warden/core/ratelimit"
	"github.com/wardenkit/warden/core/ratelimit/limitertest"
)

// memLimiter gives Memory the context argument of core.Limiter, as
// core.MemoryLimiter does.
type memLimiter struct{ m *ratelimit.Memory }

func (l memLimiter) Allow(_ context.Context, now time.Time, keys []ratelimit.Key, dst []ratelimit.Result) ([]ratelimit.Result, error) {
	return l.m.Allow(now, keys, dst)
}

func TestConformance(t *testing.T) {
	limitertest.Run(t, func(t *testing.T) limitertest.Limiter { return memLimiter{newMemory(t)} })
}
