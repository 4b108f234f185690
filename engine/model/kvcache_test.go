package model

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestKVCacheGrowsWithUse(t *testing.T) {
	c := Config{Layers: 3, Heads: 4, KVHeads: 2, HeadDim: 8, Embd: 32}
	kvDim := c.KVDim()
	perPos := 2 * 2 * kvDim * c.Layers // K and V, binary16, every layer
	cache := NewKVCache(c, 100)
	require.Zero(t, cache.Bytes(), "nothing is reserved up front")
	require.Equal(t, 100, cache.MaxLen())

	cache.reserve(3)
	require.Equal(t, minPositions*perPos, cache.Bytes())
	cache.reserve(minPositions)
	require.Equal(t, minPositions*perPos, cache.Bytes(), "no growth while it fits")
	cache.reserve(minPositions + 1)
	require.Equal(t, 2*minPositions*perPos, cache.Bytes(), "doubling")
	cache.reserve(70)
	require.Equal(t, 70*perPos, cache.Bytes(), "at least what is needed")
	cache.reserve(71)
	require.Equal(t, 100*perPos, cache.Bytes(), "never past the context")

	// Stored values survive growth.
	small := NewKVCache(c, 100)
	small.reserve(1)
	k := make([]float32, kvDim)
	for i := range k {
		k[i] = float32(i)
	}
	small.store(1, 0, k, k)
	small.reserve(50)
	kf, vf := make([]float32, kvDim), make([]float32, kvDim)
	small.widen(1, 1, kf, vf)
	require.Equal(t, k, kf)
	require.Equal(t, k, vf)
}
