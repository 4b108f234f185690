package model

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/realm-ai/realm/engine/tensor"
	"github.com/stretchr/testify/require"
)

// tiledGo is matMul's tiled path in Go (kRow), the reference of the
// assembly in tensor.MulKTiled.
func tiledGo(m *tensor.Matrix, x []float32, n int) []float32 {
	out := make([]float32, n*m.Rows)
	rowBytes := len(m.Data) / m.Rows
	var k kRow
	for r := 0; r < m.Rows; r++ {
		w := m.Data[r*rowBytes : (r+1)*rowBytes]
		if m.Type == tensor.Q4_K {
			k.decodeQ4K(w, m.Cols)
		} else {
			k.decodeQ6K(w, m.Cols)
		}
		for b := 0; b < n; b++ {
			a := quantizeQ8K(x[b*m.Cols : (b+1)*m.Cols])
			if m.Type == tensor.Q4_K {
				out[b*m.Rows+r] = k.dotQ4KTiled(&a)
			} else {
				out[b*m.Rows+r] = k.dotQ6KTiled(&a)
			}
		}
	}
	return out
}

func TestTiledMatMulMatchesGo(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, typ := range []tensor.Type{tensor.Q4_K, tensor.Q6_K} {
		if !tensor.KTiledAvailable(typ) {
			t.Skipf("no tiled kernel for %s here", typ)
		}
		for _, n := range []int{8, 17, 40} {
			for _, cols := range []int{256, 1024} {
				m := randomKQuant(r, typ, 24, cols)
				x := randomVectors(r, n*cols)
				// Extremes: a zero vector, and one with huge and tiny values.
				clear(x[:cols])
				for i := cols; i < 2*cols; i++ {
					x[i] = float32(math.Ldexp(r.NormFloat64(), r.IntN(60)-30))
				}
				want := tiledGo(m, x, n)
				got := make([]float32, n*m.Rows)
				for i := range got {
					got[i] = float32(math.NaN())
				}
				tiledMatMul(nil, m, x, n, got)
				require.Equal(t, want, got, "%s n=%d cols=%d", typ, n, cols)

				pool := tensor.NewPool(2)
				clear(got)
				tiledMatMul(pool, m, x, n, got)
				pool.Close()
				require.Equal(t, want, got, "%s n=%d cols=%d, 2 threads", typ, n, cols)
			}
		}
	}
}

func TestMulKTiledChecksBuffers(t *testing.T) {
	if !tensor.KTiledAvailable(tensor.Q4_K) {
		t.Skip("no tiled kernel here")
	}
	r := rand.New(rand.NewPCG(7, 8))
	m := randomKQuant(r, tensor.Q4_K, 8, 256)
	var a tensor.Q8KBatch
	a.Reset(8, 256)
	require.Panics(t, func() { tensor.MulKTiled(tensor.Q4_K, m.Data, 144, 0, 8, &a, make([]float32, 63), 8) })
	require.Panics(t, func() { tensor.MulKTiled(tensor.Q4_K, m.Data[:144*7], 144, 0, 8, &a, make([]float32, 64), 8) })
	require.Panics(t, func() { tensor.MulKTiled(tensor.Q5_K, m.Data, 144, 0, 8, &a, make([]float32, 64), 8) })
}
