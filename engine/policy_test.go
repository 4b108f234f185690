package engine

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/realm-ai/realm/engine/errs"
	"github.com/realm-ai/realm/engine/sandbox"
	"github.com/stretchr/testify/require"
)

// sandboxHost returns a sandbox host closed at the end of the test.
func sandboxHost(t testing.TB, cfg sandbox.Config) *sandbox.Host {
	t.Helper()
	h := sandbox.NewHost(cfg)
	t.Cleanup(func() { h.Close(context.Background()) })
	return h
}

// guestInstance instantiates module bytes (nil: the default guest) for m.
func guestInstance(t testing.TB, h *sandbox.Host, m *Model, wasm []byte, config string) *sandbox.Instance {
	t.Helper()
	var mod *sandbox.Module
	var err error
	if wasm == nil {
		mod, err = h.DefaultModule()
	} else {
		mod, err = h.Compile(wasm)
	}
	require.NoError(t, err)
	in, err := mod.Instantiate(context.Background(), m.Vocabulary(), []byte(config))
	require.NoError(t, err)
	t.Cleanup(func() { in.Close() })
	return in
}

// samplingCases are parameter sets for the sandbox-against-native tests.
func samplingCases() []SamplingParams {
	d := DefaultSamplingParams()
	cases := []SamplingParams{d}
	c := d
	c.Temperature, c.Seed = 1.5, 42
	cases = append(cases, c)
	c = d
	c.TopK, c.TopP, c.MinP, c.Seed = 0, 0.9, 0.02, 1<<40+3
	cases = append(cases, c)
	c = d
	c.RepeatPenalty, c.RepeatLastN, c.Temperature, c.Seed = 1.3, 16, 0.9, 7
	cases = append(cases, c)
	c = d
	c.Temperature = 0
	cases = append(cases, c)
	return cases
}

// TestSandboxDefaultGuestMatchesNative: the default guest in the sandbox
// and the native sampler produce the same generation for the same seed.
func TestSandboxDefaultGuestMatchesNative(t *testing.T) {
	m := tiny(t, nil)
	h := sandboxHost(t, sandbox.Config{})
	in := guestInstance(t, h, m, nil, "")
	native, err := m.NewSession()
	require.NoError(t, err)
	defer native.Close()
	boxed, err := m.NewSession()
	require.NoError(t, err)
	defer boxed.Close()
	ctx := context.Background()
	prompt, err := m.Tokenize("the cat sat on", true, false)
	require.NoError(t, err)
	for i, p := range samplingCases() {
		for seed := range uint64(5) {
			p.Seed += seed
			p.MaxTokens = 40
			want, err := native.Generate(ctx, prompt, p, nil)
			require.NoError(t, err)
			got, err := boxed.GenerateWithPolicy(ctx, prompt, p, in, nil)
			require.NoError(t, err)
			require.Equal(t, want.Tokens, got.Tokens, "case %d seed %d", i, p.Seed)
			require.Equal(t, want.Text, got.Text)
			require.Equal(t, want.FinishReason, got.FinishReason)
		}
	}
}

// TestSandboxDefaultGuestMatchesNativeReal does the same on SmolLM2.
func TestSandboxDefaultGuestMatchesNativeReal(t *testing.T) {
	m, err := LoadFile(realModelPath(t), LoadOptions{ContextLength: 512})
	require.NoError(t, err)
	defer m.Close()
	h := sandboxHost(t, sandbox.Config{})
	in := guestInstance(t, h, m, nil, "")
	s, err := m.NewSession()
	require.NoError(t, err)
	defer s.Close()
	ctx := context.Background()
	prompt, err := m.Tokenize("Once upon a time", true, false)
	require.NoError(t, err)
	for i, p := range samplingCases()[:3] {
		p.MaxTokens = 16
		want, err := s.Generate(ctx, prompt, p, nil)
		require.NoError(t, err)
		got, err := s.GenerateWithPolicy(ctx, prompt, p, in, nil)
		require.NoError(t, err)
		require.Equal(t, want.Tokens, got.Tokens, "case %d", i)
		require.Equal(t, want.Text, got.Text)
	}
}

// buildExampleGuest compiles examples/guests/digits_only with clang.
func buildExampleGuest(t *testing.T) []byte {
	t.Helper()
	if _, err := exec.LookPath("clang"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("clang not found: CI must install clang and lld")
		}
		t.Skip("clang not installed")
	}
	out := filepath.Join(t.TempDir(), "digits_only.wasm")
	msg, err := exec.Command("sh", "../guest/build.sh", out, "../examples/guests/digits_only/digits_only.c").CombinedOutput()
	require.NoError(t, err, "%s", msg)
	wasm, err := os.ReadFile(out)
	require.NoError(t, err)
	return wasm
}

// TestSandboxDigitsOnlyGuest runs the worked example guest end to end: the
// output of the tiny model is made of digits only, whatever the prompt.
func TestSandboxDigitsOnlyGuest(t *testing.T) {
	m := tiny(t, nil)
	h := sandboxHost(t, sandbox.Config{})
	in := guestInstance(t, h, m, buildExampleGuest(t), "digits")
	s, err := m.NewSession()
	require.NoError(t, err)
	defer s.Close()
	prompt, err := m.Tokenize("hello there", true, false)
	require.NoError(t, err)
	for seed := range uint64(8) {
		p := DefaultSamplingParams()
		p.Seed, p.MaxTokens = seed, 12
		res, err := s.GenerateWithPolicy(context.Background(), prompt, p, in, nil)
		require.NoError(t, err)
		require.NotEmpty(t, res.Tokens)
		for _, c := range res.Text {
			require.True(t, c >= '0' && c <= '9', "%q", res.Text)
		}
	}

	// Ban mode: ban the words the unconstrained model says first; they
	// never come out under the guest.
	p := DefaultSamplingParams()
	p.MaxTokens = 40
	free, err := s.Generate(context.Background(), prompt, p, nil)
	require.NoError(t, err)
	word := func(id int32) string {
		return strings.ToLower(strings.TrimLeft(string(m.Vocabulary().Piece(id)), " "))
	}
	banned := map[string]bool{}
	for _, id := range free.Tokens {
		if w := word(id); w != "" && len(banned) < 3 {
			banned[w] = true
		}
	}
	require.NotEmpty(t, banned)
	config := "ban"
	for w := range banned {
		config += "\n" + w
	}
	ban := guestInstance(t, h, m, buildExampleGuest(t), config)
	res, err := s.GenerateWithPolicy(context.Background(), prompt, p, ban, nil)
	require.NoError(t, err)
	for _, id := range res.Tokens {
		require.False(t, banned[word(id)], "banned %q generated", word(id))
	}
}

// TestSandboxGuestFailures: a guest's failure fails the request with
// errs.ErrSandbox; the session and the instance serve the next request;
// stop and cancellation keep their meaning.
func TestSandboxGuestFailures(t *testing.T) {
	m := tiny(t, nil)
	h := sandboxHost(t, sandbox.Config{Deadline: 200 * time.Millisecond})
	hostile, err := os.ReadFile("sandbox/testdata/hostile.wasm")
	require.NoError(t, err)
	in := guestInstance(t, h, m, hostile, "")
	s, err := m.NewSession()
	require.NoError(t, err)
	defer s.Close()
	ctx := context.Background()
	prompt, err := m.Tokenize("abc", true, false)
	require.NoError(t, err)
	mode := func(n uint64) SamplingParams {
		p := DefaultSamplingParams()
		p.Seed, p.MaxTokens = n, 5
		return p
	}
	for _, n := range []uint64{1, 2, 3, 6, 7} { // trap, endless loop, div by zero, bad id, error code
		_, err := s.GenerateWithPolicy(ctx, prompt, mode(n), in, nil)
		require.ErrorIs(t, err, errs.ErrSandbox, "mode %d", n)
		res, err := s.GenerateWithPolicy(ctx, prompt, mode(0), in, nil)
		require.NoError(t, err, "after mode %d", n)
		require.Len(t, res.Tokens, 5)
	}
	res, err := s.GenerateWithPolicy(ctx, prompt, mode(11), in, nil) // the guest stops at once
	require.NoError(t, err)
	require.Equal(t, FinishStop, res.FinishReason)
	require.Empty(t, res.Tokens)

	// Cancelling the request stops a looping guest: a cancelled result.
	long := sandboxHost(t, sandbox.Config{Deadline: time.Minute})
	loop := guestInstance(t, long, m, hostile, "")
	cctx, cancel := context.WithCancel(ctx)
	time.AfterFunc(50*time.Millisecond, cancel)
	start := time.Now()
	res, err = s.GenerateWithPolicy(cctx, prompt, mode(2), loop, nil)
	require.NoError(t, err)
	require.Equal(t, FinishCancelled, res.FinishReason)
	require.Less(t, time.Since(start), 10*time.Second)

	_, err = s.GenerateWithPolicy(ctx, prompt, mode(0), nil, nil)
	require.ErrorIs(t, err, errs.ErrInvalidArgument)
}

// BenchmarkDecodeWithPolicy runs the same generation on SmolLM2 with the
// native sampler and with the default guest in the sandbox, alternately
// (the machine is noisy: compare within one iteration), and reports the
// decode time per token of each and their difference. Both produce the
// same tokens, so they do the same work but for the policy.
func BenchmarkDecodeWithPolicy(b *testing.B) {
	m, err := LoadFile(realModelPath(b), LoadOptions{ContextLength: 256})
	require.NoError(b, err)
	defer m.Close()
	h := sandboxHost(b, sandbox.Config{})
	in := guestInstance(b, h, m, nil, "")
	prompt, err := m.Tokenize("Once upon a time", true, false)
	require.NoError(b, err)
	s, err := m.NewSession()
	require.NoError(b, err)
	defer s.Close()
	p := DefaultSamplingParams()
	p.MaxTokens = 16
	ctx := context.Background()
	var tokens int
	var native, boxed float64
	for b.Loop() {
		a, err := s.Generate(ctx, prompt, p, nil)
		require.NoError(b, err)
		c, err := s.GenerateWithPolicy(ctx, prompt, p, in, nil)
		require.NoError(b, err)
		require.Equal(b, a.Tokens, c.Tokens)
		tokens += a.CompletionTokens
		native += a.DecodeMs
		boxed += c.DecodeMs
		p.Seed++
	}
	b.ReportMetric(native*1000/float64(tokens), "native-us/token")
	b.ReportMetric(boxed*1000/float64(tokens), "sandbox-us/token")
	b.ReportMetric((boxed-native)*1000/float64(tokens), "overhead-us/token")
}
