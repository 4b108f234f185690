package tensor

import (
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// covers runs p.Run(n) and checks every index is visited exactly once.
func covers(t *testing.T, p *Pool, n int) {
	t.Helper()
	seen := make([]atomic.Int32, max(n, 0))
	p.Run(n, func(lo, hi int) {
		// assert, not require: this may run on a worker goroutine.
		if !assert.True(t, 0 <= lo && lo < hi && hi <= n, "range [%d,%d) of %d", lo, hi, n) {
			return
		}
		for i := lo; i < hi; i++ {
			seen[i].Add(1)
		}
	})
	for i := range seen {
		require.Equal(t, int32(1), seen[i].Load(), "index %d of %d", i, n)
	}
}

func TestPoolRunCoversRange(t *testing.T) {
	var nilPool *Pool
	require.Equal(t, 1, nilPool.Threads())
	nilPool.Close()
	for _, threads := range []int{1, 2, 3, 8} {
		p := NewPool(threads)
		require.Equal(t, threads, p.Threads())
		for _, n := range []int{-1, 0, 1, 2, 7, 31, 32, 33, 1000} {
			covers(t, p, n)
			covers(t, nilPool, n)
		}
		p.Close()
		p.Close()
		covers(t, p, 100) // still works, serially, after Close
	}
	auto := NewPool(0)
	defer auto.Close()
	require.GreaterOrEqual(t, auto.Threads(), 1)
}

func TestPoolUsesSeveralGoroutines(t *testing.T) {
	p := NewPool(2)
	defer p.Close()
	// Each chunk waits until another chunk has started, which can only
	// happen if a worker runs alongside the caller.
	var started atomic.Int32
	ok := make(chan struct{})
	var once sync.Once
	p.Run(2, func(lo, hi int) {
		if started.Add(1) == 2 {
			once.Do(func() { close(ok) })
		}
		<-ok
	})
	require.Equal(t, int32(2), started.Load())
}

func TestPoolConcurrentAndNested(t *testing.T) {
	p := NewPool(3)
	defer p.Close()
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := 0; k < 20; k++ {
				var total atomic.Int64
				p.Run(10, func(lo, hi int) {
					for i := lo; i < hi; i++ {
						p.Run(50, func(lo, hi int) { total.Add(int64(hi - lo)) })
					}
				})
				if total.Load() != 500 {
					t.Errorf("nested total %d, want 500", total.Load())
				}
			}
		}()
	}
	wg.Wait()
}
