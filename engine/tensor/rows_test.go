package tensor

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"runtime"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"
)

// The assembly kernels (asmKernelSets: every instruction set this CPU
// runs; none under -tags noasm) must give results bit-identical to the
// portable kernels of dot.go: the integer block sums are exact and the
// float operations are the same ones in the same order.

// asmBlockTypes are the 32-element block types with packed kernels.
var asmBlockTypes = []Type{Q4_0, Q4_1, Q5_0, Q5_1, Q8_0}

// randomAct quantizes a random vector of cols elements to vt.
func randomAct(rng *rand.Rand, vt Type, cols int) *actRow {
	var act activations
	act.reset(vt, 1, cols)
	quantizeAct(vt, randomVectors(rng, cols), &act.rows[0])
	return &act.rows[0]
}

// requireSameBits fails unless got and want are the same float32 bits.
func requireSameBits(t *testing.T, want, got float32, msg string, args ...any) {
	t.Helper()
	require.Equal(t, math.Float32bits(want), math.Float32bits(got),
		"%s: got %g, portable kernel %g", fmt.Sprintf(msg, args...), got, want)
}

// extremeBlocks overwrites some blocks of a random matrix with extreme
// quants: Q8_0 blocks of -128 and 127, nibble blocks of all 15s and 0s,
// Q5 high bits all set.
func extremeBlocks(typ Type, data []byte) {
	bs := typ.BlockSize()
	for b := 0; b*bs < len(data); b += 3 {
		blk := data[b*bs : (b+1)*bs]
		switch typ {
		case Q8_0:
			for j := range QK {
				blk[q8_0Qs+j] = byte(0x80 - (j % 2)) // -128, 127
			}
		case Q5_0, Q5_1:
			qh := map[Type]int{Q5_0: q5_0Qh, Q5_1: q5_1Qh}[typ]
			binary.LittleEndian.PutUint32(blk[qh:], 0xffffffff)
			fallthrough
		default:
			qs := map[Type]int{Q4_0: q4_0Qs, Q4_1: q4_1Qs, Q5_0: q5_0Qs, Q5_1: q5_1Qs}[typ]
			for j := range QK / 2 {
				blk[qs+j] = 0xf0 | byte(15*(j%2))
			}
		}
	}
}

// extremeAct overwrites some activation blocks with +-127.
func extremeAct(a *actRow) {
	for ib := 1; ib < len(a.d); ib += 4 {
		sum := 0
		for j := range QK {
			q := int8(127 - 254*(j%2))
			if j > 24 {
				q = 127
			}
			a.qs[ib*QK+j] = q
			sum += int(q)
		}
		for j := range QK / 4 {
			q := a.qs[ib*QK+4*j : ib*QK+4*j+4]
			a.sum4[ib*QK/4+j] = int32(q[0]) + int32(q[1]) + int32(q[2]) + int32(q[3])
		}
		if a.s != nil {
			a.s[ib] = FP16ToFP32(FP32ToFP16(a.d[ib] * float32(sum)))
		}
	}
}

func TestPackedKernelsMatchPortable(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	for _, set := range asmKernelSets {
		for _, typ := range asmBlockTypes {
			kernel := set.packed[typ]
			require.NotNil(t, kernel, "%s has no %s kernel", set.name, typ)
			for _, rows := range []int{8, 16, 40} {
				for _, blocks := range []int{1, 2, 5, 18, 48} {
					cols := blocks * QK
					name := fmt.Sprintf("%s/%s/%dx%d", set.name, typ, rows, cols)
					data := randomMatrixData(rng, typ, rows, cols)
					extremeBlocks(typ, data)
					a := randomAct(rng, typ.VecDotType(), cols)
					extremeAct(a)
					setCorr(quantOffset(typ), a)
					out := make([]float32, rows+1)
					out[rows] = 42
					p, own := packMatrix(typ, data, rows, cols, nil)
					kernel(p, rows/packRows, a, out[:rows])
					runtime.KeepAlive(own)
					require.Equal(t, float32(42), out[rows], "%s: wrote past its rows", name)
					dot := dotKernel(typ)
					rs := blocks * typ.BlockSize()
					for r := range rows {
						requireSameBits(t, dot(data[r*rs:(r+1)*rs], a), out[r], "%s row %d", name, r)
					}
				}
			}
		}
	}
}

// TestPackMatrix unpacks a packed matrix by the layout documented in
// pack.go and compares it with the original blocks.
func TestPackMatrix(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	for _, typ := range asmBlockTypes {
		const rows, blocks = 19, 3 // 2 groups; 3 rows are left unpacked
		bs := typ.BlockSize()
		data := randomMatrixData(rng, typ, rows, blocks*QK)
		p, own := packMatrix(typ, data, rows, blocks*QK, nil)
		defer runtime.KeepAlive(own)
		require.Len(t, p, 2*blocks*packRows*bs, "%s", typ)
		for g := range 2 {
			for b := range blocks {
				pb := p[(g*blocks+b)*packedSize(typ):][:packedSize(typ)]
				for r := range packRows {
					orig := data[(g*packRows+r)*blocks*bs+b*bs:][:bs]
					require.Equal(t, orig[:2], pb[2*r:2*r+2], "%s d", typ)
					quants := 16
					if typ == Q4_1 || typ == Q5_1 {
						require.Equal(t, orig[2:4], pb[16+2*r:16+2*r+2], "%s m", typ)
						quants = 32
					}
					if typ == Q5_0 || typ == Q5_1 {
						hm := quants
						quants += 32
						var qh uint32
						for j := range 8 {
							qh |= (binary.LittleEndian.Uint32(pb[hm+4*j:]) >> (4 * r) & 0xf) << (4 * j)
						}
						require.Equal(t, binary.LittleEndian.Uint32(orig[bs-QK/2-4:]), qh, "%s qh", typ)
					}
					nq := QK / 2 // quant bytes per row: nibbles, or Q8_0's int8
					if typ == Q8_0 {
						nq = QK
					}
					var qs []byte
					for c := range nq / 4 {
						qs = append(qs, pb[quants+32*c+4*r:quants+32*c+4*r+4]...)
					}
					require.Equal(t, orig[bs-nq:], qs, "%s quants", typ)
				}
			}
		}
	}
}

// TestMulMatchesPortable checks whole products, packed groups plus the
// rows after the last group, serial and on two threads, against the
// portable kernel row by row: bit-identical.
func TestMulMatchesPortable(t *testing.T) {
	pool := NewPool(2)
	defer pool.Close()
	rng := rand.New(rand.NewPCG(15, 16))
	for _, typ := range mulTypes {
		cols := 2 * typ.BlockLen()
		if typ.BlockLen() == 1 {
			cols = 96
		}
		for _, rows := range []int{3, 8, 77, 200} {
			m, err := NewMatrix(typ, rows, cols*3, randomMatrixData(rng, typ, rows, cols*3))
			require.NoError(t, err)
			for _, n := range []int{1, 3} {
				x := randomVectors(rng, n*m.Cols)
				vt := typ.VecDotType()
				var act activations
				act.reset(vt, n, m.Cols)
				for b := range n {
					quantizeActQ8Or(vt, x[b*m.Cols:(b+1)*m.Cols], &act.rows[b])
				}
				dot := dotKernel(typ)
				for _, p := range []*Pool{nil, pool} {
					out := make([]float32, n*rows)
					m.Mul(p, x, n, out)
					for b := range n {
						for r := range rows {
							requireSameBits(t, dot(m.Data[r*m.rowSize():], &act.rows[b]), out[b*rows+r],
								"%s/%dx%d/n=%d vec %d row %d", typ, rows, m.Cols, n, b, r)
						}
					}
				}
			}
		}
	}
}

// quantizeActQ8Or converts x like quantizeAct but always with the portable
// Q8 quantizer, so that the kernels are compared on the same input.
func quantizeActQ8Or(vt Type, x []float32, r *actRow) {
	switch vt {
	case Q8_0:
		quantizeActQ8(x, r.qs, r.d, nil, r.sum4)
	case Q8_1:
		quantizeActQ8(x, r.qs, r.d, r.s, r.sum4)
	default:
		quantizeAct(vt, x, r)
	}
}

func TestPackedKernelsPanicOnShortInput(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 18))
	for _, set := range asmKernelSets {
		for typ, kernel := range set.packed {
			data := randomMatrixData(rng, typ, 8, 2*QK)
			p, own := packMatrix(typ, data, 8, 2*QK, nil)
			defer runtime.KeepAlive(own)
			a := randomAct(rng, typ.VecDotType(), 2*QK)
			setCorr(quantOffset(typ), a)
			require.Panics(t, func() { kernel(p[:len(p)-1], 1, a, make([]float32, 8)) }, "%s/%s", set.name, typ)
			require.Panics(t, func() { kernel(p, 1, a, make([]float32, 7)) }, "%s/%s", set.name, typ)
			short := *a
			short.qs = short.qs[:QK]
			require.Panics(t, func() { kernel(p, 1, &short, make([]float32, 8)) }, "%s/%s", set.name, typ)
		}
	}
}

// TestQuantizeQ8MatchesPortable checks the (assembly, where present)
// activation quantizer against quantizeActQ8 bit for bit, on random
// vectors, zero blocks, ties and values of very different magnitudes.
func TestQuantizeQ8MatchesPortable(t *testing.T) {
	rng := rand.New(rand.NewPCG(19, 20))
	const blocks = 40
	x := randomVectors(rng, blocks*QK)
	clear(x[3*QK : 4*QK])     // an all-zero block
	x[5*QK] = 1e-30           // a tiny block
	for j := 1; j < QK; j++ { // ties: x*127/amax lands on .5
		x[6*QK+j] = float32(j) + 0.5
	}
	x[6*QK] = 127
	for j := range QK {
		x[7*QK+j] = float32(math.Ldexp(float64(x[7*QK+j]), 60)) // huge values
	}
	for _, withS := range []bool{false, true} {
		qs, d, sums := make([]int8, blocks*QK), make([]float32, blocks), make([]int32, blocks*QK/4)
		wqs, wd, wsums := make([]int8, blocks*QK), make([]float32, blocks), make([]int32, blocks*QK/4)
		var s, ws []float32
		if withS {
			s, ws = make([]float32, blocks), make([]float32, blocks)
		}
		quantizeQ8(x, qs, d, s, sums)
		quantizeActQ8(x, wqs, wd, ws, wsums)
		require.Equal(t, wqs, qs)
		require.Equal(t, wd, d)
		require.Equal(t, ws, s)
		require.Equal(t, wsums, sums)
	}
}

// kTypes are the K-quant types with row kernels.
var kTypes = []Type{Q4_K, Q5_K, Q6_K}

func TestRowKernelsMatchPortable(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	for _, set := range asmKernelSets {
		for typ, kernel := range set.rows {
			for _, rows := range []int{1, 3} {
				for _, blocks := range []int{1, 2, 6} {
					cols := blocks * QKK
					name := fmt.Sprintf("%s/%s/%dx%d", set.name, typ, rows, cols)
					// Row stride one super-block longer than the activation:
					// the kernel must only read the first blocks.
					stride := (blocks + 1) * typ.BlockSize()
					data := randomMatrixData(rng, typ, rows, cols+QKK)
					extremeKBlocks(typ, data)
					a := randomAct(rng, Q8_K, cols)
					for ib := 0; ib < blocks; ib += 2 { // +-127 activations
						for j := range QKK {
							a.qs[ib*QKK+j] = int8(127 - 254*(j%2))
						}
						for j := range QKK / 16 {
							a.bsums[ib*QKK/16+j] = 0
						}
					}
					out := make([]float32, rows+1)
					out[rows] = 42
					kernel(data, stride, a, out[:rows])
					require.Equal(t, float32(42), out[rows], "%s: wrote past its rows", name)
					dot := dotKernel(typ)
					for r := range rows {
						requireSameBits(t, dot(data[r*stride:r*stride+blocks*typ.BlockSize()], a), out[r], "%s row %d", name, r)
					}
				}
			}
		}
	}
}

// extremeKBlocks sets every other super-block's quants to their maximum
// and its scales (and mins) to their extremes.
func extremeKBlocks(typ Type, data []byte) {
	bs := typ.BlockSize()
	for b := 0; b*bs < len(data); b += 2 {
		blk := data[b*bs : (b+1)*bs]
		switch typ {
		case Q4_K, Q5_K:
			for i := qkScales; i < qkScales+12; i++ {
				blk[i] = 0xff // scales and mins of 63
			}
			for i := qkScales + 12; i < bs; i++ {
				blk[i] = 0xff // quants of 15 (31 with Q5_K's high bits)
			}
		case Q6_K:
			for i := 0; i < q6kScales; i++ {
				blk[i] = 0xff // quants of 63
			}
			for i := q6kScales; i < q6kD; i++ {
				blk[i] = byte(0x80 + 0x7f*(i%2)) // scales -128, 127
			}
		}
	}
}

// fma32Exact is a*b+c rounded once to float32, by big.Float.
func fma32Exact(a, b, c float32) float32 {
	z := new(big.Float).SetPrec(24).SetMode(big.ToNearestEven)
	p := new(big.Float).SetPrec(60).SetFloat64(float64(a))
	p.Mul(p, new(big.Float).SetPrec(60).SetFloat64(float64(b)))
	z.Add(p, new(big.Float).SetFloat64(float64(c)))
	f, _ := z.Float32()
	return f
}

func TestFMA32(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 24))
	check := func(a, b, c float32) {
		require.Equal(t, math.Float32bits(fma32Exact(a, b, c)), math.Float32bits(fma32(a, b, c)), "fma32(%g, %g, %g)", a, b, c)
	}
	for range 100000 {
		a := float32(rng.NormFloat64())
		b := float32(rng.NormFloat64() * 1000)
		c := float32(rng.NormFloat64() * math.Pow(2, float64(rng.IntN(40)-20)))
		check(a, b, c)
	}
	// The float64 sum lands exactly halfway between two float32s while the
	// exact sum lies just above or below it: a single float64 rounding then
	// float32 rounding would go the wrong way.
	// (1+2^-12)^2 = 1 + 2^-11 + 2^-24 lies halfway between two float32s;
	// adding +-2^-60 moves the exact sum off that point by less than half
	// a float64 ulp, so the float64 sum is the halfway point and rounding
	// it again to float32 would tie to even instead of going the way of
	// the exact sum, once upwards and once downwards.
	p := float32(1 + math.Ldexp(1, -12))
	tiny := float32(math.Ldexp(1, -60))
	for _, sgn := range []float32{1, -1} {
		check(sgn*p, p, sgn*tiny)
		check(sgn*p, p, -sgn*tiny)
		// 2^-24(1-2^-18) * (1+2^-18) + (1+2^-23): just below the halfway
		// point 1 + 2^-23 + 2^-24, whose even neighbour is above.
		check(sgn*float32(math.Ldexp(1-math.Ldexp(1, -18), -24)), float32(1+math.Ldexp(1, -18)), sgn*float32(1+math.Ldexp(1, -23)))
	}
	check(p, p, float32(math.Inf(1)))
	check(float32(math.Ldexp(1, -24)), 1, 1) // exactly halfway: ties to even
}

// ggmlOrderDot transcribes ggml's x86 AVX2 kernels for the 32-element
// block types independently of dot.go (see the comment there), with
// big.Float FMAs: the portable kernels must match it bit for bit.
func ggmlOrderDot(t Type, w []byte, a *actRow) float32 {
	bs := t.BlockSize()
	var acc [8]float32
	var summs float32
	for ib, yd := range a.d {
		b := w[ib*bs : (ib+1)*bs]
		var x [32]int32
		switch t {
		case Q8_0:
			for j := range x {
				x[j] = int32(int8(b[q8_0Qs+j]))
			}
		default:
			qsOff := map[Type]int{Q4_0: q4_0Qs, Q4_1: q4_1Qs, Q5_0: q5_0Qs, Q5_1: q5_1Qs}[t]
			off := map[Type]int32{Q4_0: 8, Q5_0: 16}[t]
			var qh uint32
			if t == Q5_0 || t == Q5_1 {
				qh = binary.LittleEndian.Uint32(b[qsOff-4:])
			}
			for j := range 16 {
				q := b[qsOff+j]
				x[j] = int32(q&0xf) + int32(qh>>j&1)*16 - off
				x[j+16] = int32(q>>4) + int32(qh>>(j+16)&1)*16 - off
			}
		}
		d := float32(f16At(b, 0) * yd)
		if t == Q4_1 || t == Q5_1 {
			summs += float32(f16At(b, 2) * a.s[ib])
		}
		for k := range acc {
			var lane int32
			for e := 4 * k; e < 4*k+4; e++ {
				lane += x[e] * int32(a.qs[ib*QK+e])
			}
			acc[k] = fma32Exact(d, float32(lane), acc[k])
		}
	}
	h := [4]float32{acc[4] + acc[0], acc[5] + acc[1], acc[6] + acc[2], acc[7] + acc[3]}
	r := (h[0] + h[2]) + (h[1] + h[3])
	if t == Q4_1 || t == Q5_1 {
		r += summs
	}
	return r
}

func TestPortableKernelsFollowGGML(t *testing.T) {
	rng := rand.New(rand.NewPCG(25, 26))
	for _, typ := range asmBlockTypes {
		for _, blocks := range []int{1, 3, 48} {
			cols := blocks * QK
			const rows = 8
			data := randomMatrixData(rng, typ, rows, cols)
			extremeBlocks(typ, data)
			a := randomAct(rng, typ.VecDotType(), cols)
			dot := dotKernel(typ)
			rs := blocks * typ.BlockSize()
			for r := range rows {
				w := data[r*rs : (r+1)*rs]
				requireSameBits(t, ggmlOrderDot(typ, w, a), dot(w, a), "%s/%d blocks row %d (want: ggml order)", typ, blocks, r)
			}
		}
	}
}

// ggmlKOrderDot transcribes ggml_vec_dot_q{4,5,6}_K_q8_K's AVX2 branch
// independently of dot.go: the super-block is decoded to 256 unsigned
// quants in activation order with a scale per element, lane m of each
// 32-element run takes elements 4m..4m+3, and the float steps use
// big.Float FMAs (see the comment in dot.go).
func ggmlKOrderDot(t Type, w []byte, a *actRow) float32 {
	bs := t.BlockSize()
	var acc [8]float32
	var accMin [4]float32
	var summs float32
	for ib, yd := range a.d {
		b := w[ib*bs : (ib+1)*bs]
		var q [QKK]int32     // unsigned quants in element order
		var scale [QKK]int32 // each element's sub-block scale
		var mn [8]int32
		var xd, xmin float32
		switch t {
		case Q4_K, Q5_K:
			xd, xmin = f16At(b, qkD), f16At(b, qkDmin)
			for j := range 8 {
				s, m := kScaleMin(j, b[qkScales:])
				mn[j] = int32(m)
				for e := 32 * j; e < 32*j+32; e++ {
					scale[e] = int32(s)
				}
			}
			qs := b[q4kQs:]
			if t == Q5_K {
				qs = b[q5kQs:]
			}
			for e := range q {
				g, l, hi := e/64, e%32, e%64 >= 32
				v := qs[32*g+l] & 0xf
				if hi {
					v = qs[32*g+l] >> 4
				}
				q[e] = int32(v)
				if t == Q5_K {
					bit := 2 * g
					if hi {
						bit++
					}
					q[e] += int32(b[q5kQh+l]>>bit&1) * 16
				}
			}
		case Q6_K:
			xd = f16At(b, q6kD)
			for e := range q {
				h, k, l := e/128, e%128/32, e%32
				lo := b[q6kQl+64*h+l+32*(k%2)]
				if k >= 2 {
					lo >>= 4
				}
				q[e] = int32(lo&0xf) | int32(b[q6kQh+32*h+l]>>(2*k)&3)<<4
				scale[e] = int32(int8(b[q6kScales+e/16]))
			}
		}
		var lanes [8]int32
		for e := range q {
			lanes[e%32/4] += scale[e] * q[e] * int32(a.qs[ib*QKK+e])
		}
		bsum := a.bsums[ib*16 : ib*16+16]
		if t == Q6_K {
			for m := range lanes {
				lanes[m] -= 32 * (int32(bsum[2*m])*int32(int8(b[q6kScales+2*m])) + int32(bsum[2*m+1])*int32(int8(b[q6kScales+2*m+1])))
			}
		}
		d := yd * xd
		for m := range acc {
			acc[m] = fma32Exact(d, float32(lanes[m]), acc[m])
		}
		if t == Q6_K {
			continue
		}
		dmin := -yd * xmin
		var total int32
		for i := range accMin {
			p := mn[2*i]*(int32(bsum[4*i])+int32(bsum[4*i+1])) + mn[2*i+1]*(int32(bsum[4*i+2])+int32(bsum[4*i+3]))
			accMin[i] = fma32Exact(dmin, float32(p), accMin[i])
			total += p
		}
		summs += float32(dmin * float32(total))
	}
	r := hsum8(&acc)
	switch t {
	case Q4_K:
		r += (accMin[0] + accMin[2]) + (accMin[1] + accMin[3])
	case Q5_K:
		r += summs
	}
	return r
}

func TestPortableKQuantsFollowGGML(t *testing.T) {
	rng := rand.New(rand.NewPCG(27, 28))
	for _, typ := range kTypes {
		for _, blocks := range []int{1, 4} {
			cols := blocks * QKK
			const rows = 4
			data := randomMatrixData(rng, typ, rows, cols)
			extremeKBlocks(typ, data)
			a := randomAct(rng, Q8_K, cols)
			dot := dotKernel(typ)
			rs := blocks * typ.BlockSize()
			for r := range rows {
				w := data[r*rs : (r+1)*rs]
				requireSameBits(t, ggmlKOrderDot(typ, w, a), dot(w, a), "%s/%d blocks row %d (want: ggml order)", typ, blocks, r)
			}
		}
	}
}

// TestMulSerialDoesNotAllocate: a decode step makes a few hundred Mul
// calls, which must not produce garbage.
func TestMulSerialDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items at random under -race")
	}
	rng := rand.New(rand.NewPCG(29, 30))
	for _, typ := range []Type{Q4_1, Q8_0, Q4_K} {
		m, err := NewMatrix(typ, 64, QKK*2, randomMatrixData(rng, typ, 64, QKK*2))
		require.NoError(t, err)
		x := randomVectors(rng, m.Cols)
		out := make([]float32, m.Rows)
		m.Mul(nil, x, 1, out) // fill the activation pool
		require.Zero(t, testing.AllocsPerRun(50, func() { m.Mul(nil, x, 1, out) }), "%s", typ)
	}
}

func TestAllocPacked(t *testing.T) {
	seen := map[*byte]bool{}
	var owners []*packedMem
	defer runtime.KeepAlive(&owners)
	for _, n := range []int{1, 63, 64, 1000, packChunk / 8, packChunk/4 + 1} {
		b, own := allocPacked(n)
		owners = append(owners, own)
		require.Len(t, b, n)
		require.Equal(t, n, cap(b), "a copy must not reach into the next one")
		require.Zero(t, uintptr(unsafe.Pointer(&b[0]))%packAlign, "aligned to a cache line")
		require.False(t, seen[&b[0]])
		seen[&b[0]] = true
		for _, v := range b {
			require.Zero(t, v)
		}
	}
}

// TestPromoteHugePagesKeepsContents packs a matrix large enough for its
// own mapping, lets the background collapse into huge pages finish and
// checks that the copy still unpacks to the same bytes and multiplies the
// same.
func TestPromoteHugePagesKeepsContents(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 42))
	const rows, cols = 4096, 2048 // 4.5 MB of Q4_0: its own mapping
	data := randomMatrixData(rng, Q4_0, rows, cols)
	p, own := packMatrix(Q4_0, data, rows, cols, nil)
	defer runtime.KeepAlive(own)
	before := bytes.Clone(p)
	waitHugePages()
	require.True(t, bytes.Equal(before, p), "collapsing into huge pages changed the packed copy")
	l := packLayouts[Q4_0]
	again := make([]byte, len(p))
	rs := cols / QK * l.bs
	gs := cols / QK * packedSize(Q4_0)
	for g := range rows / packRows {
		packGroup(&l, data[g*packRows*rs:], rs, cols/QK, again[g*gs:])
	}
	require.True(t, bytes.Equal(again, p), "packed copy differs from a fresh packing")
}

// TestPacked2KernelsMatchOneVector checks every two-vector packed kernel
// against the one-vector kernel of its set and the portable kernel, bit
// for bit, for both vectors, on random and extreme inputs.
func TestPacked2KernelsMatchOneVector(t *testing.T) {
	rng := rand.New(rand.NewPCG(43, 44))
	for _, set := range asmKernelSets {
		for typ, kernel2 := range set.packed2 {
			kernel := set.packed[typ]
			require.NotNil(t, kernel, "%s has a two-vector %s kernel but no one-vector one", set.name, typ)
			for _, rows := range []int{8, 16, 40} {
				for _, blocks := range []int{1, 2, 5, 18} {
					cols := blocks * QK
					name := fmt.Sprintf("%s/%s/%dx%d", set.name, typ, rows, cols)
					data := randomMatrixData(rng, typ, rows, cols)
					extremeBlocks(typ, data)
					a := randomAct(rng, typ.VecDotType(), cols)
					b := randomAct(rng, typ.VecDotType(), cols)
					extremeAct(b)
					setCorr(quantOffset(typ), a)
					setCorr(quantOffset(typ), b)
					p, own := packMatrix(typ, data, rows, cols, nil)
					outA, outB := make([]float32, rows+1), make([]float32, rows+1)
					outA[rows], outB[rows] = 42, 42
					kernel2(p, rows/packRows, a, b, outA[:rows], outB[:rows])
					require.Equal(t, float32(42), outA[rows], "%s: wrote past its rows", name)
					require.Equal(t, float32(42), outB[rows], "%s: wrote past its rows", name)
					oneA, oneB := make([]float32, rows), make([]float32, rows)
					kernel(p, rows/packRows, a, oneA)
					kernel(p, rows/packRows, b, oneB)
					runtime.KeepAlive(own)
					dot := dotKernel(typ)
					rs := blocks * typ.BlockSize()
					for r := range rows {
						requireSameBits(t, oneA[r], outA[r], "%s row %d, vector a", name, r)
						requireSameBits(t, oneB[r], outB[r], "%s row %d, vector b", name, r)
						requireSameBits(t, dot(data[r*rs:(r+1)*rs], b), outB[r], "%s row %d, vector b vs Go", name, r)
					}
				}
			}
		}
	}
}

func TestPacked2KernelsPanicOnShortInput(t *testing.T) {
	rng := rand.New(rand.NewPCG(45, 46))
	for _, set := range asmKernelSets {
		for typ, kernel2 := range set.packed2 {
			data := randomMatrixData(rng, typ, 8, 2*QK)
			p, own := packMatrix(typ, data, 8, 2*QK, nil)
			defer runtime.KeepAlive(own)
			a := randomAct(rng, typ.VecDotType(), 2*QK)
			b := randomAct(rng, typ.VecDotType(), 2*QK)
			setCorr(quantOffset(typ), a)
			setCorr(quantOffset(typ), b)
			out := make([]float32, 8)
			name := set.name + "/" + typ.String()
			require.Panics(t, func() { kernel2(p[:len(p)-1], 1, a, b, out, make([]float32, 8)) }, name)
			require.Panics(t, func() { kernel2(p, 1, a, b, out, make([]float32, 7)) }, name)
			short := *b
			short.qs = short.qs[:QK]
			require.Panics(t, func() { kernel2(p, 1, a, &short, out, make([]float32, 8)) }, name)
			short = *b
			short.d = short.d[:1]
			require.Panics(t, func() { kernel2(p, 1, a, &short, out, make([]float32, 8)) }, name)
		}
	}
}
