package model

import "math"

// The arithmetic of llama.cpp's CPU backend, reproduced operation for
// operation so that Realm's logits are bit-identical to llama.cpp's on the
// reference machines (x86-64 with AVX-512, llama.cpp built natively, which
// is what scripts/goldens runs). Where ggml sums with SIMD lanes, the same
// lanes are summed here in the same order; where it calls a vector
// approximation of exp, the same approximation is computed here.

// fma32 returns x*y + z rounded once to float32, like the FMA instructions
// ggml's kernels use. The product of two float32s is exact in float64, so
// the float64 sum is off only when it lands exactly halfway between two
// float32s; then fma32Halfway corrects the rounding. The fast path is
// small enough to be inlined.
func fma32(x, y, z float32) float32 {
	sum := float64(x)*float64(y) + float64(z)
	if math.Float64bits(sum)&0x1fffffff != 0x10000000 {
		return float32(sum)
	}
	return fma32Halfway(x, y, z, sum)
}

// fma32Halfway rounds x*y + z when its float64 sum is halfway between two
// float32s: if the sum is inexact, it moves it one float64 ulp in the
// direction of its error so that the float32 rounding goes the right way
// (the method of musl's fmaf).
func fma32Halfway(x, y, z float32, sum float64) float32 {
	xy := float64(x) * float64(y)
	bits := math.Float64bits(sum)
	if (bits>>52)&0x7ff == 0x7ff || (sum-xy == float64(z) && sum-float64(z) == xy) {
		return float32(sum) // Inf, NaN or exact
	}
	negative := bits>>63 != 0
	var err float64
	if negative == (float64(z) > xy) {
		err = xy - sum + float64(z)
	} else {
		err = float64(z) - sum + xy
	}
	if negative == (err < 0) {
		bits++
	} else {
		bits--
	}
	return float32(math.Float64frombits(bits))
}

// reduce16 sums 16 lanes in the order of GCC's _mm512_reduce_add_ps:
// halves, then quarters, then pairs.
func reduce16(x *[16]float32) float32 {
	var h [8]float32
	for i := range h {
		h[i] = x[8+i] + x[i]
	}
	q0, q1, q2, q3 := h[4]+h[0], h[5]+h[1], h[6]+h[2], h[7]+h[3]
	return (q0 + q2) + (q1 + q3)
}

// fmaFast is fma32 without the halfway correction: ok reports whether
// the result is already correctly rounded (it is, except with probability
// about 2^-29). Small enough to be inlined.
func fmaFast(x, y, z float32) (r float32, ok bool) {
	sum := float64(x)*float64(y) + float64(z)
	return float32(sum), math.Float64bits(sum)&0x1fffffff != 0x10000000
}

// expV is ggml_v_expf, ggml's AVX-512 exponential (after ARM's optimized
// routines): e^x = 2^n * p(b) with n = round(x/ln2) and b the remainder,
// within 1.5 ulp of e^x. ggml uses it in softmax and SiLU.
func expV(x float32) float32 {
	const shift = 0x1.8p23 // adding it rounds to an integer
	z, ok1 := fmaFast(x, 0x1.715476p+0, shift)
	n := z - shift
	t, ok2 := fmaFast(-n, 0x1.62e4p-1, x)
	b, ok3 := fmaFast(-n, 0x1.7f7d1cp-20, t)
	u := b * b
	p1, ok4 := fmaFast(0x1.0e4020p-7, b, 0x1.573e2ep-5)
	p2, ok5 := fmaFast(0x1.555e66p-3, b, 0x1.fffdb6p-2)
	p3, ok6 := fmaFast(0x1.ffffecp-1, b, 1)
	p4, ok7 := fmaFast(p1, u, p2)
	j, ok8 := fmaFast(p4, u, p3)
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6 && ok7 && ok8) {
		return expVExact(x)
	}
	return scale2(j, n)
}

// expVExact is expV with every step correctly rounded by fma32.
func expVExact(x float32) float32 {
	const shift = 0x1.8p23
	z := fma32(x, 0x1.715476p+0, shift)
	n := z - shift
	b := fma32(-n, 0x1.7f7d1cp-20, fma32(-n, 0x1.62e4p-1, x))
	u := b * b
	j := fma32(
		fma32(fma32(0x1.0e4020p-7, b, 0x1.573e2ep-5), u, fma32(0x1.555e66p-3, b, 0x1.fffdb6p-2)),
		u,
		fma32(0x1.ffffecp-1, b, 1))
	return scale2(j, n)
}

// scale2 is _mm512_scalef_ps(j, n) for integral n as ggml_v_expf uses it:
// j * 2^n rounded once, and 0 or +Inf when |n| > 192.
func scale2(j, n float32) float32 {
	if n > 192 || n < -192 {
		if n <= 0 {
			return 0
		}
		return float32(math.Inf(1))
	}
	// j * 2^n is exact in float64 (|n| <= 192): one rounding to float32.
	return float32(float64(j) * math.Float64frombits(uint64(int64(n)+1023)<<52))
}

// silu is ggml_v_silu: x / (1 + e^-x).
func silu(x float32) float32 {
	return x / (1 + expV(-x))
}
