package model

import (
	"encoding/binary"
	"math"
	"sync"

	"github.com/realm-ai/realm/engine/tensor"
)

// matMul sets out[b*Rows+r] = W[r]·x[b] for the n vectors of x, with the
// float arithmetic of llama.cpp's x86-64 CPU backend (the reference build
// of scripts/goldens: AVX-512 VNNI host, no weight repacking) for the
// K-quant types whose order tensor.Matrix.Mul does not reproduce yet,
// Q4_K and Q6_K. Their activations are quantized to Q8_K
// (quantize_row_q8_K_ref); then ggml takes one of two paths, chosen by the
// number of vectors (tokens) in the batch:
//
//   - fewer than 8: ggml_vec_dot_q4_K_q8_K / ggml_vec_dot_q6_K_q8_K, AVX2
//     branch (dotQ4KAVX2, dotQ6KAVX2): eight integer lanes, lane m holding
//     the scaled products of the weights at e%32 in [4m, 4m+4); per
//     super-block (256 weights) each lane is added by an FMA with d·d8,
//     and the lanes are summed as hsum_float_8. Q4_K's mins go to four
//     lanes (pairs of sub-blocks) with an FMA of -d8·dmin, summed pairwise
//     and added last; Q6_K's -32 offset is taken out of lane m through the
//     block sums of sub-blocks 2m and 2m+1.
//   - 8 or more: the tiled K-quant matmul of ggml-cpu/tiled (dotKTiled):
//     per super-block the exact integer sums s1 (scaled products) and s2
//     (mins times block sums) give r = fma(-dmin, s2, s1·d), and the row
//     accumulates fma(r, d8, acc) over the super-blocks.
//
// So, as in llama.cpp, a token's result depends on the size of the batch
// it is evaluated in. Other types go to m.Mul. The results are
// bit-identical to llama.cpp's, which keeps Gemma 3's logits on
// llama.cpp's: its norms amplify a last-bit difference in one product into
// a different Q8 rounding downstream.
func matMul(p *tensor.Pool, m *tensor.Matrix, x []float32, n int, out []float32) {
	if m.Type != tensor.Q4_K && m.Type != tensor.Q6_K || n < tiledMinBatch {
		// tensor's K-quant kernels follow the AVX2 vec_dot order (and
		// run in assembly): bit-identical to dotQ4KAVX2 / dotQ6KAVX2.
		m.Mul(p, x, n, out)
		return
	}
	cols, rows := m.Cols, m.Rows
	if tensor.KTiledAvailable(m.Type) {
		tiledMatMul(p, m, x, n, out)
		return
	}
	acts := make([]q8K, n)
	for b := range acts {
		acts[b] = quantizeQ8K(x[b*cols : (b+1)*cols])
	}
	rowBytes := len(m.Data) / rows
	tiled := n >= tiledMinBatch
	work := func(lo, hi int) {
		var k kRow // one row decoded, reused for every vector
		for r := lo; r < hi; r++ {
			w := m.Data[r*rowBytes : (r+1)*rowBytes]
			if m.Type == tensor.Q4_K {
				k.decodeQ4K(w, cols)
			} else {
				k.decodeQ6K(w, cols)
			}
			for b := range acts {
				var v float32
				switch {
				case m.Type == tensor.Q4_K && tiled:
					v = k.dotQ4KTiled(&acts[b])
				case m.Type == tensor.Q4_K:
					v = k.dotQ4KAVX2(&acts[b])
				case tiled:
					v = k.dotQ6KTiled(&acts[b])
				default:
					v = k.dotQ6KAVX2(&acts[b])
				}
				out[b*rows+r] = v
			}
		}
	}
	if p == nil || rows*cols*n < 1<<15 {
		work(0, rows)
		return
	}
	p.Run(rows, work)
}

// tiledMatMul is matMul's tiled path in tensor's assembly (bit-identical
// to dotQ4KTiled / dotQ6KTiled).
func tiledMatMul(p *tensor.Pool, m *tensor.Matrix, x []float32, n int, out []float32) {
	cols, rows := m.Cols, m.Rows
	a := q8KBatches.Get().(*tensor.Q8KBatch)
	defer q8KBatches.Put(a)
	a.Reset(n, cols)
	nb := cols / 256
	for b := range n {
		quantizeQ8KInto(x[b*cols:(b+1)*cols], a.D[b*nb:(b+1)*nb], a.Qs[b*cols:(b+1)*cols], a.Bsums[b*cols/16:(b+1)*cols/16])
	}
	rowBytes := len(m.Data) / rows
	work := func(lo, hi int) { tensor.MulKTiled(m.Type, m.Data, rowBytes, lo, hi, a, out, rows) }
	if p == nil || rows*cols*n < 1<<15 {
		work(0, rows)
		return
	}
	p.Run(rows, work)
}

// q8KBatches keeps quantized activation buffers between tiledMatMul calls.
var q8KBatches = sync.Pool{New: func() any { return new(tensor.Q8KBatch) }}

// tiledMinBatch is the smallest batch ggml multiplies K-quants with its
// tiled kernels (ggml_tiled_min_batch).
const tiledMinBatch = 8

// q8K is one vector quantized to ggml's block_q8_K: per 256 values a
// float32 scale d, 256 int8 quants and the sums of each 16 quants.
type q8K struct {
	d     []float32
	qs    []int8
	bsums []int16
}

// quantizeQ8K is quantize_row_q8_K_ref: the scale is chosen so that the
// value of largest magnitude (the first, on ties) maps to -127, and
// values are rounded to nearest, ties to even.
func quantizeQ8K(x []float32) q8K {
	nb := len(x) / 256
	r := q8K{d: make([]float32, nb), qs: make([]int8, nb*256), bsums: make([]int16, nb*16)}
	quantizeQ8KInto(x, r.d, r.qs, r.bsums)
	return r
}

// quantizeQ8KInto is quantizeQ8K into given buffers (len(x)/256 scales,
// len(x) quants, len(x)/16 sums), which it overwrites.
func quantizeQ8KInto(x []float32, d []float32, qs []int8, bsums []int16) {
	r := q8K{d: d, qs: qs, bsums: bsums}
	nb := len(x) / 256
	for i := 0; i < nb; i++ {
		xb := x[i*256 : (i+1)*256]
		var mx, amax float32
		for _, v := range xb {
			if a := float32(math.Abs(float64(v))); a > amax {
				amax, mx = a, v
			}
		}
		if amax == 0 { // d, quants and sums 0
			r.d[i] = 0
			clear(r.qs[i*256 : (i+1)*256])
			clear(r.bsums[i*16 : (i+1)*16])
			continue
		}
		iscale := -127 / mx
		qs := r.qs[i*256 : (i+1)*256]
		for j, v := range xb {
			qs[j] = int8(min(127, nearestInt(iscale*v)))
		}
		for j := 0; j < 16; j++ {
			var s int16
			for _, q := range qs[16*j : 16*j+16] {
				s += int16(q)
			}
			r.bsums[i*16+j] = s
		}
		r.d[i] = 1 / iscale
	}
}

// nearestInt rounds like ggml's nearest_int: through float32 addition of
// 1.5·2^23, that is to nearest with ties to even, for |f| <= 2^22.
func nearestInt(f float32) int32 {
	bits := int32(math.Float32bits(f + 12582912))
	return (bits & 0x007fffff) - 0x00400000
}

func f16le(b []byte) float32 { return tensor.FP16ToFP32(binary.LittleEndian.Uint16(b)) }

// kRow is one Q4_K or Q6_K weight row decoded for the dot kernels: the
// unsigned quants in element order, and per super-block the scales (and
// Q4_K's mins) of its sub-blocks (32 weights for Q4_K, 16 for Q6_K).
type kRow struct {
	q       []uint8
	sc, mn  []int32
	d, dmin []float32
}

func (k *kRow) reset(cols, subs int) {
	nb := cols / 256
	k.q = growBytes(k.q, cols)
	k.sc, k.mn = growInt32(k.sc, nb*subs), growInt32(k.mn, nb*subs)
	k.d, k.dmin = grow(&k.d, nb), grow(&k.dmin, nb)
}

// decodeQ4K decodes a Q4_K row of cols weights (block_q4_K: d, dmin,
// 12 bytes of 6-bit scales and mins as get_scale_min_k4 reads them, 128
// bytes of nibbles: 64 weights per 32 bytes, low nibbles first).
func (k *kRow) decodeQ4K(w []byte, cols int) {
	k.reset(cols, 8)
	for ib := range k.d {
		b := (*[144]byte)(w[ib*144:])
		k.d[ib], k.dmin[ib] = f16le(b[0:]), f16le(b[2:])
		sc, mn := (*[8]int32)(k.sc[ib*8:]), (*[8]int32)(k.mn[ib*8:])
		s := b[4:16]
		for j := 0; j < 4; j++ {
			sc[j], mn[j] = int32(s[j]&63), int32(s[j+4]&63)
			sc[j+4] = int32(s[j+8]&0xF | (s[j]>>6)<<4)
			mn[j+4] = int32(s[j+8]>>4 | (s[j+4]>>6)<<4)
		}
		q := (*[256]uint8)(k.q[ib*256:])
		for g := 0; g < 4; g++ {
			src := (*[32]byte)(b[16+32*g:])
			for l, v := range src {
				q[64*g+l], q[64*g+32+l] = v&0xF, v>>4
			}
		}
	}
}

// decodeQ6K decodes a Q6_K row (block_q6_K: 128 bytes of low nibbles,
// 64 of 2-bit highs, 16 int8 scales, d), keeping the quants unsigned
// (0..63; the weight is q-32).
func (k *kRow) decodeQ6K(w []byte, cols int) {
	k.reset(cols, 16)
	for ib := range k.d {
		b := (*[210]byte)(w[ib*210:])
		k.d[ib] = f16le(b[208:])
		sc := (*[16]int32)(k.sc[ib*16:])
		for j := range sc {
			sc[j] = int32(int8(b[192+j]))
		}
		q := (*[256]uint8)(k.q[ib*256:])
		for h := 0; h < 2; h++ {
			l4, h2 := (*[64]byte)(b[64*h:]), (*[32]byte)(b[128+32*h:])
			o := (*[128]uint8)(q[128*h:])
			for l := 0; l < 32; l++ {
				o[l] = l4[l]&0xF | (h2[l]&3)<<4
				o[l+32] = l4[l+32]&0xF | (h2[l]>>2&3)<<4
				o[l+64] = l4[l]>>4 | (h2[l]>>4&3)<<4
				o[l+96] = l4[l+32]>>4 | (h2[l]>>6&3)<<4
			}
		}
	}
}

// dot4 returns the integer dot product of 4 quants with 4 activations.
func dot4(q *[4]uint8, y *[4]int8) int32 {
	return int32(q[0])*int32(y[0]) + int32(q[1])*int32(y[1]) + int32(q[2])*int32(y[2]) + int32(q[3])*int32(y[3])
}

// dotQ4KAVX2 is ggml_vec_dot_q4_K_q8_K's AVX2 branch for one row: see
// matMul.
func (k *kRow) dotQ4KAVX2(a *q8K) float32 {
	var acc [8]float32
	var accMin [4]float32
	for ib, yd := range a.d {
		d, dmin := yd*k.d[ib], -yd*k.dmin[ib]
		sc, mn := (*[8]int32)(k.sc[ib*8:]), (*[8]int32)(k.mn[ib*8:])
		var lanes [8]int32
		for j := 0; j < 8; j++ { // sub-blocks of 32: lane m takes elements 4m..4m+3
			q := (*[32]uint8)(k.q[ib*256+32*j:])
			y := (*[32]int8)(a.qs[ib*256+32*j:])
			s := sc[j]
			for m := 0; m < 8; m++ {
				lanes[m] += s * dot4((*[4]uint8)(q[4*m:]), (*[4]int8)(y[4*m:]))
			}
		}
		for m := range acc {
			acc[m] = fma32(d, float32(lanes[m]), acc[m])
		}
		bs := (*[16]int16)(a.bsums[ib*16:])
		for i := range accMin {
			prod := mn[2*i]*(int32(bs[4*i])+int32(bs[4*i+1])) + mn[2*i+1]*(int32(bs[4*i+2])+int32(bs[4*i+3]))
			accMin[i] = fma32(dmin, float32(prod), accMin[i])
		}
	}
	return hsum8(&acc) + ((accMin[0] + accMin[2]) + (accMin[1] + accMin[3]))
}

// dotQ6KAVX2 is ggml_vec_dot_q6_K_q8_K's AVX2 branch for one row: see
// matMul.
func (k *kRow) dotQ6KAVX2(a *q8K) float32 {
	var acc [8]float32
	for ib, yd := range a.d {
		d := yd * k.d[ib]
		sc := (*[16]int32)(k.sc[ib*16:])
		var lanes [8]int32
		for j := 0; j < 16; j++ { // sub-blocks of 16: lanes 4(j%2)..4(j%2)+3
			q := (*[16]uint8)(k.q[ib*256+16*j:])
			y := (*[16]int8)(a.qs[ib*256+16*j:])
			l, s := 4*(j&1), sc[j]
			for m := 0; m < 4; m++ {
				lanes[l+m] += s * dot4((*[4]uint8)(q[4*m:]), (*[4]int8)(y[4*m:]))
			}
		}
		bs := (*[16]int16)(a.bsums[ib*16:])
		for m := range lanes {
			off := int32(bs[2*m])*sc[2*m] + int32(bs[2*m+1])*sc[2*m+1]
			lanes[m] -= off << 5
			acc[m] = fma32(d, float32(lanes[m]), acc[m])
		}
	}
	return hsum8(&acc)
}

// dotQ4KTiled is one row of ggml's tiled Q4_K matmul: see matMul.
func (k *kRow) dotQ4KTiled(a *q8K) float32 {
	var acc float32
	for ib, yd := range a.d {
		sc, mn := (*[8]int32)(k.sc[ib*8:]), (*[8]int32)(k.mn[ib*8:])
		bs := (*[16]int16)(a.bsums[ib*16:])
		var s1, s2 int32
		for j := 0; j < 8; j++ {
			q := (*[32]uint8)(k.q[ib*256+32*j:])
			y := (*[32]int8)(a.qs[ib*256+32*j:])
			var raw int32
			for m := 0; m < 8; m++ {
				raw += dot4((*[4]uint8)(q[4*m:]), (*[4]int8)(y[4*m:]))
			}
			s1 += sc[j] * raw
			s2 += mn[j] * (int32(bs[2*j]) + int32(bs[2*j+1]))
		}
		r := fma32(-k.dmin[ib], float32(s2), float32(s1)*k.d[ib])
		acc = fma32(r, yd, acc)
	}
	return acc
}

// dotQ6KTiled is one row of ggml's tiled Q6_K matmul: see matMul.
func (k *kRow) dotQ6KTiled(a *q8K) float32 {
	var acc float32
	for ib, yd := range a.d {
		sc := (*[16]int32)(k.sc[ib*16:])
		bs := (*[16]int16)(a.bsums[ib*16:])
		var s1 int32
		for j := 0; j < 16; j++ {
			q := (*[16]uint8)(k.q[ib*256+16*j:])
			y := (*[16]int8)(a.qs[ib*256+16*j:])
			raw := dot4((*[4]uint8)(q[0:]), (*[4]int8)(y[0:])) + dot4((*[4]uint8)(q[4:]), (*[4]int8)(y[4:])) +
				dot4((*[4]uint8)(q[8:]), (*[4]int8)(y[8:])) + dot4((*[4]uint8)(q[12:]), (*[4]int8)(y[12:]))
			s1 += sc[j] * (raw - 32*int32(bs[j]))
		}
		acc = fma32(float32(s1)*k.d[ib], yd, acc)
	}
	return acc
}

// hsum8 adds 8 lanes as ggml's hsum_float_8: upper half onto lower, then
// (0+2) + (1+3).
func hsum8(x *[8]float32) float32 {
	var r [4]float32
	for i := range r {
		r[i] = x[4+i] + x[i]
	}
	return (r[0] + r[2]) + (r[1] + r[3])
}

func growBytes(b []uint8, n int) []uint8 {
	if cap(b) < n {
		return make([]uint8, n)
	}
	return b[:n]
}

func growInt32(b []int32, n int) []int32 {
	if cap(b) < n {
		return make([]int32, n)
	}
	return b[:n]
}
