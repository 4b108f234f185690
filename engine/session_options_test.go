package engine

import (
	"testing"

	"github.com/realm-ai/realm/engine/errs"
	"github.com/realm-ai/realm/engine/model/testmodel"
	"github.com/stretchr/testify/require"
)

func TestSessionContextLengthIsPerSession(t *testing.T) {
	m := tiny(t, func(tm *testmodel.Llama) { tm.Context = 64 })
	ids := prompt(t, m, "the hall")

	def, err := m.NewSession()
	require.NoError(t, err)
	require.Equal(t, 64, def.ContextLength())
	small, err := m.NewSessionWith(SessionOptions{ContextLength: len(ids) + 4})
	require.NoError(t, err)
	require.Equal(t, len(ids)+4, small.ContextLength())
	_, err = m.NewSessionWith(SessionOptions{ContextLength: -1})
	require.ErrorIs(t, err, errs.ErrInvalidArgument)

	// Run both to their context's end: the small session stops early with
	// the same tokens as the default one up to there.
	p := DefaultSamplingParams()
	p.Temperature, p.TopK, p.TopP, p.MinP, p.RepeatPenalty = 0, 0, 1, 0, 1
	p.MaxTokens = 30
	want, err := def.Generate(ctx, ids, p, nil)
	require.NoError(t, err)
	got, err := small.Generate(ctx, ids, p, nil)
	require.NoError(t, err)
	require.Equal(t, FinishLength, got.FinishReason)
	require.Len(t, got.Tokens, 5, "the last token is sampled from a full context")
	require.GreaterOrEqual(t, len(want.Tokens), 5)
	require.Equal(t, want.Tokens[:5], got.Tokens)

	// The prompt limit is the session's.
	long := make([]int32, len(ids)+5)
	_, err = small.Generate(ctx, long, greedy(1), nil)
	require.ErrorIs(t, err, errs.ErrContextLength)
	_, err = def.Evaluate(ctx, long)
	require.NoError(t, err)
	require.Equal(t, 64, m.Info().ContextLength, "the model's default is unchanged")
}

func TestIdleSessionsHoldNoMemory(t *testing.T) {
	m := tiny(t, nil)
	s, err := m.NewSessionWith(SessionOptions{ContextLength: 128})
	require.NoError(t, err)
	require.Zero(t, s.cache.Bytes(), "no KV memory before the first token")
	require.Nil(t, s.work, "no scratch memory of its own")

	_, err = s.Generate(ctx, prompt(t, m, "in the"), greedy(2), nil)
	require.NoError(t, err)
	require.Positive(t, s.cache.Bytes())
	require.Equal(t, 2*2*16*m.net.Config().KVDim()*m.net.Config().Layers, s.cache.Bytes(),
		"the cache grows with use: a few tokens take its first block")
}
