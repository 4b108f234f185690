//go:build amd64 && !noasm && gc

package tensor

import "golang.org/x/sys/cpu"

//go:generate go run ./_asm -out dot_amd64.s

// The assembly kernels of dot_amd64.s, written by _asm/main.go.

// Packed 32-element block kernels (see pack.go): out[i] = W[i]·a for the
// 8*groups rows of groups packed row groups at w, each of blocks blocks,
// against an activation with quants qs, scales d, Q8_1 scaled sums s and
// offset corrections corr (see actRow). groups >= 1, blocks >= 1.

//go:noescape
func q40PackedAVX2(w *byte, groups, blocks int, qs *int8, d, s *float32, corr *int32, out *float32)

//go:noescape
func q40PackedVNNI(w *byte, groups, blocks int, qs *int8, d, s *float32, corr *int32, out *float32)

//go:noescape
func q41PackedAVX2(w *byte, groups, blocks int, qs *int8, d, s *float32, corr *int32, out *float32)

//go:noescape
func q41PackedVNNI(w *byte, groups, blocks int, qs *int8, d, s *float32, corr *int32, out *float32)

//go:noescape
func q50PackedAVX2(w *byte, groups, blocks int, qs *int8, d, s *float32, corr *int32, out *float32)

//go:noescape
func q50PackedVNNI(w *byte, groups, blocks int, qs *int8, d, s *float32, corr *int32, out *float32)

//go:noescape
func q51PackedAVX2(w *byte, groups, blocks int, qs *int8, d, s *float32, corr *int32, out *float32)

//go:noescape
func q51PackedVNNI(w *byte, groups, blocks int, qs *int8, d, s *float32, corr *int32, out *float32)

//go:noescape
func q80PackedAVX2(w *byte, groups, blocks int, qs *int8, d, s *float32, corr *int32, out *float32)

//go:noescape
func q80PackedVNNI(w *byte, groups, blocks int, qs *int8, d, s *float32, corr *int32, out *float32)

// Two-vector packed kernels (VNNI): the packed kernel for two activation
// vectors at once, (qs, d, s, corr) into out and (qs2, d2, s2, corr2) into
// out2, bit-identical to two calls of the one-vector kernel.

//go:noescape
func q40Packed2VNNI(w *byte, groups, blocks int, qs *int8, d, s *float32, corr *int32, out *float32, qs2 *int8, d2, s2 *float32, corr2 *int32, out2 *float32)

//go:noescape
func q41Packed2VNNI(w *byte, groups, blocks int, qs *int8, d, s *float32, corr *int32, out *float32, qs2 *int8, d2, s2 *float32, corr2 *int32, out2 *float32)

//go:noescape
func q50Packed2VNNI(w *byte, groups, blocks int, qs *int8, d, s *float32, corr *int32, out *float32, qs2 *int8, d2, s2 *float32, corr2 *int32, out2 *float32)

//go:noescape
func q51Packed2VNNI(w *byte, groups, blocks int, qs *int8, d, s *float32, corr *int32, out *float32, qs2 *int8, d2, s2 *float32, corr2 *int32, out2 *float32)

//go:noescape
func q80Packed2VNNI(w *byte, groups, blocks int, qs *int8, d, s *float32, corr *int32, out *float32, qs2 *int8, d2, s2 *float32, corr2 *int32, out2 *float32)

// K-quant row kernels: out[i] = W[i]·a for rows rows of stride bytes at w,
// each of blocks super-blocks, against a Q8_K activation with quants qs,
// scales d and 16-element sums bsums. rows >= 1, blocks >= 1.

//go:noescape
func q4KRowsAVX2(w *byte, stride, rows, blocks int, qs *int8, d *float32, bsums *int16, out *float32)

//go:noescape
func q5KRowsAVX2(w *byte, stride, rows, blocks int, qs *int8, d *float32, bsums *int16, out *float32)

//go:noescape
func q6KRowsAVX2(w *byte, stride, rows, blocks int, qs *int8, d *float32, bsums *int16, out *float32)

// kRowsAsm is the signature of the K-quant row kernels.
type kRowsAsm func(w *byte, stride, rows, blocks int, qs *int8, d *float32, bsums *int16, out *float32)

// kRows wraps a K-quant row kernel for weights of type t.
func kRows(t Type, k kRowsAsm) rowsFunc {
	bs := t.BlockSize()
	return func(w []byte, stride int, a *actRow, out []float32) {
		n := len(out)
		if n == 0 {
			return
		}
		blocks := len(a.d)
		if stride < blocks*bs || len(w) < (n-1)*stride+blocks*bs || len(a.bsums) < blocks*QKK/16 {
			panic("tensor: K-quant row kernel: short weights or activation sums")
		}
		checkKernelArgs(w, 1, blocks*bs, blocks, QKK, a)
		k(&w[0], stride, n, blocks, &a.qs[0], &a.d[0], &a.bsums[0], &out[0])
	}
}

// Activation quantizer (see quantizeActQ8), blocks >= 1.
//
//go:noescape
func quantQ8AVX2(x *float32, blocks int, qs *int8, d, s *float32, sum4 *int32)

// quantizeQ8 is the Q8_0/Q8_1 activation quantizer: assembly when the CPU
// has AVX2 and F16C, with bit-identical results.
var quantizeQ8 = func() func(x []float32, qs []int8, d, s []float32, sum4 []int32) {
	if !cpu.X86.HasAVX2 || !cpu.X86.HasF16C {
		return quantizeActQ8
	}
	return quantizeQ8AVX2
}()

// quantizeQ8AVX2 runs quantQ8AVX2 on len(d) blocks after checking that the
// buffers hold them.
func quantizeQ8AVX2(x []float32, qs []int8, d, s []float32, sum4 []int32) {
	blocks := len(d)
	if blocks == 0 {
		return
	}
	if len(x) < blocks*QK || len(qs) < blocks*QK || len(sum4) < blocks*QK/4 || (s != nil && len(s) < blocks) {
		panic("tensor: quantizeQ8AVX2: short buffers")
	}
	var sp *float32
	if s != nil {
		sp = &s[0]
	}
	quantQ8AVX2(&x[0], blocks, &qs[0], &d[0], sp, &sum4[0])
}

// packedAsm is the signature of the packed kernels.
type packedAsm func(w *byte, groups, blocks int, qs *int8, d, s *float32, corr *int32, out *float32)

// packedKernel wraps a packed assembly kernel for weights of type t.
func packedKernel(t Type, k packedAsm) packedFunc {
	size := packedSize(t)
	return func(w []byte, groups int, a *actRow, out []float32) {
		if groups <= 0 {
			return
		}
		blocks := len(a.d)
		checkKernelArgs(w, groups*blocks, size, blocks, QK, a)
		if len(out) < groups*packRows || len(a.corr) < blocks*QK/4 {
			panic("tensor: packed kernel: short output or activation corrections")
		}
		var s *float32
		if t.VecDotType() == Q8_1 {
			if len(a.s) < blocks {
				panic("tensor: packed kernel: Q8_1 activation without sums")
			}
			s = &a.s[0]
		}
		k(&w[0], groups, blocks, &a.qs[0], &a.d[0], s, &a.corr[0], &out[0])
	}
}

// packed2Asm is the signature of the two-vector packed kernels.
type packed2Asm func(w *byte, groups, blocks int, qs *int8, d, s *float32, corr *int32, out *float32,
	qs2 *int8, d2, s2 *float32, corr2 *int32, out2 *float32)

// packedKernel2 wraps a two-vector packed assembly kernel for weights of
// type t.
func packedKernel2(t Type, k packed2Asm) packed2Func {
	size := packedSize(t)
	q81 := t.VecDotType() == Q8_1
	ptrs := func(a *actRow, blocks int, out []float32, groups int) (*int8, *float32, *float32, *int32) {
		if len(a.qs) < blocks*QK || len(a.d) < blocks || len(out) < groups*packRows || len(a.corr) < blocks*QK/4 {
			panic("tensor: two-vector packed kernel: short output or activation")
		}
		var s *float32
		if q81 {
			if len(a.s) < blocks {
				panic("tensor: two-vector packed kernel: Q8_1 activation without sums")
			}
			s = &a.s[0]
		}
		return &a.qs[0], &a.d[0], s, &a.corr[0]
	}
	return func(w []byte, groups int, a, b *actRow, outA, outB []float32) {
		if groups <= 0 {
			return
		}
		blocks := len(a.d)
		if len(b.d) != blocks {
			panic("tensor: two-vector packed kernel: activations of different lengths")
		}
		checkKernelArgs(w, groups*blocks, size, blocks, QK, a)
		qa, da, sa, ca := ptrs(a, blocks, outA, groups)
		qb, db, sb, cb := ptrs(b, blocks, outB, groups)
		k(&w[0], groups, blocks, qa, da, sa, ca, &outA[0], qb, db, sb, cb, &outB[0])
	}
}

// asmKernelSets lists the assembly kernels this CPU can run, best first.
var asmKernelSets = func() []kernelSet {
	x := cpu.X86
	if !x.HasAVX2 || !x.HasFMA || !x.HasF16C {
		return nil
	}
	var sets []kernelSet
	if x.HasAVX512F && x.HasAVX512VL && x.HasAVX512BW && x.HasAVX512VNNI {
		sets = append(sets, kernelSet{name: "vnni", packed: map[Type]packedFunc{
			Q4_0: packedKernel(Q4_0, q40PackedVNNI),
			Q4_1: packedKernel(Q4_1, q41PackedVNNI),
			Q5_0: packedKernel(Q5_0, q50PackedVNNI),
			Q5_1: packedKernel(Q5_1, q51PackedVNNI),
			Q8_0: packedKernel(Q8_0, q80PackedVNNI),
		}, packed2: map[Type]packed2Func{
			Q4_0: packedKernel2(Q4_0, q40Packed2VNNI),
			Q4_1: packedKernel2(Q4_1, q41Packed2VNNI),
			Q5_0: packedKernel2(Q5_0, q50Packed2VNNI),
			Q5_1: packedKernel2(Q5_1, q51Packed2VNNI),
			Q8_0: packedKernel2(Q8_0, q80Packed2VNNI),
		}})
	}
	sets = append(sets, kernelSet{name: "avx2", packed: map[Type]packedFunc{
		Q4_0: packedKernel(Q4_0, q40PackedAVX2),
		Q4_1: packedKernel(Q4_1, q41PackedAVX2),
		Q5_0: packedKernel(Q5_0, q50PackedAVX2),
		Q5_1: packedKernel(Q5_1, q51PackedAVX2),
		Q8_0: packedKernel(Q8_0, q80PackedAVX2),
	}, rows: map[Type]rowsFunc{
		Q4_K: kRows(Q4_K, q4KRowsAVX2),
		Q5_K: kRows(Q5_K, q5KRowsAVX2),
		Q6_K: kRows(Q6_K, q6KRowsAVX2),
	}})
	return sets
}()

// Attention kernels (see attention.go). attnScoresAVX2: hd a multiple of 16
// (lanes 16) or 64 (lanes 64), n >= 1. attnAccumAVX2: hd a multiple of 8,
// lanes a power of two, first < n.

//go:noescape
func attnScoresAVX2(q, k *float32, stride, n, hd, lanes int, scale float32, out *float32)

//go:noescape
func attnAccumAVX2(s, v *float32, stride, first, n, hd, lanes int, out *float32)

var hasAttnAsm = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// attnScores runs the assembly kernel when the CPU and the head size allow.
func attnScores(q, k []float32, stride, lanes int, scale float32, out []float32) {
	hd := len(q)
	if !hasAttnAsm || hd == 0 || hd%lanes != 0 {
		attnScoresGo(q, k, stride, lanes, scale, out)
		return
	}
	attnScoresAVX2(&q[0], &k[0], stride, len(out), hd, lanes, scale, &out[0])
}

// attnAccumulate runs the assembly kernel when the CPU and the head size
// allow.
func attnAccumulate(s, v []float32, stride, first, n, lanes int, out []float32) {
	hd := len(out) / lanes
	if !hasAttnAsm || hd == 0 || hd%8 != 0 {
		attnAccumulateGo(s, v, stride, first, n, lanes, out)
		return
	}
	attnAccumAVX2(&s[0], &v[0], stride, first, n, hd, lanes, &out[0])
}

// Tiled K-quant kernels (see MulKTiled): one row against vecs vectors.

//go:noescape
func q4KTiledAVX2(w *byte, blocks int, qs *int8, d *float32, bsums *int16, vecs int, out *float32, ostride int)

//go:noescape
func q6KTiledAVX2(w *byte, blocks int, qs *int8, d *float32, bsums *int16, vecs int, out *float32, ostride int)

// kTiledKernels holds the tiled K-quant kernels this CPU can run.
var kTiledKernels = func() map[Type]kTiledAsm {
	x := cpu.X86
	if !x.HasAVX2 || !x.HasFMA || !x.HasF16C {
		return nil
	}
	return map[Type]kTiledAsm{Q4_K: q4KTiledAVX2, Q6_K: q6KTiledAVX2}
}()

// AVX-512 kernels of ggml_soft_max (with the f16 rounding of attention
// weights) and ggml_vec_swiglu_f32 (see attention.go).

//go:noescape
func softmaxF16AVX512(s *float32, first, n int)

//go:noescape
func swigluAVX512(gate, up *float32, n int)

var hasAVX512Math = cpu.X86.HasAVX512F && cpu.X86.HasAVX512DQ && cpu.X86.HasF16C

// softmaxF16 runs the AVX-512 softmax kernel; false without one.
func softmaxF16(s []float32, first, n int) bool {
	if !hasAVX512Math {
		return false
	}
	softmaxF16AVX512(&s[0], first, n)
	return true
}

// swiglu16 runs the AVX-512 SwiGLU kernel on the whole 16s of gate and
// returns how many elements it did (0 without the kernel).
func swiglu16(gate, up []float32) int {
	n := len(gate) &^ 15
	if !hasAVX512Math || n == 0 {
		return 0
	}
	swigluAVX512(&gate[0], &up[0], n)
	return n
}

// Slice conversions between float32 and binary16 (F16C; n a positive
// multiple of 8), bit-identical to FP32ToFP16 and FP16ToFP32.

//go:noescape
func cvtF32F16AVX(dst *uint16, src *float32, n int)

//go:noescape
func cvtF16F32AVX(dst *float32, src *uint16, n int)

//go:noescape
func roundF16AVX(x *float32, n int)

var hasHalfAsm = cpu.X86.HasAVX && cpu.X86.HasF16C

// narrowF16 converts the whole 8s of src into dst (as long) with the
// assembly kernel and returns how many it did (0 without one).
func narrowF16(dst []uint16, src []float32) int {
	n := len(src) &^ 7
	if !hasHalfAsm || n == 0 {
		return 0
	}
	cvtF32F16AVX(&dst[0], &src[0], n)
	return n
}

// widenF16 converts the whole 8s of src into dst (as long) with the
// assembly kernel and returns how many it did (0 without one).
func widenF16(dst []float32, src []uint16) int {
	n := len(src) &^ 7
	if !hasHalfAsm || n == 0 {
		return 0
	}
	cvtF16F32AVX(&dst[0], &src[0], n)
	return n
}

// roundF16s rounds the whole 8s of x to binary16 in place with the
// assembly kernel and returns how many it did (0 without one).
func roundF16s(x []float32) int {
	n := len(x) &^ 7
	if !hasHalfAsm || n == 0 {
		return 0
	}
	roundF16AVX(&x[0], n)
	return n
}
