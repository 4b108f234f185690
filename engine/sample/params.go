package sample

import (
	"fmt"
	"math"

	"github.com/realm-ai/realm/engine/errs"
)

// Params are the knobs of the sampler chain, named and defaulted as in
// llama.cpp's common_params_sampling.
type Params struct {
	// Temperature divides the logits before the draw; <= 0 means greedy.
	Temperature float32
	// TopK keeps the K best tokens; 0 disables it.
	TopK int
	// TopP keeps the smallest prefix of the sorted tokens whose probability
	// mass reaches TopP; 1 disables it. Range (0, 1].
	TopP float32
	// MinP drops tokens whose probability is below MinP times the best
	// token's; 0 disables it. Range [0, 1].
	MinP float32
	// RepeatPenalty divides positive logits and multiplies non-positive ones
	// of tokens seen in the last RepeatLastN tokens; 1 disables it. Must be > 0.
	RepeatPenalty float32
	// RepeatLastN is the penalty window: 0 disables penalties, -1 means the
	// whole history (prompt and generated tokens).
	RepeatLastN int
	// Seed seeds the draw. Seeds below 2^32 are used as is (so a seed gives
	// the same draws as llama.cpp's dist sampler with that seed); larger ones
	// are folded to 32 bits (low ^ high). Every seed, 0 included, is a
	// fixed seed: callers that want a random run must pick a random seed.
	Seed uint64
}

// DefaultParams returns llama.cpp's defaults: temperature 0.8, top_k 40,
// top_p 0.95, min_p 0.05, no repetition penalty (1.0, window 64), seed 0.
func DefaultParams() Params {
	return Params{Temperature: 0.8, TopK: 40, TopP: 0.95, MinP: 0.05, RepeatPenalty: 1, RepeatLastN: 64}
}

// Validate reports the first out-of-range field as an error wrapping
// errs.ErrInvalidArgument.
func (p Params) Validate() error {
	bad := func(name string, v any, want string) error {
		return fmt.Errorf("%w: sampling: %s = %v, want %s", errs.ErrInvalidArgument, name, v, want)
	}
	switch {
	case isNaN(p.Temperature) || p.Temperature < 0:
		return bad("temperature", p.Temperature, ">= 0")
	case p.TopK < 0:
		return bad("top_k", p.TopK, ">= 0")
	case isNaN(p.TopP) || p.TopP <= 0 || p.TopP > 1:
		return bad("top_p", p.TopP, "in (0, 1]")
	case isNaN(p.MinP) || p.MinP < 0 || p.MinP > 1:
		return bad("min_p", p.MinP, "in [0, 1]")
	case isNaN(p.RepeatPenalty) || p.RepeatPenalty <= 0 || math.IsInf(float64(p.RepeatPenalty), 0):
		return bad("repeat_penalty", p.RepeatPenalty, "> 0 and finite")
	case p.RepeatLastN < -1:
		return bad("repeat_last_n", p.RepeatLastN, ">= -1")
	}
	return nil
}

// seed32 folds the 64-bit seed into the generator's 32-bit seed.
func (p Params) seed32() uint32 {
	return uint32(p.Seed) ^ uint32(p.Seed>>32)
}

func isNaN(f float32) bool { return f != f }
