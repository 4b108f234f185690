//go:build race

package engine

// raceEnabled reports a -race build, where the real model's forward pass is
// too slow to run in tests (the tiny models cover concurrency there).
const raceEnabled = true
