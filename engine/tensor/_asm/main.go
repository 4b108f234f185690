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
//     multiply-add serves 8 rows;
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
	for _, kt := range kTypes {
		kKernel(a, kt)
	}
	if err := os.WriteFile(*out, a.b.Bytes(), 0o644); err != nil {
		log.Fatal(err)
	}
}
