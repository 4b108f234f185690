package model

import "github.com/realm-ai/realm/engine/tensor"

// KVCache holds one sequence's attention keys and values for every layer,
// stored as binary16 like llama.cpp's default cache. Memory grows with the
// sequence (from minPositions, doubling, up to MaxLen positions) rather
// than being reserved for the whole context up front: a new cache holds no
// memory, and a short exchange little (SmolLM2-135M takes 23 KiB a
// position), which keeps thousands of idle sessions cheap. A KVCache
// belongs to one sequence and is not safe for concurrent use.
type KVCache struct {
	layers, kvDim int
	maxLen        int
	n             int        // positions filled
	k, v          [][]uint16 // per layer: (capacity, kvDim) row-major
}

// minPositions is the capacity of a cache's first allocation.
const minPositions = 16

// NewKVCache returns an empty cache for up to maxLen positions of a model
// with config c.
func NewKVCache(c Config, maxLen int) *KVCache {
	return &KVCache{
		layers: c.Layers,
		kvDim:  c.KVDim(),
		maxLen: maxLen,
		k:      make([][]uint16, c.Layers),
		v:      make([][]uint16, c.Layers),
	}
}

// Len returns the number of positions held.
func (c *KVCache) Len() int { return c.n }

// MaxLen returns the most positions the cache can hold (the context length).
func (c *KVCache) MaxLen() int { return c.maxLen }

// Truncate keeps the first n positions (n <= Len), so a sequence can be
// continued from a shared prefix.
func (c *KVCache) Truncate(n int) {
	c.n = max(0, min(n, c.n))
}

// Bytes returns the memory the cache holds now.
func (c *KVCache) Bytes() int {
	total := 0
	for l := range c.k {
		total += 2 * (cap(c.k[l]) + cap(c.v[l]))
	}
	return total
}

// reserve makes room for n positions (n <= maxLen).
func (c *KVCache) reserve(n int) {
	need := n * c.kvDim
	for l := range c.k {
		if len(c.k[l]) >= need {
			continue
		}
		size := max(need, min(2*len(c.k[l]), c.maxLen*c.kvDim), minPositions*c.kvDim)
		size = min(size, c.maxLen*c.kvDim)
		c.k[l] = regrow(c.k[l], size)
		c.v[l] = regrow(c.v[l], size)
	}
}

// regrow returns a slice of length and capacity size holding a's elements
// first (append would round the capacity up to its size classes).
func regrow(a []uint16, size int) []uint16 {
	b := make([]uint16, size)
	copy(b, a)
	return b
}

// store writes keys and values (rows of kvDim floats) of layer l for
// positions start, start+1, ..., rounding them to binary16.
func (c *KVCache) store(l, start int, k, v []float32) {
	dk := c.k[l][start*c.kvDim : start*c.kvDim+len(k)]
	dv := c.v[l][start*c.kvDim : start*c.kvDim+len(v)]
	tensor.FP32ToFP16s(dk, k)
	tensor.FP32ToFP16s(dv, v)
}

// widen converts layer l's keys and values for positions [0, n) to float32
// into kf and vf, each (n, kvDim).
func (c *KVCache) widen(l, n int, kf, vf []float32) {
	ks := c.k[l][:n*c.kvDim]
	vs := c.v[l][:n*c.kvDim]
	tensor.FP16ToFP32s(kf, ks)
	tensor.FP16ToFP32s(vf, vs)
}
