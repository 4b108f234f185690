package engine

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// golden is one model's llama.cpp reference outputs, written by
// scripts/goldens/make_goldens.py (see its README for the format).
type golden struct {
	Model     string         `json:"model"`
	SHA256    string         `json:"sha256"`
	NVocab    int            `json:"n_vocab"`
	Reference map[string]any `json:"reference"`
	Logits    []struct {
		Prompt string      `json:"prompt"`
		IDs    []int32     `json:"ids"`
		Argmax int32       `json:"argmax"`
		Top10  [][]float64 `json:"top10"`
	} `json:"logits"`
	Greedy []struct {
		Prompt    string  `json:"prompt"`
		IDs       []int32 `json:"ids"`
		Generated []int32 `json:"generated"`
	} `json:"greedy"`
	Chat *struct {
		Messages  []Message `json:"messages"`
		Prompt    string    `json:"prompt"`
		IDs       []int32   `json:"ids"`
		Generated []int32   `json:"generated"`
		Text      string    `json:"text"`
	} `json:"chat"`
}

const goldenDir = "testdata/goldens"

// skipGoldensUnderRace skips a golden test in a -race build: the goldens
// run one sequence at a time (make test runs them without -race first), and
// under the race detector the real models take minutes. Concurrency is
// covered by the batch tests.
func skipGoldensUnderRace(t *testing.T) {
	t.Helper()
	if raceEnabled {
		t.Skip("llama.cpp goldens run without -race (single sequence, minutes under the race detector)")
	}
}

// smolGolden loads the SmolLM2 goldens and the model they were made with.
func smolGolden(t *testing.T) (*golden, []float32, *Model) {
	t.Helper()
	skipGoldensUnderRace(t)
	const name = "smollm2-135m-instruct-q4_1"
	raw, err := os.ReadFile(filepath.Join(goldenDir, name+".json"))
	if os.IsNotExist(err) && os.Getenv("CI") == "" {
		t.Skip("goldens not generated yet (scripts/goldens)")
	}
	require.NoError(t, err)
	var g golden
	require.NoError(t, json.Unmarshal(raw, &g))
	blob, err := os.ReadFile(filepath.Join(goldenDir, name+".logits.f32"))
	require.NoError(t, err)
	require.Len(t, blob, 4*g.NVocab*len(g.Logits))
	logits := make([]float32, len(blob)/4)
	for i := range logits {
		logits[i] = math.Float32frombits(binary.LittleEndian.Uint32(blob[4*i:]))
	}

	path := realModelPath(t)
	require.Equal(t, g.Model, filepath.Base(path))
	f, err := os.Open(path)
	require.NoError(t, err)
	h := sha256.New()
	_, err = io.Copy(h, f)
	f.Close()
	require.NoError(t, err)
	require.Equal(t, g.SHA256, hex.EncodeToString(h.Sum(nil)), "goldens were made from another file")
	return &g, logits, real(t)
}

func argmax(v []float32) int32 {
	best := 0
	for i, x := range v {
		if x > v[best] {
			best = i
		}
	}
	return int32(best)
}

// TestGoldenLogits compares the last-position logits of each prompt with
// llama.cpp's: cosine >= 0.999 and the same argmax, and logs the largest
// absolute difference.
func TestGoldenLogits(t *testing.T) {
	g, want, m := smolGolden(t)
	s, err := m.NewSession()
	require.NoError(t, err)
	defer s.Close()
	var worstDiff, worstCos float64 = 0, 1
	identical := 0
	for i, e := range g.Logits {
		ids, err := m.Tokenize(e.Prompt, true, true)
		require.NoError(t, err)
		if fmt.Sprint(ids) != fmt.Sprint(e.IDs) {
			t.Errorf("prompt %d %q: tokens differ from llama.cpp's (the forward pass uses llama.cpp's)", i, e.Prompt)
		}
		got, err := s.Evaluate(ctx, e.IDs)
		require.NoError(t, err)
		ref := want[i*g.NVocab : (i+1)*g.NVocab]
		var dot, ng, nr, maxDiff float64
		differ := 0
		for j := range ref {
			if got[j] != ref[j] {
				differ++
			}
			a, b := float64(got[j]), float64(ref[j])
			dot += a * b
			ng += a * a
			nr += b * b
			maxDiff = max(maxDiff, math.Abs(a-b))
		}
		cos := dot / math.Sqrt(ng*nr)
		worstDiff, worstCos = max(worstDiff, maxDiff), min(worstCos, cos)
		if differ == 0 {
			identical++
		}
		t.Logf("prompt %2d (%3d tokens): %d logits differ, cosine %.7f, max |diff| %.3g, argmax %d (llama.cpp %d)",
			i, len(e.IDs), differ, cos, maxDiff, argmax(got), e.Argmax)
		require.GreaterOrEqual(t, cos, 0.999, "prompt %d %q", i, e.Prompt)
		require.Equal(t, e.Argmax, argmax(got), "prompt %d %q", i, e.Prompt)
	}
	t.Logf("%d prompts, %d with bit-identical logits: worst cosine %.7f, worst max |diff| %.3g",
		len(g.Logits), identical, worstCos, worstDiff)
}

// TestGoldenGreedy compares 48-token greedy continuations with llama.cpp's
// (end-of-generation tokens are not special there, so none here): at least
// 9 of 10 must be identical; the log says which match.
func TestGoldenGreedy(t *testing.T) {
	g, _, m := smolGolden(t)
	s, err := m.NewSession()
	require.NoError(t, err)
	defer s.Close()
	matches := 0
	for i, e := range g.Greedy {
		s.mu.Lock()
		s.cache.Truncate(0)
		s.tokens = s.tokens[:0]
		logits, err := s.forward(ctx, e.IDs, promptChunk)
		var got []int32
		for err == nil && len(got) < len(e.Generated) {
			id := argmax(logits)
			got = append(got, id)
			if len(got) < len(e.Generated) {
				logits, err = s.forward(ctx, []int32{id}, 1)
			}
		}
		s.mu.Unlock()
		require.NoError(t, err)
		diverge := -1
		for j := range got {
			if got[j] != e.Generated[j] {
				diverge = j
				break
			}
		}
		if diverge < 0 {
			matches++
			t.Logf("greedy %d %q: identical (%d tokens)", i, e.Prompt, len(got))
		} else {
			t.Logf("greedy %d %q: differs from token %d: got %v, llama.cpp %v",
				i, e.Prompt, diverge, got[diverge:], e.Generated[diverge:])
		}
	}
	t.Logf("greedy: %d of %d identical", matches, len(g.Greedy))
	require.GreaterOrEqual(t, matches, len(g.Greedy)-1)
}

// TestGoldenChat renders the chat through the model's template, tokenizes
// it and generates greedily until end of generation, as llama.cpp did.
func TestGoldenChat(t *testing.T) {
	g, _, m := smolGolden(t)
	if g.Chat == nil {
		t.Skip("no chat golden")
	}
	prompt, err := m.ApplyChatTemplate(g.Chat.Messages, true)
	require.NoError(t, err)
	require.Equal(t, g.Chat.Prompt, prompt)
	ids, err := m.Tokenize(prompt, true, true)
	require.NoError(t, err)
	require.Equal(t, g.Chat.IDs, ids)
	s, err := m.NewSession()
	require.NoError(t, err)
	defer s.Close()
	r, err := s.Generate(ctx, ids, greedy(48), nil)
	require.NoError(t, err)
	require.Equal(t, g.Chat.Generated, r.Tokens)
	require.Equal(t, g.Chat.Text, r.Text)
}
