package tensor

import "fmt"

// Q8KBatch is n vectors of cols values quantized to ggml's block_q8_K (per
// 256 values a float32 scale, 256 int8 quants and the sums of each 16),
// stored one vector after the other: vector v's super-block b is D[v*nb+b],
// Qs[(v*nb+b)*256:], Bsums[(v*nb+b)*16:], nb = cols/256.
type Q8KBatch struct {
	N, Cols int
	D       []float32
	Qs      []int8
	Bsums   []int16
}

// Reset sizes b for n vectors of cols values (cols a multiple of 256),
// reusing its buffers when they are large enough. The contents are not
// cleared.
func (b *Q8KBatch) Reset(n, cols int) {
	nb := n * cols / QKK
	b.N, b.Cols = n, cols
	if cap(b.D) < nb {
		b.D, b.Qs, b.Bsums = make([]float32, nb), make([]int8, nb*QKK), make([]int16, nb*QKK/16)
	}
	b.D, b.Qs, b.Bsums = b.D[:nb], b.Qs[:nb*QKK], b.Bsums[:nb*QKK/16]
}

// KTiledAvailable reports whether MulKTiled has a kernel for weights of
// type t on this CPU and build (Q4_K and Q6_K with AVX2; never with the
// noasm tag). Callers use their own portable code otherwise.
func KTiledAvailable(t Type) bool { return kTiledKernels[t] != nil }

// MulKTiled sets out[v*outStride+r] = W[r]·a[v] for the rows [lo, hi) of
// the Q4_K or Q6_K matrix w (rows of rowBytes bytes) and every vector of a,
// in the float order of ggml-cpu's tiled K-quant matmul (llama.cpp's path
// for batches of 8 vectors or more): per super-block the exact integer
// sums s1 (scaled products) and s2 (Q4_K: mins times the activation
// sub-block sums) give r = fma(-dmin, s2, float32(s1)*d) (Q6_K: s1 of the
// quants minus 32, r = float32(s1)*d), and each result accumulates
// fma(r, d_a, acc) over the super-blocks. It panics if KTiledAvailable(t)
// is false or the buffers are short.
func MulKTiled(t Type, w []byte, rowBytes, lo, hi int, a *Q8KBatch, out []float32, outStride int) {
	k := kTiledKernels[t]
	if k == nil {
		panic("tensor: MulKTiled: no kernel for " + t.String())
	}
	if lo >= hi || a.N == 0 {
		return
	}
	nb := a.Cols / QKK
	if a.Cols%QKK != 0 || rowBytes < nb*t.BlockSize() || len(w) < (hi-1)*rowBytes+nb*t.BlockSize() ||
		len(a.D) < a.N*nb || len(a.Qs) < a.N*nb*QKK || len(a.Bsums) < a.N*nb*QKK/16 ||
		len(out) < (a.N-1)*outStride+hi || lo < 0 {
		panic(fmt.Sprintf("tensor: MulKTiled: %s rows [%d,%d) x %d vectors of %d: short buffers",
			t, lo, hi, a.N, a.Cols))
	}
	// Chunks of kTiledVecs vectors (32 KiB of quants for 2048 columns)
	// stay in L1 while the rows stream past them.
	for v := 0; v < a.N; v += kTiledVecs {
		vecs := min(kTiledVecs, a.N-v)
		s := v * nb
		for r := lo; r < hi; r++ {
			k(&w[r*rowBytes], nb, &a.Qs[s*QKK], &a.D[s], &a.Bsums[s*QKK/16], vecs, &out[v*outStride+r], outStride)
		}
	}
}

// kTiledVecs is how many vectors MulKTiled runs against each row per pass.
const kTiledVecs = 16

// kTiledAsm is the signature of the tiled K-quant kernels.
type kTiledAsm func(w *byte, blocks int, qs *int8, d *float32, bsums *int16, vecs int, out *float32, ostride int)
