package sample

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"

	"github.com/realm-ai/realm/engine/errs"
	"github.com/stretchr/testify/require"
)

func randomLogits(r *rand.Rand, n int) []float32 {
	l := make([]float32, n)
	for i := range l {
		l[i] = float32(r.NormFloat64() * 3)
	}
	return l
}

// fullChain is llama.cpp's sampler chain over the whole vocabulary, written
// straight from llama-sampling.cpp, as the reference the two-stage Sampler
// must reproduce.
func fullChain(p Params, rng *mt19937, logits []float32, history []int32) int32 {
	type td struct {
		id    int32
		logit float32
	}
	cur := make([]td, len(logits))
	for i, l := range logits {
		cur[i] = td{int32(i), l}
	}
	// penalties
	if p.RepeatLastN != 0 && p.RepeatPenalty != 1 {
		w := history
		if p.RepeatLastN > 0 && len(w) > p.RepeatLastN {
			w = w[len(w)-p.RepeatLastN:]
		}
		seen := map[int32]bool{}
		for _, id := range w {
			seen[id] = true
		}
		for i := range cur {
			if seen[cur[i].id] {
				if cur[i].logit <= 0 {
					cur[i].logit *= p.RepeatPenalty
				} else {
					cur[i].logit /= p.RepeatPenalty
				}
			}
		}
	}
	sortDesc := func() {
		sort.SliceStable(cur, func(a, b int) bool { return cur[a].logit > cur[b].logit })
	}
	sortDesc()
	if p.TopK > 0 && p.TopK < len(cur) {
		cur = cur[:p.TopK]
	}
	if p.TopP < 1 {
		var sum float32
		probs := make([]float32, len(cur))
		for i := range cur {
			probs[i] = expf(cur[i].logit - cur[0].logit)
			sum += probs[i]
		}
		var cum float32
		for i := range cur {
			cum += probs[i] / sum
			if cum >= p.TopP {
				cur = cur[:i+1]
				break
			}
		}
	}
	if p.MinP > 0 {
		minLogit := cur[0].logit + float32(math.Log(float64(p.MinP)))
		var kept []td
		for _, c := range cur {
			if c.logit >= minLogit {
				kept = append(kept, c)
			}
		}
		cur = kept
	}
	if p.Temperature <= 0 {
		return cur[0].id
	}
	if len(cur) == 1 {
		return cur[0].id
	}
	var total float64
	w := make([]float32, len(cur))
	for i := range cur {
		w[i] = expf(cur[i].logit/p.Temperature - cur[0].logit/p.Temperature)
		total += float64(w[i])
	}
	target := total * rng.float64()
	var run float64
	for i := range cur {
		run += float64(w[i])
		if run >= target {
			return cur[i].id
		}
	}
	return cur[len(cur)-1].id
}

func TestSamplerMatchesFullChain(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	params := []Params{
		DefaultParams(),
		{Temperature: 0, TopK: 40, TopP: 1, MinP: 0, RepeatPenalty: 1.3, RepeatLastN: 8},
		{Temperature: 1.5, TopK: 5, TopP: 1, MinP: 0, RepeatPenalty: 1, RepeatLastN: 64},
		{Temperature: 0.7, TopK: 200, TopP: 0.5, MinP: 0.1, RepeatPenalty: 1.1, RepeatLastN: -1},
		{Temperature: 0.9, TopK: 64, TopP: 0.9, MinP: 0, RepeatPenalty: 0.8, RepeatLastN: 16, Seed: 1 << 40},
	}
	for pi, p := range params {
		s, err := New(p)
		require.NoError(t, err)
		var ref mt19937
		ref.seed(p.seed32())
		for step := 0; step < 200; step++ {
			logits := randomLogits(r, 1000)
			history := make([]int32, 30)
			for i := range history {
				history[i] = int32(r.IntN(1000))
			}
			before := slices.Clone(logits)
			got, err := s.Sample(logits, history)
			require.NoError(t, err)
			require.Equal(t, before, logits, "logits restored")
			want := fullChain(p, &ref, logits, history)
			require.Equal(t, want, got, "params %d step %d", pi, step)
		}
	}
}

func TestTopCandidatesOrderAndTies(t *testing.T) {
	nan := float32(math.NaN())
	logits := []float32{1, 3, 3, nan, -1, 2, 3}
	got := TopCandidates(logits, 4, nil)
	require.Equal(t, []Candidate{{1, 3}, {2, 3}, {6, 3}, {5, 2}}, got)
	require.Len(t, TopCandidates(logits, 100, nil), len(logits))
	require.Empty(t, TopCandidates(logits, 0, nil))
}

func TestGreedyPicksLowestIdOnTie(t *testing.T) {
	s, err := New(Params{Temperature: 0, TopP: 1, RepeatPenalty: 1})
	require.NoError(t, err)
	id, err := s.Sample([]float32{0, 5, 1, 5}, nil)
	require.NoError(t, err)
	require.Equal(t, int32(1), id)
}

func TestRepeatPenaltySigns(t *testing.T) {
	logits := []float32{2, -2, 0.5, 0}
	_, saved := penalize(logits, []int32{0, 1, 1, 7, -1}, 2, nil, nil)
	require.Equal(t, []float32{1, -4, 0.5, 0}, logits)
	restore(logits, saved)
	require.Equal(t, []float32{2, -2, 0.5, 0}, logits)

	// With a strong penalty the repeated best token loses to the runner-up.
	s, err := New(Params{Temperature: 0, TopP: 1, RepeatPenalty: 3, RepeatLastN: 2})
	require.NoError(t, err)
	id, err := s.Sample([]float32{3, 2, 0}, []int32{0})
	require.NoError(t, err)
	require.Equal(t, int32(1), id)
	// Outside the window, no penalty.
	id, err = s.Sample([]float32{3, 2, 0}, []int32{0, 2, 2})
	require.NoError(t, err)
	require.Equal(t, int32(0), id)
}

func TestSeedDeterminism(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	logits := randomLogits(r, 500)
	run := func(seed uint64) []int32 {
		s, err := New(Params{Temperature: 1.2, TopK: 100, TopP: 1, RepeatPenalty: 1, Seed: seed})
		require.NoError(t, err)
		var out []int32
		for i := 0; i < 64; i++ {
			id, err := s.Sample(logits, nil)
			require.NoError(t, err)
			out = append(out, id)
		}
		return out
	}
	a, b, c := run(7), run(7), run(8)
	require.Equal(t, a, b)
	require.NotEqual(t, a, c)
	// High temperature over 100 candidates draws many distinct tokens.
	require.Greater(t, len(slices.Compact(slices.Sorted(slices.Values(a)))), 10)
}

func TestTopPMinPCutoffs(t *testing.T) {
	// probabilities ~ 0.64, 0.24, 0.09, 0.03
	logits := []float32{3, 2, 1, 0}
	only := func(p Params) map[int32]bool {
		p.Temperature, p.RepeatPenalty = 1, 1
		seen := map[int32]bool{}
		for seed := uint64(0); seed < 300; seed++ {
			p.Seed = seed
			s, err := New(p)
			require.NoError(t, err)
			id, err := s.Sample(logits, nil)
			require.NoError(t, err)
			seen[id] = true
		}
		return seen
	}
	require.Equal(t, map[int32]bool{0: true}, only(Params{TopP: 0.5}))
	require.Equal(t, map[int32]bool{0: true, 1: true}, only(Params{TopP: 0.8}))
	require.Equal(t, map[int32]bool{0: true, 1: true}, only(Params{TopP: 1, MinP: 0.3}))
	require.Equal(t, map[int32]bool{0: true, 1: true, 2: true, 3: true}, only(Params{TopP: 1}))
	require.Equal(t, map[int32]bool{0: true, 1: true}, only(Params{TopP: 1, TopK: 2}))
}

func TestValidate(t *testing.T) {
	require.NoError(t, DefaultParams().Validate())
	bad := []Params{
		{Temperature: -1, TopP: 1, RepeatPenalty: 1},
		{TopK: -1, TopP: 1, RepeatPenalty: 1},
		{TopP: 0, RepeatPenalty: 1},
		{TopP: 1.5, RepeatPenalty: 1},
		{TopP: 1, MinP: 2, RepeatPenalty: 1},
		{TopP: 1, RepeatPenalty: 0},
		{TopP: 1, RepeatPenalty: 1, RepeatLastN: -2},
		{TopP: float32(math.NaN()), RepeatPenalty: 1},
	}
	for _, p := range bad {
		err := p.Validate()
		require.True(t, errors.Is(err, errs.ErrInvalidArgument), "%+v", p)
		_, err = New(p)
		require.ErrorIs(t, err, errs.ErrInvalidArgument)
	}
}

func TestChooseEmpty(t *testing.T) {
	_, err := NewChain(DefaultParams()).Choose(nil)
	require.ErrorIs(t, err, errs.ErrInvalidArgument)
}

func BenchmarkSample(b *testing.B) {
	r := rand.New(rand.NewPCG(5, 6))
	logits := randomLogits(r, 49152)
	s, _ := New(DefaultParams())
	history := make([]int32, 64)
	b.ResetTimer()
	for range b.N {
		if _, err := s.Sample(logits, history); err != nil {
			b.Fatal(err)
		}
	}
}
