package redisstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/wardenkit/warden/core/ratelimit"
)

// gcraScript evaluates every key of one request on the server's clock, all
// or nothing: when any key is over its limit, no key is consumed. ARGV holds,
// per key, the emission interval and the burst tolerance (B × interval) in
// microseconds. It returns, per key, {allowed, remaining, retry_after_us,
// reset_after_us}.
var gcraScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local res, news, ok = {}, {}, true
for i = 1, #KEYS do
  local interval = tonumber(ARGV[2*i-1])
  local tol = tonumber(ARGV[2*i])
  local tat = tonumber(redis.call('GET', KEYS[i]) or '0')
  if tat < now then tat = now end
  local new = tat + interval
  local diff = new - now
  if diff <= tol then
    news[i] = new
    res[i] = {1, math.floor((tol - diff) / interval), 0, diff}
  else
    ok = false
    res[i] = {0, 0, diff - tol, tat - now}
  end
end
if ok then
  for i = 1, #KEYS do
    redis.call('SET', KEYS[i], news[i], 'PX', math.ceil((news[i] - now) / 1000) + 1)
  end
end
return res
`)

// Limiter is a rate limiter on Redis: one script call per request, whatever
// the number of matching rules, on the server's clock. Keys are hashed (they
// hold user IDs and header values) and expire when idle. Each call has a
// deadline (default 50 ms) and a circuit breaker stops calling a failing
// Redis for a cool-down, so a slow Redis cannot stall requests; the engine's
// FailPolicy then decides. Safe for concurrent use.
type Limiter struct {
	rdb     redis.UniversalClient
	prefix  string
	timeout time.Duration
	cluster bool
	breaker breaker
}

// WithTimeout sets the deadline of one counter call (default 50 ms).
func WithTimeout(d time.Duration) Option {
	return func(s *Store) error {
		if d <= 0 || d > 10*time.Second {
			return errorf(ErrInvalidOption, "redisstore: WithTimeout: %s is out of range (0, 10s]", d)
		}
		s.timeout = d
		return nil
	}
}

// WithBreaker opens the circuit after failures consecutive errors and keeps it
// open for cooldown (defaults 5 and 1 s).
func WithBreaker(failures int, cooldown time.Duration) Option {
	return func(s *Store) error {
		if failures < 1 || cooldown <= 0 {
			return errorf(ErrInvalidOption, "redisstore: WithBreaker: failures %d, cooldown %s: want failures >= 1 and cooldown > 0", failures, cooldown)
		}
		s.breakMax, s.breakCool = failures, cooldown
		return nil
	}
}

// errLimiterOpen is a value: a call refused by the open breaker allocates
// nothing.
var errLimiterOpen = errorf(ErrCircuitOpen, "redisstore: Limiter.Allow: circuit open: Redis is not called until the cool-down ends")

// Limiter returns the rate limiter.
func (s *Store) Limiter() *Limiter {
	l := &Limiter{rdb: s.rdb, prefix: s.prefix + "rl:", timeout: s.timeout, breaker: breaker{max: s.breakMax, cooldown: s.breakCool}}
	_, l.cluster = s.rdb.(*redis.ClusterClient)
	return l
}

// Start loads the script (SCRIPT LOAD) so the first request needs one round trip.
func (l *Limiter) Start(ctx context.Context) error {
	if err := gcraScript.Load(ctx, l.rdb).Err(); err != nil {
		return fmt.Errorf("redisstore: Limiter.Start: script load: %w", err)
	}
	return nil
}

// key is the Redis key of one counter: hashed, hash-tagged so a Cluster
// keeps it in one slot.
func (l *Limiter) key(k ratelimit.Key) string {
	h := sha256.New()
	var b [8]byte
	for i := range 8 {
		b[i] = byte(k.Rule >> (8 * i))
	}
	h.Write(b[:])
	ip, _ := k.IP.MarshalBinary()
	h.Write([]byte{byte(len(ip))})
	h.Write(ip)
	h.Write([]byte(k.Value))
	h.Write([]byte{0})
	h.Write([]byte(k.Limit.String())) // a changed rate gets fresh counters, as in memory
	sum := h.Sum(nil)
	return l.prefix + "{" + hex.EncodeToString(sum[:16]) + "}"
}

// Allow decides every key of one request in one round trip and appends one
// result per key to dst. now is ignored: Redis's clock decides, so replicas
// with skewed clocks share one limit.
func (l *Limiter) Allow(ctx context.Context, _ time.Time, keys []ratelimit.Key, dst []ratelimit.Result) ([]ratelimit.Result, error) {
	if len(keys) == 0 {
		return dst, nil
	}
	if !l.breaker.allow() {
		return dst, errLimiterOpen
	}
	ctx, cancel := context.WithTimeout(ctx, l.timeout)
	defer cancel()
	var raw []any
	var err error
	if l.cluster {
		raw, err = l.pipelined(ctx, keys)
	} else {
		raw, err = l.eval(ctx, l.rdb, keys)
	}
	l.breaker.done(err)
	if err != nil {
		return dst, fmt.Errorf("redisstore: Limiter.Allow: %w", err)
	}
	return decode(raw, keys, dst)
}

func (l *Limiter) args(keys []ratelimit.Key) ([]string, []any) {
	ks := make([]string, len(keys))
	args := make([]any, 0, 2*len(keys))
	for i, k := range keys {
		ks[i] = l.key(k)
		// Microseconds, rounded up: never looser than the rule.
		iv := max((k.Limit.Interval()+time.Microsecond-1)/time.Microsecond, 1)
		args = append(args, int64(iv), int64(iv)*k.Limit.EffectiveBurst())
	}
	return ks, args
}

func (l *Limiter) eval(ctx context.Context, c redis.Scripter, keys []ratelimit.Key) ([]any, error) {
	ks, args := l.args(keys)
	v, err := gcraScript.Run(ctx, c, ks, args...).Slice()
	return v, err
}

// pipelined sends one script call per key in one pipeline (Cluster: keys
// live in different slots). Atomicity across keys is then per key only.
func (l *Limiter) pipelined(ctx context.Context, keys []ratelimit.Key) ([]any, error) {
	cmds := make([]*redis.Cmd, len(keys))
	_, err := l.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i := range keys {
			ks, args := l.args(keys[i : i+1])
			cmds[i] = gcraScript.EvalSha(ctx, p, ks, args...)
		}
		return nil
	})
	if err != nil && redis.HasErrorPrefix(err, "NOSCRIPT") {
		if err := gcraScript.Load(ctx, l.rdb).Err(); err != nil {
			return nil, err
		}
		return l.pipelined(ctx, keys)
	}
	if err != nil {
		return nil, err
	}
	out := make([]any, 0, len(keys))
	for _, c := range cmds {
		v, err := c.Slice()
		if err != nil {
			return nil, err
		}
		out = append(out, v...)
	}
	return out, nil
}

func decode(raw []any, keys []ratelimit.Key, dst []ratelimit.Result) ([]ratelimit.Result, error) {
	if len(raw) != len(keys) {
		return dst, fmt.Errorf("redisstore: Limiter.Allow: script returned %d results for %d keys", len(raw), len(keys))
	}
	for i, r := range raw {
		f, ok := r.([]any)
		if !ok || len(f) != 4 {
			return dst, fmt.Errorf("redisstore: Limiter.Allow: malformed script result %v", r)
		}
		n := make([]int64, 4)
		for j := range f {
			switch v := f[j].(type) {
			case int64:
				n[j] = v
			case string:
				n[j], _ = strconv.ParseInt(v, 10, 64)
			}
		}
		dst = append(dst, ratelimit.Result{
			Allowed:    n[0] == 1,
			Limit:      keys[i].Limit,
			Remaining:  n[1],
			RetryAfter: time.Duration(n[2]) * time.Microsecond,
			ResetAfter: time.Duration(n[3]) * time.Microsecond,
		})
	}
	return dst, nil
}

// breaker is a consecutive-failure circuit breaker.
type breaker struct {
	mu       sync.Mutex
	max      int
	cooldown time.Duration
	fails    int
	openTill time.Time
	probing  bool
}

func (b *breaker) allow() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.fails < b.max {
		return true
	}
	if time.Now().Before(b.openTill) || b.probing {
		return false
	}
	b.probing = true // half-open: one call tests the water
	return true
}

func (b *breaker) done(err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.probing = false
	if errors.Is(err, context.Canceled) { // the caller gave up: says nothing about Redis
		return
	}
	if err == nil {
		b.fails = 0
		return
	}
	b.fails++
	if b.fails >= b.max {
		b.openTill = time.Now().Add(b.cooldown)
	}
}
