package tensor

import (
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"
)

// f16Values returns n random values exactly representable in f16, with a
// spread of magnitudes (and some extremes) like real queries and keys.
func f16Values(r *rand.Rand, n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		v := float32(r.NormFloat64() * math.Pow(2, float64(r.IntN(12)-6)))
		switch r.IntN(50) {
		case 0:
			v = 65504
		case 1:
			v = -65504
		case 2:
			v = 0x1p-24
		}
		x[i] = FP16ToFP32(FP32ToFP16(v))
	}
	return x
}

func TestAttnKernelsMatchGo(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, hd := range []int{16, 64, 80, 128, 256} {
		for _, lanes := range []int{16, 64} {
			for _, n := range []int{1, 2, 15, 17, 130} {
				stride := hd * 3
				q := f16Values(r, hd)
				k := f16Values(r, (n-1)*stride+hd)
				scale := float32(1 / math.Sqrt(float64(hd)))
				got := make([]float32, n)
				want := make([]float32, n)
				AttnScores(q, k, stride, lanes, scale, got)
				attnScoresGo(q, k, stride, lanes, scale, want)
				require.Equal(t, bits(want), bits(got), "scores hd=%d lanes=%d n=%d", hd, lanes, n)

				// The scores against float64 (the lane order changes only rounding).
				for i := range got {
					var exact, size float64
					for d := range q {
						p := float64(q[d]) * float64(k[i*stride+d])
						exact, size = exact+p, size+math.Abs(p)
					}
					require.InDelta(t, exact*float64(scale), float64(got[i]), 1e-5*size*float64(scale)+1e-30)
				}

				s := f16Values(r, n)
				first := n / 3
				outGot := f16Values(r, lanes*hd)
				outWant := append([]float32(nil), outGot...)
				AttnAccumulate(s, k, stride, first, n, lanes, outGot)
				attnAccumulateGo(s, k, stride, first, n, lanes, outWant)
				require.Equal(t, bits(outWant), bits(outGot), "accumulate hd=%d lanes=%d n=%d", hd, lanes, n)
			}
		}
	}
}

func TestAttnKernelsCheckArguments(t *testing.T) {
	q := make([]float32, 64)
	require.Panics(t, func() { AttnScores(q, make([]float32, 63), 64, 16, 1, make([]float32, 1)) })
	require.Panics(t, func() { AttnScores(q, make([]float32, 64), 64, 32, 1, make([]float32, 1)) })
	require.Panics(t, func() { AttnScores(q[:40], make([]float32, 64), 64, 16, 1, make([]float32, 1)) })
	require.Panics(t, func() { AttnAccumulate(q, q, 64, 0, 2, 16, make([]float32, 16*64)) })
	require.NotPanics(t, func() { AttnAccumulate(q, q, 64, 2, 2, 16, nil) })
}

func bits(x []float32) []uint32 {
	b := make([]uint32, len(x))
	for i, v := range x {
		b[i] = math.Float32bits(v)
	}
	return b
}

func TestPackedDataCoversWholeGroups(t *testing.T) {
	for _, tc := range []struct {
		typ        Type
		rows, cols int
	}{{Q4_1, 21, 64}, {Q8_0, 16, 32}, {Q4_K, 16, 256}, {Q4_0, 5, 32}} {
		rs, err := tc.typ.RowSize(int64(tc.cols))
		require.NoError(t, err)
		m, err := NewMatrix(tc.typ, tc.rows, tc.cols, make([]byte, int64(tc.rows)*rs))
		require.NoError(t, err)
		got := m.PackedData()
		if m.packed == nil {
			require.Nil(t, got, "%s", tc.typ)
			continue
		}
		require.Len(t, got, tc.rows/packRows*packRows*int(rs), "%s", tc.typ)
		require.Same(t, &m.Data[0], &got[0])
	}
}

func TestNewMatrixDroppingCoversPackedRows(t *testing.T) {
	const rows, cols = 8*packDropGroups*2 + 8*3 + 5, 64 // several parts and leftover rows
	rs, err := Q8_0.RowSize(cols)
	require.NoError(t, err)
	data := make([]byte, rows*int(rs))
	r := rand.New(rand.NewPCG(3, 4))
	for i := range data {
		data[i] = byte(r.Uint32())
	}
	var mu sync.Mutex
	var parts [][2]int
	m, err := NewMatrixDropping(Q8_0, rows, cols, data, func(b []byte) {
		off := int(uintptr(unsafe.Pointer(&b[0])) - uintptr(unsafe.Pointer(&data[0])))
		mu.Lock()
		parts = append(parts, [2]int{off, off + len(b)})
		mu.Unlock()
	})
	require.NoError(t, err)
	if m.packed == nil {
		require.Empty(t, parts)
		return
	}
	slices.SortFunc(parts, func(a, b [2]int) int { return a[0] - b[0] })
	end := 0
	for _, p := range parts {
		require.Equal(t, end, p[0], "parts are consecutive")
		end = p[1]
	}
	require.Equal(t, len(m.PackedData()), end, "parts cover the packed rows, not the leftover")
	plain, err := NewMatrix(Q8_0, rows, cols, data)
	require.NoError(t, err)
	require.Equal(t, plain.packed, m.packed)
}
