package sandbox

import (
	"context"
	"testing"

	"github.com/realm-ai/realm/engine/sample"
	"github.com/stretchr/testify/require"
)

// The worked example guest, examples/guests/digits_only, built from source.

func digitsOnly(t *testing.T, h *Host, config string) *Instance {
	t.Helper()
	mod, err := h.Compile(buildGuest(t, "examples/guests/digits_only/digits_only.c"))
	require.NoError(t, err)
	in, err := mod.Instantiate(context.Background(), newFakeVocab(100), []byte(config))
	require.NoError(t, err)
	t.Cleanup(func() { in.Close() })
	return in
}

func TestDigitsOnlyExample(t *testing.T) {
	h := newTestHost(t, Config{})
	ctx := context.Background()
	greedy := sample.Params{Temperature: 0, TopP: 1, RepeatPenalty: 1}
	logits := make([]float32, 100)
	for i := range logits {
		logits[i] = float32(i % 13) // words
	}
	for id := 1; id <= 10; id++ { // the digits "0"-"9"
		logits[id] = 1
	}
	logits[4] = 5  // "3"
	logits[11] = 6 // "42": the best digit token
	logits[12] = 9 // " 7" has a space: not a digit token
	words := []sample.Candidate{{ID: 12, Logit: 9}, {ID: 50, Logit: 8}, {ID: 60, Logit: 7}}
	digits := []sample.Candidate{{ID: 11, Logit: 6}, {ID: 50, Logit: 2}}

	for _, config := range []string{"", "digits"} {
		in := digitsOnly(t, h, config)
		require.NoError(t, in.Begin(ctx, greedy, []int32{20, 21}))
		// No digit among the candidates: the guest finds "42" itself.
		id, stop, err := in.Step(words, logits)
		require.NoError(t, err)
		require.False(t, stop)
		require.Equal(t, int32(11), id)
		// The model still favours a digit: go on.
		id, stop, err = in.Step(digits, logits)
		require.NoError(t, err)
		require.False(t, stop)
		require.Equal(t, int32(11), id)
		// Now it favours a word: the number is over.
		_, stop, err = in.Step(words, logits)
		require.NoError(t, err)
		require.True(t, stop)
		in.End()

		// Sampling draws only digit tokens (ids 1-11), and several of them.
		p := sample.Params{Temperature: 5, TopP: 1, RepeatPenalty: 1, Seed: 3}
		seen := map[int32]bool{}
		for range 40 {
			require.NoError(t, in.Begin(ctx, p, nil))
			id, _, err := in.Step(words, logits)
			require.NoError(t, err)
			require.True(t, id >= 1 && id <= 11, "id %d", id)
			seen[id] = true
			p.Seed++
		}
		require.Greater(t, len(seen), 3)
	}

	// Ban mode: " Paris" and "paris" (ids 13, 14) never come out.
	in := digitsOnly(t, h, "ban\nPARIS\nw60")
	require.NoError(t, in.Begin(ctx, greedy, nil))
	id, stop, err := in.Step([]sample.Candidate{{ID: 13, Logit: 9}, {ID: 14, Logit: 8}, {ID: 60, Logit: 7}, {ID: 61, Logit: 1}}, logits)
	require.NoError(t, err)
	require.False(t, stop)
	require.Equal(t, int32(61), id)
	_, stop, err = in.Step([]sample.Candidate{{ID: 13, Logit: 9}, {ID: 60, Logit: 7}}, logits)
	require.NoError(t, err)
	require.True(t, stop, "every candidate banned")
	// Unbanned candidates sample exactly like the native chain.
	p := sample.DefaultParams()
	p.Seed = 99
	require.NoError(t, in.Begin(ctx, p, nil))
	native := sample.NewChain(p)
	cands := []sample.Candidate{{ID: 20, Logit: 3}, {ID: 21, Logit: 2.9}, {ID: 22, Logit: 2.5}, {ID: 23, Logit: 2}}
	for range 50 {
		want, err := native.Choose(cands)
		require.NoError(t, err)
		got, _, err := in.Step(cands, logits)
		require.NoError(t, err)
		require.Equal(t, want, got)
	}

	// A bad configuration is the guest's error, reported with its log line.
	bad := digitsOnly(t, h, "letters")
	requireSandboxError(t, bad.Begin(ctx, greedy, nil), KindGuestError, "error code -5", "configuration must be")
}
