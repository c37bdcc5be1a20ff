//go:build race

package geo_test

// raceEnabled skips allocation gates under -race: the race detector's
// instrumentation allocates, and sync.Pool drops items at random on purpose.
const raceEnabled = true
