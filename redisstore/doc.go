// Package redisstore puts warden's shared, fast state on Redis (single,
// Sentinel or Cluster, through redis.UniversalClient): the Bus that tells
// every replica about rule changes, and the rate Limiter that makes replicas
// share one limit.
//
//	rdb := redis.NewUniversalClient(&redis.UniversalOptions{Addrs: []string{"127.0.0.1:6379"}})
//	rs, err := redisstore.New(rdb)
//	eng, err := core.New(store, core.WithBus(rs.Bus()), core.WithLimiter(rs.Limiter()))
//
// The limiter evaluates every key of a request with one Lua script (GCRA on
// the Redis server's clock, all or nothing), loaded at Start and re-sent with
// EVAL after a NOSCRIPT. Keys are prefixed, hashed (they hold user IDs and
// header values) and expire when idle. Each call has a 50 ms deadline and a
// circuit breaker; when Redis fails, the engine's limiter fail policy decides
// (by default, in-process counters take over until Redis answers again). On
// Cluster, each key is hash-tagged on its own value and the keys of a request
// go in one pipeline; atomicity across a request's rules is then per key.
//
// The bus carries only version numbers; the rules themselves are always read
// from the store. Pub/sub loses messages while a connection is down, so the
// subscriber reports every (re)subscription to the engine, which then
// compares versions with the store; the engine's version poll covers the
// rest. With Redis down, writes still succeed and replicas converge through
// the poll.
//
// Everything here is safe for concurrent use.
package redisstore
