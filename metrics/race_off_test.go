//go:build !race

package metrics_test

const raceOn = false
