package tensor

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/realm-ai/realm/engine/errs"
)

// Dequantize decodes len(dst) elements of type t from src into dst.
// src must hold exactly those elements (t.RowSize(len(dst)) bytes) and
// len(dst) must be a whole number of t's blocks.
//
// The results are bit-identical to gguf-py's gguf.quants.dequantize (and so
// to ggml's dequantize_row_* functions): every product and sum is rounded to
// float32 in the same order, never fused.
func Dequantize(t Type, src []byte, dst []float32) error {
	if !t.Supported() {
		return fmt.Errorf("%w: dequantize: tensor type %s", errs.ErrUnsupportedModel, t)
	}
	want, err := t.RowSize(int64(len(dst)))
	if err != nil {
		return fmt.Errorf("%w: dequantize %s: %v", errs.ErrInvalidArgument, t, err)
	}
	if int64(len(src)) != want {
		return fmt.Errorf("%w: dequantize %s: %d elements need %d bytes, got %d",
			errs.ErrInvalidArgument, t, len(dst), want, len(src))
	}
	dequantRow(t, src, dst)
	return nil
}

// dequantRow decodes whole blocks; the caller has checked the sizes.
func dequantRow(t Type, src []byte, dst []float32) {
	switch t {
	case F32:
		for i := range dst {
			dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(src[4*i:]))
		}
	case F16:
		for i := range dst {
			dst[i] = FP16ToFP32(binary.LittleEndian.Uint16(src[2*i:]))
		}
	case BF16:
		for i := range dst {
			dst[i] = BF16ToFP32(binary.LittleEndian.Uint16(src[2*i:]))
		}
	case Q4_0:
		forBlocks(src, dst, t, dequantQ4_0)
	case Q4_1:
		forBlocks(src, dst, t, dequantQ4_1)
	case Q5_0:
		forBlocks(src, dst, t, dequantQ5_0)
	case Q5_1:
		forBlocks(src, dst, t, dequantQ5_1)
	case Q8_0:
		forBlocks(src, dst, t, dequantQ8_0)
	case Q4_K:
		forBlocks(src, dst, t, dequantQ4_K)
	case Q5_K:
		forBlocks(src, dst, t, dequantQ5_K)
	case Q6_K:
		forBlocks(src, dst, t, dequantQ6_K)
	default:
		panic("tensor: dequantRow: unsupported type " + t.String())
	}
}

// forBlocks calls fn for each block of src and its slice of dst.
func forBlocks(src []byte, dst []float32, t Type, fn func(b []byte, y []float32)) {
	bs, bl := t.BlockSize(), t.BlockLen()
	for i := 0; i*bl < len(dst); i++ {
		fn(src[i*bs:(i+1)*bs], dst[i*bl:(i+1)*bl])
	}
}

func dequantQ4_0(b []byte, y []float32) {
	d := f16At(b, q4_0D)
	qs := b[q4_0Qs : q4_0Qs+QK/2]
	for j, q := range qs {
		y[j] = float32(int(q&0xf)-8) * d
		y[j+QK/2] = float32(int(q>>4)-8) * d
	}
}

func dequantQ4_1(b []byte, y []float32) {
	d, m := f16At(b, q4_1D), f16At(b, q4_1M)
	qs := b[q4_1Qs : q4_1Qs+QK/2]
	for j, q := range qs {
		// The explicit float32 conversions forbid fusing into an FMA,
		// which would round differently from ggml and numpy.
		y[j] = float32(float32(q&0xf)*d) + m
		y[j+QK/2] = float32(float32(q>>4)*d) + m
	}
}

func dequantQ5_0(b []byte, y []float32) {
	d := f16At(b, q5_0D)
	qh := binary.LittleEndian.Uint32(b[q5_0Qh:])
	qs := b[q5_0Qs : q5_0Qs+QK/2]
	for j, q := range qs {
		h0 := (qh >> j & 1) << 4
		h1 := (qh >> (j + 16) & 1) << 4
		y[j] = float32(int32(uint32(q&0xf)|h0)-16) * d
		y[j+QK/2] = float32(int32(uint32(q>>4)|h1)-16) * d
	}
}

func dequantQ5_1(b []byte, y []float32) {
	d, m := f16At(b, q5_1D), f16At(b, q5_1M)
	qh := binary.LittleEndian.Uint32(b[q5_1Qh:])
	qs := b[q5_1Qs : q5_1Qs+QK/2]
	for j, q := range qs {
		h0 := (qh >> j & 1) << 4
		h1 := (qh >> (j + 16) & 1) << 4
		y[j] = float32(float32(uint32(q&0xf)|h0)*d) + m
		y[j+QK/2] = float32(float32(uint32(q>>4)|h1)*d) + m
	}
}

func dequantQ8_0(b []byte, y []float32) {
	d := f16At(b, q8_0D)
	for j, q := range b[q8_0Qs : q8_0Qs+QK] {
		y[j] = float32(int8(q)) * d
	}
}

func dequantQ4_K(b []byte, y []float32) {
	d, dmin := f16At(b, qkD), f16At(b, qkDmin)
	scales := b[qkScales : qkScales+12]
	qs := b[q4kQs : q4kQs+QKK/2]
	// Four groups of 64 elements; group g reads qs[32g:32g+32]: low nibbles
	// are sub-block 2g, high nibbles sub-block 2g+1.
	for g := 0; g < 4; g++ {
		sc0, m0 := kScaleMin(2*g, scales)
		sc1, m1 := kScaleMin(2*g+1, scales)
		d0, min0 := d*float32(sc0), dmin*float32(m0)
		d1, min1 := d*float32(sc1), dmin*float32(m1)
		q := qs[32*g : 32*g+32]
		out := y[64*g : 64*g+64]
		for l, v := range q {
			out[l] = float32(d0*float32(v&0xf)) - min0
			out[l+32] = float32(d1*float32(v>>4)) - min1
		}
	}
}

func dequantQ5_K(b []byte, y []float32) {
	d, dmin := f16At(b, qkD), f16At(b, qkDmin)
	scales := b[qkScales : qkScales+12]
	qh := b[q5kQh : q5kQh+QKK/8]
	qs := b[q5kQs : q5kQs+QKK/2]
	for g := 0; g < 4; g++ {
		sc0, m0 := kScaleMin(2*g, scales)
		sc1, m1 := kScaleMin(2*g+1, scales)
		d0, min0 := d*float32(sc0), dmin*float32(m0)
		d1, min1 := d*float32(sc1), dmin*float32(m1)
		q := qs[32*g : 32*g+32]
		out := y[64*g : 64*g+64]
		for l, v := range q {
			h0 := (qh[l] >> (2 * g) & 1) << 4
			h1 := (qh[l] >> (2*g + 1) & 1) << 4
			out[l] = float32(d0*float32(v&0xf|h0)) - min0
			out[l+32] = float32(d1*float32(v>>4|h1)) - min1
		}
	}
}

func dequantQ6_K(b []byte, y []float32) {
	d := f16At(b, q6kD)
	// Two halves of 128 elements; half h uses ql[64h:64h+64], qh[32h:32h+32]
	// and scales[8h:8h+8]. Element l+32k of the half (k = 0..3) takes its low
	// 4 bits from ql (k odd: ql[l+32], k >= 2: high nibble) and its high 2
	// bits from bits 2k..2k+1 of qh[l]; sub-block scale index l/16 + 2k.
	for h := 0; h < 2; h++ {
		ql := b[q6kQl+64*h : q6kQl+64*h+64]
		qh := b[q6kQh+32*h : q6kQh+32*h+32]
		sc := b[q6kScales+8*h : q6kScales+8*h+8]
		out := y[128*h : 128*h+128]
		for l := 0; l < 32; l++ {
			is := l / 16
			q1 := int8(ql[l]&0xf|(qh[l]>>0&3)<<4) - 32
			q2 := int8(ql[l+32]&0xf|(qh[l]>>2&3)<<4) - 32
			q3 := int8(ql[l]>>4|(qh[l]>>4&3)<<4) - 32
			q4 := int8(ql[l+32]>>4|(qh[l]>>6&3)<<4) - 32
			out[l] = d * float32(int8(sc[is])) * float32(q1)
			out[l+32] = d * float32(int8(sc[is+2])) * float32(q2)
			out[l+64] = d * float32(int8(sc[is+4])) * float32(q3)
			out[l+96] = d * float32(int8(sc[is+6])) * float32(q4)
		}
	}
}
