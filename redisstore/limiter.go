package redisstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
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
// hold user IDs and header values) and expire when idle.
//
// Each call has a deadline (WithLimiterTimeout, default 50 ms) that holds
// whatever the client's options; a call that reaches it returns an error
// wrapping context.DeadlineExceeded. A circuit breaker (WithBreaker) stops
// calling a dead Redis, one that refuses connections or has sent no reply
// for WithSilence, and the calls it refuses return at once an error wrapping
// ErrCircuitOpen; a slow reply under load does not open it. On every error
// the engine's limiter fail policy decides (core.WithLimiterFailPolicy).
// Safe for concurrent use.
type Limiter struct {
	rdb          redis.UniversalClient
	prefix       string
	timeout      time.Duration
	startTimeout time.Duration
	cluster      bool
	guard        *guard
	breaker      breaker
	st           counters
}

// errLimiterOpen is a value: a call refused by the open breaker allocates
// nothing.
var errLimiterOpen = errorf(ErrCircuitOpen, "redisstore: Limiter.Allow: circuit open: Redis is not called until the cool-down ends")

// Limiter returns a rate limiter with a breaker of its own.
func (s *Store) Limiter() *Limiter {
	l := &Limiter{rdb: s.rdb, prefix: s.prefix + "rl:", timeout: s.limitTimeout, startTimeout: s.startTimeout,
		guard: s.guard, breaker: breaker{max: s.breakMax, cooldown: s.breakCool}}
	_, l.cluster = s.rdb.(*redis.ClusterClient)
	return l
}

// Start loads the script (SCRIPT LOAD) so the first request needs one round
// trip. It returns by WithStartTimeout (default 1 s) with an error when Redis
// does not answer; requests then send the script themselves.
func (l *Limiter) Start(ctx context.Context) error {
	if !l.breaker.allow() {
		l.st.open.Add(1)
		return errorf(ErrCircuitOpen, "redisstore: Limiter.Start: circuit open: Redis is not called until the cool-down ends")
	}
	err := l.guard.do(ctx, l.startTimeout, &l.breaker, &l.st, func(ctx context.Context) error {
		return gcraScript.Load(ctx, l.rdb).Err()
	})
	if err != nil {
		return fmt.Errorf("redisstore: Limiter.Start: script load: %w", err)
	}
	return nil
}

// Stats reports the limiter's calls, errors and breaker trips.
func (l *Limiter) Stats() Stats { return l.st.stats(l.guard) }

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
// with skewed clocks share one limit. It returns by the deadline; on an
// error dst is returned unchanged.
func (l *Limiter) Allow(ctx context.Context, _ time.Time, keys []ratelimit.Key, dst []ratelimit.Result) ([]ratelimit.Result, error) {
	if len(keys) == 0 {
		return dst, nil
	}
	if !l.breaker.allow() {
		l.st.open.Add(1)
		return dst, errLimiterOpen
	}
	// The arguments are built here: the call may outlive Allow, and the
	// caller reuses keys.
	ks, args := l.args(keys)
	var raw []any
	err := l.guard.do(ctx, l.timeout, &l.breaker, &l.st, func(ctx context.Context) (err error) {
		if l.cluster {
			raw, err = l.pipelined(ctx, ks, args)
		} else {
			raw, err = gcraScript.Run(ctx, l.rdb, ks, args...).Slice()
		}
		return err
	})
	if err != nil {
		return dst, fmt.Errorf("redisstore: Limiter.Allow: %w", err)
	}
	return decode(raw, keys, dst)
}

// args returns the Redis keys and the script's arguments, two per key.
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

// pipelined sends one script call per key in one pipeline (Cluster: keys
// live in different slots). Atomicity across keys is then per key only.
func (l *Limiter) pipelined(ctx context.Context, ks []string, args []any) ([]any, error) {
	cmds := make([]*redis.Cmd, len(ks))
	_, err := l.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i := range ks {
			cmds[i] = gcraScript.EvalSha(ctx, p, ks[i:i+1], args[2*i:2*i+2]...)
		}
		return nil
	})
	if err != nil && redis.HasErrorPrefix(err, "NOSCRIPT") {
		if err := gcraScript.Load(ctx, l.rdb).Err(); err != nil {
			return nil, err
		}
		return l.pipelined(ctx, ks, args)
	}
	if err != nil {
		return nil, err
	}
	out := make([]any, 0, len(ks))
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
