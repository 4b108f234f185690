package sample

// Sampler picks the next token of one sequence: the host stage (penalties
// and candidate extraction) followed by a Policy. It keeps scratch buffers
// and the policy's random state, so it must not be used by two goroutines
// at once; make one per sequence.
type Sampler struct {
	params Params
	policy Policy
	cands  []Candidate
	saved  []Candidate
	ids    []int32
}

// New returns a Sampler for p using the native Chain policy.
func New(p Params) (*Sampler, error) {
	return NewWithPolicy(p, NewChain(p))
}

// NewWithPolicy returns a Sampler whose decision stage is policy; p still
// sets the host stage (penalties and the candidate count).
func NewWithPolicy(p Params, policy Policy) (*Sampler, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return &Sampler{params: p, policy: policy}, nil
}

// Candidates runs the host stage: it applies the repetition penalty for the
// tokens in history (prompt and generated tokens so far, oldest first) and
// returns the CandidateCount(TopK) best tokens, best first. logits is left
// unchanged. The returned slice is reused by the next call.
func (s *Sampler) Candidates(logits []float32, history []int32) []Candidate {
	p := s.params
	if p.RepeatLastN != 0 && p.RepeatPenalty != 1 {
		window := history
		if p.RepeatLastN > 0 && len(window) > p.RepeatLastN {
			window = window[len(window)-p.RepeatLastN:]
		}
		s.ids, s.saved = penalize(logits, window, p.RepeatPenalty, s.ids, s.saved)
		defer restore(logits, s.saved)
	}
	s.cands = TopCandidates(logits, CandidateCount(p.TopK), s.cands)
	return s.cands
}

// Sample returns the next token for logits (one per vocabulary entry) given
// the sequence so far.
func (s *Sampler) Sample(logits []float32, history []int32) (int32, error) {
	return s.policy.Choose(s.Candidates(logits, history))
}
