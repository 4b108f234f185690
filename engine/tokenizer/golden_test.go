package tokenizer

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// goldensDir holds llama.cpp's reference outputs (scripts/goldens).
const goldensDir = "../testdata/goldens"

// goldenTokenizer is the part of a goldens file this package checks: for
// each string of tokenizer_corpus.json, in order, llama_tokenize's ids with
// add_special=parse_special=false (plain) and both true (special).
type goldenTokenizer struct {
	Model     string `json:"model"`
	Tokenizer []struct {
		Plain   []int32 `json:"plain"`
		Special []int32 `json:"special"`
	} `json:"tokenizer"`
}

// readGoldens loads the corpus and the goldens file made from modelFile
// (matched on its "model" field), or returns ok=false when there is none.
func readGoldens(t *testing.T, modelFile string) (corpus []string, g goldenTokenizer, ok bool) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(goldensDir, "tokenizer_corpus.json"))
	if os.IsNotExist(err) {
		return nil, g, false
	}
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &corpus))
	files, err := filepath.Glob(filepath.Join(goldensDir, "*.json"))
	require.NoError(t, err)
	for _, f := range files {
		if filepath.Base(f) == "tokenizer_corpus.json" {
			continue
		}
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		var cand goldenTokenizer
		require.NoError(t, json.Unmarshal(b, &cand), f)
		if cand.Model == modelFile && cand.Tokenizer != nil {
			require.Len(t, cand.Tokenizer, len(corpus), "%s does not match the corpus", f)
			return corpus, cand, true
		}
	}
	return nil, g, false
}

// checkGoldens requires Encode to give llama.cpp's ids for every string.
func checkGoldens(t *testing.T, tk *Tokenizer, corpus []string, g goldenTokenizer) {
	plain, special := 0, 0
	for i, s := range corpus {
		want := g.Tokenizer[i]
		if assert.Equal(t, want.Plain, nonNil(tk.Encode(s, false, false)), "plain %d %q", i, s) {
			plain++
		}
		if assert.Equal(t, want.Special, nonNil(tk.Encode(s, true, true)), "special %d %q", i, s) {
			special++
		}
	}
	t.Logf("%s: %d/%d strings match without specials, %d/%d with", g.Model, plain, len(corpus), special, len(corpus))
}

func nonNil(ids []int32) []int32 {
	if ids == nil {
		return []int32{}
	}
	return ids
}

func TestGoldenSmolLM2(t *testing.T) {
	path := smolLM2Path(t)
	corpus, g, ok := readGoldens(t, filepath.Base(path))
	if !ok {
		if os.Getenv("CI") != "" {
			t.Fatalf("no llama.cpp goldens for %s in %s", filepath.Base(path), goldensDir)
		}
		t.Skipf("no llama.cpp goldens for %s yet", filepath.Base(path))
	}
	checkGoldens(t, openTokenizer(t, path), corpus, g)
}

func TestGoldenGemma3(t *testing.T) {
	path := gemma3Path(t)
	corpus, g, ok := readGoldens(t, filepath.Base(path))
	if !ok {
		t.Skipf("no llama.cpp goldens for %s", filepath.Base(path))
	}
	checkGoldens(t, openTokenizer(t, path), corpus, g)
}
