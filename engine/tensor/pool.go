package tensor

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// Pool is a fixed set of worker goroutines that run parallel-for loops
// (Run). Workers are started once by NewPool and live until Close, so a
// parallel loop costs a few channel operations, not goroutine creation.
//
// A Pool is safe for concurrent use: several goroutines (sessions) may call
// Run at once, and fn may itself call Run (nested loops). The caller of Run
// always works on its own loop too, so a loop finishes even when every
// worker is busy elsewhere; idle workers help whichever loops are pending.
// A nil *Pool is valid and runs every loop serially on the caller.
type Pool struct {
	threads int
	jobs    chan *job     // loops waiting for helpers; one entry per helper wanted
	quit    chan struct{} // closed by Close
	once    sync.Once
}

// chunksPerThread is how many pieces Run cuts a loop into per thread, so
// that a thread slowed down by the (shared, noisy) machine does not hold
// the whole loop back.
const chunksPerThread = 4

// job is one Run call: the chunks of [0, n) are claimed through next.
type job struct {
	fn     func(lo, hi int)
	n      int
	chunk  int // elements per chunk
	chunks int
	next   atomic.Int64 // next chunk to claim
	done   sync.WaitGroup
}

// NewPool starts a pool of threads threads: the caller of Run plus
// threads-1 workers. threads < 1 means runtime.GOMAXPROCS(0). Call Close to
// stop the workers.
func NewPool(threads int) *Pool {
	if threads < 1 {
		threads = runtime.GOMAXPROCS(0)
	}
	p := &Pool{
		threads: threads,
		jobs:    make(chan *job, 4*threads),
		quit:    make(chan struct{}),
	}
	for i := 1; i < threads; i++ {
		go p.worker()
	}
	return p
}

// Threads returns the number of threads loops run on (1 for a nil Pool).
func (p *Pool) Threads() int {
	if p == nil {
		return 1
	}
	return p.threads
}

// Close stops the workers. It is idempotent; Run still works after Close,
// serially on the caller.
func (p *Pool) Close() {
	if p == nil {
		return
	}
	p.once.Do(func() { close(p.quit) })
}

func (p *Pool) worker() {
	for {
		select {
		case j := <-p.jobs:
			j.work()
		case <-p.quit:
			return
		}
	}
}

// work claims and runs chunks until none are left.
func (j *job) work() {
	for {
		c := int(j.next.Add(1) - 1)
		if c >= j.chunks {
			return
		}
		lo := c * j.chunk
		j.fn(lo, min(lo+j.chunk, j.n))
		j.done.Done()
	}
}

// Run calls fn over disjoint ranges [lo, hi) that together cover [0, n),
// in parallel on the pool's threads, and returns when all calls have
// returned. Ranges are contiguous chunks of about n/(4*Threads()) elements.
// fn must be safe to call concurrently on different ranges. n <= 0 does
// nothing.
func (p *Pool) Run(n int, fn func(lo, hi int)) {
	if n <= 0 {
		return
	}
	if p == nil || p.threads == 1 || n == 1 {
		fn(0, n)
		return
	}
	chunks := min(n, p.threads*chunksPerThread)
	chunk := (n + chunks - 1) / chunks
	j := &job{fn: fn, n: n, chunk: chunk, chunks: (n + chunk - 1) / chunk}
	j.done.Add(j.chunks)
	select {
	case <-p.quit: // closed: no helpers
	default:
		for i := 0; i < min(p.threads-1, j.chunks-1); i++ {
			select {
			case p.jobs <- j:
			default: // queue full: the caller does the rest itself
			}
		}
	}
	j.work()
	j.done.Wait()
}
