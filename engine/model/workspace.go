package model

import (
	"sync"

	"github.com/realm-ai/realm/engine/tensor"
)

// Workspace is the scratch memory of forward passes plus the thread pool
// they run on. Buffers grow to the largest batch seen and are reused, so a
// steady decode loop does not allocate. A Workspace serves one Forward at a
// time; concurrent forward passes need one Workspace each.
type Workspace struct {
	pool *tensor.Pool

	x   []float32 // (rows, n_embd) residual stream
	xb  []float32 // (rows, n_embd) normalised input of a sub-block
	xb2 []float32 // (rows, n_embd) output of a sub-block
	q   []float32 // (rows, n_head*head_dim)
	k   []float32 // (rows, n_head_kv*head_dim)
	v   []float32 // (rows, n_head_kv*head_dim)
	att []float32 // (rows, n_head*head_dim) attention output
	hb  []float32 // (rows, n_ff) gate, then swiglu(gate, up)
	hb2 []float32 // (rows, n_ff) up
	cs  []float32 // (rows, rope dims) cos/sin pairs of each row's position

	kf, vf  []float32 // (positions, kv dim) one layer's cache widened to f32
	scores  []float32 // attention scratch for serial runs
	spare   sync.Pool // *[]float32 attention scratch for parallel runs
	outRows []float32 // (rows wanting logits, n_embd)
	logits  []float32 // (rows wanting logits, vocab)
}

// NewWorkspace returns an empty workspace whose matrix products and
// attention run on pool (nil: on the calling goroutine).
func NewWorkspace(pool *tensor.Pool) *Workspace {
	return &Workspace{pool: pool}
}

// Pool returns the workspace's thread pool.
func (w *Workspace) Pool() *tensor.Pool { return w.pool }

// parallel runs fn over [0, n) on the pool. Each call of fn gets scratch of
// at least need floats of its own.
func (w *Workspace) parallel(n, need int, fn func(lo, hi int, scratch []float32)) {
	if w.pool == nil || w.pool.Threads() <= 1 || n == 1 {
		fn(0, n, grow(&w.scores, need))
		return
	}
	w.pool.Run(n, func(lo, hi int) {
		buf, _ := w.spare.Get().(*[]float32)
		if buf == nil {
			buf = new([]float32)
		}
		fn(lo, hi, grow(buf, need))
		w.spare.Put(buf)
	})
}

// grow returns (*buf)[:n], reallocating when the buffer is too small.
func grow(buf *[]float32, n int) []float32 {
	if cap(*buf) < n {
		*buf = make([]float32, n)
	}
	*buf = (*buf)[:n]
	return *buf
}
