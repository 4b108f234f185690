package engine

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/realm-ai/realm/engine/errs"
	"github.com/realm-ai/realm/engine/gguf"
	"github.com/realm-ai/realm/engine/model/testmodel"
	"github.com/realm-ai/realm/engine/tensor"
	"github.com/stretchr/testify/require"
)

var ctx = context.Background()

func prompt(t testing.TB, m *Model, text string) []int32 {
	t.Helper()
	ids, err := m.Tokenize(text, true, true)
	require.NoError(t, err)
	return ids
}

func TestGenerateGreedyIsDeterministic(t *testing.T) {
	m := tiny(t, nil)
	ids := prompt(t, m, "the hall in the")
	s1, err := m.NewSession()
	require.NoError(t, err)
	s2, err := m.NewSession()
	require.NoError(t, err)
	a, err := s1.Generate(ctx, ids, greedy(30), nil)
	require.NoError(t, err)
	b, err := s2.Generate(ctx, ids, greedy(30), nil)
	require.NoError(t, err)
	require.Equal(t, a.Tokens, b.Tokens)
	require.Equal(t, a.Text, b.Text)
	require.NotEmpty(t, a.Tokens)
	require.Equal(t, len(ids), a.PromptTokens)
	require.Equal(t, len(a.Tokens), a.CompletionTokens)

	// The first greedy token is the argmax of Evaluate's logits.
	logits, err := s1.Evaluate(ctx, ids)
	require.NoError(t, err)
	require.Len(t, logits, m.Info().VocabSize)
	best := 0
	for i, l := range logits {
		if l > logits[best] {
			best = i
		}
	}
	require.Equal(t, int32(best), a.Tokens[0])
}

func TestGenerateSeeded(t *testing.T) {
	m := tiny(t, nil)
	ids := prompt(t, m, "in the")
	s, err := m.NewSession()
	require.NoError(t, err)
	run := func(seed uint64) []int32 {
		p := DefaultSamplingParams()
		p.Temperature, p.TopK, p.TopP, p.MinP = 1.5, 0, 1, 0
		p.MaxTokens, p.Seed = 24, seed
		r, err := s.Generate(ctx, ids, p, nil)
		require.NoError(t, err)
		return r.Tokens
	}
	a := run(42)
	require.Equal(t, a, run(42))
	require.NotEqual(t, a, run(43))
}

func TestStreamingDeltasMakeTheText(t *testing.T) {
	m := tiny(t, nil)
	s, err := m.NewSession()
	require.NoError(t, err)
	var streamed strings.Builder
	var ids []int32
	r, err := s.Generate(ctx, prompt(t, m, "the"), greedy(40), func(tok Token) error {
		streamed.WriteString(tok.Text)
		if tok.ID >= 0 {
			ids = append(ids, tok.ID)
		}
		return nil
	})
	require.NoError(t, err)
	require.Equal(t, r.Text, streamed.String())
	require.Equal(t, r.Tokens, ids)
	text, err := m.Detokenize(r.Tokens)
	require.NoError(t, err)
	require.Equal(t, text, r.Text)
}

// A stop string made of the end of one token and the start of the next
// cuts the text where it begins, and nothing after it is streamed.
func TestStopStringSpanningTokens(t *testing.T) {
	m := tiny(t, nil)
	ids := prompt(t, m, "the hall")
	s, err := m.NewSession()
	require.NoError(t, err)
	full, err := s.Generate(ctx, ids, greedy(40), nil)
	require.NoError(t, err)

	// Find two neighbouring tokens with text and build the stop from the
	// last byte of the first and the first byte of the second.
	stop := ""
	for i := 5; i+1 < len(full.Tokens) && stop == ""; i++ {
		a, _ := m.Detokenize(full.Tokens[i : i+1])
		b, _ := m.Detokenize(full.Tokens[i+1 : i+2])
		if a != "" && b != "" {
			stop = a[len(a)-1:] + b[:1]
		}
	}
	require.NotEmpty(t, stop, "no two neighbouring text tokens in %q", full.Text)
	want := full.Text[:strings.Index(full.Text, stop)]

	p := greedy(40)
	p.Stop = []string{"never appears", stop}
	var streamed strings.Builder
	r, err := s.Generate(ctx, ids, p, func(tok Token) error {
		streamed.WriteString(tok.Text)
		return nil
	})
	require.NoError(t, err)
	require.Equal(t, FinishStop, r.FinishReason)
	require.Equal(t, want, r.Text)
	require.Equal(t, want, streamed.String())
	require.Less(t, len(r.Tokens), len(full.Tokens))
}

func TestMaxTokensAndContextEnd(t *testing.T) {
	m := tiny(t, func(tm *testmodel.Llama) { tm.Context = 32 })
	require.Equal(t, 32, m.Info().ContextLength)
	s, err := m.NewSession()
	require.NoError(t, err)
	ids := prompt(t, m, "the hall")

	p := greedy(3)
	r, err := s.Generate(ctx, ids, p, nil)
	require.NoError(t, err)
	require.Len(t, r.Tokens, 3)
	require.Equal(t, FinishLength, r.FinishReason)

	// With no token limit and EOS unlikely to be chosen, generation runs to
	// the end of the context.
	p = DefaultSamplingParams()
	p.Temperature, p.TopK, p.TopP, p.MinP, p.RepeatPenalty = 0, 0, 1, 0, 1
	r, err = s.Generate(ctx, ids, p, nil)
	require.NoError(t, err)
	if r.FinishReason == FinishLength {
		require.Equal(t, 32-len(ids)+1, len(r.Tokens), "the last token is sampled from a full context")
	}

	long := make([]int32, 33)
	_, err = s.Generate(ctx, long, greedy(1), nil)
	require.ErrorIs(t, err, errs.ErrContextLength)
	_, err = s.Evaluate(ctx, long)
	require.ErrorIs(t, err, errs.ErrContextLength)
	_, err = s.Generate(ctx, nil, greedy(1), nil)
	require.ErrorIs(t, err, errs.ErrInvalidArgument)
	_, err = s.Generate(ctx, []int32{int32(m.Info().VocabSize)}, greedy(1), nil)
	require.ErrorIs(t, err, errs.ErrInvalidArgument)
}

func TestCancellation(t *testing.T) {
	m := tiny(t, nil)
	s, err := m.NewSession()
	require.NoError(t, err)
	ids := prompt(t, m, "the")

	c, cancel := context.WithCancel(ctx)
	n := 0
	r, err := s.Generate(c, ids, greedy(50), func(Token) error {
		if n++; n == 3 {
			cancel()
		}
		return nil
	})
	require.NoError(t, err)
	require.Equal(t, FinishCancelled, r.FinishReason)
	require.Len(t, r.Tokens, 3)

	// Already cancelled: nothing runs.
	r, err = s.Generate(c, ids, greedy(50), nil)
	require.NoError(t, err)
	require.Equal(t, FinishCancelled, r.FinishReason)
	require.Empty(t, r.Tokens)

	// A callback error stops generation and comes back wrapped.
	boom := errors.New("boom")
	r, err = s.Generate(ctx, ids, greedy(50), func(Token) error { return boom })
	require.ErrorIs(t, err, errs.ErrCancelled)
	require.ErrorIs(t, err, boom)
	require.Len(t, r.Tokens, 1)

	// The session still works afterwards.
	r, err = s.Generate(ctx, ids, greedy(4), nil)
	require.NoError(t, err)
	require.Len(t, r.Tokens, 4)
}

// A follow-up prompt that extends the previous conversation reuses the
// cached prefix. As with llama.cpp's prompt cache, the reused keys and
// values are those computed during generation (one token at a time), so
// the result equals that of another session taking the same steps, and is
// close to, not always equal to, a fresh evaluation of the whole prompt.
func TestPrefixReuse(t *testing.T) {
	m := tiny(t, nil)
	first := prompt(t, m, "the hall")
	steps := func() []*Result {
		s, err := m.NewSession()
		require.NoError(t, err)
		r1, err := s.Generate(ctx, first, greedy(6), nil)
		require.NoError(t, err)
		next := append(append(append([]int32{}, first...), r1.Tokens...), prompt(t, m, " in the")...)
		r2, err := s.Generate(ctx, next, greedy(8), nil)
		require.NoError(t, err)
		// The same prompt again re-evaluates only its last token.
		r3, err := s.Generate(ctx, next, greedy(8), nil)
		require.NoError(t, err)
		return []*Result{r1, r2, r3}
	}
	a, b := steps(), steps()
	require.Zero(t, a[0].CachedTokens)
	require.Equal(t, len(first)+len(a[0].Tokens)-1, a[1].CachedTokens)
	require.Equal(t, a[1].PromptTokens-1, a[2].CachedTokens)
	for i := range a {
		require.Equal(t, a[i].Tokens, b[i].Tokens, "call %d", i)
	}
}

func TestConcurrentSessions(t *testing.T) {
	m := tiny(t, nil)
	ids := prompt(t, m, "the hall in")
	want := make([][]int32, 4)
	var wg sync.WaitGroup
	for i := range want {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := m.NewSession()
			if err != nil {
				return
			}
			defer s.Close()
			r, err := s.Generate(ctx, ids, greedy(20), nil)
			if err == nil {
				want[i] = r.Tokens
			}
		}()
	}
	wg.Wait()
	for i := range want {
		require.NotEmpty(t, want[i])
		require.Equal(t, want[0], want[i])
	}
}

func TestClosed(t *testing.T) {
	m := tiny(t, nil)
	ids := prompt(t, m, "the")
	s, err := m.NewSession()
	require.NoError(t, err)

	// Close the model while sessions are generating: they end with
	// ErrClosed (or finish first), never crash.
	var wg sync.WaitGroup
	errc := make(chan error, 4)
	started := make(chan struct{}, 4)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := m.NewSession()
			if err != nil {
				errc <- err
				return
			}
			p := DefaultSamplingParams()
			p.Temperature, p.TopK, p.TopP, p.MinP = 0, 0, 1, 0
			_, err = s.Generate(ctx, ids, p, func(Token) error {
				select {
				case started <- struct{}{}:
				default:
				}
				return nil
			})
			errc <- err
		}()
	}
	<-started
	require.NoError(t, m.Close())
	wg.Wait()
	close(errc)
	for err := range errc {
		if err != nil {
			require.ErrorIs(t, err, errs.ErrClosed)
		}
	}
	require.NoError(t, m.Close(), "Close is idempotent")

	_, err = s.Generate(ctx, ids, greedy(2), nil)
	require.ErrorIs(t, err, errs.ErrClosed)
	_, err = s.Evaluate(ctx, ids)
	require.ErrorIs(t, err, errs.ErrClosed)
	_, err = m.NewSession()
	require.ErrorIs(t, err, errs.ErrClosed)
	_, err = m.Tokenize("x", false, false)
	require.ErrorIs(t, err, errs.ErrClosed)
	_, err = m.Detokenize([]int32{5})
	require.ErrorIs(t, err, errs.ErrClosed)
	_, err = m.ApplyChatTemplate([]Message{{Role: "user", Content: "x"}}, true)
	require.ErrorIs(t, err, errs.ErrClosed)
	require.Equal(t, "llama", m.Info().Architecture)

	require.NoError(t, s.Close())
	require.NoError(t, s.Close())
}

func TestSessionClosed(t *testing.T) {
	m := tiny(t, nil)
	s, err := m.NewSession()
	require.NoError(t, err)
	require.NoError(t, s.Close())
	_, err = s.Generate(ctx, prompt(t, m, "the"), greedy(2), nil)
	require.ErrorIs(t, err, errs.ErrClosed)
}

func TestSamplingParamsValidate(t *testing.T) {
	require.NoError(t, DefaultSamplingParams().Validate())
	bad := map[string]func(p *SamplingParams){
		"max_tokens":     func(p *SamplingParams) { p.MaxTokens = -1 },
		"temperature":    func(p *SamplingParams) { p.Temperature = -0.1 },
		"top_k":          func(p *SamplingParams) { p.TopK = -1 },
		"top_p":          func(p *SamplingParams) { p.TopP = 0 },
		"top_p>1":        func(p *SamplingParams) { p.TopP = 1.01 },
		"min_p":          func(p *SamplingParams) { p.MinP = 1.5 },
		"repeat_penalty": func(p *SamplingParams) { p.RepeatPenalty = 0 },
		"repeat_last_n":  func(p *SamplingParams) { p.RepeatLastN = -2 },
		"stop":           func(p *SamplingParams) { p.Stop = []string{""} },
	}
	m := tiny(t, nil)
	s, err := m.NewSession()
	require.NoError(t, err)
	for name, change := range bad {
		p := DefaultSamplingParams()
		change(&p)
		require.ErrorIs(t, p.Validate(), errs.ErrInvalidArgument, name)
		_, err := s.Generate(ctx, []int32{5}, p, nil)
		require.ErrorIs(t, err, errs.ErrInvalidArgument, name)
	}
}

func TestLoadErrors(t *testing.T) {
	_, err := LoadBytes("junk", []byte("not a gguf file at all"), LoadOptions{})
	require.ErrorIs(t, err, errs.ErrInvalidModel)
	_, err = LoadBytes("x", nil, LoadOptions{ContextLength: -1})
	require.ErrorIs(t, err, errs.ErrInvalidArgument)
	_, err = LoadBytes("x", nil, LoadOptions{Threads: -1})
	require.ErrorIs(t, err, errs.ErrInvalidArgument)
	_, err = LoadFile("/nonexistent/model.gguf", LoadOptions{})
	require.Error(t, err)

	tm := testmodel.NewLlama(tensor.F32)
	tm.Extra = func(b *gguf.Builder) { b.Set("general.architecture", "rwkv7") }
	img, err := tm.Build()
	require.NoError(t, err)
	_, err = LoadBytes("rwkv.gguf", img, LoadOptions{})
	require.ErrorIs(t, err, errs.ErrUnsupportedModel)
	require.ErrorContains(t, err, "rwkv7")
}

func TestInfoAndOptions(t *testing.T) {
	tm := testmodel.NewLlama(tensor.Q8_0)
	img, err := tm.Build()
	require.NoError(t, err)
	m, err := LoadBytes("tiny.gguf", img, LoadOptions{ContextLength: 48, Threads: 2})
	require.NoError(t, err)
	defer m.Close()
	info := m.Info()
	require.Equal(t, 48, info.ContextLength)
	require.Equal(t, 64, info.TrainContextLength)
	require.Equal(t, 2, info.Threads)
	require.Equal(t, tm.Vocab(), info.VocabSize)
	require.Equal(t, "tiny llama", info.Name)
	require.Equal(t, "F32", info.FileType)
	require.Equal(t, 2, info.Layers)
	require.False(t, info.HasChatTemplate)

	// Two threads give the same tokens as one.
	s, err := m.NewSession()
	require.NoError(t, err)
	ids := prompt(t, m, "the hall")
	a, err := s.Generate(ctx, ids, greedy(12), nil)
	require.NoError(t, err)
	b, err := tiny(t, nil).NewSession()
	require.NoError(t, err)
	want, err := b.Generate(ctx, ids, greedy(12), nil)
	require.NoError(t, err)
	require.Equal(t, want.Tokens, a.Tokens)
}

func TestChatTemplate(t *testing.T) {
	msgs := []Message{{Role: "system", Content: "Be brief."}, {Role: "user", Content: "Hi!"}}
	want := "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi!<|im_end|>\n<|im_start|>assistant\n"

	// No template in the file: ChatML, as llama.cpp.
	m := tiny(t, nil)
	got, err := m.ApplyChatTemplate(msgs, true)
	require.NoError(t, err)
	require.Equal(t, want, got)

	// The file's Jinja template.
	m = tiny(t, func(tm *testmodel.Llama) { tm.ChatTemplate = testmodel.ChatML + "{{ eos_token }}" })
	require.True(t, m.Info().HasChatTemplate)
	got, err = m.ApplyChatTemplate(msgs, true)
	require.NoError(t, err)
	require.Equal(t, want+"<|endoftext|>", got)
	got, err = m.ApplyChatTemplate(msgs[1:], false)
	require.NoError(t, err)
	require.Equal(t, "<|im_start|>user\nHi!<|im_end|>\n<|endoftext|>", got)

	// The template's control tokens tokenize as single tokens.
	ids, err := m.Tokenize(got, false, true)
	require.NoError(t, err)
	require.Equal(t, int32(1), ids[0])

	_, err = m.ApplyChatTemplate([]Message{{Content: "no role"}}, true)
	require.ErrorIs(t, err, errs.ErrInvalidArgument)
}
