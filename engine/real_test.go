package engine

import (
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

var (
	realOnce  sync.Once
	realModel *Model
	realErr   error
)

// real loads the SmolLM2 test model once for all tests and benchmarks.
func real(t testing.TB) *Model {
	t.Helper()
	path := realModelPath(t)
	realOnce.Do(func() { realModel, realErr = LoadFile(path, LoadOptions{}) })
	require.NoError(t, realErr)
	return realModel
}

// With SmolLM2's default system prompt the Q4_1 model's greedy answer is
// "L'Étoile, la Cité, ..." in llama.cpp as here (TestGoldenChat checks it
// token for token); with a plain system prompt both answer with Paris
// (checked against llama.cpp 0.3.36 through scripts/goldens' setup).
func TestRealModelAnswersParis(t *testing.T) {
	m := real(t)
	text, err := m.ApplyChatTemplate([]Message{
		{Role: "system", Content: "You are a helpful assistant."},
		{Role: "user", Content: "What is the capital of France?"},
	}, true)
	require.NoError(t, err)
	require.True(t, strings.HasSuffix(text, "<|im_start|>assistant\n"), text)
	ids, err := m.Tokenize(text, true, true)
	require.NoError(t, err)
	s, err := m.NewSession()
	require.NoError(t, err)
	defer s.Close()
	r, err := s.Generate(ctx, ids, greedy(32), nil)
	require.NoError(t, err)
	t.Logf("%q (%s, %d tokens, prompt %.0f ms, decode %.0f ms)", r.Text, r.FinishReason, len(r.Tokens), r.PromptMs, r.DecodeMs)
	require.Equal(t, "The capital of France is Paris.", r.Text)
}

func BenchmarkPrompt(b *testing.B) {
	m := real(b)
	s, err := m.NewSession()
	require.NoError(b, err)
	defer s.Close()
	ids := make([]int32, 128)
	for i := range ids {
		ids[i] = int32(1000 + 37*i)
	}
	b.ResetTimer()
	cpu := cpuSeconds()
	for range b.N {
		if _, err := s.Evaluate(ctx, ids); err != nil {
			b.Fatal(err)
		}
	}
	reportThroughput(b, len(ids)*b.N, b.Elapsed().Seconds(), cpuSeconds()-cpu)
}

func BenchmarkDecode(b *testing.B) {
	m := real(b)
	s, err := m.NewSession()
	require.NoError(b, err)
	defer s.Close()
	ids, err := m.Tokenize("Once upon a time", true, false)
	require.NoError(b, err)
	p := greedy(64)
	p.Stop = nil
	var tokens int
	var decodeMs, cpu float64
	b.ResetTimer()
	for range b.N {
		if _, err := s.Evaluate(ctx, ids); err != nil { // the prompt, not timed below
			b.Fatal(err)
		}
		start := cpuSeconds()
		r, err := s.Generate(ctx, ids, p, nil) // reuses the prompt: decoding only
		cpu += cpuSeconds() - start
		if err != nil {
			b.Fatal(err)
		}
		tokens += len(r.Tokens)
		decodeMs += r.DecodeMs + r.PromptMs
	}
	reportThroughput(b, tokens, decodeMs/1000, cpu)
}

// reportThroughput reports tokens per second of wall time and per second
// of CPU time (the latter is what a quiet machine would show with one
// thread).
func reportThroughput(b *testing.B, tokens int, wall, cpu float64) {
	b.ReportMetric(float64(tokens)/wall, "tokens/s")
	if cpu > 0 {
		b.ReportMetric(float64(tokens)/cpu, "tokens/cpu-s")
	}
}
