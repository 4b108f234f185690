package tensor

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/realm-ai/realm/engine/errs"
)

// Quantize encodes src as type t, the way ggml's reference quantizers
// (quantize_row_*_ref, used to create model files) and gguf-py's
// gguf.quants.quantize do; the output is bit-identical to gguf-py.
// Supported: F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0. gguf-py has no
// K-quant quantizer to match, so Q4_K, Q5_K and Q6_K report
// errs.ErrUnsupportedModel. len(src) must be a whole number of blocks.
func Quantize(t Type, src []float32) ([]byte, error) {
	switch t {
	case F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0:
	default:
		return nil, fmt.Errorf("%w: quantize: tensor type %s", errs.ErrUnsupportedModel, t)
	}
	size, err := t.RowSize(int64(len(src)))
	if err != nil {
		return nil, fmt.Errorf("%w: quantize %s: %v", errs.ErrInvalidArgument, t, err)
	}
	out := make([]byte, size)
	switch t {
	case F32:
		for i, v := range src {
			binary.LittleEndian.PutUint32(out[4*i:], math.Float32bits(v))
		}
	case F16:
		for i, v := range src {
			binary.LittleEndian.PutUint16(out[2*i:], FP32ToFP16(v))
		}
	case BF16:
		for i, v := range src {
			binary.LittleEndian.PutUint16(out[2*i:], FP32ToBF16(v))
		}
	case Q4_0:
		quantBlocks(src, out, t, quantQ4_0)
	case Q4_1:
		quantBlocks(src, out, t, quantQ4_1)
	case Q5_0:
		quantBlocks(src, out, t, quantQ5_0)
	case Q5_1:
		quantBlocks(src, out, t, quantQ5_1)
	case Q8_0:
		quantBlocks(src, out, t, quantQ8_0)
	}
	return out, nil
}

// quantBlocks calls fn for each block of x and its slice of out.
func quantBlocks(x []float32, out []byte, t Type, fn func(x []float32, b []byte)) {
	bs, bl := t.BlockSize(), t.BlockLen()
	for i := 0; i*bl < len(x); i++ {
		fn(x[i*bl:(i+1)*bl], out[i*bs:(i+1)*bs])
	}
}

func putF16(b []byte, off int, v float32) {
	binary.LittleEndian.PutUint16(b[off:], FP32ToFP16(v))
}

// signedAbsMax returns the element of largest magnitude (the first one on
// ties), keeping its sign.
func signedAbsMax(x []float32) float32 {
	var amax, best float32
	for _, v := range x {
		if a := abs32(v); amax < a {
			amax, best = a, v
		}
	}
	return best
}

// minMax returns the smallest and largest elements.
func minMax(x []float32) (lo, hi float32) {
	lo, hi = math.MaxFloat32, -math.MaxFloat32
	for _, v := range x {
		if v < lo {
			lo = v
		}
		if v > hi {
			hi = v
		}
	}
	return lo, hi
}

func abs32(v float32) float32 { return math.Float32frombits(math.Float32bits(v) &^ (1 << 31)) }

// inverse returns 1/d, or 0 when d is 0 (a block of zeros).
func inverse(d float32) float32 {
	if d == 0 {
		return 0
	}
	return 1 / d
}

// truncQ converts v (>= -0.5 by construction) toward zero and clamps it at hi,
// like the C reference's MIN(hi, (int8_t)v).
func truncQ(v float32, hi int) uint8 {
	q := int(v)
	if q > hi {
		q = hi
	}
	if q < 0 {
		q = 0
	}
	return uint8(q)
}

// quantQ4_0 follows quantize_row_q4_0_ref: d = max/-8 where max is the
// signed element of largest magnitude, q = trunc(x/d + 8.5) clamped to 15.
func quantQ4_0(x []float32, b []byte) {
	d := signedAbsMax(x) / -8
	id := inverse(d)
	putF16(b, q4_0D, d)
	qs := b[q4_0Qs : q4_0Qs+QK/2]
	for j := range qs {
		x0 := truncQ(float32(x[j]*id)+8.5, 15)
		x1 := truncQ(float32(x[j+QK/2]*id)+8.5, 15)
		qs[j] = x0 | x1<<4
	}
}

// quantQ4_1 follows quantize_row_q4_1_ref: d = (max-min)/15, m = min,
// q = trunc((x-min)/d + 0.5) clamped to 15.
func quantQ4_1(x []float32, b []byte) {
	lo, hi := minMax(x)
	d := (hi - lo) / 15
	id := inverse(d)
	putF16(b, q4_1D, d)
	putF16(b, q4_1M, lo)
	qs := b[q4_1Qs : q4_1Qs+QK/2]
	for j := range qs {
		x0 := truncQ(float32((x[j]-lo)*id)+0.5, 15)
		x1 := truncQ(float32((x[j+QK/2]-lo)*id)+0.5, 15)
		qs[j] = x0 | x1<<4
	}
}

// quantQ5_0 follows quantize_row_q5_0_ref: d = max/-16, q = trunc(x/d +
// 16.5) clamped to 31; bit 4 of element j goes to bit j of qh.
func quantQ5_0(x []float32, b []byte) {
	d := signedAbsMax(x) / -16
	id := inverse(d)
	putF16(b, q5_0D, d)
	var qh uint32
	qs := b[q5_0Qs : q5_0Qs+QK/2]
	for j := range qs {
		x0 := truncQ(float32(x[j]*id)+16.5, 31)
		x1 := truncQ(float32(x[j+QK/2]*id)+16.5, 31)
		qs[j] = x0&0xf | (x1&0xf)<<4
		qh |= uint32(x0>>4) << j
		qh |= uint32(x1>>4) << (j + QK/2)
	}
	binary.LittleEndian.PutUint32(b[q5_0Qh:], qh)
}

// quantQ5_1 follows quantize_row_q5_1_ref: d = (max-min)/31, m = min,
// q = trunc((x-min)/d + 0.5).
func quantQ5_1(x []float32, b []byte) {
	lo, hi := minMax(x)
	d := (hi - lo) / 31
	id := inverse(d)
	putF16(b, q5_1D, d)
	putF16(b, q5_1M, lo)
	var qh uint32
	qs := b[q5_1Qs : q5_1Qs+QK/2]
	for j := range qs {
		x0 := truncQ(float32((x[j]-lo)*id)+0.5, 31)
		x1 := truncQ(float32((x[j+QK/2]-lo)*id)+0.5, 31)
		qs[j] = x0&0xf | (x1&0xf)<<4
		qh |= uint32(x0>>4) << j
		qh |= uint32(x1>>4) << (j + QK/2)
	}
	binary.LittleEndian.PutUint32(b[q5_1Qh:], qh)
}

// quantQ8_0 follows quantize_row_q8_0_ref: d = amax/127, q = round(x/d)
// with halves rounded away from zero (C roundf).
func quantQ8_0(x []float32, b []byte) {
	var amax float32
	for _, v := range x {
		amax = max(amax, abs32(v))
	}
	d := amax / 127
	id := inverse(d)
	putF16(b, q8_0D, d)
	for j, v := range x {
		b[q8_0Qs+j] = byte(int8(math.Round(float64(v * id))))
	}
}
