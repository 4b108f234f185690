package tensor

import "math"

// fma32 returns a*b + c rounded once to float32, as the x86 VFMADD
// instructions that ggml's kernels use compute it. The product of two
// float32s is exact in float64; the float64 sum is then rounded to
// float32, which is the correctly rounded result unless the float64 sum
// was itself rounded onto a point halfway between two float32s. That
// case is detected with the exact rounding error of the sum (TwoSum) and
// the sum moved one float64 ulp towards the exact value first. (Results
// in float32's subnormal range are not treated specially: scales and
// sums of quantized dot products never get there.)
func fma32(a, b, c float32) float32 {
	p := float64(float64(a) * float64(b))
	s := p + float64(c)
	bits := math.Float64bits(s)
	if bits&(1<<29-1) != 1<<28 { // not halfway between two float32s
		return float32(s)
	}
	bb := s - p
	e := (p - (s - bb)) + (float64(c) - bb) // s + e == p + c exactly
	if e == 0 || math.IsInf(s, 0) || math.IsNaN(s) {
		return float32(s)
	}
	if (e > 0) == (s > 0) {
		bits++ // away from zero, towards the exact sum
	} else {
		bits--
	}
	return float32(math.Float64frombits(bits))
}

// hsum8 adds eight lanes as ggml's hsum_float_8: the upper four onto the
// lower four, then (0+2) + (1+3).
func hsum8(x *[8]float32) float32 {
	var r [4]float32
	for i := range r {
		r[i] = x[i+4] + x[i]
	}
	return (r[0] + r[2]) + (r[1] + r[3])
}
