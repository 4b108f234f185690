//go:build !race

package engine

// raceEnabled reports a -race build (see batch_race_on_test.go).
const raceEnabled = false
