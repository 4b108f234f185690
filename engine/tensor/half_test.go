package tensor

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestFP16RoundTripAllValues(t *testing.T) {
	for h := 0; h < 1<<16; h++ {
		f := FP16ToFP32(uint16(h))
		if h&0x7c00 == 0x7c00 && h&0x3ff != 0 {
			require.True(t, math.IsNaN(float64(f)), "%#04x", h)
			require.Equal(t, uint16(h|0x200), FP32ToFP16(f), "NaN %#04x comes back quiet", h)
			continue
		}
		require.Equal(t, uint16(h), FP32ToFP16(f), "%#04x -> %g", h, f)
	}
	require.Equal(t, float32(65504), FP16ToFP32(0x7bff))
	require.Equal(t, float32(math.Ldexp(1, -24)), FP16ToFP32(0x0001))
	require.Equal(t, float32(-math.Ldexp(1, -14)), FP16ToFP32(0x8400))
	require.True(t, math.IsInf(float64(FP16ToFP32(0xfc00)), -1))
}

// halfRef rounds f to the nearest binary16 value with float64 arithmetic
// (ties to even) and returns its bits, using a table of all finite halves.
func halfRef(f float32, table map[float32]uint16) uint16 {
	v := float64(f)
	a := math.Abs(v)
	sign := uint16(0)
	if math.Signbit(v) {
		sign = 0x8000
	}
	if a >= 65520 {
		return sign | 0x7c00
	}
	spacing := math.Ldexp(1, -24)
	if a >= math.Ldexp(1, -14) {
		_, e := math.Frexp(a) // a = frac * 2^e, frac in [0.5, 1)
		spacing = math.Ldexp(1, e-1-10)
	}
	r := math.RoundToEven(a/spacing) * spacing
	return sign | table[float32(r)]
}

func TestFP32ToFP16AgainstReference(t *testing.T) {
	table := make(map[float32]uint16, 1<<15)
	for h := uint16(0); h < 0x7c00; h++ {
		table[FP16ToFP32(h)] = h
	}
	// Every 997th float32 bit pattern, plus exact ties around every half.
	for u := uint64(0); u < 1<<32; u += 997 {
		f := math.Float32frombits(uint32(u))
		if math.IsNaN(float64(f)) || math.IsInf(float64(f), 0) {
			continue
		}
		require.Equal(t, halfRef(f, table), FP32ToFP16(f), "%#08x (%g)", u, f)
	}
	for h := uint16(0); h < 0x7c00; h++ {
		base := math.Float32bits(FP16ToFP32(h))
		for _, d := range []int32{-1, 0, 1} {
			// half an f16 ulp above h (for normal h), and its neighbours
			f := math.Float32frombits(uint32(int32(base) + 1<<12 + d))
			require.Equal(t, halfRef(f, table), FP32ToFP16(f), "tie near %#04x", h)
		}
	}
	require.Equal(t, uint16(0x7e00), FP32ToFP16(float32(math.NaN())))
	require.Equal(t, uint16(0xfc00), FP32ToFP16(float32(math.Inf(-1))))
}

func TestBF16(t *testing.T) {
	cases := []struct {
		in  uint32
		out uint16
	}{
		{0x3f800000, 0x3f80}, // 1
		{0x3f808000, 0x3f80}, // tie, even stays
		{0x3f818000, 0x3f82}, // tie, odd rounds up
		{0x3f808001, 0x3f81}, // above tie
		{0x7f7fffff, 0x7f80}, // max float rounds to Inf
		{0x7f800000, 0x7f80}, // Inf
		{0xff800001, 0xffc0}, // signalling NaN: quiet, sign kept
		{0x7fc00000, 0x7fc0}, // quiet NaN
		{0x00000001, 0x0000}, // subnormal rounds down, not flushed by rule
		{0x00018000, 0x0002}, // subnormal tie to even
	}
	for _, c := range cases {
		require.Equal(t, c.out, FP32ToBF16(math.Float32frombits(c.in)), "%#08x", c.in)
	}
	for h := 0; h < 1<<16; h++ {
		f := BF16ToFP32(uint16(h))
		require.Equal(t, uint32(h)<<16, math.Float32bits(f))
		if !math.IsNaN(float64(f)) {
			require.Equal(t, uint16(h), FP32ToBF16(f))
		}
	}
}

// TestHalfSlicesMatchScalar checks FP32ToFP16s, FP16ToFP32s and
// RoundFP16s (F16C where the CPU has it) against the scalar conversions bit
// for bit: every binary16 pattern, ties and their neighbours around every
// pattern, NaNs (quiet and signalling, with payloads), infinities, values
// beyond the half range and float32 subnormals, at lengths with and
// without a tail of fewer than 8.
func TestHalfSlicesMatchScalar(t *testing.T) {
	var src []float32
	for h := 0; h < 1<<16; h++ {
		f := FP16ToFP32(uint16(h))
		src = append(src, f)
		if h&0x7c00 != 0x7c00 {
			base := math.Float32bits(f)
			for _, d := range []int32{-1, 0, 1} {
				src = append(src, math.Float32frombits(uint32(int32(base)+1<<12+d)))
			}
		}
	}
	for _, b := range []uint32{0x7f800001, 0xff800001, 0x7fc00000, 0x7fffffff, 0xffc12345, 0x7f7fffff,
		0x477ff000, 0x477fefff, 0x477ff001, 0x00000001, 0x80000001, 0x007fffff, 0x33000000, 0x33000001, 0xb3000000} {
		src = append(src, math.Float32frombits(b))
	}
	rng := rand.New(rand.NewPCG(47, 48))
	for range 10000 {
		src = append(src, math.Float32frombits(rng.Uint32()))
	}
	for _, n := range []int{0, 1, 7, 8, 9, 23, len(src)} {
		in := src[len(src)-n:]
		h := make([]uint16, n+1)
		h[n] = 0xbeef
		FP32ToFP16s(h, in)
		require.Equal(t, uint16(0xbeef), h[n], "n=%d: wrote past the end", n)
		r := slices.Clone(in)
		RoundFP16s(r)
		w := make([]float32, n+1)
		w[n] = 42
		FP16ToFP32s(w, h[:n])
		require.Equal(t, float32(42), w[n], "n=%d: wrote past the end", n)
		for i, f := range in {
			want := FP32ToFP16(f)
			require.Equal(t, want, h[i], "n=%d: FP32ToFP16s(%#08x)", n, math.Float32bits(f))
			wide := math.Float32bits(FP16ToFP32(want))
			require.Equal(t, wide, math.Float32bits(w[i]), "n=%d: FP16ToFP32s(%#04x)", n, want)
			require.Equal(t, wide, math.Float32bits(r[i]), "n=%d: RoundFP16s(%#08x)", n, math.Float32bits(f))
		}
	}
	require.Panics(t, func() { FP32ToFP16s(make([]uint16, 3), make([]float32, 4)) })
	require.Panics(t, func() { FP16ToFP32s(make([]float32, 3), make([]uint16, 4)) })
}
