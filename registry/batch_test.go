package registry

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/realm-ai/realm/engine"
	"github.com/realm-ai/realm/engine/errs"
	"github.com/stretchr/testify/require"
)

// batchRequest is a greedy request for prompts.
func batchRequest(t testing.TB, prompts []string, maxTokens int) Request {
	t.Helper()
	js, err := json.Marshal(map[string]any{"prompts": prompts, "temperature": 0, "max_tokens": maxTokens})
	require.NoError(t, err)
	return request(t, string(js))
}

// alone generates each prompt by itself on a fresh Realm of the same model
// (the image img, or else the file path).
func alone(t testing.TB, img []byte, path string, prompts []string, maxTokens int) []*engine.Result {
	t.Helper()
	out := make([]*engine.Result, len(prompts))
	for i, p := range prompts {
		r, err := New(Options{})
		require.NoError(t, err)
		if img != nil {
			require.NoError(t, r.LoadBytes("model.gguf", img, Options{}))
		} else {
			require.NoError(t, r.LoadFile(path, Options{}))
		}
		res, err := r.Generate(bg, batchRequest(t, []string{p}, maxTokens))
		require.NoError(t, err)
		out[i] = res[0]
		require.NoError(t, r.Close())
	}
	return out
}

func requireSameResults(t testing.TB, want, got []*engine.Result) {
	t.Helper()
	require.Len(t, got, len(want))
	for i := range want {
		require.Equal(t, want[i].Tokens, got[i].Tokens, "prompt %d", i)
		require.Equal(t, want[i].Text, got[i].Text, "prompt %d", i)
		require.Equal(t, want[i].FinishReason, got[i].FinishReason, "prompt %d", i)
		require.Equal(t, want[i].PromptTokens, got[i].PromptTokens, "prompt %d", i)
	}
}

// tinyPrompts are prompts of different lengths for the tiny model, one of
// several prompt chunks.
func tinyPrompts(n int) []string {
	base := []string{"the", "the hall in the", "in", strings.Repeat("the hall ", 150), "hall in the hall", "a"}
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s %d", base[i%len(base)], i)
	}
	return out
}

// The prompts of a batch are generated together and each gets what it
// gets alone, in order; more prompts than maxBatch run in turns; a second
// batch on the same Realm reuses its sessions.
func TestRealmBatchMatchesAlone(t *testing.T) {
	img := tinyImage(t, 3)
	r, err := New(Options{})
	require.NoError(t, err)
	defer r.Close()
	require.NoError(t, r.LoadBytes("tiny.gguf", img, Options{}))

	prompts := tinyPrompts(6)
	want := alone(t, img, "", prompts, 20)
	got, err := r.Generate(bg, batchRequest(t, prompts, 20))
	require.NoError(t, err)
	requireSameResults(t, want, got)
	again, err := r.Generate(bg, batchRequest(t, prompts, 20))
	require.NoError(t, err)
	requireSameResults(t, want, again)

	many := tinyPrompts(maxBatch + 3)
	got, err = r.Generate(bg, batchRequest(t, many, 6))
	require.NoError(t, err)
	requireSameResults(t, alone(t, img, "", many, 6), got)
}

// A batch stream interleaves its prompts' chunks; each prompt's chunks
// make its result, which is the batch Generate's.
func TestRealmBatchStream(t *testing.T) {
	r := loadedRealm(t, 2)
	prompts := tinyPrompts(5)
	want, err := r.Generate(bg, batchRequest(t, prompts, 15))
	require.NoError(t, err)

	s, err := r.Stream(bg, batchRequest(t, prompts, 15))
	require.NoError(t, err)
	defer s.Close()
	chunks := drain(t, s)
	texts := make([]strings.Builder, len(prompts))
	tokens := make([][]int32, len(prompts))
	got := make([]*engine.Result, len(prompts))
	for _, c := range chunks {
		require.Less(t, c.Index, len(prompts))
		require.Nil(t, got[c.Index], "chunk after the final chunk of prompt %d", c.Index)
		texts[c.Index].WriteString(c.Text)
		if c.Done {
			got[c.Index] = c.Result
		} else {
			tokens[c.Index] = append(tokens[c.Index], c.Token)
		}
	}
	requireSameResults(t, want, got)
	for i := range prompts {
		require.Equal(t, got[i].Text, texts[i].String(), "prompt %d", i)
		require.Equal(t, got[i].Tokens, tokens[i], "prompt %d", i)
	}
	_, err = s.Next(0)
	require.ErrorIs(t, err, ErrDone)
}

// Cancelling a batch ends every prompt with "cancelled"; the Realm then
// generates as before.
func TestRealmBatchCancel(t *testing.T) {
	r := endlessRealm(t)
	c, cancel := context.WithCancel(bg)
	s, err := r.Stream(c, request(t, `{"prompts": ["the", "hall", "in the"], "temperature": 0, "max_tokens": 0}`))
	require.NoError(t, err)
	defer s.Close()
	_, err = s.Next(-1) // generation has begun
	require.NoError(t, err)
	cancel()
	finals := 0
	for _, ch := range drain(t, s) {
		if ch.Done {
			finals++
			require.Equal(t, engine.FinishCancelled, ch.Result.FinishReason)
		}
	}
	require.Equal(t, 3, finals)

	c, cancel = context.WithCancel(bg)
	cancel()
	res, err := r.Generate(c, request(t, `{"prompts": ["the", "hall"], "max_tokens": 0}`))
	require.NoError(t, err)
	for _, x := range res {
		require.Equal(t, engine.FinishCancelled, x.FinishReason)
	}
	require.Equal(t, "length", one(t, r, `{"prompt": "the", "max_tokens": 2}`).FinishReason)
}

// Registry.Generate batches a list like Realm.Generate.
func TestRegistryBatch(t *testing.T) {
	img := tinyImage(t, 4)
	g, err := NewRegistry(Options{})
	require.NoError(t, err)
	defer g.Close()
	require.NoError(t, g.LoadBytes("tiny", append([]byte(nil), img...), LoadOptions{}))
	prompts := tinyPrompts(4)
	got, err := g.Generate(bg, "tiny", batchRequest(t, prompts, 10))
	require.NoError(t, err)
	requireSameResults(t, alone(t, img, "", prompts, 10), got)
}

// On SmolLM2 a batch gives every prompt its greedy generation alone.
func TestRealmBatchRealModel(t *testing.T) {
	if raceEnabled {
		t.Skip("the real model is too slow under -race")
	}
	path := realModelPath(t)
	r, err := New(Options{})
	require.NoError(t, err)
	defer r.Close()
	require.NoError(t, r.LoadFile(path, Options{}))
	prompts := []string{"The capital of France is", "One, two, three,", "Water boils at", "The sky is"}
	got, err := r.Generate(bg, batchRequest(t, prompts, 12))
	require.NoError(t, err)
	requireSameResults(t, alone(t, nil, path, prompts, 12), got)
	require.Contains(t, got[0].Text, "Paris")
}

// CancelPrompt stops one prompt of a batch stream; the others run on (to
// the end of the context: the endless model never stops by itself).
func TestRealmBatchCancelPrompt(t *testing.T) {
	r := endlessRealm(t)
	require.NoError(t, r.LoadBytes("endless.gguf", endlessImage(t, 1), Options{ContextLength: 400}))
	s, err := r.Stream(bg, request(t, `{"prompts": ["the", "hall", "in the"], "temperature": 0, "max_tokens": 0}`))
	require.NoError(t, err)
	defer s.Close()
	require.ErrorIs(t, s.CancelPrompt(3), errs.ErrInvalidArgument)
	require.ErrorIs(t, s.CancelPrompt(-1), errs.ErrInvalidArgument)
	finals := map[int]*engine.Result{}
	cancelled := false
	for {
		c, err := s.Next(-1)
		if err == ErrDone {
			break
		}
		require.NoError(t, err)
		if c.Index == 1 && !cancelled {
			require.NoError(t, s.CancelPrompt(1))
			cancelled = true
		}
		if c.Done {
			finals[c.Index] = c.Result
		}
	}
	require.Len(t, finals, 3)
	require.Equal(t, engine.FinishCancelled, finals[1].FinishReason)
	require.Less(t, finals[1].CompletionTokens, finals[0].CompletionTokens)
	require.Equal(t, engine.FinishLength, finals[0].FinishReason)
	require.Equal(t, engine.FinishLength, finals[2].FinishReason)

	// A single stream's prompt 0 is the stream.
	s, err = r.Stream(bg, request(t, longRequest))
	require.NoError(t, err)
	require.NoError(t, s.CancelPrompt(0))
	require.ErrorIs(t, s.CancelPrompt(1), errs.ErrInvalidArgument)
	chunks := drain(t, s)
	require.Equal(t, engine.FinishCancelled, chunks[len(chunks)-1].Result.FinishReason)
	require.NoError(t, s.Close())
}
