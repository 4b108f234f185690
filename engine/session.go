package engine

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/realm-ai/realm/engine/errs"
	"github.com/realm-ai/realm/engine/model"
)

// Finish reasons of a Result.
const (
	FinishStop      = "stop"      // end-of-generation token or stop string
	FinishLength    = "length"    // MaxTokens reached or the context is full
	FinishCancelled = "cancelled" // the context was cancelled
)

// promptChunk is the most prompt tokens evaluated in one forward pass:
// llama.cpp's default n_ubatch, whose split Realm follows because a
// one-token batch is computed in another order than a longer one (see
// model.SeqInput). It also bounds the scratch memory of a session.
const promptChunk = 512

// Token is one generated token, reported to Generate's callback.
type Token struct {
	// ID is the token id, or -1 for the final callback that releases text
	// held back when generation ends (see Generate).
	ID int32 `json:"id"`
	// Text is the text released with this token: always whole UTF-8
	// characters, possibly empty (an incomplete character, or text that
	// may begin a stop string, is held back until resolved).
	Text string `json:"text"`
}

// Result is the outcome of a Generate call.
type Result struct {
	// Text is the generated text, without stop strings.
	Text string `json:"text"`
	// Tokens are the generated tokens, without the end-of-generation token
	// (but including tokens of a stop string).
	Tokens []int32 `json:"tokens"`
	// FinishReason is FinishStop, FinishLength or FinishCancelled.
	FinishReason string `json:"finish_reason"`
	// PromptTokens is len(prompt); CachedTokens of them were reused from
	// the session's previous call instead of being evaluated again.
	PromptTokens int `json:"prompt_tokens"`
	CachedTokens int `json:"cached_tokens"`
	// CompletionTokens is len(Tokens).
	CompletionTokens int `json:"completion_tokens"`
	// PromptMs is the time to evaluate the prompt; DecodeMs the time spent
	// generating after it.
	PromptMs float64 `json:"prompt_ms"`
	DecodeMs float64 `json:"decode_ms"`
}

// Session is one sequence being generated: a KV cache, scratch memory and
// the tokens the cache holds. Its methods may be called from any goroutine
// but run one at a time.
type Session struct {
	m        *Model
	mu       sync.Mutex
	cache    *model.KVCache
	work     *model.Workspace
	tokens   []int32   // the tokens whose keys and values are in cache
	logits   []float32 // the logits of the last step (see runStep)
	lane     *lane     // the batch lane of the call in progress (batch.go)
	inflight *step     // a step given up on by a cancelled call (see settle)
	nCtx     int       // the most tokens the session holds (see SessionOptions)
	closed   bool
}

// NewSession returns a session with an empty KV cache of the model's
// context length (memory grows as it fills). NewSessionWith sets another
// context length.
func (m *Model) NewSession() (*Session, error) {
	return m.NewSessionWith(SessionOptions{})
}

// Close releases the session's memory. It is idempotent.
func (s *Session) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.settle()
	s.closed = true
	s.cache, s.work, s.tokens, s.logits = nil, nil, nil, nil
	return nil
}

// lock starts a call: it fails if the session is closed. It waits for a
// step a cancelled call left running (see settle).
func (s *Session) lock() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return fmt.Errorf("%w: session", errs.ErrClosed)
	}
	s.settle()
	return nil
}

// unlock ends a call: it leaves the batch lane and releases the session.
func (s *Session) unlock() {
	s.leaveLane()
	s.mu.Unlock()
}

// forward evaluates tokens after the cache's contents, in chunks, and
// returns the logits of the last one (valid until the next forward). Each
// chunk is a step of the model's batch scheduler (batch.go), batched with
// the steps of other sessions running at the same time; the scheduler
// holds the model for reading during a step, so a concurrent Model.Close
// waits for at most one step. Cancelling ctx returns at once, even in the
// middle of a step.
func (s *Session) forward(ctx context.Context, tokens []int32, chunk int) ([]float32, error) {
	var logits []float32
	for len(tokens) > 0 {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("%w: %v", errs.ErrCancelled, err)
		}
		n := min(chunk, len(tokens))
		mode := model.LogitsNone
		if n == len(tokens) {
			mode = model.LogitsLast
		}
		out, err := s.runStep(ctx, tokens[:n], mode)
		if err != nil {
			return nil, err
		}
		logits = out
		tokens = tokens[n:]
	}
	return logits, nil
}

// Evaluate resets the session, evaluates tokens and returns a copy of the
// logits of the last position (one per vocabulary entry). Like Generate's
// prompt it runs in batches of up to 512 tokens, llama.cpp's default
// micro-batch: a one-token batch is computed like a decoding step, so the
// split decides the last bits of the result, as in llama.cpp.
func (s *Session) Evaluate(ctx context.Context, tokens []int32) ([]float32, error) {
	if err := s.lock(); err != nil {
		return nil, err
	}
	defer s.unlock()
	if err := s.check(tokens); err != nil {
		return nil, err
	}
	s.cache.Truncate(0)
	s.tokens = s.tokens[:0]
	logits, err := s.forward(ctx, tokens, promptChunk)
	if err != nil {
		return nil, err
	}
	return append([]float32(nil), logits...), nil
}

// check validates a prompt: not empty, ids in the vocabulary, fits the context.
func (s *Session) check(prompt []int32) error {
	if len(prompt) == 0 {
		return fmt.Errorf("%w: empty prompt", errs.ErrInvalidArgument)
	}
	if err := s.m.checkTokens(prompt); err != nil {
		return err
	}
	if len(prompt) > s.nCtx {
		return fmt.Errorf("%w: prompt of %d tokens, context of %d", errs.ErrContextLength, len(prompt), s.nCtx)
	}
	return nil
}

// Generate continues prompt until an end-of-generation token, a stop
// string, p.MaxTokens tokens, a full context, or cancellation of ctx.
//
// onToken (may be nil) is called for every generated token with the text
// that token releases, in order; concatenated, the Texts are Result.Text.
// When generation ends with text still held back (a partial stop string, an
// incomplete UTF-8 character), one last call with ID -1 releases it. If
// onToken returns an error, generation stops and Generate returns the
// partial result with an error wrapping errs.ErrCancelled and that error.
//
// Cancelling ctx ends generation within a token: the result so far comes
// back with FinishReason "cancelled" and a nil error. A prompt longer than
// the context fails with errs.ErrContextLength.
//
// The session keeps its cache: the next call reuses the longest common
// prefix of its prompt with this call's prompt and output, which makes
// multi-turn chat cheap.
//
// Tokens are chosen by the native sampler; GenerateWithPolicy delegates
// the choice to a Policy such as a sandboxed guest.
func (s *Session) Generate(ctx context.Context, prompt []int32, p SamplingParams, onToken func(Token) error) (*Result, error) {
	return s.generate(ctx, prompt, p, nil, onToken)
}

// generate is Generate with an optional Policy (nil: the native sampler).
func (s *Session) generate(ctx context.Context, prompt []int32, p SamplingParams, pol Policy, onToken func(Token) error) (*Result, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	if err := s.lock(); err != nil {
		return nil, err
	}
	defer s.unlock()
	if err := s.check(prompt); err != nil {
		return nil, err
	}
	res := &Result{PromptTokens: len(prompt), Tokens: []int32{}}
	if ctx.Err() != nil {
		res.FinishReason = FinishCancelled
		return res, nil
	}
	start := time.Now()

	// Reuse the cached prefix, but evaluate at least the last prompt token:
	// its logits choose the first generated token.
	keep := 0
	for keep < len(s.tokens) && keep < len(prompt)-1 && s.tokens[keep] == prompt[keep] {
		keep++
	}
	s.cache.Truncate(keep)
	s.tokens = s.tokens[:keep]
	res.CachedTokens = keep

	logits, err := s.forward(ctx, prompt[keep:], promptChunk)
	if err != nil {
		if ctx.Err() != nil {
			res.FinishReason = FinishCancelled
			res.PromptMs = ms(time.Since(start))
			return res, nil
		}
		return nil, err
	}
	res.PromptMs = ms(time.Since(start))
	decodeStart := time.Now()
	defer func() { res.DecodeMs = ms(time.Since(decodeStart)) }()

	choose, err := newChooser(ctx, p, prompt, pol, s.m.info.VocabSize)
	if err != nil {
		if ctx.Err() != nil {
			res.FinishReason = FinishCancelled
			return res, nil
		}
		return nil, err
	}
	defer choose.end()
	history := append(make([]int32, 0, len(prompt)+256), prompt...)
	filter := &stopFilter{stops: p.Stop}
	tok := s.m.tok
	dec := tok.NewDecoder()

	finish := func(reason string) (*Result, error) {
		res.FinishReason = reason
		if rest := filter.flush(dec.Flush()); rest != "" && onToken != nil {
			if err := onToken(Token{ID: -1, Text: rest}); err != nil {
				res.Text = filter.text()
				return res, fmt.Errorf("%w: onToken: %w", errs.ErrCancelled, err)
			}
		}
		res.Text = filter.text()
		res.CompletionTokens = len(res.Tokens)
		return res, nil
	}

	for {
		if ctx.Err() != nil {
			return finish(FinishCancelled)
		}
		// The choice runs without the model lock: logits live in the
		// session's workspace, and a sandboxed policy may call back into
		// the vocabulary (which takes the lock itself).
		id, stop, err := choose.next(logits, history)
		if err != nil {
			if ctx.Err() != nil {
				return finish(FinishCancelled)
			}
			return nil, err
		}
		if stop {
			return finish(FinishStop)
		}
		if err := s.m.acquire(); err != nil {
			return nil, err
		}
		eog := tok.IsEOG(id)
		piece := ""
		if !eog {
			piece = dec.Push(id)
		}
		s.m.mu.RUnlock()
		if eog {
			return finish(FinishStop)
		}
		res.Tokens = append(res.Tokens, id)
		res.CompletionTokens = len(res.Tokens)
		history = append(history, id)
		release, stopped := filter.push(piece)
		if onToken != nil {
			if err := onToken(Token{ID: id, Text: release}); err != nil {
				res.FinishReason = FinishCancelled
				res.Text = filter.text()
				return res, fmt.Errorf("%w: onToken: %w", errs.ErrCancelled, err)
			}
		}
		switch {
		case stopped:
			return finish(FinishStop)
		case p.MaxTokens > 0 && len(res.Tokens) >= p.MaxTokens:
			return finish(FinishLength)
		case s.cache.Len() >= s.nCtx:
			return finish(FinishLength)
		}
		logits, err = s.forward(ctx, []int32{id}, 1)
		if err != nil {
			if ctx.Err() != nil {
				return finish(FinishCancelled)
			}
			return nil, err
		}
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
