// Package redisstore puts warden's shared, fast state on Redis (single,
// Sentinel or Cluster, through redis.UniversalClient): the Bus that tells
// every replica about rule changes.
//
//	rdb := redis.NewUniversalClient(&redis.UniversalOptions{Addrs: []string{"127.0.0.1:6379"}})
//	rs := redisstore.New(rdb)
//	eng, err := core.New(store, core.WithBus(rs.Bus()))
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
