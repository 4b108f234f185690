package tensor

import "encoding/binary"

// Block layouts (ggml/src/ggml-common.h). Every multi-byte field is little
// endian; "f16" is an IEEE binary16 scale. Weights are read straight from the
// (memory-mapped) file bytes with these offsets, never copied into structs.
//
//	Q4_0 (18 B / 32):   d f16 | qs[16]              x[j] = d*(nibble-8); low nibbles are
//	                                                elements 0..15, high nibbles 16..31
//	Q4_1 (20 B / 32):   d f16 | m f16 | qs[16]      x[j] = d*nibble + m
//	Q5_0 (22 B / 32):   d f16 | qh u32 | qs[16]     x[j] = d*((nibble | bit j of qh << 4) - 16)
//	Q5_1 (24 B / 32):   d f16 | m f16 | qh u32 | qs[16]
//	Q8_0 (34 B / 32):   d f16 | qs[32] int8         x[j] = d*qs[j]
//	Q4_K (144 B / 256): d f16 | dmin f16 | scales[12] | qs[128]
//	                    8 sub-blocks of 32, each with a 6-bit scale and 6-bit min packed in scales
//	Q5_K (176 B / 256): d f16 | dmin f16 | scales[12] | qh[32] | qs[128]
//	Q6_K (210 B / 256): ql[128] | qh[64] | scales[16] int8 | d f16
//	                    16 sub-blocks of 16, each with an int8 scale
const (
	q4_0D  = 0
	q4_0Qs = 2

	q4_1D  = 0
	q4_1M  = 2
	q4_1Qs = 4

	q5_0D  = 0
	q5_0Qh = 2
	q5_0Qs = 6

	q5_1D  = 0
	q5_1M  = 2
	q5_1Qh = 4
	q5_1Qs = 8

	q8_0D  = 0
	q8_0Qs = 2

	qkD      = 0  // Q4_K, Q5_K: super-block scale of the sub-block scales
	qkDmin   = 2  // Q4_K, Q5_K: super-block scale of the sub-block mins
	qkScales = 4  // Q4_K, Q5_K: 12 bytes of packed 6-bit scales and mins
	q4kQs    = 16 // Q4_K: 128 bytes of nibbles
	q5kQh    = 16 // Q5_K: 32 bytes, bit i of byte l is the 5th bit of element 32*i+l
	q5kQs    = 48 // Q5_K: 128 bytes of low nibbles

	q6kQl     = 0   // Q6_K: 128 bytes of low nibbles
	q6kQh     = 128 // Q6_K: 64 bytes of 2-bit high parts
	q6kScales = 192 // Q6_K: 16 int8 sub-block scales
	q6kD      = 208 // Q6_K: f16 super-block scale
)

// f16At reads the f16 at b[off:off+2] as float32.
func f16At(b []byte, off int) float32 {
	return FP16ToFP32(binary.LittleEndian.Uint16(b[off:]))
}

// kScaleMin unpacks sub-block j's 6-bit scale and min from the 12 packed
// bytes of a Q4_K/Q5_K super-block (ggml's get_scale_min_k4): sub-blocks 0..3
// use the low 6 bits of bytes j and j+4; sub-blocks 4..7 combine a nibble of
// byte j+4 with the top 2 bits of bytes j-4 and j.
func kScaleMin(j int, s []byte) (sc, m uint8) {
	if j < 4 {
		return s[j] & 63, s[j+4] & 63
	}
	return s[j+4]&0xf | (s[j-4]>>6)<<4, s[j+4]>>4 | (s[j]>>6)<<4
}
