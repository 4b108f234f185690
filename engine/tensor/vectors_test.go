package tensor

import (
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/realm-ai/realm/engine/errs"
)

// Reference vectors come from scripts/quants/make_vectors.py (gguf-py).

// refVector is one testdata file: quantized bytes and their float32 side.
type refVector struct {
	typ    Type
	values []float32
	raw    []byte
}

// loadVector reads testdata/<dir>/<name>.bin. Dequant files store the bytes
// first, quant files the floats first.
func loadVector(t *testing.T, dir, name string) refVector {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", dir, name+".bin"))
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(data), 16)
	magic := map[string]string{"dequant": "RDQ1", "quant": "RQT1"}[dir]
	require.Equal(t, magic, string(data[:4]))
	v := refVector{typ: Type(binary.LittleEndian.Uint32(data[4:]))}
	n := int(binary.LittleEndian.Uint32(data[8:]))
	nb := int(binary.LittleEndian.Uint32(data[12:]))
	body := data[16:]
	require.Len(t, body, nb+4*n)
	floats, raw := body[nb:], body[:nb]
	if dir == "quant" {
		floats, raw = body[:4*n], body[4*n:]
	}
	v.raw = raw
	v.values = make([]float32, n)
	for i := range v.values {
		v.values[i] = math.Float32frombits(binary.LittleEndian.Uint32(floats[4*i:]))
	}
	return v
}

var dequantTypes = []Type{F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K, Q6_K}

func TestDequantizeMatchesGGUFPy(t *testing.T) {
	for _, typ := range dequantTypes {
		t.Run(typ.String(), func(t *testing.T) {
			v := loadVector(t, "dequant", typ.String())
			require.Equal(t, typ, v.typ)
			got := make([]float32, len(v.values))
			require.NoError(t, Dequantize(typ, v.raw, got))
			mismatches := 0
			for i := range got {
				if math.Float32bits(got[i]) != math.Float32bits(v.values[i]) {
					if mismatches < 5 {
						t.Errorf("element %d (block %d): got %g (%#08x), want %g (%#08x)", i, i/typ.BlockLen(),
							got[i], math.Float32bits(got[i]), v.values[i], math.Float32bits(v.values[i]))
					}
					mismatches++
				}
			}
			require.Zero(t, mismatches, "mismatching elements out of %d", len(got))
		})
	}
}

func TestQuantizeMatchesGGUFPy(t *testing.T) {
	for _, typ := range []Type{F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0} {
		t.Run(typ.String(), func(t *testing.T) {
			v := loadVector(t, "quant", typ.String())
			require.Equal(t, typ, v.typ)
			got, err := Quantize(typ, v.values)
			require.NoError(t, err)
			require.Len(t, got, len(v.raw))
			bs := typ.BlockSize()
			bad := 0
			for b := 0; b < len(got)/bs; b++ {
				g, w := got[b*bs:(b+1)*bs], v.raw[b*bs:(b+1)*bs]
				if string(g) != string(w) {
					if bad < 5 {
						bl := typ.BlockLen()
						t.Errorf("block %d: got %x, want %x (input %v)", b, g, w, v.values[b*bl:(b+1)*bl])
					}
					bad++
				}
			}
			require.Zero(t, bad, "mismatching blocks")
		})
	}
}

func TestDequantizeErrors(t *testing.T) {
	dst := make([]float32, 32)
	err := Dequantize(Q4_0, make([]byte, 17), dst)
	require.ErrorIs(t, err, errs.ErrInvalidArgument)
	err = Dequantize(Q4_0, make([]byte, 18), make([]float32, 31))
	require.ErrorIs(t, err, errs.ErrInvalidArgument)
	err = Dequantize(Q2_K, make([]byte, Q2_K.BlockSize()), make([]float32, 256))
	require.ErrorIs(t, err, errs.ErrUnsupportedModel)
	err = Dequantize(Type(99), nil, nil)
	require.ErrorIs(t, err, errs.ErrUnsupportedModel)
	require.NoError(t, Dequantize(Q4_0, nil, nil))
}

func TestQuantizeErrors(t *testing.T) {
	_, err := Quantize(Q8_0, make([]float32, 33))
	require.ErrorIs(t, err, errs.ErrInvalidArgument)
	_, err = Quantize(Q4_K, make([]float32, 256))
	require.ErrorIs(t, err, errs.ErrUnsupportedModel)
	_, err = Quantize(Type(99), make([]float32, 4))
	require.ErrorIs(t, err, errs.ErrUnsupportedModel)
	q, err := Quantize(Q4_0, nil)
	require.NoError(t, err)
	require.Empty(t, q)
}

// TestQuantizeRoundTrip checks the reference quantizers against their
// error bound: a round trip moves no element by more than half a step.
func TestQuantizeRoundTrip(t *testing.T) {
	x := make([]float32, 256)
	for i := range x {
		x[i] = float32(math.Sin(float64(i)*0.37)) * float32(1+i%7)
	}
	for _, typ := range []Type{Q4_0, Q4_1, Q5_0, Q5_1, Q8_0} {
		q, err := Quantize(typ, x)
		require.NoError(t, err)
		y := make([]float32, len(x))
		require.NoError(t, Dequantize(typ, q, y))
		levels := map[Type]float64{Q4_0: 8, Q4_1: 7.5, Q5_0: 16, Q5_1: 15.5, Q8_0: 127}[typ]
		for b := 0; b < len(x)/32; b++ {
			lo, hi := minMax(x[b*32 : b*32+32])
			span := math.Max(math.Abs(float64(lo)), math.Abs(float64(hi)))
			if typ == Q4_1 || typ == Q5_1 {
				span = float64(hi-lo) / 2
			}
			step := span / levels
			// Half a step, but a whole one on the side opposite the signed
			// maximum of Q4_0/Q5_0 (that side clamps at 7 or 15 steps), plus
			// the rounding of d and m to f16.
			tol := step * 0.5
			if typ == Q4_0 || typ == Q5_0 {
				tol = step
			}
			tol += (span + math.Abs(float64(lo))) * 2 * math.Pow(2, -11)
			for j := b * 32; j < b*32+32; j++ {
				require.InDelta(t, x[j], y[j], tol, "%s element %d", typ, j)
			}
		}
	}
}
