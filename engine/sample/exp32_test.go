package sample

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestExp32MatchesMathExp(t *testing.T) {
	ref := func(x float32) float32 { return float32(math.Exp(float64(x))) }
	inf := float32(math.Inf(1))
	special := []float32{0, -0.0, 1, -1, 0.5, -0.5, 88, 88.72, 88.73, 89, 90, -87, -100, -103, -103.9, -104, -105,
		inf, -inf, 1e-8, -1e-8, float32(math.Ln2), -float32(math.Ln2) / 2}
	for _, x := range special {
		require.Equal(t, ref(x), Exp32(x), "x=%v", x)
	}
	require.True(t, math.IsNaN(float64(Exp32(float32(math.NaN())))))

	// Random arguments over the whole useful range and densely near 0,
	// where sampling evaluates it (logit - max logit, scaled by 1/temp).
	r := rand.New(rand.NewPCG(7, 8))
	mismatches := 0
	const n = 2_000_000
	for i := 0; i < n; i++ {
		var x float32
		if i%2 == 0 {
			x = float32(r.Float64()*193 - 104)
		} else {
			x = -float32(r.ExpFloat64() * 3)
		}
		got, want := Exp32(x), ref(x)
		if got != want {
			mismatches++
			// A mismatch may only be the other side of a rounding tie.
			require.InDelta(t, float64(want), float64(got), float64(want)*1.2e-7, "x=%v", x)
		}
	}
	require.LessOrEqual(t, mismatches, n/100000, "mismatches with math.Exp")
	t.Logf("%d of %d differ from float32(math.Exp) by one ulp", mismatches, n)
}

func TestExp32Monotonic(t *testing.T) {
	// e**x never decreases: walk every float32 in [-20, 0] with a stride.
	prev := float32(0)
	for b := math.Float32bits(-20); b > 0x80000000; b -= 1009 {
		x := math.Float32frombits(b)
		y := Exp32(x)
		if y < prev {
			t.Fatalf("Exp32(%v) = %v < %v", x, y, prev)
		}
		prev = y
	}
	require.Equal(t, float32(1), Exp32(math.Float32frombits(0x80000001)))
}
