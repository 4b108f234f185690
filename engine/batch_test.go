package engine

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/realm-ai/realm/engine/errs"
	"github.com/realm-ai/realm/engine/model"
	"github.com/realm-ai/realm/engine/model/testmodel"
	"github.com/stretchr/testify/require"
)

// tinyLong is the tiny model with a context long enough for prompts of
// several chunks.
func tinyLong(t testing.TB) *Model {
	return tiny(t, func(tm *testmodel.Llama) { tm.Context = 2048 })
}

// tokenRun returns n token ids of m's vocabulary that are not control
// tokens, varied by seed.
func tokenRun(m *Model, n, seed int) []int32 {
	out := make([]int32, n)
	v := m.Info().VocabSize
	for i := range out {
		out[i] = int32(3 + (seed*31+i*7+i*i)%(v-3))
	}
	return out
}

// runAlone generates each prompt on a fresh session, one after the other.
func runAlone(t testing.TB, m *Model, prompts [][]int32, p SamplingParams) []*Result {
	t.Helper()
	out := make([]*Result, len(prompts))
	for i, ids := range prompts {
		s, err := m.NewSession()
		require.NoError(t, err)
		out[i], err = s.Generate(ctx, ids, p, nil)
		require.NoError(t, err)
		require.NoError(t, s.Close())
	}
	return out
}

// runTogether generates every prompt at once, each on its own session and
// goroutine; onToken(i) (may be nil) gives prompt i's callback. Every
// generation waits at its first token until each has reached its own (or
// ended), so that they overlap even on a model as fast as the tiny one.
func runTogether(t testing.TB, m *Model, prompts [][]int32, p SamplingParams, ctxs []context.Context,
	onToken func(i int) func(Token) error) []*Result {
	t.Helper()
	out := make([]*Result, len(prompts))
	errsOut := make([]error, len(prompts))
	var barrier sync.WaitGroup
	barrier.Add(len(prompts))
	var wg sync.WaitGroup
	for i, ids := range prompts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := m.NewSession()
			if err != nil {
				errsOut[i] = err
				return
			}
			defer s.Close()
			c := ctx
			if ctxs != nil {
				c = ctxs[i]
			}
			var user func(Token) error
			if onToken != nil {
				user = onToken(i)
			}
			arrived := false
			arrive := func() {
				if !arrived {
					arrived = true
					barrier.Done()
				}
			}
			defer arrive()
			cb := func(tok Token) error {
				if !arrived {
					arrive()
					barrier.Wait()
				}
				if user != nil {
					return user(tok)
				}
				return nil
			}
			out[i], errsOut[i] = s.Generate(c, ids, p, cb)
		}()
	}
	wg.Wait()
	for i, err := range errsOut {
		require.NoError(t, err, "prompt %d", i)
	}
	return out
}

// requireSame checks that two runs produced the same generations.
func requireSame(t testing.TB, want, got []*Result) {
	t.Helper()
	require.Len(t, got, len(want))
	for i := range want {
		require.Equal(t, want[i].Tokens, got[i].Tokens, "prompt %d", i)
		require.Equal(t, want[i].Text, got[i].Text, "prompt %d", i)
		require.Equal(t, want[i].FinishReason, got[i].FinishReason, "prompt %d", i)
	}
}

// Sessions generating at the same time are batched, and every one gets
// exactly the tokens it gets alone: prompts of one token, of a few, and of
// several chunks (513 and 1100 tokens: chunks of 512, then the rest), next
// to sequences that are decoding.
func TestBatchMatchesAlone(t *testing.T) {
	m := tinyLong(t)
	var prompts [][]int32
	for i, n := range []int{1, 5, 17, 40, 513, 3, 1100, 9} {
		prompts = append(prompts, tokenRun(m, n, i))
	}
	p := greedy(24)
	want := runAlone(t, m, prompts, p)
	steps0, seqs0 := m.batch.stats()
	got := runTogether(t, m, prompts, p, nil, nil)
	requireSame(t, want, got)
	steps, seqs := m.batch.stats()
	require.Greater(t, seqs-seqs0, steps-steps0, "no step ran more than one sequence")
}

// Sampled generation (a seed) is per session too: the same as alone.
func TestBatchSeededMatchesAlone(t *testing.T) {
	m := tinyLong(t)
	prompts := [][]int32{tokenRun(m, 4, 1), tokenRun(m, 30, 2), tokenRun(m, 4, 1), tokenRun(m, 70, 3)}
	p := DefaultSamplingParams()
	p.MaxTokens = 20
	p.Seed = 7
	want := runAlone(t, m, prompts, p)
	requireSame(t, want, runTogether(t, m, prompts, p, nil, nil))
}

// Cancelling one generation of a batch leaves the others as they are
// alone, and the cancelled session generates correctly afterwards.
func TestBatchCancelOne(t *testing.T) {
	m := tinyLong(t)
	prompts := [][]int32{tokenRun(m, 6, 1), tokenRun(m, 600, 2), tokenRun(m, 11, 3), tokenRun(m, 2, 4)}
	p := greedy(30)
	want := runAlone(t, m, prompts, p)

	ctxs := make([]context.Context, len(prompts))
	cancels := make([]context.CancelFunc, len(prompts))
	for i := range ctxs {
		ctxs[i], cancels[i] = context.WithCancel(ctx)
		defer cancels[i]()
	}
	got := runTogether(t, m, prompts, p, ctxs, func(i int) func(Token) error {
		n := 0
		return func(Token) error {
			if n++; i == 0 && n == 3 {
				cancels[0]()
			}
			return nil
		}
	})
	require.Equal(t, FinishCancelled, got[0].FinishReason)
	require.Equal(t, want[0].Tokens[:3], got[0].Tokens)
	requireSame(t, want[1:], got[1:])
}

// A generation cancelled while its prompt is being evaluated (its step
// queued or running) returns "cancelled" and leaves the session usable:
// the step it gave up on is settled before the next call.
func TestBatchCancelDuringPrompt(t *testing.T) {
	m := tinyLong(t)
	long := tokenRun(m, 1900, 5)
	short := tokenRun(m, 12, 6)
	p := greedy(10)
	want := runAlone(t, m, [][]int32{short}, p)

	s, err := m.NewSession()
	require.NoError(t, err)
	defer s.Close()
	c, cancel := context.WithCancel(ctx)
	go func() {
		// Cancel once the first chunk has been submitted.
		for {
			steps, _ := m.batch.stats()
			queued := false
			for _, l := range m.batch.lanes {
				l.mu.Lock()
				queued = queued || l.running
				l.mu.Unlock()
			}
			if queued || steps > 0 {
				cancel()
				return
			}
			time.Sleep(50 * time.Microsecond)
		}
	}()
	r, err := s.Generate(c, long, p, nil)
	require.NoError(t, err)
	require.Equal(t, FinishCancelled, r.FinishReason)
	require.Empty(t, r.Tokens)

	got, err := s.Generate(ctx, short, p, nil)
	require.NoError(t, err)
	requireSame(t, want, []*Result{got})

	// Evaluate after a cancelled call also starts from a clean cache.
	_, err = s.Evaluate(c, long)
	require.ErrorIs(t, err, errs.ErrCancelled)
	fresh, err := m.NewSession()
	require.NoError(t, err)
	defer fresh.Close()
	a, err := s.Evaluate(ctx, short)
	require.NoError(t, err)
	b, err := fresh.Evaluate(ctx, short)
	require.NoError(t, err)
	require.Equal(t, b, a)
}

// Forward stops between layers once every sequence of its batch is
// cancelled, changing no cache; one live sequence keeps the batch going.
func TestForwardCancelledBetweenLayers(t *testing.T) {
	m := tinyLong(t)
	c := m.net.Config()
	w := model.NewWorkspace(nil)
	a, b := model.NewKVCache(c, 64), model.NewKVCache(c, 64)
	closed := make(chan struct{})
	close(closed)
	open := make(chan struct{})

	err := m.net.Forward(w, []model.SeqInput{
		{Cache: a, Tokens: tokenRun(m, 5, 1), Logits: model.LogitsLast, Done: closed},
		{Cache: b, Tokens: tokenRun(m, 3, 2), Logits: model.LogitsLast, Done: closed},
	})
	require.ErrorIs(t, err, errs.ErrCancelled)
	require.Zero(t, a.Len())
	require.Zero(t, b.Len())

	batch := []model.SeqInput{
		{Cache: a, Tokens: tokenRun(m, 5, 1), Logits: model.LogitsLast, Done: closed},
		{Cache: b, Tokens: tokenRun(m, 3, 2), Logits: model.LogitsLast, Done: open},
	}
	require.NoError(t, m.net.Forward(w, batch))
	require.Equal(t, 5, a.Len())
	require.Equal(t, 3, b.Len())
	require.Len(t, batch[1].Out, c.Vocab)
}

// The same for Gemma 3's forward pass.
func TestGemma3ForwardCancelled(t *testing.T) {
	m := tinyGemma(t, "")
	c := m.net.Config()
	a := model.NewKVCache(c, 32)
	closed := make(chan struct{})
	close(closed)
	err := m.net.Forward(model.NewWorkspace(nil), []model.SeqInput{
		{Cache: a, Tokens: []int32{5, 6, 7}, Logits: model.LogitsLast, Done: closed},
	})
	require.ErrorIs(t, err, errs.ErrCancelled)
	require.Zero(t, a.Len())
}

// Sessions that join and leave while others generate do not wait for them
// (the test would hang otherwise), closing a session right after a
// cancelled call waits for its step, and closing the model fails the
// sessions' next calls.
func TestBatchJoinLeaveClose(t *testing.T) {
	m := tinyLong(t)
	p := greedy(200)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := m.NewSession()
			if err != nil {
				return
			}
			defer s.Close()
			for {
				select {
				case <-stop:
					return
				default:
				}
				c, cancel := context.WithCancel(ctx)
				n := 0
				_, _ = s.Generate(c, tokenRun(m, 3+i*200, i), p, func(Token) error {
					if n++; n == 5+i {
						cancel()
					}
					return nil
				})
				cancel()
			}
		}()
	}
	// Short generations come and go beside the long-running ones.
	for i := range 10 {
		s, err := m.NewSession()
		require.NoError(t, err)
		r, err := s.Generate(ctx, tokenRun(m, 4, i), greedy(3), nil)
		require.NoError(t, err)
		require.NotEmpty(t, r.FinishReason)
		require.NoError(t, s.Close())
	}
	close(stop)
	wg.Wait()

	s, err := m.NewSession()
	require.NoError(t, err)
	require.NoError(t, m.Close())
	_, err = s.Generate(ctx, tokenRun(m, 4, 1), greedy(3), nil)
	require.ErrorIs(t, err, errs.ErrClosed)
}

// On SmolLM2 every stream of a batch gets, token for token, its greedy
// generation alone: chat prompts of different lengths, one longer than a
// prompt chunk.
func TestBatchRealMatchesAlone(t *testing.T) {
	if raceEnabled {
		t.Skip("the real model is too slow under -race")
	}
	m := real(t)
	var prompts [][]int32
	for _, q := range []string{
		"What is the capital of France?",
		"Write a haiku about the sea.",
		"List three prime numbers.",
		strings.Repeat("Tell me a story about a dragon and a knight. ", 60) + "Summarise it.",
	} {
		text, err := m.ApplyChatTemplate([]Message{{Role: "user", Content: q}}, true)
		require.NoError(t, err)
		prompts = append(prompts, prompt(t, m, text))
	}
	require.Greater(t, len(prompts[3]), promptChunk)
	p := greedy(16)
	want := runAlone(t, m, prompts, p)
	steps0, seqs0 := m.batch.stats()
	got := runTogether(t, m, prompts, p, nil, nil)
	requireSame(t, want, got)
	steps, seqs := m.batch.stats()
	t.Logf("%d sequence steps in %d batch steps", seqs-seqs0, steps-steps0)
	require.Greater(t, seqs-seqs0, steps-steps0)
}

// The same on Gemma 3 270M (sliding-window attention).
func TestBatchGemma3MatchesAlone(t *testing.T) {
	if raceEnabled {
		t.Skip("the real model is too slow under -race")
	}
	m, err := LoadFile(gemmaModelPath(t), LoadOptions{})
	require.NoError(t, err)
	defer m.Close()
	var prompts [][]int32
	for i, q := range []string{"Why is the sky blue?", "Name a fruit.", "Count to five."} {
		text, err := m.ApplyChatTemplate([]Message{{Role: "user", Content: fmt.Sprintf("%s (%d)", q, i)}}, true)
		require.NoError(t, err)
		prompts = append(prompts, prompt(t, m, text))
	}
	p := greedy(12)
	requireSame(t, runAlone(t, m, prompts, p), runTogether(t, m, prompts, p, nil, nil))
}
