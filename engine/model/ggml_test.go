package model

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// fma32Exact rounds x*y + z with big.Float: the reference for fma32.
func fma32Exact(x, y, z float32) float32 {
	p := new(big.Float).SetPrec(200).SetFloat64(float64(x))
	p.Mul(p, new(big.Float).SetPrec(200).SetFloat64(float64(y)))
	p.Add(p, new(big.Float).SetPrec(200).SetFloat64(float64(z)))
	f, _ := p.Float32()
	return f
}

func TestFMA32(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	check := func(x, y, z float32) {
		require.Equal(t, math.Float32bits(fma32Exact(x, y, z)), math.Float32bits(fma32(x, y, z)), "fma32(%v, %v, %v)", x, y, z)
	}
	for range 200000 {
		x := float32(r.NormFloat64())
		y := float32(r.NormFloat64())
		z := float32(r.NormFloat64() * math.Pow(2, float64(r.IntN(60)-30)))
		check(x, y, z)
	}
	// Halfway cases: x*y has bits below z's last place that are exactly half.
	for range 20000 {
		z := float32(1 + r.Float64())
		x := float32(int32(r.Uint32()>>8)|1) * 0x1p-23
		y := float32(0x1p-24)
		check(x, y, z)
		check(-x, y, -z)
	}
	check(float32(math.Inf(1)), 1, 1)
	require.True(t, math.IsNaN(float64(fma32(float32(math.NaN()), 1, 1))))
}

func TestExpVClose(t *testing.T) {
	for x := float32(-87); x < 88; x += 0.0137 { // normal float32 results
		want := math.Exp(float64(x))
		got := float64(expV(x))
		require.InEpsilon(t, want, got, 3e-7, "expV(%v)", x)
	}
	require.Equal(t, float32(0), expV(float32(math.Inf(-1))))
	require.Equal(t, float32(1), expV(0))
	r := rand.New(rand.NewPCG(2, 2))
	for range 100000 {
		x := float32(r.Float64()*200 - 110)
		require.Equal(t, math.Float32bits(expVExact(x)), math.Float32bits(expV(x)), "x=%v", x)
	}
}

func TestSincosfKnownValues(t *testing.T) {
	// glibc's cosf/sinf where they differ from float32(math.Cos(x)) by one
	// ulp (printed by a C program on the reference machine): RoPE pair 5
	// at position 1 and pair 1 at position 2, base 1e5, 64 dimensions.
	r := newRope(64, 100000, 1, nil)
	cs := make([]float32, 64)
	r.angles(1, cs)
	require.Equal(t, uint32(0x3f7c80b9), math.Float32bits(cs[10]))
	require.Equal(t, uint32(0x3e28ae50), math.Float32bits(cs[11]))
	r.angles(2, cs)
	require.Equal(t, uint32(0x3e326c4f), math.Float32bits(cs[2]))
	require.Equal(t, uint32(0x3f7c157f), math.Float32bits(cs[3]))
	for _, x := range []float32{0, 0.5, 1, -1, 3, 100, 119.9, 120, 1000, 8191, -8191} {
		s, c := sincosf(x)
		require.InDelta(t, math.Sin(float64(x)), float64(s), 2e-7, "sin %v", x)
		require.InDelta(t, math.Cos(float64(x)), float64(c), 2e-7, "cos %v", x)
	}
}

func BenchmarkFMA32(b *testing.B) {
	x, y, z := float32(1.1), float32(0.7), float32(0.3)
	for range b.N {
		z = fma32(x, y, z) * 0.5
	}
	_ = z
}

func BenchmarkExpV(b *testing.B) {
	x := float32(-3.3)
	var s float32
	for range b.N {
		s += expV(x)
		x += 1e-6
	}
	_ = s
}
