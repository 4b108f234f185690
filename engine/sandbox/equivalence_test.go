package sandbox

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/realm-ai/realm/engine/sample"
	"github.com/stretchr/testify/require"
)

// randomParams draws sampling parameters over the ranges that matter,
// including the edges (greedy, top_k off or above MaxCandidates, top_p 1,
// min_p 0 and 1).
func randomParams(r *rand.Rand) sample.Params {
	pick := func(vs ...float32) float32 { return vs[r.IntN(len(vs))] }
	p := sample.Params{
		Temperature:   pick(0, 0.1, 0.5, 0.8, 1, 1.3, 2.5, float32(r.Float64()*3)),
		TopK:          []int{0, 1, 2, 5, 40, 100, 256, 300}[r.IntN(8)],
		TopP:          pick(1, 1, 0.95, 0.9, 0.5, 0.1, float32(r.Float64()*0.999+0.001)),
		MinP:          pick(0, 0, 0.05, 0.1, 0.5, 1, float32(r.Float64())),
		RepeatPenalty: pick(1, 1.1, 1.5, 0.8),
		RepeatLastN:   []int{0, 64, -1, 8}[r.IntN(4)],
		Seed:          r.Uint64(),
	}
	if r.IntN(4) == 0 {
		p.Seed = uint64(r.IntN(10))
	}
	return p
}

// randomLogits draws logits with occasional exact ties and -Inf values.
func randomLogits(r *rand.Rand, n int) []float32 {
	l := make([]float32, n)
	scale := []float64{0.3, 2, 5, 20}[r.IntN(4)]
	for i := range l {
		x := r.NormFloat64() * scale
		switch r.IntN(20) {
		case 0:
			x = math.Round(x) // ties
		case 1:
			x = math.Inf(-1)
		}
		l[i] = float32(x)
	}
	if r.IntN(10) == 0 {
		l[r.IntN(n)] = float32(math.NaN()) // the host stage treats NaN as -Inf
	}
	return l
}

// TestDefaultGuestMatchesNativeChain runs the default guest and the native
// sample.Chain side by side over many random requests: the same
// parameters and seed must choose the same token at every step.
func TestDefaultGuestMatchesNativeChain(t *testing.T) {
	const nVocab = 3000
	h := newTestHost(t, Config{})
	in := defaultInstance(t, h, newFakeVocab(nVocab))
	r := rand.New(rand.NewPCG(11, 12))
	ctx := context.Background()
	requests, steps := 300, 60
	if testing.Short() {
		requests = 60
	}
	distinct := map[int32]bool{}
	for req := range requests {
		p := randomParams(r)
		sampler, err := sample.New(p)
		require.NoError(t, err)
		native := sample.NewChain(p)
		prompt := make([]int32, r.IntN(40)+1)
		for i := range prompt {
			prompt[i] = int32(r.IntN(nVocab))
		}
		require.NoError(t, in.Begin(ctx, p, prompt))
		history := slices.Clone(prompt)
		for step := range steps {
			logits := randomLogits(r, nVocab)
			cands := sampler.Candidates(logits, history)
			want, err := native.Choose(cands)
			require.NoError(t, err)
			got, stop, err := in.Step(cands, logits)
			require.NoError(t, err)
			require.False(t, stop)
			require.Equal(t, want, got, "request %d step %d params %+v", req, step, p)
			history = append(history, got)
			distinct[got] = true
		}
		in.End()
	}
	// The comparison is not vacuous: many different tokens were drawn.
	require.Greater(t, len(distinct), 500)
}

// TestDefaultGuestMatchesOnHandMadeLists covers lists the random logits
// rarely produce: a single candidate, all ties, all -Inf but one, huge
// and tiny spreads.
func TestDefaultGuestMatchesOnHandMadeLists(t *testing.T) {
	h := newTestHost(t, Config{})
	in := defaultInstance(t, h, newFakeVocab(1000))
	ctx := context.Background()
	inf := float32(math.Inf(-1))
	lists := [][]float32{
		{3},
		{1, 1, 1, 1, 1, 1},
		{5, inf, inf, inf},
		{1e30, 1e29, -1e30},
		{1e-30, 0, -1e-30},
		{88, 0, -88, -200},
		{0.5, 0.49999997, 0.4999999, 0.25},
	}
	for seed := range uint64(200) {
		for _, temp := range []float32{0, 0.01, 1, 100} {
			p := sample.Params{Temperature: temp, TopP: 0.97, MinP: 0.01, RepeatPenalty: 1, Seed: seed}
			native := sample.NewChain(p)
			require.NoError(t, in.Begin(ctx, p, []int32{1}))
			for li, l := range lists {
				cands := make([]sample.Candidate, len(l))
				for i, x := range l {
					cands[i] = sample.Candidate{ID: int32(100 + i), Logit: x}
				}
				want, err := native.Choose(cands)
				require.NoError(t, err)
				got, _, err := in.Step(cands, nil)
				require.NoError(t, err)
				require.Equal(t, want, got, "seed %d temp %v list %d", seed, temp, li)
			}
			in.End()
		}
	}
}
