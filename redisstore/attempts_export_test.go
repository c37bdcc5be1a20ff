package redisstore

// SplitSlots makes a decide keys slot by slot as on Redis Cluster, so the
// Cluster path runs against a single test server.
func SplitSlots(a *Attempts) *Attempts { a.split = true; return a }
