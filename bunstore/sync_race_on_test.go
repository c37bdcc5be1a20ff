//go:build race

package bunstore_test

// raceEnabled: the race detector slows database drivers several times over,
// so timing targets are only logged under it.
const raceEnabled = true
