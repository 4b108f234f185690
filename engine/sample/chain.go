package sample

import (
	"fmt"
	"math"

	"github.com/realm-ai/realm/engine/errs"
)

// Policy is the decision stage of sampling: given the host's candidates
// (sorted best first, see TopCandidates) it returns the id of the next
// token, which must be one of them. A WebAssembly guest implements the same
// contract over the same list.
type Policy interface {
	Choose(cands []Candidate) (int32, error)
}

// Chain is the native Policy: llama.cpp's top_k, top_p, min_p, temperature
// and dist samplers applied in that order, with the same float32 arithmetic.
// It holds the random generator, so one Chain serves one sequence at a time.
type Chain struct {
	topK        int
	topP, minP  float32
	temperature float32
	rng         mt19937
	buf         []Candidate
	probs       []float32
}

// NewChain returns the native policy for p, its generator seeded from p.Seed.
func NewChain(p Params) *Chain {
	c := &Chain{topK: p.TopK, topP: p.TopP, minP: p.MinP, temperature: p.Temperature}
	c.rng.seed(p.seed32())
	return c
}

// Choose implements Policy.
func (c *Chain) Choose(cands []Candidate) (int32, error) {
	if len(cands) == 0 {
		return 0, fmt.Errorf("%w: sampling: no candidates", errs.ErrInvalidArgument)
	}
	cur := append(c.buf[:0], cands...)
	c.buf = cur

	// top_k: the list is sorted, so keeping the best k is a prefix.
	if c.topK > 0 && c.topK < len(cur) {
		cur = cur[:c.topK]
	}

	// top_p: smallest prefix whose softmax mass reaches p.
	if c.topP < 1 {
		probs := c.softmax(cur)
		var cum float32
		for i, p := range probs {
			cum += p
			if cum >= c.topP {
				cur = cur[:i+1]
				break
			}
		}
	}

	// min_p: keep logits >= max + log(p), i.e. p_i >= min_p * p_max.
	if c.minP > 0 {
		minLogit := cur[0].Logit + float32(math.Log(float64(c.minP)))
		keep := 1 // the best token always stays
		for keep < len(cur) && cur[keep].Logit >= minLogit {
			keep++
		}
		cur = cur[:keep]
	}

	// temperature <= 0 keeps only the best token: greedy.
	if c.temperature <= 0 || len(cur) == 1 {
		return cur[0].ID, nil
	}
	for i := range cur {
		cur[i].Logit /= c.temperature
	}
	return cur[c.draw(cur)].ID, nil
}

// softmax returns the probabilities of the sorted list cur like llama.cpp's
// llama_sampler_softmax_impl: expf(l - max) summed and divided in float32.
func (c *Chain) softmax(cur []Candidate) []float32 {
	probs := c.probs[:0]
	maxL := cur[0].Logit
	var sum float32
	for _, x := range cur {
		p := expf(x.Logit - maxL)
		probs = append(probs, p)
		sum += p
	}
	for i := range probs {
		probs[i] /= sum
	}
	c.probs = probs
	return probs
}

// draw picks an index with probability softmax(cur) like llama.cpp's dist
// sampler: unnormalised float32 weights summed in float64, one uniform
// double, first index whose running sum reaches the target.
func (c *Chain) draw(cur []Candidate) int {
	maxL := cur[0].Logit
	weights := c.probs[:0]
	var total float64
	for _, x := range cur {
		w := expf(x.Logit - maxL)
		weights = append(weights, w)
		total += float64(w)
	}
	c.probs = weights
	target := total * c.rng.float64()
	var run float64
	for i, w := range weights {
		run += float64(w)
		if run >= target {
			return i
		}
	}
	return len(cur) - 1
}

// expf is the sampler's exponential: Exp32, which the WebAssembly default
// guest reproduces bit for bit.
func expf(x float32) float32 { return Exp32(x) }
