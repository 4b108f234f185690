// Package sample chooses the next token from a model's logits with the
// semantics of llama.cpp's sampler chain (src/llama-sampling.cpp):
//
//	penalties -> top_k -> top_p -> min_p -> temperature -> dist
//
// The work is split in two stages so that the second can move into a
// WebAssembly guest without changing results:
//
//  1. Host stage (Sampler.Candidates): apply the repetition penalty to the
//     full logits, then extract the best few tokens as a short list of
//     Candidates sorted by logit (highest first, ties to the lower id). The
//     list holds CandidateCount(topK) tokens: top_k itself when
//     0 < top_k <= MaxCandidates, otherwise MaxCandidates.
//  2. Policy stage (Policy.Choose): everything else, over that list only.
//     Chain is the native policy.
//
// Because top_k is applied first in llama.cpp's chain, the two-stage split is
// exact whenever 0 < top_k <= MaxCandidates (the default top_k is 40). With
// top_k disabled (0) or larger than MaxCandidates, sampling only ever draws
// among the MaxCandidates best tokens and top_p normalises over them: tokens
// ranked below 256 are excluded, which llama.cpp would keep with a tiny
// probability. Greedy decoding (temperature <= 0) is exact in every case:
// it picks the highest penalised logit, the lowest id on ties, as llama.cpp's
// greedy and temperature-0 samplers do.
//
// Random draws use the Mersenne Twister (std::mt19937) seeded with the
// request's seed and turned into a double the way libstdc++'s
// std::uniform_real_distribution<double> does, as llama.cpp's dist sampler
// does. A run is fully determined by (logits, history, Params including
// Seed); see Params.Seed for how a 64-bit seed becomes a 32-bit one.
package sample
