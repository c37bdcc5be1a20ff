package redisstore

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/wardenkit/warden/core/tally"
)

// tallyScript adds ARGV[1] to bucket ARGV[2] of hash KEYS[1], drops buckets
// out of the window, sets the expiry ARGV[3] (ms) and returns the sum of the
// window's buckets. A read (ARGV[1] = 0) creates nothing.
var tallyScript = redis.NewScript(`
local n = tonumber(ARGV[1])
local b = tonumber(ARGV[2])
if n > 0 then
  redis.call('HINCRBY', KEYS[1], ARGV[2], n)
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
end
local all = redis.call('HGETALL', KEYS[1])
local sum = 0
for i = 1, #all, 2 do
  local f = tonumber(all[i])
  if f > b - ` + strconv.Itoa(tally.Buckets) + ` and f <= b then
    sum = sum + tonumber(all[i + 1])
  elseif f <= b - ` + strconv.Itoa(tally.Buckets) + ` then
    redis.call('HDEL', KEYS[1], all[i])
  end
end
return sum
`)

// Tally is a tally.Counter on Redis, shared by every replica: the AutoBlocker's
// counts (core.WithTallyCounter). One Add is one pipeline of one script call
// per key: one round trip per batch of events, whatever its size. A key is a
// hash of at most tally.Buckets buckets that expires a window after its last
// addition. Like Attempts it runs on the caller's clock, so replicas need
// synchronised clocks. A Tally is safe for concurrent use.
type Tally struct {
	rdb    redis.UniversalClient
	prefix string
}

// Tally returns the shared tally counter.
func (s *Store) Tally() *Tally { return &Tally{rdb: s.rdb, prefix: s.prefix + "tally:"} }

var _ tally.Counter = (*Tally)(nil)

// Add implements tally.Counter.
func (t *Tally) Add(ctx context.Context, now time.Time, incs []tally.Inc) ([]int64, error) {
	for _, in := range incs {
		if err := in.Validate(); err != nil {
			return nil, err
		}
	}
	out := make([]int64, len(incs))
	if len(incs) == 0 {
		return out, nil
	}
	for try := 0; ; try++ {
		cmds := make([]*redis.Cmd, len(incs))
		_, err := t.rdb.Pipelined(ctx, func(pl redis.Pipeliner) error {
			for i, in := range incs {
				ttl := in.Window.Milliseconds() + tally.Width(in.Window)
				cmds[i] = tallyScript.EvalSha(ctx, pl, []string{t.prefix + in.Key}, in.N, tally.Bucket(now, in.Window), ttl)
			}
			return nil
		})
		if err != nil && try == 0 && redis.HasErrorPrefix(err, "NOSCRIPT") {
			if err := tallyScript.Load(ctx, t.rdb).Err(); err != nil {
				return nil, fmt.Errorf("redisstore: Tally.Add: loading the script: %w", err)
			}
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("redisstore: Tally.Add: %w", err)
		}
		for i, c := range cmds {
			if out[i], err = c.Int64(); err != nil {
				return nil, fmt.Errorf("redisstore: Tally.Add: %w", err)
			}
		}
		return out, nil
	}
}

// Reset implements tally.Counter.
func (t *Tally) Reset(ctx context.Context, keys []string) error {
	if len(keys) == 0 {
		return nil
	}
	_, err := t.rdb.Pipelined(ctx, func(pl redis.Pipeliner) error {
		for _, k := range keys {
			pl.Del(ctx, t.prefix+k)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("redisstore: Tally.Reset: %w", err)
	}
	return nil
}
