package tensor

import "math"

// Activation quantization: before a matrix product ggml's CPU backend
// converts each activation (input) vector to the weight type's "vec_dot
// type" (VecDotType) and then takes integer (or f16/bf16) dot products
// against the weight rows. actRow holds one converted vector.
//
// The field layout is Realm's own, not ggml's byte layout, so that kernels
// (and later assembly) read plain arrays: quants, scales and sums apart.
type actRow struct {
	qs    []int8    // Q8_0, Q8_1, Q8_K: the int8 quants, one per element
	d     []float32 // Q8_0, Q8_1: f16-rounded scale per 32; Q8_K: float32 scale per 256
	s     []float32 // Q8_1: f16-rounded d*sum(qs) per 32 (used with the min of Q4_1/Q5_1)
	sum4  []int32   // Q8_0, Q8_1: sum(qs) per 4 elements
	corr  []int32   // Q8_0: -offset*sum4 for weights stored with an offset (filled by Matrix.Mul)
	bsums []int16   // Q8_K: sum of qs per 16 elements (used with the mins of Q4_K/Q5_K)
	f     []float32 // F32, F16, BF16: the vector, rounded to F16/BF16 precision for those
}

// VecDotType returns the type ggml's CPU backend converts activations to
// before multiplying them with weights of type t (type_traits_cpu[t].vec_dot_type):
// Q8_0 for Q4_0, Q5_0 and Q8_0; Q8_1 for Q4_1 and Q5_1; Q8_K for the
// K-quants; and t itself for F32, F16 and BF16. Unsupported types return t.
func (t Type) VecDotType() Type {
	switch t {
	case Q4_0, Q5_0, Q8_0:
		return Q8_0
	case Q4_1, Q5_1:
		return Q8_1
	case Q4_K, Q5_K, Q6_K:
		return Q8_K
	default:
		return t
	}
}

// activations is scratch space for n converted vectors of cols elements.
type activations struct {
	qs    []int8
	d, s  []float32
	sum4  []int32
	corr  []int32
	bsums []int16
	f     []float32
	rows  []actRow
	job   mulJob // the Matrix.Mul call using these activations
}

// grow returns s with length n, reusing its storage when large enough.
func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// reset sizes a for n vectors of cols elements of vec-dot type vt and points
// a.rows at the per-vector slices. For F32 the rows are filled by the caller.
func (a *activations) reset(vt Type, n, cols int) {
	a.rows = grow(a.rows, n)
	switch vt {
	case Q8_0, Q8_1:
		nb := cols / QK
		a.qs = grow(a.qs, n*cols)
		a.d = grow(a.d, n*nb)
		a.sum4 = grow(a.sum4, n*cols/4)
		a.corr = grow(a.corr, n*cols/4)
		if vt == Q8_1 {
			a.s = grow(a.s, n*nb)
		}
		for b := range a.rows {
			r := actRow{
				qs:   a.qs[b*cols : (b+1)*cols],
				d:    a.d[b*nb : (b+1)*nb],
				sum4: a.sum4[b*cols/4 : (b+1)*cols/4],
				corr: a.corr[b*cols/4 : (b+1)*cols/4],
			}
			if vt == Q8_1 {
				r.s = a.s[b*nb : (b+1)*nb]
			}
			a.rows[b] = r
		}
	case Q8_K:
		nb := cols / QKK
		a.qs = grow(a.qs, n*cols)
		a.d = grow(a.d, n*nb)
		a.bsums = grow(a.bsums, n*cols/16)
		for b := range a.rows {
			a.rows[b] = actRow{
				qs:    a.qs[b*cols : (b+1)*cols],
				d:     a.d[b*nb : (b+1)*nb],
				bsums: a.bsums[b*cols/16 : (b+1)*cols/16],
			}
		}
	case F16, BF16:
		a.f = grow(a.f, n*cols)
		for b := range a.rows {
			a.rows[b] = actRow{f: a.f[b*cols : (b+1)*cols]}
		}
	}
}

// quantizeAct converts one activation vector x into r, for vec-dot type vt.
func quantizeAct(vt Type, x []float32, r *actRow) {
	switch vt {
	case Q8_0:
		quantizeQ8(x, r.qs, r.d, nil, r.sum4)
	case Q8_1:
		quantizeQ8(x, r.qs, r.d, r.s, r.sum4)
	case Q8_K:
		quantizeActQ8K(x, r)
	case F16:
		for i, v := range x {
			r.f[i] = FP16ToFP32(FP32ToFP16(v))
		}
	case BF16:
		for i, v := range x {
			r.f[i] = BF16ToFP32(FP32ToBF16(v))
		}
	case F32:
		r.f = x
	}
}

// quantizeActQ8 quantizes x to Q8_0 (s == nil) or Q8_1 blocks of 32 the way
// ggml's x86 build does at run time (quantize_row_q8_0 / quantize_row_q8_1
// with AVX2, which is what llama.cpp runs on the machines Realm targets):
// d = amax/127 stored as f16, q = round-half-even(x * (127/amax)), and for
// Q8_1 s = f16(d * sum(q)). (ggml's scalar reference instead multiplies by
// 1/d and rounds halves away from zero; the two differ in rare last-bit
// cases only.) sum4 receives the sum of each 4 consecutive q.
func quantizeActQ8(x []float32, qs []int8, d, s []float32, sum4 []int32) {
	for ib := range d {
		xb := x[ib*QK : (ib+1)*QK]
		var amax float32
		for _, v := range xb {
			amax = max(amax, abs32(v))
		}
		dv := amax / 127
		d[ib] = FP16ToFP32(FP32ToFP16(dv))
		var id float32
		if amax != 0 {
			id = 127 / amax
		}
		q := qs[ib*QK : (ib+1)*QK]
		sum := 0
		for j, v := range xb {
			r := math.RoundToEven(float64(v * id))
			r = min(max(r, -128), 127) // vpackss saturation
			q[j] = int8(r)
			sum += int(q[j])
		}
		for j := range QK / 4 {
			sum4[ib*QK/4+j] = int32(q[4*j]) + int32(q[4*j+1]) + int32(q[4*j+2]) + int32(q[4*j+3])
		}
		if s != nil {
			s[ib] = FP16ToFP32(FP32ToFP16(dv * float32(sum)))
		}
	}
}

// quantizeActQ8K quantizes x to Q8_K super-blocks of 256 like ggml's
// quantize_row_q8_K_ref (also what x86 runs): the scale maps the signed
// element of largest magnitude to -127, quants round half to even
// (nearest_int), and bsums holds the sum of each 16 quants. d stays float32.
func quantizeActQ8K(x []float32, r *actRow) {
	for ib := range r.d {
		xb := x[ib*QKK : (ib+1)*QKK]
		q := r.qs[ib*QKK : (ib+1)*QKK]
		sums := r.bsums[ib*QKK/16 : (ib+1)*QKK/16]
		var amax, maxv float32
		for _, v := range xb {
			if a := abs32(v); a > amax {
				amax, maxv = a, v
			}
		}
		if amax == 0 {
			r.d[ib] = 0
			clear(q)
			clear(sums)
			continue
		}
		iscale := -127 / maxv
		for j, v := range xb {
			q[j] = int8(min(math.RoundToEven(float64(iscale*v)), 127))
		}
		for j := range sums {
			var sum int16
			for _, v := range q[16*j : 16*j+16] {
				sum += int16(v)
			}
			sums[j] = sum
		}
		r.d[ib] = 1 / iscale
	}
}
