package model

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/realm-ai/realm/engine/tensor"
	"github.com/stretchr/testify/require"
)

// randomKQuant returns rows x cols weights of type t (Q4_K or Q6_K) with
// random quants and small positive super-block scales.
func randomKQuant(r *rand.Rand, t tensor.Type, rows, cols int) *tensor.Matrix {
	bs := t.BlockSize()
	data := make([]byte, rows*cols/256*bs)
	for i := range data {
		data[i] = byte(r.Uint32())
	}
	for b := 0; b < len(data)/bs; b++ {
		blk := data[b*bs : (b+1)*bs]
		switch t {
		case tensor.Q4_K:
			binary.LittleEndian.PutUint16(blk[0:], tensor.FP32ToFP16(0.001+0.01*r.Float32()))
			binary.LittleEndian.PutUint16(blk[2:], tensor.FP32ToFP16(0.001+0.01*r.Float32()))
		case tensor.Q6_K:
			binary.LittleEndian.PutUint16(blk[208:], tensor.FP32ToFP16(0.001+0.01*r.Float32()))
		}
	}
	m, err := tensor.NewMatrix(t, rows, cols, data)
	if err != nil {
		panic(err)
	}
	return m
}

func randomVectors(r *rand.Rand, n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(r.NormFloat64())
	}
	return x
}

// The K-quant products equal the exact dot product of the dequantized
// weights with the Q8_K-rounded activations up to float32 rounding, on
// both of ggml's paths (vec_dot below 8 vectors, tiled from 8).
func TestMatMulKQuantsAreDotProducts(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 5))
	for _, typ := range []tensor.Type{tensor.Q4_K, tensor.Q6_K} {
		for _, n := range []int{6, 9} {
			const rows, cols = 16, 512
			m := randomKQuant(r, typ, rows, cols)
			x := randomVectors(r, n*cols)
			out := make([]float32, n*rows)
			matMul(tensor.NewPool(2), m, x, n, out)

			w := make([]float32, rows*cols)
			require.NoError(t, tensor.Dequantize(typ, m.Data, w))
			for b := 0; b < n; b++ {
				a := quantizeQ8K(x[b*cols : (b+1)*cols])
				for row := 0; row < rows; row++ {
					var want, scale float64
					for c := 0; c < cols; c++ {
						term := float64(w[row*cols+c]) * float64(a.d[c/256]) * float64(a.qs[c])
						want += term
						scale += math.Abs(term)
					}
					require.InDelta(t, want, out[b*rows+row], 1e-5*scale, "%s n=%d vector %d row %d", typ, n, b, row)
				}
			}
		}
	}
}

// Below 8 vectors each vector's products are the same alone or in the
// batch, on one thread or two (ggml's vec_dot); from 8 on they take the
// tiled kernel's order, which rounds differently somewhere. Other types are
// left to Matrix.Mul.
func TestMatMulBatchPaths(t *testing.T) {
	r := rand.New(rand.NewPCG(6, 6))
	const rows, cols = 24, 1024
	for _, typ := range []tensor.Type{tensor.Q4_K, tensor.Q6_K} {
		m := randomKQuant(r, typ, rows, cols)
		x := randomVectors(r, 8*cols)
		singles := make([]float32, 8*rows)
		for b := 0; b < 8; b++ {
			matMul(nil, m, x[b*cols:(b+1)*cols], 1, singles[b*rows:(b+1)*rows])
		}
		seven := make([]float32, 7*rows)
		matMul(tensor.NewPool(2), m, x, 7, seven)
		require.Equal(t, singles[:7*rows], seven, "%s: vec_dot below 8", typ)
		eight := make([]float32, 8*rows)
		matMul(tensor.NewPool(2), m, x, 8, eight)
		require.NotEqual(t, singles, eight, "%s: tiled from 8", typ)
		require.InDeltaSlice(t, singles, eight, 1e-3)
	}
	q8 := tensor.Q8_0
	data, err := tensor.Quantize(q8, randomVectors(r, rows*cols))
	require.NoError(t, err)
	m, err := tensor.NewMatrix(q8, rows, cols, data)
	require.NoError(t, err)
	x := randomVectors(r, 2*cols)
	got, want := make([]float32, 2*rows), make([]float32, 2*rows)
	matMul(nil, m, x, 2, got)
	m.Mul(nil, x, 2, want)
	require.Equal(t, want, got)
}

func TestQuantizeQ8K(t *testing.T) {
	x := make([]float32, 512)
	for i := range x {
		x[i] = float32(i%256) - 100
	}
	x[300] = -300 // largest magnitude of the second block, negative
	a := quantizeQ8K(x)
	require.Equal(t, 1/(-127/float32(155)), a.d[0], "the largest value maps to -127")
	require.Equal(t, int8(-127), a.qs[255])
	require.Equal(t, 1/(-127/float32(-300)), a.d[1])
	require.Equal(t, int8(-127), a.qs[300])
	var s int16
	for _, q := range a.qs[16:32] {
		s += int16(q)
	}
	require.Equal(t, s, a.bsums[1])
	zero := quantizeQ8K(make([]float32, 256))
	require.Equal(t, []float32{0}, zero.d)
	require.Equal(t, int32(2), nearestInt(2.5), "ties to even")
	require.Equal(t, int32(-4), nearestInt(-3.5))
}
