package model

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/realm-ai/realm/engine/tensor"
	"github.com/stretchr/testify/require"
)

// The forward pass is bit-identical to llama.cpp's only if tensor's matrix
// products add up exactly like ggml's x86 kernels (ggml_vec_dot_q4_1_q8_1
// and ggml_vec_dot_q8_0_q8_0 with AVX2/VNNI, which llama.cpp runs for
// SmolLM2's Q4_1 weights and Q8_0 output). This test pins that contract
// with a scalar transcription of those kernels:
//
//   - activations are quantized per 32: d = amax/127 (stored as f16),
//     q = round-half-even(x * 127/amax), and for Q8_1 s = f16(d * sum(q))
//     with the unrounded d;
//   - each block gives 8 lane values, lane j the integer sum of elements
//     4j..4j+3 (nibble j of byte j is element j, high nibbles 16..31);
//   - acc[j] = fma(d_w*d_a, lane_j, acc[j]) over the blocks, then
//     hsum_float_8: (a[4+i] + a[i]), then (r0 + r2) + (r1 + r3);
//   - Q4_1 adds sum over blocks of m*s, accumulated separately in float32,
//     after the lane sum.
func TestMatMulAddsLikeGGML(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, typ := range []tensor.Type{tensor.Q8_0, tensor.Q4_1} {
		const rows, cols = 16, 256
		w := make([]float32, rows*cols)
		for i := range w {
			w[i] = float32(r.NormFloat64())
		}
		data, err := tensor.Quantize(typ, w)
		require.NoError(t, err)
		m, err := tensor.NewMatrix(typ, rows, cols, data)
		require.NoError(t, err)
		x := make([]float32, cols)
		for i := range x {
			x[i] = float32(r.NormFloat64() * 3)
		}
		got := make([]float32, rows)
		m.Mul(nil, x, 1, got)
		want := ggmlMatVec(typ, data, rows, x)
		for i := range got {
			require.Equal(t, math.Float32bits(want[i]), math.Float32bits(got[i]),
				"%s row %d: tensor.Matrix.Mul %v, ggml order %v", typ, i, got[i], want[i])
		}
	}
}

// ggmlMatVec is the scalar transcription described above.
func ggmlMatVec(typ tensor.Type, data []byte, rows int, x []float32) []float32 {
	const qk = 32
	nb := len(x) / qk
	qs := make([]int8, len(x))
	d := make([]float32, nb)
	s := make([]float32, nb)
	for b := 0; b < nb; b++ {
		var amax float32
		for _, v := range x[b*qk : (b+1)*qk] {
			amax = max(amax, float32(math.Abs(float64(v))))
		}
		dv := amax / 127
		d[b] = f16Round(dv)
		var id float32
		if amax != 0 {
			id = 127 / amax
		}
		sum := 0
		for j := b * qk; j < (b+1)*qk; j++ {
			q := int8(math.RoundToEven(float64(x[j] * id)))
			qs[j] = q
			sum += int(q)
		}
		s[b] = f16Round(dv * float32(sum))
	}
	bs := typ.BlockSize()
	out := make([]float32, rows)
	for r := range out {
		var acc [8]float32
		var summs float32
		for b := 0; b < nb; b++ {
			blk := data[(r*nb+b)*bs : (r*nb+b+1)*bs]
			dw := tensor.FP16ToFP32(binary.LittleEndian.Uint16(blk))
			weight := func(e int) int32 {
				if typ == tensor.Q8_0 {
					return int32(int8(blk[2+e]))
				}
				if e < 16 {
					return int32(blk[4+e] & 0xf)
				}
				return int32(blk[4+e-16] >> 4)
			}
			if typ == tensor.Q4_1 {
				summs += tensor.FP16ToFP32(binary.LittleEndian.Uint16(blk[2:])) * s[b]
			}
			dd := dw * d[b]
			for j := range acc {
				var lane int32
				for e := 4 * j; e < 4*j+4; e++ {
					lane += weight(e) * int32(qs[b*qk+e])
				}
				acc[j] = fma32(dd, float32(lane), acc[j])
			}
		}
		h := [4]float32{acc[4] + acc[0], acc[5] + acc[1], acc[6] + acc[2], acc[7] + acc[3]}
		out[r] = (h[0] + h[2]) + (h[1] + h[3]) + summs
	}
	return out
}

func f16Round(v float32) float32 { return tensor.FP16ToFP32(tensor.FP32ToFP16(v)) }
