package engine

import (
	"fmt"

	"github.com/realm-ai/realm/engine/errs"
	"github.com/realm-ai/realm/engine/model"
)

// SessionOptions tune one session. The context length is a property of a
// session, not of the model: sessions with different context lengths share
// one loaded Model (one mapping of the weights).
type SessionOptions struct {
	// ContextLength is the most tokens (prompt + generated) the session
	// holds. 0 means the model's default (LoadOptions.ContextLength, or the
	// training context capped at MaxDefaultContext). The KV cache grows
	// with use up to this length; nothing is reserved up front.
	ContextLength int `json:"context_length,omitempty"`
}

// Validate reports a negative context length as an error wrapping
// errs.ErrInvalidArgument.
func (o SessionOptions) Validate() error {
	if o.ContextLength < 0 {
		return fmt.Errorf("%w: context_length = %d, want >= 0", errs.ErrInvalidArgument, o.ContextLength)
	}
	return nil
}

// NewSessionWith returns a session with an empty KV cache and the options
// o. A new session holds no KV memory (it is allocated on its first forward
// pass and grows with use) and no scratch memory (forward passes borrow the
// model's), so idle sessions cost a few hundred bytes each.
func (m *Model) NewSessionWith(o SessionOptions) (*Session, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if err := m.acquire(); err != nil {
		return nil, err
	}
	defer m.mu.RUnlock()
	n := o.ContextLength
	if n == 0 {
		n = m.nCtx
	}
	// No workspace: forward passes run on the scratch memory of the
	// model's batch lanes (batch.go), shared by all its sessions.
	return &Session{
		m:     m,
		cache: model.NewKVCache(m.net.Config(), n),
		nCtx:  n,
	}, nil
}

// ContextLength returns the most tokens the session holds.
func (s *Session) ContextLength() int { return s.nCtx }
