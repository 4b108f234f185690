package tensor

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/realm-ai/realm/engine/errs"
)

var mulTypes = []Type{F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K, Q5_K, Q6_K}

// f16Fields lists the byte offsets of the f16 scales in one block of t.
func f16Fields(t Type) []int {
	switch t {
	case Q4_0, Q5_0, Q8_0:
		return []int{0}
	case Q4_1, Q5_1, Q4_K, Q5_K:
		return []int{0, 2}
	case Q6_K:
		return []int{q6kD}
	}
	return nil
}

// randomMatrixData returns rows x cols random weights of type t: random
// bytes with sane f16 scales for quantized types, Gaussian values otherwise.
func randomMatrixData(rng *rand.Rand, t Type, rows, cols int) []byte {
	switch t {
	case F32, F16, BF16:
		w := make([]float32, rows*cols)
		for i := range w {
			w[i] = float32(rng.NormFloat64() * 0.5)
		}
		data, err := Quantize(t, w)
		if err != nil {
			panic(err)
		}
		return data
	}
	bs := t.BlockSize()
	data := make([]byte, rows*cols/t.BlockLen()*bs)
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	for b := 0; b < len(data)/bs; b++ {
		for _, off := range f16Fields(t) {
			v := float32((rng.Float64()*2 - 0.5) * 0.02) // mostly positive, like real scales
			binary.LittleEndian.PutUint16(data[b*bs+off:], FP32ToFP16(v))
		}
	}
	return data
}

func randomVectors(rng *rand.Rand, n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
		if i%97 == 0 {
			x[i] *= 8 // outliers, as real activations have
		}
	}
	return x
}

// dequantAct returns the values the kernels actually multiply: the
// activation vector after conversion to the vec-dot type.
func dequantAct(vt Type, r *actRow) []float64 {
	out := make([]float64, 0, len(r.qs)+len(r.f))
	switch vt {
	case Q8_0, Q8_1, Q8_K:
		bl := len(r.qs) / len(r.d)
		for i, q := range r.qs {
			out = append(out, float64(q)*float64(r.d[i/bl]))
		}
	default:
		for _, v := range r.f {
			out = append(out, float64(v))
		}
	}
	return out
}

func mulShapes(t Type) [][2]int {
	if t.BlockLen() == QKK {
		return [][2]int{{1, 256}, {7, 512}, {33, 768}}
	}
	return [][2]int{{1, 32}, {7, 96}, {33, 256}, {65, 1024}}
}

// TestMulMatchesReference checks Mul two ways for every type, shape, batch
// size and thread count:
//   - tightly against float64 sums of dequantized weights times the
//     converted activations (what the kernel must compute, up to float32
//     accumulation), which catches any wrong nibble, bit or scale;
//   - loosely against float64 dequant(W)·x with the true activations, with
//     a bound derived from the activation conversion's worst-case error.
//
// It also checks that results do not depend on the thread count.
func TestMulMatchesReference(t *testing.T) {
	pool2 := NewPool(2)
	defer pool2.Close()
	pool1 := NewPool(1)
	defer pool1.Close()
	rng := rand.New(rand.NewPCG(1, 2))
	for _, typ := range mulTypes {
		for _, shape := range mulShapes(typ) {
			rows, cols := shape[0], shape[1]
			m, err := NewMatrix(typ, rows, cols, randomMatrixData(rng, typ, rows, cols))
			require.NoError(t, err)
			w := make([]float32, rows*cols)
			for r := 0; r < rows; r++ {
				m.Row(r, w[r*cols:(r+1)*cols])
			}
			for _, n := range []int{1, 7} {
				x := randomVectors(rng, n*cols)
				var serial []float32
				for _, p := range []*Pool{nil, pool1, pool2} {
					name := fmt.Sprintf("%s/%dx%d/n=%d/threads=%d", typ, rows, cols, n, p.Threads())
					out := make([]float32, n*rows+1)
					out[n*rows] = 42 // sentinel: Mul must not write past n*Rows
					m.Mul(p, x, n, out)
					require.Equal(t, float32(42), out[n*rows], name)
					out = out[:n*rows]
					if serial == nil {
						serial = out
						checkMul(t, name, m, w, x, n, out)
					} else {
						require.Equal(t, serial, out, "%s: depends on threads", name)
					}
				}
			}
		}
	}
}

// blockMin returns the f16 min m of the 32-element block holding element i
// of row r (Q4_1, Q5_1), or 0 for other types.
func blockMin(m *Matrix, r, i int) float64 {
	if m.Type != Q4_1 && m.Type != Q5_1 {
		return 0
	}
	off := r*m.rowSize() + i/QK*m.Type.BlockSize()
	return float64(f16At(m.Data, off+q4_1M)) // Q5_1 keeps m at the same offset
}

func checkMul(t *testing.T, name string, m *Matrix, w, x []float32, n int, out []float32) {
	t.Helper()
	typ, rows, cols := m.Type, m.Rows, m.Cols
	vt := typ.VecDotType()
	var act activations
	act.reset(vt, n, cols)
	for b := 0; b < n; b++ {
		quantizeAct(vt, x[b*cols:(b+1)*cols], &act.rows[b])
	}
	for b := 0; b < n; b++ {
		xq := dequantAct(vt, &act.rows[b])
		xb := x[b*cols : (b+1)*cols]
		// Worst-case |x - x̂| per element: Q8 activations are off by at
		// most half a step plus the f16 rounding of the scale (127 steps
		// times 2^-11 relative), F16/BF16 by half an ulp.
		errBound := func(i int) float64 {
			switch vt {
			case Q8_0, Q8_1:
				blk := xb[i/QK*QK : i/QK*QK+QK]
				amax := 0.0
				for _, v := range blk {
					amax = math.Max(amax, math.Abs(float64(v)))
				}
				return amax/127*0.5 + amax*math.Pow(2, -11)
			case Q8_K:
				blk := xb[i/QKK*QKK : i/QKK*QKK+QKK]
				amax := 0.0
				for _, v := range blk {
					amax = math.Max(amax, math.Abs(float64(v)))
				}
				return amax/127*0.5 + amax*1e-6
			case F16:
				return math.Abs(float64(xb[i])) * math.Pow(2, -11)
			case BF16:
				return math.Abs(float64(xb[i])) * math.Pow(2, -8)
			}
			return 0
		}
		for r := 0; r < rows; r++ {
			wr := w[r*cols : (r+1)*cols]
			var exactQ, absQ, exact, bound float64
			for i, wi := range wr {
				// Q8_1 carries the block sum as s = f16(d*sum(q)), and the
				// kernels multiply the weight's min by s, not by the sum of
				// the converted activations.
				mn := blockMin(m, r, i)
				exactQ += (float64(wi) - mn) * xq[i]
				absQ += math.Abs(float64(wi) * xq[i])
				exact += float64(wi) * float64(xb[i])
				// (w-m)(x̂-x) + m(x̂-x): the min term sees the conversion error too.
				bound += (math.Abs(float64(wi)-mn) + math.Abs(mn)) * errBound(i)
				if vt == Q8_1 && i%QK == 0 {
					s := float64(act.rows[b].s[i/QK])
					exactQ += mn * s
					absQ += math.Abs(mn * s)
					bound += math.Abs(mn*s) * math.Pow(2, -10)
				}
			}
			got := float64(out[b*rows+r])
			// float32 accumulation over at most cols/32 block terms.
			tight := absQ*float64(cols/32+8)*math.Pow(2, -24) + 1e-30
			require.InDelta(t, exactQ, got, tight, "%s: row %d vec %d vs converted activations", name, r, b)
			require.InDelta(t, exact, got, bound+tight+absQ*1e-6, "%s: row %d vec %d vs true activations", name, r, b)
		}
	}
}

func TestRowMatchesDequantize(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, typ := range mulTypes {
		rows, cols := 5, 512
		data := randomMatrixData(rng, typ, rows, cols)
		m, err := NewMatrix(typ, rows, cols, data)
		require.NoError(t, err)
		rs := len(data) / rows
		for r := 0; r < rows; r++ {
			got := make([]float32, cols+1)
			got[cols] = 7
			m.Row(r, got)
			require.Equal(t, float32(7), got[cols])
			want := make([]float32, cols)
			require.NoError(t, Dequantize(typ, data[r*rs:(r+1)*rs], want))
			for i := range want {
				require.Equal(t, math.Float32bits(want[i]), math.Float32bits(got[i]), "%s row %d col %d", typ, r, i)
			}
		}
	}
}

func TestNewMatrixValidation(t *testing.T) {
	good := make([]byte, 3*18)
	m, err := NewMatrix(Q4_0, 3, 32, good)
	require.NoError(t, err)
	require.Equal(t, &Matrix{Type: Q4_0, Rows: 3, Cols: 32, Data: good}, m)

	for _, c := range []struct {
		name       string
		typ        Type
		rows, cols int
		size       int
		want       error
	}{
		{"short data", Q4_0, 3, 32, 3*18 - 1, errs.ErrInvalidModel},
		{"long data", Q4_0, 3, 32, 3*18 + 1, errs.ErrInvalidModel},
		{"partial block", Q4_0, 3, 48, 3 * 18, errs.ErrInvalidModel},
		{"K-quant row not a multiple of 256", Q4_K, 2, 576, 2 * 144 * 2, errs.ErrInvalidModel},
		{"zero rows", F32, 0, 4, 0, errs.ErrInvalidModel},
		{"negative cols", F32, 4, -4, 0, errs.ErrInvalidModel},
		{"overflow", Q8_0, math.MaxInt / 2, 64, 0, errs.ErrInvalidModel},
		{"unsupported type", Q2_K, 1, 256, Q2_K.BlockSize(), errs.ErrUnsupportedModel},
		{"unknown type", Type(77), 1, 1, 1, errs.ErrUnsupportedModel},
	} {
		_, err := NewMatrix(c.typ, c.rows, c.cols, make([]byte, c.size))
		require.ErrorIs(t, err, c.want, c.name)
	}
}

func TestMulPanicsOnShortBuffers(t *testing.T) {
	m, err := NewMatrix(F32, 2, 4, make([]byte, 2*4*4))
	require.NoError(t, err)
	require.Panics(t, func() { m.Mul(nil, make([]float32, 7), 2, make([]float32, 4)) })
	require.Panics(t, func() { m.Mul(nil, make([]float32, 8), 2, make([]float32, 3)) })
	require.Panics(t, func() { m.Row(2, make([]float32, 4)) })
	require.Panics(t, func() { m.Row(0, make([]float32, 3)) })
	m.Mul(nil, nil, 0, nil) // nothing to do
}

func TestVecDotType(t *testing.T) {
	want := map[Type]Type{
		F32: F32, F16: F16, BF16: BF16, Q4_0: Q8_0, Q5_0: Q8_0, Q8_0: Q8_0,
		Q4_1: Q8_1, Q5_1: Q8_1, Q4_K: Q8_K, Q5_K: Q8_K, Q6_K: Q8_K,
	}
	for typ, vt := range want {
		require.Equal(t, vt, typ.VecDotType(), typ.String())
	}
}

func TestQuantizeActQ8(t *testing.T) {
	// amax = 127 makes d = 1 and the multiplier 1, so ties are visible.
	x := make([]float32, 32)
	x[0] = 127
	x[1], x[2], x[3], x[4] = 2.5, 3.5, -2.5, -0.5
	x[5], x[6] = 1.49, -126.6
	qs := make([]int8, 32)
	d := make([]float32, 1)
	s := make([]float32, 1)
	quantizeActQ8(x, qs, d, s, make([]int32, 8*len(d)))
	require.Equal(t, float32(1), d[0])
	require.Equal(t, []int8{127, 2, 4, -2, 0, 1, -127}, qs[:7], "ties round to even")
	sum := 0
	for _, q := range qs {
		sum += int(q)
	}
	require.Equal(t, float32(sum), s[0])

	zero := make([]float32, 32)
	quantizeActQ8(zero, qs, d, nil, make([]int32, 8*len(d)))
	require.Equal(t, float32(0), d[0])
	require.Equal(t, make([]int8, 32), qs)
}

func TestQuantizeActQ8K(t *testing.T) {
	var act activations
	act.reset(Q8_K, 1, 512)
	r := &act.rows[0]
	x := make([]float32, 512)
	x[0] = 127 // signed max: iscale = -127/127 = -1
	x[1], x[2], x[3] = 2.5, 3.5, -127
	for i := 256; i < 512; i++ {
		x[i] = float32(i-384) / 64
	}
	quantizeActQ8K(x, r)
	require.Equal(t, float32(-1), r.d[0])
	require.Equal(t, []int8{-127, -2, -4, 127}, r.qs[:4], "negated by the -127/max scale, ties to even")
	require.Equal(t, int16(-127-2-4+127), r.bsums[0])
	for j := 0; j < 32; j++ {
		var sum int16
		for _, q := range r.qs[16*j : 16*j+16] {
			sum += int16(q)
		}
		require.Equal(t, sum, r.bsums[j])
	}
	require.InDelta(t, float32(2)/127, r.d[1], 1e-9) // max is -2 (the first of largest magnitude)
	require.Equal(t, int8(-127), r.qs[256])

	clear(x[:256])
	r.qs[5], r.bsums[3] = 9, 9
	quantizeActQ8K(x, r)
	require.Equal(t, float32(0), r.d[0])
	require.Equal(t, make([]int8, 256), r.qs[:256])
	require.Equal(t, make([]int16, 16), r.bsums[:16])
}
