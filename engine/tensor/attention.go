package tensor

// Attention kernels: the two products of ggml's CPU attention without flash
// attention over an f16 KV cache (widened to float32), in ggml's float order.
// Every product in them is of two f16 values, exact in float32, so a fused
// multiply-add equals a multiply and an add and the assembly (FMA) returns
// the bits of the Go code below.

// AttnScores sets out[t] = (q·k_t) * scale for t < len(out), with k_t =
// k[t*stride : t*stride+len(q)]. The dot products accumulate in lanes
// lanes, as ggml does for f16 operands: lanes 16 (llamafile's tinyBLAS,
// batches of two or more tokens; len(q) a multiple of 16) takes element e
// into lane e%16; lanes 64 (ggml_vec_dot_f16 with AVX-512, one token) takes
// element e of each whole 64 into lane e%64, folds the four 16-lane vectors
// as (s0+s2)+(s1+s3) and adds the elements past the last whole 64 one by
// one in float64. Then the 16 lanes are summed as _mm512_reduce_add_ps.
// q and k must hold f16 values (products exact).
func AttnScores(q, k []float32, stride, lanes int, scale float32, out []float32) {
	n, hd := len(out), len(q)
	if n == 0 {
		return
	}
	if (lanes != 16 && lanes != 64) || (lanes == 16 && hd%16 != 0) || len(k) < (n-1)*stride+hd {
		panic("tensor: AttnScores: bad lanes, head size or short keys")
	}
	attnScores(q, k, stride, lanes, scale, out)
}

// AttnAccumulate adds s[t] * v_t to row t%lanes of out for t in [first, n),
// with v_t = v[t*stride : t*stride+hd] and out (lanes, hd) row-major, hd =
// len(out)/lanes: ggml_mul_mat's lanes of V·softmax, each output dimension
// accumulating position t in lane t%lanes. lanes is 16 or 64; s and v must
// hold f16 values (products exact).
func AttnAccumulate(s, v []float32, stride, first, n, lanes int, out []float32) {
	if first >= n {
		return
	}
	if (lanes != 16 && lanes != 64) || len(out)%lanes != 0 {
		panic("tensor: AttnAccumulate: bad lanes")
	}
	hd := len(out) / lanes
	if first < 0 || len(s) < n || len(v) < (n-1)*stride+hd {
		panic("tensor: AttnAccumulate: short weights or values")
	}
	attnAccumulate(s, v, stride, first, n, lanes, out)
}

// attnScoresGo is the portable AttnScores.
func attnScoresGo(q, k []float32, stride, lanes int, scale float32, out []float32) {
	hd := len(q)
	for t := range out {
		kt := k[t*stride : t*stride+hd]
		if lanes == 64 {
			out[t] = dotLanes64(q, kt) * scale
		} else {
			out[t] = dotLanes16(q, kt) * scale
		}
	}
}

// attnAccumulateGo is the portable AttnAccumulate.
func attnAccumulateGo(s, v []float32, stride, first, n, lanes int, out []float32) {
	hd := len(out) / lanes
	for t := first; t < n; t++ {
		row := out[(t%lanes)*hd : (t%lanes+1)*hd]
		p := s[t]
		vt := v[t*stride : t*stride+hd]
		for d := range row {
			row[d] += p * vt[d]
		}
	}
}

// dotLanes16 is a·b accumulated in 16 lanes (len(a) a multiple of 16).
func dotLanes16(a, b []float32) float32 {
	b = b[:len(a)]
	var acc [16]float32
	for l := 0; l+16 <= len(a); l += 16 {
		x, y := a[l:l+16], b[l:l+16]
		for i := range acc {
			acc[i] += x[i] * y[i]
		}
	}
	return reduceAdd16(&acc)
}

// dotLanes64 is a·b accumulated as ggml_vec_dot_f16 with AVX-512.
func dotLanes64(a, b []float32) float32 {
	b = b[:len(a)]
	whole := len(a) &^ 63
	var acc [64]float32
	for l := 0; l < whole; l += 64 {
		x, y := a[l:l+64], b[l:l+64]
		for i := range acc {
			acc[i] += x[i] * y[i]
		}
	}
	var lanes [16]float32
	for i := range lanes {
		lanes[i] = (acc[i] + acc[32+i]) + (acc[16+i] + acc[48+i])
	}
	sum := float64(reduceAdd16(&lanes))
	for i := whole; i < len(a); i++ {
		sum += float64(a[i] * b[i])
	}
	return float32(sum)
}

// reduceAdd16 sums 16 lanes in the order of GCC's _mm512_reduce_add_ps.
func reduceAdd16(x *[16]float32) float32 {
	var h [8]float32
	for i := range h {
		h[i] = x[8+i] + x[i]
	}
	q0, q1, q2, q3 := h[4]+h[0], h[5]+h[1], h[6]+h[2], h[7]+h[3]
	return (q0 + q2) + (q1 + q3)
}

// SoftmaxF16 replaces s[first:n] with ggml_soft_max of it on a row whose
// other positions are masked, then rounds the weights to f16, as llama.cpp
// does before multiplying them by V: exponentials are ggml_v_expf's
// (AVX-512) of s - m, m the maximum of s[first:n]; they are summed 16
// positions at a time, the groups aligned at position 0, by
// _mm512_reduce_add_ps, and the group sums added in float64; the weights
// are then multiplied by float32(1/sum) and rounded to f16. The masked
// positions of the groups touched are set to 0; s must have room up to n
// rounded up to 16. It reports false, doing nothing, when this CPU or build
// has no kernel for it (AVX-512): the caller then runs its own Go code.
func SoftmaxF16(s []float32, first, n int) bool {
	if first >= n || first < 0 {
		return false
	}
	if len(s) < (n+15)&^15 {
		panic("tensor: SoftmaxF16: s shorter than n rounded up to 16")
	}
	return softmaxF16(s, first, n)
}

// SwiGLU16 sets gate[i] = silu(gate[i]) * up[i] for the first len(gate)
// rounded down to 16 elements as ggml_vec_swiglu_f32's AVX-512 loop does
// (silu(x) = x / (1 + ggml_v_expf(0 - x))) and returns how many it did: 0
// when this CPU or build has no kernel for it (AVX-512); the caller does
// the rest (ggml: the leftover elements) in its own code.
func SwiGLU16(gate, up []float32) int {
	if len(up) < len(gate) {
		panic("tensor: SwiGLU16: up shorter than gate")
	}
	return swiglu16(gate, up)
}
