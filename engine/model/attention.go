package model

import (
	"math"

	"github.com/realm-ai/realm/engine/tensor"
)

// attend computes causal multi-head attention with grouped KV heads for
// the rows new tokens of one sequence, at positions start, ..., start+rows-1.
// The cache already holds keys and values of layer l for positions
// [0, start+rows). q is (rows, Heads*HeadDim) after RoPE; out receives
// (rows, Heads*HeadDim). Scores are q·k * scale (llama: 1/sqrt(head_dim)).
// With window > 0 a query at position p sees only keys at positions
// p-window+1 ... p (llama.cpp's LLAMA_SWA_TYPE_STANDARD); masked keys have
// weight exactly 0 in ggml too, so they are skipped.
//
// The arithmetic is that of llama.cpp's CPU path without flash attention,
// with its f16 KV cache, step for step:
//
//   - KQ = K·q by ggml_mul_mat, which converts q to f16 and accumulates
//     each dot product in SIMD lanes: for a batch of two or more tokens
//     llamafile's tinyBLAS uses 16 lanes, lane i taking dimensions i, i+16,
//     ...; for a single token (decoding) ggml_vec_dot_f16 uses 64, lane i
//     taking i, i+64, ..., and folds them to 16; then the 16 lanes are
//     added (tensor.AttnScores);
//   - softmax(KQ * scale) by ggml_soft_max: exponentials by
//     ggml's vector expV, summed 16 positions at a time in float32
//     (reduce16) and across those groups in float64, then scaled by
//     float32(1/sum);
//   - out = V·softmax by ggml_mul_mat again: the weights are converted to
//     f16 and each output dimension accumulates positions in lanes the same
//     way (position t in lane t%16, or t%64 when decoding).
//
// Every product in the two matrix products is of two f16 values, exact in
// float32, so the FMA of the SIMD code is a plain multiply and add here.
// Lanes and groups of 16 count from KV cell 0, which holds position 0 in
// llama.cpp's cache for a single sequence.
func attend(w *Workspace, c Config, cache *KVCache, l, start, rows int, q, out []float32, scale float32, window int) {
	hd, kvDim := c.HeadDim, c.KVDim()
	total := start + rows
	kf := grow(&w.kf, total*kvDim)
	vf := grow(&w.vf, total*kvDim)
	cache.widen(l, total, kf, vf)

	group := c.Heads / c.KVHeads // query heads sharing one KV head
	qDim := c.Heads * hd
	padded := (total + 15) &^ 15 // positions rounded up to whole lanes
	nLanes := 16                 // tinyBLAS
	if rows == 1 || hd%16 != 0 {
		nLanes = 64 // ggml_vec_dot_f16 (tinyBLAS needs two rows and whole vectors)
	}

	heads := func(lo, hi int, scratch []float32) {
		s := scratch[:padded]                             // scores, then weights
		qh := scratch[padded : padded+hd]                 // the query head in f16 precision
		lanes := scratch[padded+hd : padded+hd+nLanes*hd] // (nLanes, head_dim) partial outputs
		for item := lo; item < hi; item++ {
			r, h := item/c.Heads, item%c.Heads
			n := start + r + 1 // causal: positions first..start+r
			first := 0
			if window > 0 {
				first = max(0, n-window)
			}
			kvOff := (h / group) * hd

			copy(qh, q[r*qDim+h*hd:r*qDim+(h+1)*hd])
			roundF16(qh)
			tensor.AttnScores(qh, kf[first*kvDim+kvOff:], kvDim, nLanes, scale, s[first:n])
			softmaxF16(s, first, n)

			clear(lanes)
			tensor.AttnAccumulate(s, vf[kvOff:], kvDim, first, n, nLanes, lanes)
			o := out[r*qDim+h*hd : r*qDim+(h+1)*hd]
			var x [16]float32
			for d := range o {
				for i := range x {
					if nLanes == 64 {
						x[i] = fold64(lanes[i*hd+d], lanes[(16+i)*hd+d], lanes[(32+i)*hd+d], lanes[(48+i)*hd+d])
					} else {
						x[i] = lanes[i*hd+d]
					}
				}
				o[d] = reduce16(&x)
			}
		}
	}
	need := padded + hd + nLanes*hd
	if rows*total*hd < minParallelAttention {
		// Decoding a short context: less work than the pool's hand-off.
		heads(0, rows*c.Heads, grow(&w.scores, need))
		return
	}
	w.parallel(rows*c.Heads, need, heads)
}

// minParallelAttention is the attention work (rows x positions x head
// size) below which attend runs its heads on the calling thread.
const minParallelAttention = 1 << 16

// fold64 adds lane i of ggml's four accumulators as GGML_F32x16_REDUCE
// does: (s0 + s2) + (s1 + s3).
func fold64(s0, s1, s2, s3 float32) float32 {
	return (s0 + s2) + (s1 + s3)
}

// softmaxF16 is softmax16 followed by roundF16 of s[first:n], in tensor's
// assembly where it has it (bit-identical).
func softmaxF16(s []float32, first, n int) {
	if tensor.SoftmaxF16(s, first, n) {
		return
	}
	softmax16(s, first, n)
	roundF16(s[first:n])
}

// softmax16 replaces s[first:n] with its softmax like ggml_soft_max on a
// row whose other positions are masked (-Inf, weight 0): exponentials are
// summed 16 positions at a time, the groups aligned at position 0. s must
// have room up to n rounded up to 16; the masked positions of the groups
// touched are set to 0.
func softmax16(s []float32, first, n int) {
	m := float32(math.Inf(-1))
	for _, v := range s[first:n] {
		m = max(m, v)
	}
	var sum float64
	for c := first &^ 15; c < n; c += 16 {
		var e [16]float32
		for i := range e {
			if t := c + i; t >= first && t < n {
				e[i] = expV(s[t] - m)
			}
			s[c+i] = e[i]
		}
		sum += float64(reduce16(&e))
	}
	inv := float32(1 / sum)
	for i := range s[first:n] {
		s[first+i] *= inv
	}
}
