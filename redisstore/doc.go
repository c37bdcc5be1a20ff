// Package redisstore puts warden's shared, fast state on Redis (single,
// Sentinel or Cluster, through redis.UniversalClient): the Bus that tells
// every replica about rule changes, the rate Limiter that makes replicas
// share one limit, and the login Attempts counter that makes a lockout hold
// on every replica.
//
//	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"}) // or any redis.UniversalClient,
//	// or from a URL: rdb, err := redisstore.ParseURL("redis+cluster://h1:7001,h2:7002,h3:7003")
//	rs, err := redisstore.New(rdb)
//	eng, err := core.New(store, core.WithBus(rs.Bus()), core.WithLimiter(rs.Limiter()),
//		core.WithAttemptCounter(rs.Attempts()))
//
// The limiter evaluates every key of a request with one Lua script (GCRA on
// the Redis server's clock, all or nothing), loaded at Start and re-sent
// with EVAL after a NOSCRIPT. Keys are prefixed, hashed (they hold user IDs
// and header values) and expire when idle. Each call has a 50 ms deadline
// and a circuit breaker (see Deadlines below); when Redis fails, the
// engine's limiter fail policy decides (by default, in-process counters take
// over until Redis answers again). On Cluster, each key is hash-tagged on
// its own value and the keys of a request go in one pipeline; atomicity
// across a request's rules is then per key.
//
// Attempts (a attempt.Counter) gives the same results as the in-process
// attempt.Memory for the same calls: one Lua script per Begin, Fail or
// Succeed settles the stored, timestamped attempts against the limits and
// cool-off passed in that call, so changed settings apply to existing
// counters; a reservation is made on all of an attempt's keys or none. Steps
// waiting at the same time share round trips (WithLoginPipeline), so a burst
// of logins costs Redis and the client a few dozen round trips rather than
// one each. Unlike the limiter it runs on the caller's clock (the now of
// each call), so replicas need synchronised clocks. Counters are sorted sets
// of failures and reservations plus a lock time, named after the Lockout's
// keys, whose usernames are hashed; they expire max(cool-off, 24 h) plus the
// reservation timeout after their last change, except locks without end
// (cool-off 0), kept until Unlock. The breaker is as for the limiter, and on
// failure the Lockout's fail policy decides (core.WithLockoutFailPolicy). On
// Cluster, the keys bound to the client address share a slot and one script;
// the opt-in username-only key lives elsewhere and needs a second call, so
// Reserve is all or nothing by compensation (a reservation made in the first
// slot is dropped when the second refuses) rather than atomically.
//
// All or nothing on Cluster holds per key, as it does per call on a single
// server: the limiter runs one script call per key, so a request denied by
// one rule still consumes from its others; Attempts decides each slot's
// keys in one call and the username-only key apart (by compensation,
// above); Tally (the AutoBlocker's shared counts) adds each key with a
// script call of its own, so a batch is not atomic across keys but each
// key's addition is. While a slot migrates, Redis refuses a login step on
// a counter of that slot (TRYAGAIN) and the fail policy decides; a master
// that stops answering fails only the calls on its keys, at their
// deadlines (a login step's is WithLoginMaxWait: the other masters still
// reply), and opens no breaker while the others answer.
//
// Deadlines hold whatever the client's options: go-redis honours a context's
// deadline on the socket only with ContextTimeoutEnabled, so every call runs
// apart from its caller, who returns at the deadline: the limiter's 50 ms
// (WithLimiterTimeout); a login step's 250 ms if Redis has sent no reply at
// all since it was made, and at most 2 s while Redis answers others
// (WithLoginTimeout, WithLoginMaxWait); Start's 1 s (WithStartTimeout). A
// call left behind runs on until the client's own ReadTimeout ends it,
// holding one of WithMaxInFlight slots (1,000), so its goroutines stay
// bounded. The breakers tell a dead Redis from a busy one: after 5 calls in
// a row that end in a connection error, or at their deadline when Redis has
// sent no reply to any call for 1 s (WithSilence), the breaker opens for 1 s
// (WithBreaker) and calls fail at once with ErrCircuitOpen; a deadline while
// replies still come never counts, nor does a caller's cancelled context.
// Limiter.Stats and Attempts.Stats count the calls, deadlines, dead calls
// and trips.
//
// The bus carries only version numbers; the rules themselves are always read
// from the store. Pub/sub loses messages while a connection is down, so the
// subscriber reports every (re)subscription to the engine, which then
// compares versions with the store; the engine's version poll covers the
// rest. With Redis down, writes still succeed and replicas converge through
// the poll.
//
// Elector (NewElector) elects the one replica that runs the scheduler's jobs,
// with a lease renewed every third of its TTL; see Elector for its safety.
//
// Everything here is safe for concurrent use.
package redisstore
