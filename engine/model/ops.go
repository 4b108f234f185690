package model

import (
	"math"
	"sync"

	"github.com/realm-ai/realm/engine/tensor"
)

// rmsNorm sets out = x / sqrt(mean(x²) + eps) * weight, as ggml_rms_norm
// followed by ggml_mul: the squares are summed in float64, the scale is a
// float32, and x is scaled before it is multiplied by the weight.
func rmsNorm(out, x, weight []float32, eps float32) {
	var sum float64
	for _, v := range x {
		sum += float64(v * v)
	}
	mean := float32(sum / float64(len(x)))
	scale := 1 / float32(math.Sqrt(float64(mean+eps)))
	for i, v := range x {
		out[i] = (v * scale) * weight[i]
	}
}

// rmsNormRows applies rmsNorm to each of the rows of width n in x.
func rmsNormRows(out, x, weight []float32, eps float32, rows, n int) {
	for r := 0; r < rows; r++ {
		rmsNorm(out[r*n:(r+1)*n], x[r*n:(r+1)*n], weight, eps)
	}
}

// swiglu sets gate[i] = silu(gate[i]) * up[i], as ggml_vec_swiglu_f32.
func swiglu(gate, up []float32) {
	// tensor runs whole 16s in assembly where it can (bit-identical).
	for i := tensor.SwiGLU16(gate, up); i < len(gate); i++ {
		gate[i] = silu(gate[i]) * up[i]
	}
}

// add sets x += y.
func add(x, y []float32) {
	for i := range x {
		x[i] += y[i]
	}
}

// f16Table widens every binary16 bit pattern to float32: the KV cache is
// read through it.
var f16Table = func() *[1 << 16]float32 {
	var t [1 << 16]float32
	for i := range t {
		t[i] = tensor.FP16ToFP32(uint16(i))
	}
	return &t
}()

// roundF16 rounds each value of x to the nearest binary16, keeping it as
// float32: what ggml does to an f32 operand multiplied by an f16 matrix.
func roundF16(x []float32) { tensor.RoundFP16s(x) }

// geglu sets gate[i] = gelu(gate[i]) * up[i] as ggml_vec_geglu_f32 does
// on CPU (GGML_GELU_FP16): gelu is read from a table indexed by the input
// rounded to f16, except below -10 (0) and above 10 (the input itself).
func geglu(gate, up []float32) {
	table := geluTable()
	for i, g := range gate {
		switch {
		case g <= -10:
			gate[i] = 0
		case g >= 10:
			gate[i] = g * up[i]
		default:
			gate[i] = table[tensor.FP32ToFP16(g)] * up[i]
		}
	}
}

// geluTable holds, for every binary16 bit pattern x, gelu(x) rounded to
// f16 and widened back, like ggml's ggml_table_gelu_f16. It is built on
// first use.
var geluTable = sync.OnceValue(func() *[1 << 16]float32 {
	var t [1 << 16]float32
	for i := range t {
		t[i] = f16Table[tensor.FP32ToFP16(geluTanh(f16Table[i]))]
	}
	return &t
})

// geluTanh is the tanh approximation of GELU in float32, as ggml_gelu_f32
// is compiled by GCC: 0.5·x·(1 + tanh(sqrt(2/π)·x·(1 + 0.044715·x²))) with
// 1 + (0.044715·x)·x fused into one FMA. (With the FMA, geluTable equals
// the ggml_table_gelu_f16 of the reference build entry for entry; without
// it one entry of the 65536 differs.)
func geluTanh(x float32) float32 {
	const (
		coefA       = float32(0.044715)
		sqrt2OverPi = float32(0.79788456080286535587989211986876)
	)
	inner := (sqrt2OverPi * x) * fma32(coefA*x, x, 1)
	return 0.5 * x * (1 + float32(math.Tanh(float64(inner))))
}
