package engine

import (
	"context"
	"fmt"

	"github.com/realm-ai/realm/engine/errs"
	"github.com/realm-ai/realm/engine/sample"
)

// Policy is a decision stage supplied by the caller in place of the
// native sampler chain: a tenant's WebAssembly guest (*sandbox.Instance
// implements it) or any Go type with these methods. For each token the
// session runs the sampler's host stage (repetition penalty, then the
// sample.CandidateCount(TopK) best tokens, best first) and asks the policy.
//
// A Policy serves one Generate call at a time; Generate calls Begin once,
// Step once per token, and End when it returns.
type Policy interface {
	// Begin starts a request with the sampling parameters and the prompt.
	// ctx is the request's context: cancelling it must stop the policy's
	// work (an error wrapping errs.ErrCancelled).
	Begin(ctx context.Context, p sample.Params, prompt []int32) error
	// Step returns the next token, or stop = true to end generation with
	// FinishStop. cands are this step's candidates (penalised logits),
	// logits the raw logits of the whole vocabulary; neither may be kept.
	Step(cands []sample.Candidate, logits []float32) (id int32, stop bool, err error)
	// End finishes the request.
	End()
}

// GenerateWithPolicy is Generate with the choice of each token delegated
// to pol. Its errors (a guest's errs.ErrSandbox) end the call with no
// result; cancelling ctx while pol runs gives FinishCancelled, as for
// Generate. With the default guest of package sandbox it produces the same
// tokens as Generate for the same parameters and seed.
func (s *Session) GenerateWithPolicy(ctx context.Context, prompt []int32, p SamplingParams, pol Policy, onToken func(Token) error) (*Result, error) {
	if pol == nil {
		return nil, fmt.Errorf("%w: nil policy", errs.ErrInvalidArgument)
	}
	return s.generate(ctx, prompt, p, pol, onToken)
}

// chooser is Generate's decision stage: the native sampler, or the
// sampler's host stage followed by a Policy.
type chooser struct {
	sampler *sample.Sampler
	pol     Policy
	nVocab  int
}

// newChooser starts the decision stage of a request.
func newChooser(ctx context.Context, p SamplingParams, prompt []int32, pol Policy, nVocab int) (*chooser, error) {
	sampler, err := sample.New(p.sampler())
	if err != nil {
		return nil, err
	}
	if pol != nil {
		if err := pol.Begin(ctx, p.sampler(), prompt); err != nil {
			return nil, err
		}
	}
	return &chooser{sampler: sampler, pol: pol, nVocab: nVocab}, nil
}

// next chooses the token that follows history given its logits.
func (c *chooser) next(logits []float32, history []int32) (id int32, stop bool, err error) {
	if c.pol == nil {
		id, err = c.sampler.Sample(logits, history)
		return id, false, err
	}
	id, stop, err = c.pol.Step(c.sampler.Candidates(logits, history), logits)
	if err == nil && !stop && (id < 0 || int(id) >= c.nVocab) {
		return 0, false, fmt.Errorf("%w: policy chose token %d, outside the vocabulary [0, %d)", errs.ErrInvalidArgument, id, c.nVocab)
	}
	return id, stop, err
}

// end finishes the request.
func (c *chooser) end() {
	if c.pol != nil {
		c.pol.End()
	}
}

// Vocabulary is a model's vocabulary as a policy sees it: its size and
// the text of each token. It implements sandbox.Vocab.
type Vocabulary struct{ m *Model }

// Vocabulary returns the model's vocabulary, for binding a sandbox
// instance to it.
func (m *Model) Vocabulary() *Vocabulary { return &Vocabulary{m: m} }

// VocabSize returns the number of tokens.
func (v *Vocabulary) VocabSize() int { return v.m.info.VocabSize }

// Piece returns the text bytes of token id, like llama_token_to_piece
// with special=false (control tokens have none); nil for an invalid id or
// once the model is closed.
func (v *Vocabulary) Piece(id int32) []byte {
	if err := v.m.acquire(); err != nil {
		return nil
	}
	defer v.m.mu.RUnlock()
	return v.m.tok.Piece(id)
}
