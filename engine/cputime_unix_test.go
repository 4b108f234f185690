//go:build unix

package engine

import "syscall"

// cpuSeconds returns the process's user+system CPU time, so benchmarks can
// report throughput per CPU-second, which the shared, noisy machines
// distort less than wall time.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}
