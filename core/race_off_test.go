//go:build !race

package core_test

const raceOn = false
