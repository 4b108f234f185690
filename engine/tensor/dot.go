package tensor

import (
	"encoding/binary"
	"math"
)

// Dot-product kernels: one weight row (raw block bytes) times one converted
// activation vector, in portable Go. Integer sums per block are exact; the
// float arithmetic is described with each family below (for the float
// types: the scalar branches of ggml_vec_dot_f32/f16/bf16, products
// accumulated in float64). They are the reference for the assembly kernels
// (rows.go), which must return the same bits.
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

// The 32-element block kernels follow ggml's x86 AVX2 kernels
// (ggml_vec_dot_q4_0_q8_0 and friends in ggml-cpu/arch/x86/quants.c), which
// llama.cpp runs on the machines Realm targets: per block, eight integer
// lanes, lane j the exact sum over elements 4j..4j+3 of q_x*q_y, are each
// added into their own float32 accumulator with one fused multiply-add by
// the block scale d_x*d_y; the accumulators are summed as hsum_float_8; Q4_1
// and Q5_1 add the min terms m_x*s_y, summed in block order, last. The
// assembly kernels do the same operations, so results are bit-identical
// across platforms and with llama.cpp.

// dotNibbles adds the lanes of one 16-byte nibble block: element e of the
// block is nibble e of qs (low nibbles 0..15, high 16..31) plus hi(e), minus
// off.
func dotNibbles(acc *[8]float32, dd float32, qs []byte, y []int8, qh uint32, off int32) {
	for j := 0; j < 4; j++ {
		var lo, hi int32
		for t := 4 * j; t < 4*j+4; t++ {
			q := qs[t]
			lo += (int32(uint32(q&0xf)|(qh>>t&1)<<4) - off) * int32(y[t])
			hi += (int32(uint32(q>>4)|(qh>>(t+16)&1)<<4) - off) * int32(y[t+16])
		}
		acc[j] = fma32(dd, float32(lo), acc[j])
		acc[j+4] = fma32(dd, float32(hi), acc[j+4])
	}
}

func dotQ4_0(w []byte, a *actRow) float32 {
	const bs = 2 + QK/2
	var acc [8]float32
	for ib, yd := range a.d {
		b := w[ib*bs : (ib+1)*bs]
		dotNibbles(&acc, f16At(b, q4_0D)*yd, b[q4_0Qs:q4_0Qs+QK/2], a.qs[ib*QK:(ib+1)*QK], 0, 8)
	}
	return hsum8(&acc)
}

func dotQ4_1(w []byte, a *actRow) float32 {
	const bs = 4 + QK/2
	var acc [8]float32
	var summs float32
	for ib, yd := range a.d {
		b := w[ib*bs : (ib+1)*bs]
		summs += float32(f16At(b, q4_1M) * a.s[ib])
		dotNibbles(&acc, f16At(b, q4_1D)*yd, b[q4_1Qs:q4_1Qs+QK/2], a.qs[ib*QK:(ib+1)*QK], 0, 0)
	}
	return hsum8(&acc) + summs
}

func dotQ5_0(w []byte, a *actRow) float32 {
	const bs = 6 + QK/2
	var acc [8]float32
	for ib, yd := range a.d {
		b := w[ib*bs : (ib+1)*bs]
		qh := binary.LittleEndian.Uint32(b[q5_0Qh:])
		dotNibbles(&acc, f16At(b, q5_0D)*yd, b[q5_0Qs:q5_0Qs+QK/2], a.qs[ib*QK:(ib+1)*QK], qh, 16)
	}
	return hsum8(&acc)
}

func dotQ5_1(w []byte, a *actRow) float32 {
	const bs = 8 + QK/2
	var acc [8]float32
	var summs float32
	for ib, yd := range a.d {
		b := w[ib*bs : (ib+1)*bs]
		summs += float32(f16At(b, q5_1M) * a.s[ib])
		qh := binary.LittleEndian.Uint32(b[q5_1Qh:])
		dotNibbles(&acc, f16At(b, q5_1D)*yd, b[q5_1Qs:q5_1Qs+QK/2], a.qs[ib*QK:(ib+1)*QK], qh, 0)
	}
	return hsum8(&acc) + summs
}

func dotQ8_0(w []byte, a *actRow) float32 {
	const bs = 2 + QK
	var acc [8]float32
	for ib, yd := range a.d {
		b := w[ib*bs : (ib+1)*bs]
		y := a.qs[ib*QK : (ib+1)*QK]
		dd := f16At(b, q8_0D) * yd
		for j := range acc {
			var lane int32
			for t := 4 * j; t < 4*j+4; t++ {
				lane += int32(int8(b[q8_0Qs+t])) * int32(y[t])
			}
			acc[j] = fma32(dd, float32(lane), acc[j])
		}
	}
	return hsum8(&acc)
}

// The K-quant kernels follow ggml_vec_dot_q{4,5,6}_K_q8_K's AVX2 branch,
// which llama.cpp runs for batches of fewer than 8 vectors (larger ones go
// through ggml's tiled matmul, with another rounding order). A super-block
// is walked as 32-byte runs of quants (one 256-bit register in the
// assembly kernels): byte l of a run adds (sub-block scale * q_x * q_y)
// into integer lane l/4; per super-block each lane is added into its own
// float32 accumulator with one fused multiply-add by d_x*d_y, and the
// lanes are summed as hsum_float_8. The mins: Q4_K accumulates them in
// four lanes (pairs of sub-blocks) by fused multiply-adds with
// -d_y*dmin_x, summed (0+2) + (1+3) and added last; Q5_K adds
// -d_y*dmin_x times their integer sum into a scalar, added last. Q6_K's
// quants are multiplied unsigned (0..63) and lane m then loses 32 times
// the activation sums of sub-blocks 2m and 2m+1 times their scales.

// kScales unpacks the 8 sub-block scales and mins of a Q4_K/Q5_K super-block.
func kScales(packed []byte) (sc, mn [8]int32) {
	for j := 0; j < 8; j++ {
		s, m := kScaleMin(j, packed)
		sc[j], mn[j] = int32(s), int32(m)
	}
	return sc, mn
}

// kMinLanes returns the four integer min lanes of a super-block: lane i
// pairs sub-blocks 2i and 2i+1, each min times its two 16-sums of
// activations.
func kMinLanes(bsums []int16, mn *[8]int32) (p [4]int32) {
	for i := range p {
		p[i] = mn[2*i]*(int32(bsums[4*i])+int32(bsums[4*i+1])) + mn[2*i+1]*(int32(bsums[4*i+2])+int32(bsums[4*i+3]))
	}
	return p
}

// kLanes4or5 returns the eight integer lanes of a Q4_K (qh == nil) or Q5_K
// super-block.
func kLanes4or5(qs, qh []byte, y []int8, sc *[8]int32) (lanes [8]int32) {
	for g := 0; g < 4; g++ { // 64 elements: sub-blocks 2g (low nibbles) and 2g+1 (high)
		q := qs[32*g : 32*g+32]
		ylo, yhi := y[64*g:64*g+32], y[64*g+32:64*g+64]
		s0, s1 := sc[2*g], sc[2*g+1]
		for l, v := range q {
			x0, x1 := int32(v&0xf), int32(v>>4)
			if qh != nil {
				x0 |= int32(qh[l]>>(2*g)&1) << 4
				x1 |= int32(qh[l]>>(2*g+1)&1) << 4
			}
			lanes[l/4] += s0*x0*int32(ylo[l]) + s1*x1*int32(yhi[l])
		}
	}
	return lanes
}

func dotQ4_K(w []byte, a *actRow) float32 {
	const bs = 144
	var acc [8]float32
	var accMin [4]float32
	for ib, yd := range a.d {
		b := w[ib*bs : (ib+1)*bs]
		sc, mn := kScales(b[qkScales : qkScales+12])
		lanes := kLanes4or5(b[q4kQs:q4kQs+QKK/2], nil, a.qs[ib*QKK:(ib+1)*QKK], &sc)
		d, dmin := yd*f16At(b, qkD), -yd*f16At(b, qkDmin)
		for l := range acc {
			acc[l] = fma32(d, float32(lanes[l]), acc[l])
		}
		for i, p := range kMinLanes(a.bsums[ib*16:ib*16+16], &mn) {
			accMin[i] = fma32(dmin, float32(p), accMin[i])
		}
	}
	return hsum8(&acc) + ((accMin[0] + accMin[2]) + (accMin[1] + accMin[3]))
}

func dotQ5_K(w []byte, a *actRow) float32 {
	const bs = 176
	var acc [8]float32
	var summs float32
	for ib, yd := range a.d {
		b := w[ib*bs : (ib+1)*bs]
		sc, mn := kScales(b[qkScales : qkScales+12])
		lanes := kLanes4or5(b[q5kQs:q5kQs+QKK/2], b[q5kQh:q5kQh+QKK/8], a.qs[ib*QKK:(ib+1)*QKK], &sc)
		d, dmin := yd*f16At(b, qkD), -yd*f16At(b, qkDmin)
		for l := range acc {
			acc[l] = fma32(d, float32(lanes[l]), acc[l])
		}
		p := kMinLanes(a.bsums[ib*16:ib*16+16], &mn)
		summs += float32(dmin * float32(p[0]+p[1]+p[2]+p[3]))
	}
	return hsum8(&acc) + summs
}

func dotQ6_K(w []byte, a *actRow) float32 {
	const bs = 210
	var acc [8]float32
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
				q1 := int32(ql[l]&0xf | (qh[l]>>0&3)<<4)
				q2 := int32(ql[l+32]&0xf | (qh[l]>>2&3)<<4)
				q3 := int32(ql[l]>>4 | (qh[l]>>4&3)<<4)
				q4 := int32(ql[l+32]>>4 | (qh[l]>>6&3)<<4)
				lanes[l/4] += int32(int8(sc[is]))*q1*int32(yh[l]) +
					int32(int8(sc[is+2]))*q2*int32(yh[l+32]) +
					int32(int8(sc[is+4]))*q3*int32(yh[l+64]) +
					int32(int8(sc[is+6]))*q4*int32(yh[l+96])
			}
		}
		sc := b[q6kScales : q6kScales+16]
		bsums := a.bsums[ib*16 : ib*16+16]
		d := yd * f16At(b, q6kD)
		for m := range lanes {
			off := int32(bsums[2*m])*int32(int8(sc[2*m])) + int32(bsums[2*m+1])*int32(int8(sc[2*m+1]))
			lanes[m] -= off << 5
			acc[m] = fma32(d, float32(lanes[m]), acc[m])
		}
	}
	return hsum8(&acc)
}
