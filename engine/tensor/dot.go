package tensor

import (
	"encoding/binary"
	"math"
)

// Dot-product kernels: one weight row (raw block bytes) times one converted
// activation vector. They follow the summation order of ggml's portable
// kernels (ggml_vec_dot_*_generic in ggml-cpu/quants.c and the scalar
// branches of ggml_vec_dot_f32/f16/bf16 in ggml-cpu/vec.cpp): exact integer
// sums per block, then float32 scale products accumulated in float32 (or, for
// the float types, products accumulated in float64). ggml's SIMD builds
// reorder the float accumulation, so results agree with llama.cpp to a few
// ulps, not bit for bit.
//
// Each kernel is a plain function so a faster (assembly) version can replace
// one type's entry in dotKernel without touching the rest.

// dotFunc returns the dot product of weight row w with activation vector a.
type dotFunc func(w []byte, a *actRow) float32

// dotKernel returns the kernel for weight type t, or nil if unsupported.
func dotKernel(t Type) dotFunc {
	switch t {
	case F32:
		return dotF32
	case F16, BF16:
		return dotHalf(t)
	case Q4_0:
		return dotQ4_0
	case Q4_1:
		return dotQ4_1
	case Q5_0:
		return dotQ5_0
	case Q5_1:
		return dotQ5_1
	case Q8_0:
		return dotQ8_0
	case Q4_K:
		return dotQ4_K
	case Q5_K:
		return dotQ5_K
	case Q6_K:
		return dotQ6_K
	}
	return nil
}

// dotF32 is ggml_vec_dot_f32's scalar branch: float32 products summed in float64.
func dotF32(w []byte, a *actRow) float32 {
	var sum float64
	for i, x := range a.f {
		wi := math.Float32frombits(binary.LittleEndian.Uint32(w[4*i:]))
		sum += float64(wi * x)
	}
	return float32(sum)
}

// dotHalf is ggml_vec_dot_f16 / ggml_vec_dot_bf16's scalar branch: the
// activations are already rounded to the weight's half type, the products
// of two halves are exact in float32, and they are summed in float64.
func dotHalf(t Type) dotFunc {
	widen := FP16ToFP32
	if t == BF16 {
		widen = BF16ToFP32
	}
	return func(w []byte, a *actRow) float32 {
		var sum float64
		for i, x := range a.f {
			sum += float64(widen(binary.LittleEndian.Uint16(w[2*i:])) * x)
		}
		return float32(sum)
	}
}

func dotQ4_0(w []byte, a *actRow) float32 {
	const bs = 2 + QK/2
	var sumf float32
	for ib, yd := range a.d {
		b := w[ib*bs : (ib+1)*bs]
		y := a.qs[ib*QK : (ib+1)*QK]
		var sumi0, sumi1 int32
		for j, q := range b[q4_0Qs : q4_0Qs+QK/2] {
			sumi0 += (int32(q&0xf) - 8) * int32(y[j])
			sumi1 += (int32(q>>4) - 8) * int32(y[j+QK/2])
		}
		// ggml: sumf += sumi*d_x*d_y, evaluated left to right.
		sumf += float32(float32(sumi0+sumi1) * f16At(b, q4_0D) * yd)
	}
	return sumf
}

func dotQ4_1(w []byte, a *actRow) float32 {
	const bs = 4 + QK/2
	var sumf float32
	for ib, yd := range a.d {
		b := w[ib*bs : (ib+1)*bs]
		y := a.qs[ib*QK : (ib+1)*QK]
		var sumi0, sumi1 int32
		for j, q := range b[q4_1Qs : q4_1Qs+QK/2] {
			sumi0 += int32(q&0xf) * int32(y[j])
			sumi1 += int32(q>>4) * int32(y[j+QK/2])
		}
		// ggml: sumf += (d_x*d_y)*sumi + m_x*s_y.
		dd := f16At(b, q4_1D) * yd
		sumf += float32(float32(dd*float32(sumi0+sumi1)) + float32(f16At(b, q4_1M)*a.s[ib]))
	}
	return sumf
}

func dotQ5_0(w []byte, a *actRow) float32 {
	const bs = 6 + QK/2
	var sumf float32
	for ib, yd := range a.d {
		b := w[ib*bs : (ib+1)*bs]
		y := a.qs[ib*QK : (ib+1)*QK]
		qh := binary.LittleEndian.Uint32(b[q5_0Qh:])
		var sumi0, sumi1 int32
		for j, q := range b[q5_0Qs : q5_0Qs+QK/2] {
			x0 := int32(uint32(q&0xf)|(qh>>j&1)<<4) - 16
			x1 := int32(uint32(q>>4)|(qh>>(j+16)&1)<<4) - 16
			sumi0 += x0 * int32(y[j])
			sumi1 += x1 * int32(y[j+QK/2])
		}
		// ggml: sumf += (d_x*d_y)*sumi.
		sumf += float32(float32(f16At(b, q5_0D)*yd) * float32(sumi0+sumi1))
	}
	return sumf
}

func dotQ5_1(w []byte, a *actRow) float32 {
	const bs = 8 + QK/2
	var sumf float32
	for ib, yd := range a.d {
		b := w[ib*bs : (ib+1)*bs]
		y := a.qs[ib*QK : (ib+1)*QK]
		qh := binary.LittleEndian.Uint32(b[q5_1Qh:])
		var sumi0, sumi1 int32
		for j, q := range b[q5_1Qs : q5_1Qs+QK/2] {
			x0 := int32(uint32(q&0xf) | (qh>>j&1)<<4)
			x1 := int32(uint32(q>>4) | (qh>>(j+16)&1)<<4)
			sumi0 += x0 * int32(y[j])
			sumi1 += x1 * int32(y[j+QK/2])
		}
		// ggml: sumf += (d_x*d_y)*sumi + m_x*s_y.
		dd := f16At(b, q5_1D) * yd
		sumf += float32(float32(dd*float32(sumi0+sumi1)) + float32(f16At(b, q5_1M)*a.s[ib]))
	}
	return sumf
}

func dotQ8_0(w []byte, a *actRow) float32 {
	const bs = 2 + QK
	var sumf float32
	for ib, yd := range a.d {
		b := w[ib*bs : (ib+1)*bs]
		y := a.qs[ib*QK : (ib+1)*QK]
		var sumi int32
		for j, q := range b[q8_0Qs : q8_0Qs+QK] {
			sumi += int32(int8(q)) * int32(y[j])
		}
		// ggml: sumf += sumi*(d_x*d_y).
		sumf += float32(float32(sumi) * float32(f16At(b, q8_0D)*yd))
	}
	return sumf
}

// The K-quant kernels keep ggml's eight float32 lane sums: element e of a
// super-block adds (sub-block scale * q_x * q_y) into integer lane e%8, each
// lane is scaled by d_x*d_y into sums[e%8] per super-block, the min term
// (Q4_K, Q5_K) is subtracted from sumf per super-block, and the lanes are
// added to sumf at the end.

// kScales unpacks the 8 sub-block scales and mins of a Q4_K/Q5_K super-block.
func kScales(packed []byte) (sc, mn [8]int32) {
	for j := 0; j < 8; j++ {
		s, m := kScaleMin(j, packed)
		sc[j], mn[j] = int32(s), int32(m)
	}
	return sc, mn
}

// kMinSum is the integer part of the min term: sum over the 16 groups of 16
// activations of bsum * (min of the 32-element sub-block holding the group).
func kMinSum(bsums []int16, mn *[8]int32) int32 {
	var s int32
	for j, b := range bsums {
		s += int32(b) * mn[j/2]
	}
	return s
}

func dotQ4_K(w []byte, a *actRow) float32 {
	const bs = 144
	var sums [8]float32
	var sumf float32
	for ib, yd := range a.d {
		b := w[ib*bs : (ib+1)*bs]
		y := a.qs[ib*QKK : (ib+1)*QKK]
		sc, mn := kScales(b[qkScales : qkScales+12])
		qs := b[q4kQs : q4kQs+QKK/2]
		var lanes [8]int32
		for g := 0; g < 4; g++ { // 64 elements: sub-blocks 2g (low nibbles) and 2g+1 (high)
			q := qs[32*g : 32*g+32]
			ylo, yhi := y[64*g:64*g+32], y[64*g+32:64*g+64]
			s0, s1 := sc[2*g], sc[2*g+1]
			for l, v := range q {
				lanes[l%8] += s0*int32(v&0xf)*int32(ylo[l]) + s1*int32(v>>4)*int32(yhi[l])
			}
		}
		d := f16At(b, qkD) * yd
		for l := range sums {
			sums[l] += float32(d * float32(lanes[l]))
		}
		dmin := f16At(b, qkDmin) * yd
		sumf -= float32(dmin * float32(kMinSum(a.bsums[ib*16:ib*16+16], &mn)))
	}
	for _, s := range sums {
		sumf += s
	}
	return sumf
}

func dotQ5_K(w []byte, a *actRow) float32 {
	const bs = 176
	var sums [8]float32
	var sumf float32
	for ib, yd := range a.d {
		b := w[ib*bs : (ib+1)*bs]
		y := a.qs[ib*QKK : (ib+1)*QKK]
		sc, mn := kScales(b[qkScales : qkScales+12])
		qh := b[q5kQh : q5kQh+QKK/8]
		qs := b[q5kQs : q5kQs+QKK/2]
		var lanes [8]int32
		for g := 0; g < 4; g++ {
			q := qs[32*g : 32*g+32]
			ylo, yhi := y[64*g:64*g+32], y[64*g+32:64*g+64]
			s0, s1 := sc[2*g], sc[2*g+1]
			for l, v := range q {
				x0 := int32(v&0xf | (qh[l]>>(2*g)&1)<<4)
				x1 := int32(v>>4 | (qh[l]>>(2*g+1)&1)<<4)
				lanes[l%8] += s0*x0*int32(ylo[l]) + s1*x1*int32(yhi[l])
			}
		}
		d := f16At(b, qkD) * yd
		for l := range sums {
			sums[l] += float32(d * float32(lanes[l]))
		}
		dmin := f16At(b, qkDmin) * yd
		sumf -= float32(dmin * float32(kMinSum(a.bsums[ib*16:ib*16+16], &mn)))
	}
	for _, s := range sums {
		sumf += s
	}
	return sumf
}

func dotQ6_K(w []byte, a *actRow) float32 {
	const bs = 210
	var sums [8]float32
	for ib, yd := range a.d {
		b := w[ib*bs : (ib+1)*bs]
		y := a.qs[ib*QKK : (ib+1)*QKK]
		var lanes [8]int32
		for h := 0; h < 2; h++ { // halves of 128, laid out as in dequantQ6_K
			ql := b[q6kQl+64*h : q6kQl+64*h+64]
			qh := b[q6kQh+32*h : q6kQh+32*h+32]
			sc := b[q6kScales+8*h : q6kScales+8*h+8]
			yh := y[128*h : 128*h+128]
			for l := 0; l < 32; l++ {
				is := l / 16
				q1 := int32(ql[l]&0xf|(qh[l]>>0&3)<<4) - 32
				q2 := int32(ql[l+32]&0xf|(qh[l]>>2&3)<<4) - 32
				q3 := int32(ql[l]>>4|(qh[l]>>4&3)<<4) - 32
				q4 := int32(ql[l+32]>>4|(qh[l]>>6&3)<<4) - 32
				lanes[l%8] += int32(int8(sc[is]))*q1*int32(yh[l]) +
					int32(int8(sc[is+2]))*q2*int32(yh[l+32]) +
					int32(int8(sc[is+4]))*q3*int32(yh[l+64]) +
					int32(int8(sc[is+6]))*q4*int32(yh[l+96])
			}
		}
		d := f16At(b, q6kD) * yd
		for l := range sums {
			sums[l] += float32(d * float32(lanes[l]))
		}
	}
	var sumf float32
	for _, s := range sums {
		sumf += s
	}
	return sumf
}
