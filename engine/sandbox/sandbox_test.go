package sandbox

import (
	"context"
	"sync"
	"testing"

	"github.com/realm-ai/realm/engine/errs"
	"github.com/realm-ai/realm/engine/sample"
	"github.com/stretchr/testify/require"
)

func TestCompileOncePerModuleBytes(t *testing.T) {
	h := newTestHost(t, Config{})
	a, err := h.DefaultModule()
	require.NoError(t, err)
	b, err := h.Compile(DefaultWasm())
	require.NoError(t, err)
	require.Same(t, a, b)

	hostile := testdataWasm(t, "hostile")
	mods := make([]*Module, 8)
	var wg sync.WaitGroup
	for i := range mods {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mods[i], _ = h.Compile(append([]byte(nil), hostile...))
		}()
	}
	wg.Wait()
	for _, m := range mods {
		require.NotNil(t, m)
		require.Same(t, mods[0], m)
	}
	require.NotSame(t, a, mods[0])
	require.NotEqual(t, a.ID(), mods[0].ID())

	// Instances of one module are independent: each has its own memory.
	vocab := newFakeVocab(100)
	ctx := context.Background()
	x, err := a.Instantiate(ctx, vocab, nil)
	require.NoError(t, err)
	defer x.Close()
	y, err := a.Instantiate(ctx, vocab, nil)
	require.NoError(t, err)
	defer y.Close()
	require.NotSame(t, x.wasm, y.wasm)
}

func TestCallerErrors(t *testing.T) {
	h := newTestHost(t, Config{})
	mod, err := h.DefaultModule()
	require.NoError(t, err)
	ctx := context.Background()
	_, err = mod.Instantiate(ctx, nil, nil)
	require.ErrorIs(t, err, errs.ErrInvalidArgument)
	_, err = mod.Instantiate(ctx, newFakeVocab(0), nil)
	require.ErrorIs(t, err, errs.ErrInvalidArgument)

	in := defaultInstance(t, h, newFakeVocab(100))
	_, _, err = in.Step(testCands, nil)
	require.ErrorIs(t, err, errs.ErrInvalidArgument, "Step before Begin")
	bad := sample.DefaultParams()
	bad.TopP = 2
	require.ErrorIs(t, in.Begin(ctx, bad, nil), errs.ErrInvalidArgument)

	require.NoError(t, in.Begin(ctx, sample.DefaultParams(), nil))
	_, _, err = in.Step(nil, nil)
	require.ErrorIs(t, err, errs.ErrInvalidArgument)
	_, _, err = in.Step(make([]sample.Candidate, sample.MaxCandidates+1), nil)
	require.ErrorIs(t, err, errs.ErrInvalidArgument)
	// Still usable: caller errors do not end the request.
	_, _, err = in.Step(testCands, nil)
	require.NoError(t, err)
	in.End()
	_, _, err = in.Step(testCands, nil)
	require.ErrorIs(t, err, errs.ErrInvalidArgument, "Step after End")
}

// TestLongPromptsAndManyRequests: the default guest reuses its request
// block, growing it for longer prompts, and stays within its memory.
func TestLongPromptsAndManyRequests(t *testing.T) {
	h := newTestHost(t, Config{})
	in := defaultInstance(t, h, newFakeVocab(100))
	ctx := context.Background()
	p := sample.DefaultParams()
	for i := range 300 {
		prompt := make([]int32, (i*97)%9000+1)
		require.NoError(t, in.Begin(ctx, p, prompt))
		_, _, err := in.Step(testCands, nil)
		require.NoError(t, err)
		in.End()
	}
	require.LessOrEqual(t, in.wasm.Memory().Size(), uint32(3*65536))

	// A prompt that cannot fit under the memory cap is the guest's
	// out-of-memory, not a crash.
	small := newTestHost(t, Config{MemoryLimitPages: 2})
	tight := defaultInstance(t, small, newFakeVocab(100))
	err := tight.Begin(ctx, p, make([]int32, 64*1024))
	requireSandboxError(t, err, KindMemoryLimit, "out of memory")
	require.NoError(t, tight.Begin(ctx, p, []int32{1}))
}
