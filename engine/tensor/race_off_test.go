//go:build !race

package tensor

// raceEnabled reports a -race build, where sync.Pool drops pooled items at
// random, so allocation counts are not meaningful.
const raceEnabled = false
