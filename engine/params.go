package engine

import (
	"fmt"

	"github.com/realm-ai/realm/engine/errs"
	"github.com/realm-ai/realm/engine/sample"
)

// SamplingParams control generation. Start from DefaultSamplingParams and
// change what you need: the zero value is not valid (top_p and
// repeat_penalty must be positive).
type SamplingParams struct {
	// MaxTokens caps the generated tokens; 0 means until the context is full.
	MaxTokens int `json:"max_tokens"`
	// Temperature divides the logits before the draw; 0 is greedy and
	// deterministic. Must be >= 0.
	Temperature float32 `json:"temperature"`
	// TopK keeps the K most likely tokens; 0 disables it (sampling then
	// draws among the sample.MaxCandidates most likely). Must be >= 0.
	TopK int `json:"top_k"`
	// TopP keeps the most likely tokens up to this probability mass, in (0, 1].
	TopP float32 `json:"top_p"`
	// MinP drops tokens less likely than MinP times the best one, in [0, 1].
	MinP float32 `json:"min_p"`
	// RepeatPenalty (> 0, 1 = off) penalises tokens of the last RepeatLastN.
	RepeatPenalty float32 `json:"repeat_penalty"`
	// RepeatLastN is the penalty window (prompt included); 0 = off, -1 = all.
	RepeatLastN int `json:"repeat_last_n"`
	// Seed fixes the random draws: the same seed, prompt and parameters
	// give the same output. Every value, 0 included, is a fixed seed.
	Seed uint64 `json:"seed"`
	// Stop strings end generation where they first appear; the stop string
	// itself is not part of the output. Empty strings are not allowed.
	Stop []string `json:"stop,omitempty"`
}

// DefaultSamplingParams returns llama.cpp's defaults: temperature 0.8,
// top_k 40, top_p 0.95, min_p 0.05, repeat_penalty 1 (off) over the last 64
// tokens, seed 0, no stop strings, no token limit.
func DefaultSamplingParams() SamplingParams {
	d := sample.DefaultParams()
	return SamplingParams{
		Temperature:   d.Temperature,
		TopK:          d.TopK,
		TopP:          d.TopP,
		MinP:          d.MinP,
		RepeatPenalty: d.RepeatPenalty,
		RepeatLastN:   d.RepeatLastN,
		Seed:          d.Seed,
	}
}

// Validate reports the first out-of-range field as an error wrapping
// errs.ErrInvalidArgument.
func (p SamplingParams) Validate() error {
	if p.MaxTokens < 0 {
		return fmt.Errorf("%w: sampling: max_tokens = %d, want >= 0", errs.ErrInvalidArgument, p.MaxTokens)
	}
	for i, s := range p.Stop {
		if s == "" {
			return fmt.Errorf("%w: sampling: stop[%d] is empty", errs.ErrInvalidArgument, i)
		}
	}
	return p.sampler().Validate()
}

// sampler returns the sampler's share of the parameters.
func (p SamplingParams) sampler() sample.Params {
	return sample.Params{
		Temperature:   p.Temperature,
		TopK:          p.TopK,
		TopP:          p.TopP,
		MinP:          p.MinP,
		RepeatPenalty: p.RepeatPenalty,
		RepeatLastN:   p.RepeatLastN,
		Seed:          p.Seed,
	}
}
