//go:build race

package metrics_test

// raceOn loosens the allocation gate: under the race detector sync.Pools
// are emptied at random.
const raceOn = true
