//go:build race

package core_test

// raceOn scales heavy tests down under the race detector, which makes them
// ten times slower.
const raceOn = true
