package tensor

import "math"

// Conversions between float32 and the 16-bit float formats ggml stores:
// IEEE binary16 ("F16", ggml_fp16_t) and bfloat16 ("BF16", ggml_bf16_t).
// All are written on the bits so they are exact and platform independent.

// FP16ToFP32 widens an IEEE binary16 value to float32. The conversion is
// exact; NaN payloads are kept (shifted into the float32 significand), as
// x86 F16C and numpy do for quiet NaNs.
func FP16ToFP32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f: // Inf or NaN
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	case exp == 0:
		if mant == 0 {
			return math.Float32frombits(sign)
		}
		// Subnormal: mant * 2^-24, exact in float32.
		v := float32(mant) * (1.0 / (1 << 24))
		if sign != 0 {
			v = -v
		}
		return v
	default:
		return math.Float32frombits(sign | (exp+127-15)<<23 | mant<<13)
	}
}

// FP32ToFP16 narrows a float32 to IEEE binary16 with round-to-nearest-even,
// as the x86 F16C instruction (vcvtps2ph, used by ggml's CPU backend) and
// numpy's astype(float16) do: values too large become ±Inf, values too
// small become (signed) subnormals or zero. A NaN becomes a quiet NaN that
// keeps the sign and the top bits of the payload.
func FP32ToFP16(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int32(b>>23) & 0xff
	mant := b & 0x7fffff

	if exp == 0xff {
		if mant == 0 {
			return sign | 0x7c00
		}
		return sign | 0x7c00 | 0x200 | uint16(mant>>13)
	}
	e := exp - 127 // unbiased exponent
	switch {
	case e > 15: // beyond the largest finite half even before rounding
		return sign | 0x7c00
	case e >= -14: // normal half
		h := uint32(e+15)<<10 | mant>>13
		rem := mant & 0x1fff
		// Round to nearest even; a carry out of the significand moves into
		// the exponent, which also turns 65520 and up into Inf.
		if rem > 0x1000 || (rem == 0x1000 && h&1 != 0) {
			h++
		}
		return sign | uint16(h)
	case e >= -25: // subnormal half (or rounds up to the smallest normal)
		m := mant | 0x800000    // 24-bit significand, value m * 2^(e-23)
		shift := uint32(-e - 1) // half units are 2^-24: m * 2^(e+1)
		h := m >> shift
		rem := m & (1<<shift - 1)
		half := uint32(1) << (shift - 1)
		if rem > half || (rem == half && h&1 != 0) {
			h++
		}
		return sign | uint16(h)
	default: // below half the smallest subnormal: rounds to zero
		return sign
	}
}

// BF16ToFP32 widens a bfloat16 value to float32 (exact: the bits move up 16).
func BF16ToFP32(h uint16) float32 {
	return math.Float32frombits(uint32(h) << 16)
}

// FP32ToBF16 narrows a float32 to bfloat16 like ggml_compute_fp32_to_bf16:
// round to nearest even on the dropped 16 bits, and a NaN becomes a quiet
// NaN (bit 6 of the result set) rather than possibly rounding into Inf.
// Subnormals are kept, not flushed.
func FP32ToBF16(f float32) uint16 {
	u := math.Float32bits(f)
	if u&0x7fffffff > 0x7f800000 {
		return uint16(u>>16) | 64
	}
	return uint16((u + (0x7fff + (u>>16)&1)) >> 16)
}

// FP32ToFP16s sets dst[i] = FP32ToFP16(src[i]) for every i < len(src),
// eight at a time with F16C where the CPU has it (same bits). It panics if
// dst is shorter than src.
func FP32ToFP16s(dst []uint16, src []float32) {
	if len(dst) < len(src) {
		panic("tensor: FP32ToFP16s: dst shorter than src")
	}
	dst = dst[:len(src)]
	for i := narrowF16(dst, src); i < len(src); i++ {
		dst[i] = FP32ToFP16(src[i])
	}
}

// FP16ToFP32s sets dst[i] = FP16ToFP32(src[i]) for every i < len(src),
// eight at a time with F16C where the CPU has it (same bits). It panics if
// dst is shorter than src.
func FP16ToFP32s(dst []float32, src []uint16) {
	if len(dst) < len(src) {
		panic("tensor: FP16ToFP32s: dst shorter than src")
	}
	dst = dst[:len(src)]
	for i := widenF16(dst, src); i < len(src); i++ {
		dst[i] = FP16ToFP32(src[i])
	}
}

// RoundFP16s rounds every value of x to the nearest binary16 in place,
// keeping it as float32: x[i] = FP16ToFP32(FP32ToFP16(x[i])), what ggml
// does to an f32 operand multiplied by an f16 matrix.
func RoundFP16s(x []float32) {
	for i := roundF16s(x); i < len(x); i++ {
		x[i] = FP16ToFP32(FP32ToFP16(x[i]))
	}
}
