// Command _asm writes dot_amd64.s, the amd64 assembly kernels of package
// tensor. Run it from engine/tensor with `go generate` (or
// `go run ./_asm -out dot_amd64.s`); docs/performance.md says why the
// kernels look as they do.
//
// Every kernel multiplies a whole run of weight rows by one quantized
// activation vector per call, so that the call overhead is paid per
// matrix slice rather than per row or block, and returns exactly the bits
// of the portable Go kernels (dot.go), which follow the float order of
// ggml's x86 AVX2 kernels (ggml-cpu/arch/x86/quants.c), the ones llama.cpp
// runs on the machines Realm targets:
//
//   - the 32-element block types (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0) read a copy
//     of the weights packed by groups of 8 rows (pack.go), so that one
//     256-bit register holds 4 quants of each of 8 rows and one
//     multiply-add serves 8 rows; with VNNI a second kernel per type takes
//     two activation vectors per pass (batches: each packed block is
//     loaded and unpacked once for both);
//   - the K-quants (Q4_K, Q5_K, Q6_K) read the file layout, one row at a
//     time over whole 256-element super-blocks;
//   - the Q8_0/Q8_1 activation quantizer is ggml's AVX2 quantize_row_q8_*.
//
// Two instruction sets are generated for the packed kernels: AVX2
// (VPMADDUBSW + VPMADDWD) and AVX512-VNNI on 256-bit registers (VPDPBUSD,
// EVEX encoded, so it needs AVX512VL too, and AVX512BW for the byte masks
// of Q5_0/Q5_1). Both give identical integer lanes, hence identical
// results; the K-quants and the quantizer are AVX2 only.
package main

import (
	"bytes"
	"encoding/binary"
	"flag"
	"fmt"
	"log"
	"math"
	"os"
	"strings"
)

// asm accumulates the output file.
type asm struct{ b bytes.Buffer }

func (a *asm) l(format string, args ...any) {
	fmt.Fprintf(&a.b, "\t"+format+"\n", args...)
}

func (a *asm) label(name string) { fmt.Fprintf(&a.b, "%s:\n", name) }

func (a *asm) comment(format string, args ...any) {
	fmt.Fprintf(&a.b, "\t// "+format+"\n", args...)
}

func (a *asm) raw(s string) { a.b.WriteString(s) }

// isa is the instruction set a kernel is written for.
type isa int

const (
	avx2 isa = iota
	vnni
)

func (i isa) suffix() string {
	if i == vnni {
		return "VNNI"
	}
	return "AVX2"
}

// Packed 32-element block kernels. Matrix repacks the weights of these
// types in groups of 8 rows (see pack.go): per group and block index, the
// eight rows' f16 scales (d[8], then m[8] for Q4_1/Q5_1), their high-bit
// masks (Q5_0/Q5_1: one uint32 per 4-element group j, bit 4r+t = element
// 4j+t of row r) and their quants with 4-byte granularity interleaved:
// 32-byte vector c holds row r's quant bytes 4c..4c+3 in dword lane r. A
// nibble vector so yields two unsigned vectors (low nibbles: elements
// 4c..4c+3, high: 16+4c..), and VPDPBUSD of such a vector with the
// activation's 4 quants of that group broadcast gives, in lane r, exactly
// ggml's integer lane j of row r for the block.
//
// The float work is ggml's x86 AVX2 kernels' (ggml_vec_dot_q4_1_q8_1 and
// friends), for eight rows at once: per 4-element group j an accumulator
// register (lane r: row r) gets FMA(d_x*d_y, float32(lane j), acc_j) per
// block; Q4_1/Q5_1 add m_x*s_y into a separate sum; at the end
// hsum_float_8's order: (acc_4+acc_0, ...), then (0+2) + (1+3), then + the
// min sum. So each row's result is bit-identical to llama.cpp's.
//
//	func q41PackedVNNI(w *byte, groups, blocks int, qs *int8, d, s *float32, corr *int32, out *float32)
//
// w: groups*blocks packed blocks; qs, d, s: the activation's quants,
// scales, Q8_1 scaled sums; corr: per 4-element group -offset*sum(y) for
// the types whose quants are stored with an offset (Q4_0 8, Q5_0 16, Q8_0
// 128 in the VNNI kernel, which flips the sign bit to make them unsigned).

// packedType describes one packed layout.
type packedType struct {
	name   string
	size   int // bytes of one packed block of 8 rows
	min    int // offset of m[8], or -1
	hm     int // offset of the high-bit masks, or -1
	quants int // offset of the quant vectors
	offset int // subtracted from every unsigned quant: 8, 16, 128 (Q8_0, sign flipped) or 0
}

var packedTypes = []packedType{
	{"Q4_0", 8 * 18, -1, -1, 16, 8},
	{"Q4_1", 8 * 20, 16, -1, 32, 0},
	{"Q5_0", 8 * 22, -1, 16, 48, 16},
	{"Q5_1", 8 * 24, 16, 32, 64, 0},
	{"Q8_0", 8 * 34, -1, -1, 16, 128},
}

// kernelName is the Go name of type t's packed kernel for is: "q41PackedVNNI".
func kernelName(t string, is isa) string {
	return "q" + strings.ReplaceAll(t[1:], "_", "") + "Packed" + is.suffix()
}

// packedKernel writes the kernel of pt for is.
//
// GPRs: SI walks the packed blocks, CX groups left, DI out, BX blocks
// left, R9 qs, R10 d, R11 s, R12 corr. Vector registers, AVX2 (16
// registers): Y8..Y15 the lane accumulators, Y7 the min sum, Y6 the block
// scales, Y0..Y5 temporaries, constants from memory. VNNI (EVEX, 32
// registers): Y16..Y23 accumulators, Y24 min sum, Y25 scales, Y15 nibble
// mask, Y14 bytes of 16, Y12 bytes of 0x80.
func packedKernel(a *asm, pt packedType, is isa) {
	name := kernelName(pt.name, is)
	a.raw(fmt.Sprintf("\n// func %s(w *byte, groups, blocks int, qs *int8, d, s *float32, corr *int32, out *float32)\n", name))
	a.raw(fmt.Sprintf("TEXT ·%s(SB), NOSPLIT, $0-64\n", name))
	accs := []string{"Y8", "Y9", "Y10", "Y11", "Y12", "Y13", "Y14", "Y15"}
	summ, dd := "Y7", "Y6"
	mask := "nibbleMask<>(SB)"
	if is == vnni {
		accs = []string{"Y16", "Y17", "Y18", "Y19", "Y20", "Y21", "Y22", "Y23"}
		summ, dd = "Y24", "Y25"
		mask = "Y15"
	}
	a.l("MOVQ w+0(FP), SI")
	a.l("MOVQ groups+8(FP), CX")
	a.l("MOVQ out+56(FP), DI")
	if is == vnni {
		a.l("VMOVDQU nibbleMask<>(SB), Y15")
		a.l("VMOVDQU bytes16<>(SB), Y14")
		a.l("VMOVDQU bytes128<>(SB), Y12")
	}
	a.label("group")
	for _, r := range accs {
		a.l("VXORPS %s, %s, %s", r, r, r)
	}
	if pt.min >= 0 {
		a.l("VXORPS %s, %s, %s", summ, summ, summ)
	}
	a.l("MOVQ qs+24(FP), R9")
	a.l("MOVQ d+32(FP), R10")
	a.l("MOVQ s+40(FP), R11")
	a.l("MOVQ corr+48(FP), R12")
	a.l("MOVQ blocks+16(FP), BX")
	a.label("block")
	a.comment("block scales d_x*d_y of the 8 rows")
	a.l("VCVTPH2PS (SI), %s", dd)
	a.l("VBROADCASTSS (R10), Y5")
	a.l("VMULPS Y5, %s, %s", dd, dd)
	if pt.min >= 0 {
		a.comment("summs += m_x*s_y")
		a.l("VCVTPH2PS %d(SI), Y4", pt.min)
		a.l("VBROADCASTSS (R11), Y5")
		a.l("VMULPS Y5, Y4, Y4")
		a.l("VADDPS Y4, %s, %s", summ, summ)
	}
	useCorr := pt.offset != 0 && !(pt.offset == 128 && is == avx2)
	// lane adds the unsigned (or, AVX2 Q8_0: sign-tricked) vector v times
	// activation group j into accumulator j.
	lane := func(v string, j int) {
		if is == vnni {
			if useCorr {
				a.l("VPBROADCASTD %d(R12), Y3", 4*j)
			} else {
				a.l("VPXOR Y3, Y3, Y3")
			}
			a.l("VPDPBUSD.BCST %d(R9), %s, Y3", 4*j, v)
		} else {
			if pt.offset != 128 {
				a.l("VPBROADCASTD %d(R9), Y5", 4*j)
				a.l("VPMADDUBSW Y5, %s, %s", v, v)
			}
			a.l("VPMADDWD words1<>(SB), %s, Y3", v)
			if useCorr {
				a.l("VPBROADCASTD %d(R12), Y5", 4*j)
				a.l("VPADDD Y5, Y3, Y3")
			}
		}
		a.l("VCVTDQ2PS Y3, Y3")
		a.l("VFMADD231PS %s, Y3, %s", dd, accs[j])
	}
	// highBits adds 16 to the bytes of v whose bit is set in mask j.
	highBits := func(v string, j int) {
		if pt.hm < 0 {
			return
		}
		if is == vnni {
			a.l("KMOVD %d(SI), K1", pt.hm+4*j)
			a.l("VPADDB Y14, %s, K1, %s", v, v)
			return
		}
		a.l("VPBROADCASTD %d(SI), Y5", pt.hm+4*j)
		a.l("VPSHUFB bitsShuffle<>(SB), Y5, Y5")
		a.l("VPOR bitsMask<>(SB), Y5, Y5")
		a.l("VPCMPEQB bytesFF<>(SB), Y5, Y5")
		a.l("VPAND bytes16<>(SB), Y5, Y5")
		a.l("VPOR Y5, %s, %s", v, v)
	}
	if pt.offset == 128 { // Q8_0: signed weights
		for j := 0; j < 8; j++ {
			q := fmt.Sprintf("%d(SI)", pt.quants+32*j)
			if is == vnni {
				// x+128 as unsigned; corr takes the 128*sum(y) off.
				a.l("VPXOR %s, Y12, Y0", q)
				lane("Y0", j)
				continue
			}
			// ggml's sign trick: |x| times y with the sign of x.
			a.l("VMOVDQU %s, Y0", q)
			a.l("VPBROADCASTD %d(R9), Y1", 4*j)
			a.l("VPSIGNB Y0, Y1, Y1")
			a.l("VPSIGNB Y0, Y0, Y0")
			a.l("VPMADDUBSW Y1, Y0, Y0")
			lane("Y0", j)
		}
	} else {
		for c := 0; c < 4; c++ {
			a.l("VMOVDQU %d(SI), Y0", pt.quants+32*c)
			a.l("VPSRLW $4, Y0, Y1")
			a.l("VPAND %s, Y0, Y0", mask)
			a.l("VPAND %s, Y1, Y1", mask)
			highBits("Y0", c)
			highBits("Y1", c+4)
			lane("Y0", c)
			lane("Y1", c+4)
		}
	}
	a.l("ADDQ $%d, SI", pt.size)
	a.l("ADDQ $32, R9")
	a.l("ADDQ $4, R10")
	a.l("ADDQ $4, R11")
	a.l("ADDQ $32, R12")
	a.l("DECQ BX")
	a.l("JNZ block")
	a.comment("hsum_float_8 per row: (acc4+acc0, acc5+acc1, ...), (0+2) + (1+3)")
	for i := 0; i < 4; i++ {
		a.l("VADDPS %s, %s, Y%d", accs[i], accs[4+i], i)
	}
	a.l("VADDPS Y2, Y0, Y0")
	a.l("VADDPS Y3, Y1, Y1")
	a.l("VADDPS Y1, Y0, Y0")
	if pt.min >= 0 {
		a.l("VADDPS %s, Y0, Y0", summ)
	}
	a.l("VMOVUPS Y0, (DI)")
	a.l("ADDQ $32, DI")
	a.l("DECQ CX")
	a.l("JNZ group")
	a.l("VZEROUPPER")
	a.l("RET")
}

// packedKernel2 writes the two-vector kernel of pt (VNNI only: it needs
// the 32 vector registers): the same as packedKernel for two activation
// vectors a and b at once, so that each packed block is loaded and
// unpacked once for both. Each vector has its own accumulators, scales and
// min sum, and every float operation of a row's result is the one-vector
// kernel's in the same order, so both outputs are bit-identical to it.
//
//	func q41Packed2VNNI(w *byte, groups, blocks int, qs *int8, d, s *float32, corr *int32, out *float32,
//		qs2 *int8, d2, s2 *float32, corr2 *int32, out2 *float32)
//
// GPRs: SI packed blocks, CX groups left, DI out, DX out2, R8 4*block
// index, BX 4*blocks; R9, R10, R11 vector a's qs, d and s or corr (a type
// has a min sum or an offset, never both); R12, R13, AX vector b's. R14
// and R15 are left alone (g, and the GOT when dynamically linked).
// Vector registers: Y16..Y23 a's lane accumulators, Y24..Y31 b's; Y13,
// Y11 their scales, Y10, Y9 their min sums; Y15 nibble mask, Y14 bytes of
// 16, Y12 bytes of 0x80; Y0..Y8 temporaries.
func packedKernel2(a *asm, pt packedType) {
	name := "q" + strings.ReplaceAll(pt.name[1:], "_", "") + "Packed2VNNI"
	a.raw(fmt.Sprintf("\n// func %s(w *byte, groups, blocks int, qs *int8, d, s *float32, corr *int32, out *float32, qs2 *int8, d2, s2 *float32, corr2 *int32, out2 *float32)\n", name))
	a.raw(fmt.Sprintf("TEXT ·%s(SB), NOSPLIT, $0-104\n", name))
	type vec struct {
		accs           []string
		summ, dd, tmp  string
		qs, d, sOrCorr string
	}
	vs := []vec{
		{[]string{"Y16", "Y17", "Y18", "Y19", "Y20", "Y21", "Y22", "Y23"}, "Y10", "Y13", "Y3", "R9", "R10", "R11"},
		{[]string{"Y24", "Y25", "Y26", "Y27", "Y28", "Y29", "Y30", "Y31"}, "Y9", "Y11", "Y6", "R12", "R13", "AX"},
	}
	useCorr := pt.offset != 0
	a.l("MOVQ w+0(FP), SI")
	a.l("MOVQ groups+8(FP), CX")
	a.l("MOVQ blocks+16(FP), BX")
	a.l("SHLQ $2, BX")
	a.l("MOVQ qs+24(FP), R9")
	a.l("MOVQ d+32(FP), R10")
	if useCorr {
		a.l("MOVQ corr+48(FP), R11")
		a.l("MOVQ corr2+88(FP), AX")
	} else {
		a.l("MOVQ s+40(FP), R11")
		a.l("MOVQ s2+80(FP), AX")
	}
	a.l("MOVQ out+56(FP), DI")
	a.l("MOVQ qs2+64(FP), R12")
	a.l("MOVQ d2+72(FP), R13")
	a.l("MOVQ out2+96(FP), DX")
	a.l("VMOVDQU nibbleMask<>(SB), Y15")
	a.l("VMOVDQU bytes16<>(SB), Y14")
	a.l("VMOVDQU bytes128<>(SB), Y12")
	a.label("group")
	for _, v := range vs {
		for _, r := range v.accs {
			a.l("VXORPS %s, %s, %s", r, r, r)
		}
		if pt.min >= 0 {
			a.l("VXORPS %s, %s, %s", v.summ, v.summ, v.summ)
		}
	}
	a.l("XORQ R8, R8")
	a.label("block")
	a.comment("block scales d_x*d_y of the 8 rows, per vector")
	a.l("VCVTPH2PS (SI), Y4")
	for _, v := range vs {
		a.l("VBROADCASTSS (%s)(R8*1), Y5", v.d)
		a.l("VMULPS Y5, Y4, %s", v.dd)
	}
	if pt.min >= 0 {
		a.comment("summs += m_x*s_y")
		a.l("VCVTPH2PS %d(SI), Y4", pt.min)
		for _, v := range vs {
			a.l("VBROADCASTSS (%s)(R8*1), Y5", v.sOrCorr)
			a.l("VMULPS Y5, Y4, Y5")
			a.l("VADDPS Y5, %s, %s", v.summ, v.summ)
		}
	}
	lane := func(w string, j int) {
		for _, v := range vs {
			if useCorr {
				a.l("VPBROADCASTD %d(%s)(R8*8), %s", 4*j, v.sOrCorr, v.tmp)
			} else {
				a.l("VPXOR %s, %s, %s", v.tmp, v.tmp, v.tmp)
			}
			a.l("VPDPBUSD.BCST %d(%s)(R8*8), %s, %s", 4*j, v.qs, w, v.tmp)
			a.l("VCVTDQ2PS %s, %s", v.tmp, v.tmp)
			a.l("VFMADD231PS %s, %s, %s", v.dd, v.tmp, v.accs[j])
		}
	}
	highBits := func(w string, j int) {
		if pt.hm >= 0 {
			a.l("KMOVD %d(SI), K1", pt.hm+4*j)
			a.l("VPADDB Y14, %s, K1, %s", w, w)
		}
	}
	if pt.offset == 128 { // Q8_0: signed weights, made unsigned
		for j := 0; j < 8; j++ {
			a.l("VPXOR %d(SI), Y12, Y0", pt.quants+32*j)
			lane("Y0", j)
		}
	} else {
		for c := 0; c < 4; c++ {
			a.l("VMOVDQU %d(SI), Y0", pt.quants+32*c)
			a.l("VPSRLW $4, Y0, Y1")
			a.l("VPAND Y15, Y0, Y0")
			a.l("VPAND Y15, Y1, Y1")
			highBits("Y0", c)
			highBits("Y1", c+4)
			lane("Y0", c)
			lane("Y1", c+4)
		}
	}
	a.l("ADDQ $%d, SI", pt.size)
	a.l("ADDQ $4, R8")
	a.l("CMPQ R8, BX")
	a.l("JNE block")
	a.comment("hsum_float_8 per row and vector: (acc4+acc0, ...), (0+2) + (1+3)")
	for i, v := range vs {
		for k := 0; k < 4; k++ {
			a.l("VADDPS %s, %s, Y%d", v.accs[k], v.accs[4+k], k)
		}
		a.l("VADDPS Y2, Y0, Y0")
		a.l("VADDPS Y3, Y1, Y1")
		a.l("VADDPS Y1, Y0, Y0")
		if pt.min >= 0 {
			a.l("VADDPS %s, Y0, Y0", v.summ)
		}
		if i == 0 {
			a.l("VMOVUPS Y0, (DI)")
		} else {
			a.l("VMOVUPS Y0, (DX)")
		}
	}
	a.l("ADDQ $32, DI")
	a.l("ADDQ $32, DX")
	a.l("DECQ CX")
	a.l("JNZ group")
	a.l("VZEROUPPER")
	a.l("RET")
}

// halfKernels writes the slice conversions between float32 and binary16
// (F16C on 256-bit registers, 8 values per step; n a positive multiple of
// 8). VCVTPS2PH with immediate 0 rounds to nearest even whatever MXCSR
// says, turns NaNs quiet keeping the sign and the payload's top bits, and
// VCVTPH2PS widens exactly: the bits of tensor.FP32ToFP16/FP16ToFP32.
//
//	func cvtF32F16AVX(dst *uint16, src *float32, n int)
//	func cvtF16F32AVX(dst *float32, src *uint16, n int)
//	func roundF16AVX(x *float32, n int)
func halfKernels(a *asm) {
	a.raw("\n// func cvtF32F16AVX(dst *uint16, src *float32, n int)\n")
	a.raw("TEXT ·cvtF32F16AVX(SB), NOSPLIT, $0-24\n")
	a.l("MOVQ dst+0(FP), DI")
	a.l("MOVQ src+8(FP), SI")
	a.l("MOVQ n+16(FP), CX")
	a.label("narrow")
	a.l("VMOVUPS (SI), Y0")
	a.l("VCVTPS2PH $0, Y0, X1")
	a.l("VMOVDQU X1, (DI)")
	a.l("ADDQ $32, SI")
	a.l("ADDQ $16, DI")
	a.l("SUBQ $8, CX")
	a.l("JNZ narrow")
	a.l("VZEROUPPER")
	a.l("RET")

	a.raw("\n// func cvtF16F32AVX(dst *float32, src *uint16, n int)\n")
	a.raw("TEXT ·cvtF16F32AVX(SB), NOSPLIT, $0-24\n")
	a.l("MOVQ dst+0(FP), DI")
	a.l("MOVQ src+8(FP), SI")
	a.l("MOVQ n+16(FP), CX")
	a.label("widen")
	a.l("VCVTPH2PS (SI), Y0")
	a.l("VMOVUPS Y0, (DI)")
	a.l("ADDQ $16, SI")
	a.l("ADDQ $32, DI")
	a.l("SUBQ $8, CX")
	a.l("JNZ widen")
	a.l("VZEROUPPER")
	a.l("RET")

	a.raw("\n// func roundF16AVX(x *float32, n int)\n")
	a.raw("TEXT ·roundF16AVX(SB), NOSPLIT, $0-16\n")
	a.l("MOVQ x+0(FP), SI")
	a.l("MOVQ n+8(FP), CX")
	a.label("round")
	a.l("VMOVUPS (SI), Y0")
	a.l("VCVTPS2PH $0, Y0, X1")
	a.l("VCVTPH2PS X1, Y0")
	a.l("VMOVUPS Y0, (SI)")
	a.l("ADDQ $32, SI")
	a.l("SUBQ $8, CX")
	a.l("JNZ round")
	a.l("VZEROUPPER")
	a.l("RET")
}

// K-quant row kernels (AVX2), one row at a time over whole super-blocks:
//
//	func q4KRowsAVX2(w *byte, stride, rows, blocks int, qs *int8, d *float32, bsums *int16, out *float32)
//
// They follow ggml_vec_dot_q{4,5,6}_K_q8_K's AVX2 branch, like the portable
// kernels (dot.go): integer lane k of a super-block sums bytes 4k..4k+3 of
// every 32-byte run of quants times their sub-block scale (VPMADDUBSW, then
// VPMADDWD by the scales), and is added into float lane k with one FMA by
// d_x*d_y; the lanes are summed as hsum_float_8. Q4_K's mins go to four
// FMA lanes, Q5_K's to a scalar sum, Q6_K's offset of 32 is taken out of
// the integer lanes through the activation's 16-sums.
//
// GPRs: SI row, DX stride, DI out, R13 super-block, R9 qs, R10 d, R11
// bsums, BX super-blocks left; the row count is kept in its argument slot.
// AX is free. Y15 nibble mask, Y14 bytes of 16, Y13 scales, Y12 integer
// lanes, Y11 float lanes, X10 the min lanes (Q4_K) or sum (Q5_K).
type kType struct {
	name string
	size int // super-block bytes
}

var kTypes = []kType{{"Q4_K", 144}, {"Q5_K", 176}, {"Q6_K", 210}}

func kKernel(a *asm, kt kType) {
	name := "q" + strings.ReplaceAll(kt.name[1:], "_", "") + "RowsAVX2"
	a.raw(fmt.Sprintf("\n// func %s(w *byte, stride, rows, blocks int, qs *int8, d *float32, bsums *int16, out *float32)\n", name))
	a.raw(fmt.Sprintf("TEXT ·%s(SB), NOSPLIT, $0-64\n", name))
	a.l("MOVQ w+0(FP), SI")
	a.l("MOVQ stride+8(FP), DX")
	a.l("MOVQ out+56(FP), DI")
	a.l("VMOVDQU nibbleMask<>(SB), Y15")
	a.l("VMOVDQU bytes16<>(SB), Y14")
	a.label("row")
	a.l("VXORPS Y11, Y11, Y11")
	a.l("VXORPS X10, X10, X10")
	a.l("MOVQ SI, R13")
	a.l("MOVQ qs+32(FP), R9")
	a.l("MOVQ d+40(FP), R10")
	a.l("MOVQ bsums+48(FP), R11")
	a.l("MOVQ blocks+24(FP), BX")
	a.label("block")
	a.l("VPXOR Y12, Y12, Y12")
	if kt.name == "Q6_K" {
		q6kBody(a)
		a.l("MOVWLZX 208(R13), AX")
		a.l("VMOVD AX, X3")
		a.l("VCVTPH2PS X3, X3")
		a.l("VMULSS (R10), X3, X5")
	} else {
		kMins(a, kt.name == "Q4_K")
		if kt.name == "Q5_K" {
			a.l("VMOVDQU 16(R13), Y9")
		}
		quants := 16
		if kt.name == "Q5_K" {
			quants = 48
		}
		for g := 0; g < 4; g++ {
			a.l("VMOVDQU %d(R13), Y0", quants+32*g)
			a.l("VPSRLW $4, Y0, Y1")
			a.l("VPAND Y15, Y0, Y0")
			a.l("VPAND Y15, Y1, Y1")
			if kt.name == "Q5_K" {
				// bit 2g of qh[l] is bit 4 of the low quant, bit 2g+1 of the high one
				for i, v := range []string{"Y0", "Y1"} {
					b := 2*g + i
					switch {
					case b < 4:
						a.l("VPSLLW $%d, Y9, Y2", 4-b)
					case b == 4:
						a.l("VMOVDQA Y9, Y2")
					default:
						a.l("VPSRLW $%d, Y9, Y2", b-4)
					}
					a.l("VPAND Y14, Y2, Y2")
					a.l("VPOR Y2, %s, %s", v, v)
				}
			}
			a.l("VPMADDUBSW %d(R9), Y0, Y0", 64*g)
			a.l("VPMADDUBSW %d(R9), Y1, Y1", 64*g+32)
			a.l("VPSHUFB k4Shuffle<>+%d(SB), Y13, Y2", 64*g)
			a.l("VPMADDWD Y2, Y0, Y0")
			a.l("VPSHUFB k4Shuffle<>+%d(SB), Y13, Y3", 64*g+32)
			a.l("VPMADDWD Y3, Y1, Y1")
			a.l("VPADDD Y0, Y12, Y12")
			a.l("VPADDD Y1, Y12, Y12")
		}
	}
	a.comment("lanes += (d_x*d_y) * integer lanes, fused")
	a.l("VCVTDQ2PS Y12, Y12")
	a.l("VBROADCASTSS X5, Y5")
	a.l("VFMADD231PS Y5, Y12, Y11")
	a.l("ADDQ $%d, R13", kt.size)
	a.l("ADDQ $256, R9")
	a.l("ADDQ $4, R10")
	a.l("ADDQ $32, R11")
	a.l("DECQ BX")
	a.l("JNZ block")
	a.comment("hsum_float_8 of the lanes")
	a.l("VEXTRACTF128 $1, Y11, X1")
	a.l("VADDPS X11, X1, X1")
	a.l("VMOVHLPS X1, X1, X2")
	a.l("VADDPS X2, X1, X1")
	a.l("VMOVSHDUP X1, X2")
	a.l("VADDSS X2, X1, X1")
	switch kt.name {
	case "Q4_K":
		a.comment("+ (min0+min2) + (min1+min3)")
		a.l("VMOVHLPS X10, X10, X2")
		a.l("VADDPS X2, X10, X10")
		a.l("VMOVSHDUP X10, X2")
		a.l("VADDSS X2, X10, X10")
		a.l("VADDSS X10, X1, X1")
	case "Q5_K":
		a.l("VADDSS X10, X1, X1")
	}
	a.l("VMOVSS X1, (DI)")
	a.l("ADDQ DX, SI")
	a.l("ADDQ $4, DI")
	a.l("DECQ rows+16(FP)")
	a.l("JNZ row")
	a.l("VZEROUPPER")
	a.l("RET")
}

// kMins unpacks the scales and mins of a Q4_K/Q5_K super-block (ggml's
// get_scale_min_k4 on all eight at once), leaves the scales as int16 in
// both halves of Y13 and X5 = d_x*d_y, and accounts for the mins: the four
// integer min lanes (lane i: min 2i times the activation sum of sub-block
// 2i, plus the same for 2i+1) go into X10 by fused multiply-adds with
// -dmin_x*d_y (q4k), or their sum times that into the scalar X10 (Q5_K).
func kMins(a *asm, q4k bool) {
	kScalesMins(a)
	// X5 = d_x*d_y, X6 = dmin_x*d_y
	a.l("VMOVD (R13), X3")
	a.l("VCVTPH2PS X3, X3")
	a.l("VMULSS (R10), X3, X5")
	a.l("VMOVSHDUP X3, X6")
	a.l("VMULSS (R10), X6, X6")
	if q4k {
		a.l("VCVTDQ2PS X2, X2")
		a.l("VBROADCASTSS X6, X6")
		a.l("VFNMADD231PS X6, X2, X10")
		return
	}
	a.l("VPSHUFD $0x4e, X2, X3")
	a.l("VPADDD X3, X2, X2")
	a.l("VPSHUFD $0xb1, X2, X3")
	a.l("VPADDD X3, X2, X2")
	a.l("VCVTDQ2PS X2, X2")
	a.l("VMULSS X2, X6, X6")
	a.l("VSUBSS X6, X10, X10")
}

// kScalesMins unpacks the scales and mins of a Q4_K/Q5_K super-block
// at R13 (ggml's get_scale_min_k4 on all eight at once): the scales as
// int16 in both halves of Y13, and in X2 the four integer min lanes (lane
// i: min 2i times the activation sum of sub-block 2i, from the 16-sums at
// R11, plus the same for 2i+1). Clobbers X0..X4.
func kScalesMins(a *asm) {
	// X0 = [u0, u1, u2, -] (bytes 0..11 of the packed scales)
	a.l("VMOVDQU 4(R13), X0")
	// [u0&3f, u2&0f, u1&3f, (u2>>4)&0f] | [0, (u0>>6&3)<<4, 0, (u1>>6&3)<<4]
	a.l("VPSHUFD $0x98, X0, X1") // [u0, u2, u1, u2]
	a.l("VPSRLVD kScaleShift<>(SB), X1, X1")
	a.l("VPAND kScaleMask<>(SB), X1, X1")
	a.l("VPSHUFD $0x50, X0, X2") // [u0, u0, u1, u1]
	a.l("VPSRLD $6, X2, X2")
	a.l("VPAND kScaleHigh<>(SB), X2, X2")
	a.l("VPSLLD $4, X2, X2")
	a.l("VPOR X2, X1, X1")
	// Y1 = int16 [scales 0..7, mins 0..7]
	a.l("VPMOVZXBW X1, Y1")
	a.l("VPERMQ $0x44, Y1, Y13")
	// X2 = the 8 sub-block sums of activations (pairs of 16-sums)
	a.l("VMOVDQU (R11), Y2")
	a.l("VEXTRACTI128 $1, Y2, X3")
	a.l("VPHADDW X3, X2, X2")
	// X2 = the 4 integer min lanes
	a.l("VEXTRACTI128 $1, Y1, X4")
	a.l("VPMADDWD X2, X4, X2")
}

// q6kBody adds a Q6_K super-block's integer lanes into Y12: unsigned
// quants times activations times the int8 scales of 16 elements, minus 32
// times the activation 16-sums times their scales (lane m: sub-blocks 2m
// and 2m+1).
func q6kBody(a *asm) {
	a.l("VMOVDQU 192(R13), X13")
	for h := 0; h < 2; h++ {
		a.l("VMOVDQU %d(R13), Y6", 64*h)     // ql bytes 0..31 of the half
		a.l("VMOVDQU %d(R13), Y7", 64*h+32)  // ql bytes 32..63
		a.l("VMOVDQU %d(R13), Y8", 128+32*h) // qh
		for k := 0; k < 4; k++ {
			lo := "Y6"
			if k%2 == 1 {
				lo = "Y7"
			}
			if k < 2 {
				a.l("VPAND Y15, %s, Y0", lo)
			} else {
				a.l("VPSRLW $4, %s, Y0", lo)
				a.l("VPAND Y15, Y0, Y0")
			}
			// bits 2k, 2k+1 of qh as bits 4, 5
			switch k {
			case 0:
				a.l("VPSLLW $4, Y8, Y1")
			case 1:
				a.l("VPSLLW $2, Y8, Y1")
			case 2:
				a.l("VMOVDQA Y8, Y1")
			case 3:
				a.l("VPSRLW $2, Y8, Y1")
			}
			a.l("VPAND bytes48<>(SB), Y1, Y1")
			a.l("VPOR Y1, Y0, Y0")
			a.l("VPMADDUBSW %d(R9), Y0, Y0", 128*h+32*k)
			a.l("VPSHUFB q6Shuffle<>+%d(SB), X13, X1", 16*(4*h+k))
			a.l("VPMOVSXBW X1, Y1")
			a.l("VPMADDWD Y1, Y0, Y0")
			a.l("VPADDD Y0, Y12, Y12")
		}
	}
	a.l("VPMOVSXBW X13, Y1")
	a.l("VPMADDWD (R11), Y1, Y1")
	a.l("VPSLLD $5, Y1, Y1")
	a.l("VPSUBD Y1, Y12, Y12")
}

// quantizeQ8 writes the activation quantizer, ggml's AVX2
// quantize_row_q8_0 / quantize_row_q8_1:
//
//	func quantQ8AVX2(x *float32, blocks int, qs *int8, d, s *float32, sum4 *int32)
//
// Per block of 32: amax = max |x|, d = f16(amax/127), q = round-half-even(x
// * (127/amax)) saturated to int8 (0 when amax is 0), sum4 = the sums of
// each 4 consecutive q, and when s is not nil s = f16(amax/127 * sum(q)).
func quantizeQ8(a *asm) {
	a.raw("\n// func quantQ8AVX2(x *float32, blocks int, qs *int8, d, s *float32, sum4 *int32)\n")
	a.raw("TEXT ·quantQ8AVX2(SB), NOSPLIT, $0-48\n")
	a.l("MOVQ x+0(FP), SI")
	a.l("MOVQ blocks+8(FP), CX")
	a.l("MOVQ qs+16(FP), DI")
	a.l("MOVQ d+24(FP), R10")
	a.l("MOVQ s+32(FP), R11")
	a.l("MOVQ sum4+40(FP), R12")
	a.l("VMOVDQU absMask<>(SB), Y12")
	a.l("VMOVDQU packPerm<>(SB), Y13")
	a.l("VMOVDQU bytes1<>(SB), Y11")
	a.l("VMOVDQU words1<>(SB), Y10")
	a.label("loop")
	for i := 0; i < 4; i++ {
		a.l("VMOVUPS %d(SI), Y%d", 32*i, i)
	}
	a.comment("X4 = amax")
	a.l("VANDPS Y12, Y0, Y4")
	for i := 1; i < 4; i++ {
		a.l("VANDPS Y12, Y%d, Y5", i)
		a.l("VMAXPS Y5, Y4, Y4")
	}
	a.l("VEXTRACTF128 $1, Y4, X5")
	a.l("VMAXPS X5, X4, X4")
	a.l("VMOVHLPS X4, X4, X5")
	a.l("VMAXPS X5, X4, X4")
	a.l("VMOVSHDUP X4, X5")
	a.l("VMAXSS X5, X4, X4")
	a.comment("X5 = amax/127, X6 = 127/amax or 0")
	a.l("VMOVSS f127<>(SB), X6")
	a.l("VDIVSS X6, X4, X5")
	a.l("VDIVSS X4, X6, X6")
	a.l("VXORPS X7, X7, X7")
	a.l("VCMPSS $4, X7, X4, X7")
	a.l("VANDPS X7, X6, X6")
	a.l("VCVTPS2PH $0, X5, X8")
	a.l("VCVTPH2PS X8, X8")
	a.l("VMOVSS X8, (R10)")
	a.l("VBROADCASTSS X6, Y6")
	for i := 0; i < 4; i++ {
		a.l("VMULPS Y6, Y%d, Y%d", i, i)
		a.l("VROUNDPS $0, Y%d, Y%d", i, i)
		a.l("VCVTPS2DQ Y%d, Y%d", i, i)
	}
	a.comment("s = f16(d * sum(q)), the sum taken before saturation as ggml does")
	a.l("VPADDD Y1, Y0, Y8")
	a.l("VPADDD Y3, Y2, Y9")
	a.l("VPADDD Y9, Y8, Y8")
	a.l("VEXTRACTI128 $1, Y8, X9")
	a.l("VPADDD X9, X8, X8")
	a.l("VPSHUFD $0x4e, X8, X9")
	a.l("VPADDD X9, X8, X8")
	a.l("VPSHUFD $0xb1, X8, X9")
	a.l("VPADDD X9, X8, X8")
	a.l("TESTQ R11, R11")
	a.l("JZ pack")
	a.l("VCVTDQ2PS X8, X8")
	a.l("VMULSS X8, X5, X8")
	a.l("VCVTPS2PH $0, X8, X8")
	a.l("VCVTPH2PS X8, X8")
	a.l("VMOVSS X8, (R11)")
	a.l("ADDQ $4, R11")
	a.label("pack")
	a.l("VPACKSSDW Y1, Y0, Y0")
	a.l("VPACKSSDW Y3, Y2, Y2")
	a.l("VPACKSSWB Y2, Y0, Y0")
	a.l("VPERMD Y0, Y13, Y0")
	a.l("VMOVDQU Y0, (DI)")
	a.comment("sum4: byte pairs, then pairs of pairs")
	a.l("VPMADDUBSW Y0, Y11, Y1")
	a.l("VPMADDWD Y10, Y1, Y1")
	a.l("VMOVDQU Y1, (R12)")
	a.l("ADDQ $32, R12")
	a.l("ADDQ $128, SI")
	a.l("ADDQ $32, DI")
	a.l("ADDQ $4, R10")
	a.l("DECQ CX")
	a.l("JNZ loop")
	a.l("VZEROUPPER")
	a.l("RET")
}

// data writes a 32-byte constant.
func data(a *asm, name string, b [32]byte) { dataN(a, name, b[:]) }

// dataN writes a constant of len(b) bytes, a multiple of 8.
func dataN(a *asm, name string, b []byte) {
	for i := 0; i < len(b); i += 8 {
		var v uint64
		for j := 7; j >= 0; j-- {
			v = v<<8 | uint64(b[i+j])
		}
		a.raw(fmt.Sprintf("DATA %s<>+%d(SB)/8, $0x%016x\n", name, i, v))
	}
	a.raw(fmt.Sprintf("GLOBL %s<>(SB), RODATA|NOPTR, $%d\n\n", name, len(b)))
}

func fill(v byte) (b [32]byte) {
	for i := range b {
		b[i] = v
	}
	return b
}

func constants(a *asm) {
	var abs, perm [32]byte
	for i := 0; i < 32; i += 4 {
		abs[i], abs[i+1], abs[i+2], abs[i+3] = 0xff, 0xff, 0xff, 0x7f
		perm[i] = []byte{0, 4, 1, 5, 2, 6, 3, 7}[i/4]
	}
	data(a, "bytes1", fill(1))
	data(a, "bytes32", fill(32))
	data(a, "bytes48", fill(48))
	// kMins: per dword lane shift counts, masks and high-bit masks
	var kShift, kMask, kHigh [32]byte
	for i, v := range []uint32{0, 0, 0, 4} {
		binary.LittleEndian.PutUint32(kShift[4*i:], v)
	}
	for i, v := range []uint32{0x3f3f3f3f, 0x0f0f0f0f, 0x3f3f3f3f, 0x0f0f0f0f} {
		binary.LittleEndian.PutUint32(kMask[4*i:], v)
	}
	for i, v := range []uint32{0, 0x03030303, 0, 0x03030303} {
		binary.LittleEndian.PutUint32(kHigh[4*i:], v)
	}
	data(a, "kScaleShift", kShift)
	data(a, "kScaleMask", kMask)
	data(a, "kScaleHigh", kHigh)
	// k4Shuffle: 8 masks of 32 bytes, mask s broadcasts int16 scale s
	var k4 []byte
	for sc := 0; sc < 8; sc++ {
		for i := 0; i < 16; i++ {
			k4 = append(k4, byte(2*sc), byte(2*sc+1))
		}
	}
	dataN(a, "k4Shuffle", k4)
	// q6Shuffle: 8 masks of 16 bytes, mask i = [2i x8, 2i+1 x8]
	var q6 []byte
	for i := 0; i < 8; i++ {
		for j := 0; j < 16; j++ {
			q6 = append(q6, byte(2*i+j/8))
		}
	}
	dataN(a, "q6Shuffle", q6)
	data(a, "absMask", abs)
	data(a, "packPerm", perm)
	a.raw("DATA f127<>+0(SB)/4, $127.0\nGLOBL f127<>(SB), RODATA|NOPTR, $4\n\n")
	data(a, "nibbleMask", fill(0x0f))
	var shift [32]byte // dword shift counts 0,0,0,0,4,4,4,4
	for i := 16; i < 32; i += 4 {
		shift[i] = 4
	}
	data(a, "nibbleShift", shift)
	data(a, "bytes8", fill(8))
	data(a, "bytes16", fill(16))
	data(a, "bytes128", fill(128))
	data(a, "bytesFF", fill(0xff))
	var ones [32]byte
	for i := 0; i < 32; i += 2 {
		ones[i] = 1
	}
	data(a, "words1", ones)
	// bytes_from_bits_32: byte j takes byte j/8 of the 32 bits, then every
	// bit but bit j%8 is set, so the byte is all ones iff bit j was set.
	var shuf, mask [32]byte
	for j := range shuf {
		shuf[j] = byte(j / 8)
		mask[j] = ^byte(1 << (j % 8))
	}
	data(a, "bitsShuffle", shuf)
	data(a, "bitsMask", mask)
}

func main() {
	out := flag.String("out", "dot_amd64.s", "output file")
	flag.Parse()
	a := &asm{}
	a.raw("// Code generated by go run ./_asm; DO NOT EDIT.\n\n")
	a.raw("//go:build amd64 && !noasm && gc\n\n")
	a.raw("#include \"textflag.h\"\n\n")
	constants(a)
	quantizeQ8(a)
	for _, pt := range packedTypes {
		for _, is := range []isa{avx2, vnni} {
			packedKernel(a, pt, is)
		}
	}
	for _, pt := range packedTypes {
		packedKernel2(a, pt)
	}
	for _, kt := range kTypes {
		kKernel(a, kt)
	}
	for _, kt := range kTypes {
		if kt.name != "Q5_K" {
			kTiled(a, kt)
		}
	}
	halfKernels(a)
	attnScores(a)
	attnAccum(a)
	softmaxConstants(a)
	softmaxF16(a)
	swiglu(a)
	if err := os.WriteFile(*out, a.b.Bytes(), 0o644); err != nil {
		log.Fatal(err)
	}
}

// attnScores writes the attention score kernel: out[t] = (q·k_t) * scale
// for n keys k_t = k + t*stride floats, each dot product accumulated as
// ggml does for f16 operands (exact products, so the fused multiply-add is
// a plain multiply and add): with 16 lanes, lane i taking elements i,
// i+16, ... (llamafile's tinyBLAS, prompts), or with 64 lanes folded to 16
// as (s0+s2)+(s1+s3) (ggml_vec_dot_f16 with AVX-512, decoding); then the
// 16 lanes are summed as _mm512_reduce_add_ps. hd is a multiple of 16
// (lanes 16) or 64 (lanes 64); n >= 1.
func attnScores(a *asm) {
	a.raw("\n// func attnScoresAVX2(q, k *float32, stride, n, hd, lanes int, scale float32, out *float32)\n")
	a.raw("TEXT ·attnScoresAVX2(SB), NOSPLIT, $0-64\n")
	a.l("MOVQ q+0(FP), SI")
	a.l("MOVQ k+8(FP), DI")
	a.l("MOVQ stride+16(FP), R8")
	a.l("SHLQ $2, R8")
	a.l("MOVQ n+24(FP), CX")
	a.l("MOVQ hd+32(FP), DX")
	a.l("MOVQ lanes+40(FP), R9")
	a.l("VMOVSS scale+48(FP), X15")
	a.l("MOVQ out+56(FP), R10")
	a.l("CMPQ R9, $64")
	a.l("JEQ wide")
	a.label("loop16")
	a.l("VXORPS Y0, Y0, Y0")
	a.l("VXORPS Y1, Y1, Y1")
	a.l("XORQ AX, AX")
	a.l("MOVQ DX, BX")
	a.label("inner16")
	a.l("VMOVUPS (SI)(AX*1), Y2")
	a.l("VMOVUPS 32(SI)(AX*1), Y3")
	a.l("VFMADD231PS (DI)(AX*1), Y2, Y0")
	a.l("VFMADD231PS 32(DI)(AX*1), Y3, Y1")
	a.l("ADDQ $64, AX")
	a.l("SUBQ $16, BX")
	a.l("JNZ inner16")
	a.l("VADDPS Y0, Y1, Y0")
	reduce16Tail(a)
	a.l("ADDQ $4, R10")
	a.l("ADDQ R8, DI")
	a.l("DECQ CX")
	a.l("JNZ loop16")
	a.l("VZEROUPPER")
	a.l("RET")
	a.label("wide")
	for i := 0; i < 8; i++ {
		a.l("VXORPS Y%d, Y%d, Y%d", i, i, i)
	}
	a.l("XORQ AX, AX")
	a.l("MOVQ DX, BX")
	a.label("inner64")
	for i := 0; i < 8; i++ {
		a.l("VMOVUPS %d(SI)(AX*1), Y8", 32*i)
		a.l("VFMADD231PS %d(DI)(AX*1), Y8, Y%d", 32*i, i)
	}
	a.l("ADDQ $256, AX")
	a.l("SUBQ $64, BX")
	a.l("JNZ inner64")
	a.comment("fold64: lane i = (acc[i]+acc[32+i]) + (acc[16+i]+acc[48+i])")
	a.l("VADDPS Y4, Y0, Y0")
	a.l("VADDPS Y6, Y2, Y2")
	a.l("VADDPS Y2, Y0, Y0")
	a.l("VADDPS Y5, Y1, Y1")
	a.l("VADDPS Y7, Y3, Y3")
	a.l("VADDPS Y3, Y1, Y1")
	a.l("VADDPS Y0, Y1, Y0")
	reduce16Tail(a)
	a.l("ADDQ $4, R10")
	a.l("ADDQ R8, DI")
	a.l("DECQ CX")
	a.l("JNZ wide")
	a.l("VZEROUPPER")
	a.l("RET")

}

// reduce16Tail finishes _mm512_reduce_add_ps once its first step (x[8+i] +
// x[i], in Y0) is done: h[4+j] + h[j], then (q0+q2) + (q1+q3); the sum
// times X15 is stored at (R10). Clobbers X0, X1.
func reduce16Tail(a *asm) {
	a.l("VEXTRACTF128 $1, Y0, X1")
	a.l("VADDPS X0, X1, X0")
	a.l("VMOVHLPS X0, X0, X1")
	a.l("VADDPS X1, X0, X0")
	a.l("VMOVSHDUP X0, X1")
	a.l("VADDSS X1, X0, X0")
	a.l("VMULSS X15, X0, X0")
	a.l("VMOVSS X0, (R10)")
}

// attnAccum writes the attention value kernel: for t in [first, n), row
// t%lanes of out (lanes rows of hd floats) += s[t] * v_t, v_t = v +
// t*stride floats. The products are of f16 values, exact, so the fused
// multiply-add equals ggml's multiply and add. hd is a multiple of 8, lanes
// a power of two.
func attnAccum(a *asm) {
	a.raw("\n// func attnAccumAVX2(s, v *float32, stride, first, n, hd, lanes int, out *float32)\n")
	a.raw("TEXT ·attnAccumAVX2(SB), NOSPLIT, $0-64\n")
	a.l("MOVQ s+0(FP), SI")
	a.l("MOVQ v+8(FP), DI")
	a.l("MOVQ stride+16(FP), R8")
	a.l("SHLQ $2, R8")
	a.l("MOVQ first+24(FP), BX")
	a.l("MOVQ n+32(FP), CX")
	a.l("MOVQ hd+40(FP), DX")
	a.l("MOVQ lanes+48(FP), R9")
	a.l("DECQ R9")
	a.l("MOVQ out+56(FP), R10")
	a.l("MOVQ DX, R11")
	a.l("SHLQ $2, R11")
	a.l("CMPQ BX, CX")
	a.l("JGE done")
	a.l("MOVQ BX, AX")
	a.l("IMULQ R8, AX")
	a.l("ADDQ AX, DI")
	a.label("tloop")
	a.l("VBROADCASTSS (SI)(BX*4), Y15")
	a.l("MOVQ BX, AX")
	a.l("ANDQ R9, AX")
	a.l("IMULQ R11, AX")
	a.l("LEAQ (R10)(AX*1), R12")
	a.l("XORQ AX, AX")
	a.l("MOVQ DX, R13")
	a.label("dloop")
	a.l("VMOVUPS (R12)(AX*1), Y0")
	a.l("VFMADD231PS (DI)(AX*1), Y15, Y0")
	a.l("VMOVUPS Y0, (R12)(AX*1)")
	a.l("ADDQ $32, AX")
	a.l("SUBQ $8, R13")
	a.l("JNZ dloop")
	a.l("ADDQ R8, DI")
	a.l("INCQ BX")
	a.l("CMPQ BX, CX")
	a.l("JLT tloop")
	a.label("done")
	a.l("VZEROUPPER")
	a.l("RET")
}

// kTiled writes the tiled K-quant kernels, one weight row against vecs
// Q8_K vectors (ggml-cpu's tiled matmul, the path llama.cpp takes for
// batches of 8 vectors or more):
//
//	func q4KTiledAVX2(w *byte, blocks int, qs *int8, d *float32, bsums *int16, vecs int, out *float32, ostride int)
//
// Per super-block the exact integer sums s1 (quants times activations
// times sub-block scales; Q6_K: of quants minus 32) and, for Q4_K, s2
// (mins times activation sub-block sums) are computed with the integer
// lanes of the row kernels and summed (integers: any order); then
// r = fma(-dmin, s2, float32(s1)*d) (Q6_K: float32(s1)*d) and
// acc = fma(r, d_y, acc) over the super-blocks, in hardware FMA. The
// vectors' quants, scales and sums follow each other (vector v at v*blocks
// super-blocks); out[v*ostride] receives vector v's result.
//
// GPRs: SI row, R13 super-block, R9 qs, R10 d, R11 bsums, BX super-blocks
// left, CX vectors left, DI out, DX ostride in bytes. X11 accumulates.
func kTiled(a *asm, kt kType) {
	name := "q" + strings.ReplaceAll(kt.name[1:], "_", "") + "TiledAVX2"
	a.raw(fmt.Sprintf("\n// func %s(w *byte, blocks int, qs *int8, d *float32, bsums *int16, vecs int, out *float32, ostride int)\n", name))
	a.raw(fmt.Sprintf("TEXT ·%s(SB), NOSPLIT, $0-64\n", name))
	a.l("MOVQ w+0(FP), SI")
	a.l("MOVQ qs+16(FP), R9")
	a.l("MOVQ d+24(FP), R10")
	a.l("MOVQ bsums+32(FP), R11")
	a.l("MOVQ vecs+40(FP), CX")
	a.l("MOVQ out+48(FP), DI")
	a.l("MOVQ ostride+56(FP), DX")
	a.l("SHLQ $2, DX")
	a.l("VMOVDQU nibbleMask<>(SB), Y15")
	a.label("vec")
	a.l("VXORPS X11, X11, X11")
	a.l("MOVQ SI, R13")
	a.l("MOVQ blocks+8(FP), BX")
	a.label("block")
	a.l("VPXOR Y12, Y12, Y12")
	if kt.name == "Q6_K" {
		q6kBody(a)
	} else {
		kScalesMins(a)
		a.comment("X9 = s2")
		a.l("VPSHUFD $0x4e, X2, X3")
		a.l("VPADDD X3, X2, X2")
		a.l("VPSHUFD $0xb1, X2, X3")
		a.l("VPADDD X3, X2, X9")
		for g := 0; g < 4; g++ {
			a.l("VMOVDQU %d(R13), Y0", 16+32*g)
			a.l("VPSRLW $4, Y0, Y1")
			a.l("VPAND Y15, Y0, Y0")
			a.l("VPAND Y15, Y1, Y1")
			a.l("VPMADDUBSW %d(R9), Y0, Y0", 64*g)
			a.l("VPMADDUBSW %d(R9), Y1, Y1", 64*g+32)
			a.l("VPSHUFB k4Shuffle<>+%d(SB), Y13, Y2", 64*g)
			a.l("VPMADDWD Y2, Y0, Y0")
			a.l("VPSHUFB k4Shuffle<>+%d(SB), Y13, Y3", 64*g+32)
			a.l("VPMADDWD Y3, Y1, Y1")
			a.l("VPADDD Y0, Y12, Y12")
			a.l("VPADDD Y1, Y12, Y12")
		}
	}
	a.comment("X0 = float32(s1)")
	a.l("VEXTRACTI128 $1, Y12, X0")
	a.l("VPADDD X12, X0, X0")
	a.l("VPSHUFD $0x4e, X0, X1")
	a.l("VPADDD X1, X0, X0")
	a.l("VPSHUFD $0xb1, X0, X1")
	a.l("VPADDD X1, X0, X0")
	a.l("VCVTDQ2PS X0, X0")
	if kt.name == "Q6_K" {
		a.l("MOVWLZX 208(R13), AX")
		a.l("VMOVD AX, X3")
		a.l("VCVTPH2PS X3, X3")
		a.l("VMULSS X3, X0, X0")
	} else {
		a.comment("r = fma(-dmin, s2, s1*d)")
		a.l("VMOVD (R13), X3")
		a.l("VCVTPH2PS X3, X3")
		a.l("VMULSS X3, X0, X0")
		a.l("VMOVSHDUP X3, X4")
		a.l("VCVTDQ2PS X9, X9")
		a.l("VFNMADD231SS X4, X9, X0")
	}
	a.comment("acc = fma(r, d_y, acc)")
	a.l("VFMADD231SS (R10), X0, X11")
	a.l("ADDQ $%d, R13", kt.size)
	a.l("ADDQ $256, R9")
	a.l("ADDQ $4, R10")
	a.l("ADDQ $32, R11")
	a.l("DECQ BX")
	a.l("JNZ block")
	a.l("VMOVSS X11, (DI)")
	a.l("ADDQ DX, DI")
	a.l("DECQ CX")
	a.l("JNZ vec")
	a.l("VZEROUPPER")
	a.l("RET")
}

// softmaxF16 writes the attention softmax kernel (AVX-512F, 16 lanes):
//
//	func softmaxF16AVX512(s *float32, first, n int, m float32)
//
// ggml_soft_max of s[first:n] (the other positions masked) followed by the f16 rounding of the weights: per
// group of 16 positions aligned at 0, e = ggml_v_expf(s - m) (its AVX-512
// code, instruction for instruction; s - m <= 0 so n <= 0 and the
// overflow branch is not needed; m is the maximum of s[first:n]) with masked lanes 0, stored back, summed
// as _mm512_reduce_add_ps and added to a float64 sum; then every group is
// multiplied by float32(1/sum) and rounded to f16. s must have room up to
// n rounded up to 16.
//
// Z16..Z27 hold constants, Z28 the lane indices, Z29/Z30 first and n,
// Z15 the maximum, X7 the sum.
func softmaxF16(a *asm) {
	a.raw("\n// func softmaxF16AVX512(s *float32, first, n int)\n")
	a.raw("TEXT ·softmaxF16AVX512(SB), NOSPLIT, $0-24\n")
	a.l("MOVQ s+0(FP), SI")
	a.l("MOVQ first+8(FP), BX")
	a.l("MOVQ n+16(FP), CX")
	expConstants(a)
	a.l("VMOVDQU32 iota16<>(SB), Z28")
	a.l("VPBROADCASTD BX, Z29")
	a.l("VPBROADCASTD CX, Z30")
	a.l("VXORPD X7, X7, X7")
	a.l("MOVQ BX, AX")
	a.l("ANDQ $-16, AX")
	a.l("MOVQ AX, DX") // first group, again for the later passes
	a.comment("Z15 = max of s[first:n] (valid lanes)")
	a.l("VBROADCASTSS expNegInf<>(SB), Z15")
	a.label("max")
	validLanes(a)
	a.l("VMAXPS (SI)(AX*4), Z15, K1, Z15")
	a.l("ADDQ $16, AX")
	a.l("CMPQ AX, CX")
	a.l("JLT max")
	a.l("VEXTRACTF32X8 $1, Z15, Y1")
	a.l("VMAXPS Y1, Y15, Y15")
	a.l("VEXTRACTF128 $1, Y15, X1")
	a.l("VMAXPS X1, X15, X15")
	a.l("VMOVHLPS X15, X15, X1")
	a.l("VMAXPS X1, X15, X15")
	a.l("VMOVSHDUP X15, X1")
	a.l("VMAXSS X1, X15, X15")
	a.l("VBROADCASTSS X15, Z15")
	a.l("MOVQ DX, AX")
	a.label("group")
	validLanes(a)
	a.l("VMOVUPS (SI)(AX*4), Z0")
	a.l("VSUBPS Z15, Z0, Z0")
	expV(a, false)
	a.comment("masked lanes: 0")
	a.l("KANDNW K1, K3, K1")
	a.l("VMOVAPS.Z Z6, K1, Z0")
	a.l("VMOVUPS Z0, (SI)(AX*4)")
	a.comment("_mm512_reduce_add_ps, added to the float64 sum")
	a.l("VEXTRACTF32X8 $1, Z0, Y1")
	a.l("VADDPS Y0, Y1, Y1")
	a.l("VEXTRACTF128 $1, Y1, X2")
	a.l("VADDPS X1, X2, X2")
	a.l("VMOVHLPS X2, X2, X3")
	a.l("VADDPS X3, X2, X2")
	a.l("VMOVSHDUP X2, X3")
	a.l("VADDSS X3, X2, X2")
	a.l("VCVTSS2SD X2, X2, X2")
	a.l("VADDSD X2, X7, X7")
	a.l("ADDQ $16, AX")
	a.l("CMPQ AX, CX")
	a.l("JLT group")
	a.comment("Z3 = float32(1/sum)")
	a.l("VMOVSD expOne64<>(SB), X3")
	a.l("VDIVSD X7, X3, X3")
	a.l("VCVTSD2SS X3, X3, X3")
	a.l("VBROADCASTSS X3, Z3")
	a.l("MOVQ DX, AX")
	a.label("scale")
	a.l("VMULPS (SI)(AX*4), Z3, Z0")
	a.l("VCVTPS2PH $0, Z0, Y0")
	a.l("VCVTPH2PS Y0, Z0")
	a.l("VMOVUPS Z0, (SI)(AX*4)")
	a.l("ADDQ $16, AX")
	a.l("CMPQ AX, CX")
	a.l("JLT scale")
	a.l("VZEROUPPER")
	a.l("RET")
}

// validLanes sets K1 to the lanes i of the group at AX with Z29 <= AX+i <
// Z30 (first and n broadcast; Z28 the lane indices). Clobbers Z0, K2.
func validLanes(a *asm) {
	a.l("VPBROADCASTD AX, Z0")
	a.l("VPADDD Z28, Z0, Z0")
	a.l("VPCMPD $5, Z29, Z0, K1")
	a.l("VPCMPD $1, Z30, Z0, K2")
	a.l("KANDW K2, K1, K1")
}

// expConstants loads ggml_v_expf's constants into Z16..Z27.
func expConstants(a *asm) {
	for i, c := range []string{"expShift", "expLog2e", "expLn2Hi", "expLn2Lo", "expP1", "expP2", "expP3", "expP4", "expP5", "expOne", "exp192", "absMask"} {
		if c == "absMask" {
			a.l("VPBROADCASTD absMask<>(SB), Z%d", 16+i)
			continue
		}
		a.l("VBROADCASTSS %s<>(SB), Z%d", c, 16+i)
	}
}

// expV sets Z6 = ggml_v_expf(Z0), its AVX-512 code instruction for
// instruction (constants in Z16..Z27, see expConstants), and K3 to the
// lanes with |n| > 192. Without general the caller knows n <= 0 and zeroes
// the K3 lanes itself; with it they become 0 (n <= 0) or +Inf, as in ggml
// (Z31 must hold +Inf). Clobbers Z1..Z5, K4.
func expV(a *asm, general bool) {
	a.comment("ggml_v_expf")
	a.l("VMOVAPS Z16, Z1")
	a.l("VFMADD231PS Z17, Z0, Z1")
	a.l("VSUBPS Z16, Z1, Z1") // n
	a.l("VMOVAPS Z0, Z2")
	a.l("VFNMADD231PS Z18, Z1, Z2")
	a.l("VFNMADD231PS Z19, Z1, Z2") // b
	a.l("VMULPS Z2, Z2, Z3")        // u
	a.l("VMOVAPS Z21, Z4")
	a.l("VFMADD231PS Z20, Z2, Z4") // 0x1.0e4020p-7*b + 0x1.573e2ep-5
	a.l("VMOVAPS Z23, Z5")
	a.l("VFMADD231PS Z22, Z2, Z5") // 0x1.555e66p-3*b + 0x1.fffdb6p-2
	a.l("VMOVAPS Z25, Z6")
	a.l("VFMADD231PS Z24, Z2, Z6") // 0x1.ffffecp-1*b + 1
	a.l("VFMADD231PS Z3, Z4, Z5")
	a.l("VFMADD231PS Z3, Z5, Z6") // j
	a.l("VSCALEFPS Z1, Z6, Z6")
	a.l("VANDPS Z27, Z1, Z2")
	a.l("VCMPPS $0x1e, Z26, Z2, K3") // |n| > 192
	if general {
		a.l("VXORPS Z2, Z2, Z2")
		a.l("VMOVAPS Z2, K3, Z6")
		a.l("VCMPPS $0x1e, Z2, Z1, K4") // n > 0
		a.l("KANDW K3, K4, K4")
		a.l("VMOVAPS Z31, K4, Z6")
	}
}

// swiglu writes ggml_vec_swiglu_f32's AVX-512 loop:
//
//	func swigluAVX512(gate, up *float32, n int)
//
// gate[i] = ggml_v_silu(gate[i]) * up[i] for n elements, n a positive
// multiple of 16; ggml_v_silu(x) = x / (1 + ggml_v_expf(0 - x)).
func swiglu(a *asm) {
	a.raw("\n// func swigluAVX512(gate, up *float32, n int)\n")
	a.raw("TEXT ·swigluAVX512(SB), NOSPLIT, $0-24\n")
	a.l("MOVQ gate+0(FP), SI")
	a.l("MOVQ up+8(FP), DI")
	a.l("MOVQ n+16(FP), CX")
	a.l("SHRQ $4, CX")
	expConstants(a)
	a.l("VBROADCASTSS expPosInf<>(SB), Z31")
	a.label("loop")
	a.l("VMOVUPS (SI), Z7")
	a.l("VXORPS Z0, Z0, Z0")
	a.l("VSUBPS Z7, Z0, Z0")
	expV(a, true)
	a.l("VADDPS Z25, Z6, Z6")
	a.l("VDIVPS Z6, Z7, Z7")
	a.l("VMULPS (DI), Z7, Z7")
	a.l("VMOVUPS Z7, (SI)")
	a.l("ADDQ $64, SI")
	a.l("ADDQ $64, DI")
	a.l("DECQ CX")
	a.l("JNZ loop")
	a.l("VZEROUPPER")
	a.l("RET")
}

// softmaxConstants writes the constants of softmaxF16 and swiglu.
func softmaxConstants(a *asm) {
	for _, c := range []struct {
		name string
		bits uint32
	}{
		{"expShift", math.Float32bits(0x1.8p23)},
		{"expLog2e", math.Float32bits(0x1.715476p+0)},
		{"expLn2Hi", math.Float32bits(0x1.62e4p-1)},
		{"expLn2Lo", math.Float32bits(0x1.7f7d1cp-20)},
		{"expP1", math.Float32bits(0x1.0e4020p-7)},
		{"expP2", math.Float32bits(0x1.573e2ep-5)},
		{"expP3", math.Float32bits(0x1.555e66p-3)},
		{"expP4", math.Float32bits(0x1.fffdb6p-2)},
		{"expP5", math.Float32bits(0x1.ffffecp-1)},
		{"expOne", math.Float32bits(1)},
		{"exp192", math.Float32bits(192)},
	} {
		a.raw(fmt.Sprintf("DATA %s<>+0(SB)/4, $0x%08x\nGLOBL %s<>(SB), RODATA|NOPTR, $4\n\n", c.name, c.bits, c.name))
	}
	a.raw(fmt.Sprintf("DATA expNegInf<>+0(SB)/4, $0x%08x\nGLOBL expNegInf<>(SB), RODATA|NOPTR, $4\n\n", math.Float32bits(float32(math.Inf(-1)))))
	a.raw(fmt.Sprintf("DATA expPosInf<>+0(SB)/4, $0x%08x\nGLOBL expPosInf<>(SB), RODATA|NOPTR, $4\n\n", math.Float32bits(float32(math.Inf(1)))))
	a.raw(fmt.Sprintf("DATA expOne64<>+0(SB)/8, $0x%016x\nGLOBL expOne64<>(SB), RODATA|NOPTR, $8\n\n", math.Float64bits(1)))
	var iota []byte
	for i := 0; i < 16; i++ {
		iota = binary.LittleEndian.AppendUint32(iota, uint32(i))
	}
	dataN(a, "iota16", iota)
}
