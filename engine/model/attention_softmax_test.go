package model

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// softmaxF16 (assembly where the CPU has AVX-512) returns the bits of
// softmax16 + roundF16, including exponentials that underflow to
// subnormals (n < -126) and to 0 (n < -192), and partial first and last
// groups.
func TestSoftmaxF16MatchesGo(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	for trial := 0; trial < 300; trial++ {
		n := 1 + r.IntN(200)
		first := r.IntN(n)
		spread := []float64{1, 10, 100, 150, 300}[trial%5]
		padded := (n + 15) &^ 15
		s := make([]float32, padded)
		for i := range s {
			s[i] = float32(r.NormFloat64() * spread)
			if r.IntN(20) == 0 {
				s[i] = float32(math.NaN()) // garbage outside [first, n) is ignored
			}
		}
		for i := first; i < n; i++ {
			s[i] = float32(r.NormFloat64() * spread)
		}
		want := append([]float32(nil), s...)
		softmax16(want, first, n)
		roundF16(want[first:n])
		got := append([]float32(nil), s...)
		softmaxF16(got, first, n)
		for i := first &^ 15; i < n; i++ {
			require.Equal(t, math.Float32bits(want[i]), math.Float32bits(got[i]),
				"trial %d: n=%d first=%d spread=%v position %d: %v vs %v", trial, n, first, spread, i, want[i], got[i])
		}
	}
}

// swiglu (whole 16s in assembly where the CPU has AVX-512) returns the
// bits of silu(g) * up in Go, over the range where e^-x overflows (|n| >
// 192), goes subnormal, and around 0.
func TestSwiGLUMatchesGo(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for _, n := range []int{16, 37, 1536} {
		gate := make([]float32, n)
		up := make([]float32, n)
		for i := range gate {
			gate[i] = float32(r.NormFloat64() * []float64{0.1, 1, 10, 100, 200}[i%5])
			up[i] = float32(r.NormFloat64())
		}
		gate[0], gate[1], gate[2], gate[3] = 0, float32(math.Copysign(0, -1)), 140, -140
		want := make([]float32, n)
		for i := range want {
			want[i] = silu(gate[i]) * up[i]
		}
		swiglu(gate, up)
		for i := range want {
			require.Equal(t, math.Float32bits(want[i]), math.Float32bits(gate[i]), "n=%d element %d", n, i)
		}
	}
}
