package registry

import (
	"fmt"
	"os"
	"runtime"
	"sync"
	"testing"

	"github.com/realm-ai/realm/engine/errs"
	"github.com/stretchr/testify/require"
)

func TestUnloadDefersToTheRealmsUsingIt(t *testing.T) {
	g := newRegistry(t)
	require.NoError(t, g.LoadFile("tiny", tinyFile(t, 7), LoadOptions{}))
	js := `{"prompt": "the hall in", "temperature": 0, "max_tokens": 8}`
	want, err := g.Generate(bg, "tiny", request(t, js))
	require.NoError(t, err)
	a, err := g.Realm("tiny", Guest{})
	require.NoError(t, err)
	b, err := g.Realm("tiny", Guest{})
	require.NoError(t, err)
	e, _ := g.entry("tiny")
	sm := e.model
	before := loadedFiles()

	// Unload succeeds at once: the id is gone, the realms keep the weights.
	require.NoError(t, g.Unload("tiny"))
	require.False(t, g.Has("tiny"))
	_, err = g.Realm("tiny", Guest{})
	require.ErrorIs(t, err, errs.ErrNotFound)
	_, err = g.Generate(bg, "tiny", request(t, js))
	require.ErrorIs(t, err, errs.ErrNotFound)
	require.Equal(t, 2, refs(sm))
	require.Equal(t, before, loadedFiles())
	require.Equal(t, want[0].Tokens, one(t, a, js).Tokens)

	// The weights are freed when the last realm closes.
	require.NoError(t, a.Close())
	require.Equal(t, 1, refs(sm))
	require.Equal(t, want[0].Tokens, one(t, b, js).Tokens)
	require.NoError(t, b.Close())
	require.Equal(t, 0, refs(sm))
	require.Equal(t, before-1, loadedFiles())
	_, err = sm.model.Tokenize("x", false, false)
	require.ErrorIs(t, err, errs.ErrClosed, "the model is closed once the last realm let go")

	// The id can be loaded again meanwhile, independently.
	require.NoError(t, g.LoadFile("tiny", tinyFile(t, 7), LoadOptions{}))
	require.Equal(t, want[0].Tokens, one(t, mustRealm(t, g, "tiny"), js).Tokens)
}

func mustRealm(t testing.TB, g *Registry, id string) *Realm {
	t.Helper()
	r, err := g.Realm(id, Guest{})
	require.NoError(t, err)
	t.Cleanup(func() { r.Close() })
	return r
}

func budgetRegistry(t testing.TB, budget int64) *Registry {
	t.Helper()
	g, err := NewRegistryWith(RegistryOptions{MemoryBudget: budget})
	require.NoError(t, err)
	t.Cleanup(func() { g.Close() })
	return g
}

func TestMemoryBudget(t *testing.T) {
	_, err := NewRegistryWith(RegistryOptions{MemoryBudget: -1})
	require.ErrorIs(t, err, errs.ErrInvalidArgument)
	var o RegistryOptions
	require.NoError(t, Decode("options", []byte(`{"memory_budget": 5, "threads": 1}`), &o))
	require.Equal(t, RegistryOptions{Options: Options{Threads: 1}, MemoryBudget: 5}, o)

	size := int64(len(tinyImage(t, 1)))
	g := budgetRegistry(t, 2*size+size/2) // room for two models
	require.Equal(t, 2*size+size/2, g.MemoryBudget())
	require.NoError(t, g.LoadBytes("a", tinyImage(t, 1), LoadOptions{}))
	require.NoError(t, g.LoadBytes("b", tinyImage(t, 2), LoadOptions{}))
	js := `{"prompt": "in", "temperature": 0, "max_tokens": 2}`
	_, err = g.Generate(bg, "a", request(t, js)) // b is now the least recently used
	require.NoError(t, err)

	require.NoError(t, g.LoadBytes("c", tinyImage(t, 3), LoadOptions{}))
	ms, err := g.Models()
	require.NoError(t, err)
	require.Equal(t, []string{"a", "c"}, ids(ms), "b was unloaded to make room")

	// Models in use by a realm are never unloaded: with both held, a load fails
	// with a typed error and changes nothing.
	ra := mustRealm(t, g, "a")
	rc := mustRealm(t, g, "c")
	err = g.LoadBytes("d", tinyImage(t, 4), LoadOptions{})
	require.ErrorIs(t, err, errs.ErrMemoryBudget)
	require.Contains(t, err.Error(), `"d"`)
	ms, _ = g.Models()
	require.Equal(t, []string{"a", "c"}, ids(ms))

	// Once a realm closes its model can go; the other stays.
	require.NoError(t, rc.Close())
	require.NoError(t, g.LoadBytes("d", tinyImage(t, 4), LoadOptions{}))
	ms, _ = g.Models()
	require.Equal(t, []string{"a", "d"}, ids(ms))
	require.Equal(t, "length", one(t, ra, `{"prompt": "in", "max_tokens": 2}`).FinishReason)

	// A model larger than the whole budget fails at once, unloading nothing.
	small := budgetRegistry(t, size/2)
	err = small.LoadBytes("x", tinyImage(t, 1), LoadOptions{})
	require.ErrorIs(t, err, errs.ErrMemoryBudget)

	// Replacing an id does not count the model it replaces.
	require.NoError(t, g.LoadBytes("d", tinyImage(t, 5), LoadOptions{Replace: true}))
	ms, _ = g.Models()
	require.Equal(t, []string{"a", "d"}, ids(ms))
}

func TestMemoryBudgetCountsAFileOnce(t *testing.T) {
	path := tinyFile(t, 8)
	st, err := os.Stat(path)
	require.NoError(t, err)
	g := budgetRegistry(t, st.Size()+st.Size()/2)
	require.NoError(t, g.LoadFile("a", path, LoadOptions{}))
	held := mustRealm(t, g, "a")
	// The same file under other ids (other context lengths too) takes no room.
	require.NoError(t, g.LoadFile("b", path, LoadOptions{ContextLength: 64}))
	require.NoError(t, g.LoadFile("c", path, LoadOptions{ContextLength: 128}))
	// Another file does not fit, and "b" and "c" are idle but unloading
	// them frees nothing while "a" holds the file: nothing is unloaded.
	err = g.LoadBytes("d", tinyImage(t, 9), LoadOptions{})
	require.ErrorIs(t, err, errs.ErrMemoryBudget)
	ms, _ := g.Models()
	require.Equal(t, []string{"a", "b", "c"}, ids(ms))
	// With the realm closed, all three ids go together.
	require.NoError(t, held.Close())
	require.NoError(t, g.LoadBytes("d", tinyImage(t, 9), LoadOptions{}))
	ms, _ = g.Models()
	require.Equal(t, []string{"d"}, ids(ms))
}

// TestManyRealmsGenerateAtOnce runs 64 Realms of one model concurrently,
// each with its own prompt, and checks every result against the same
// prompt run alone.
func TestManyRealmsGenerateAtOnce(t *testing.T) {
	const n = 64
	g := newRegistry(t)
	require.NoError(t, g.LoadBytes("tiny", tinyImage(t, 11), LoadOptions{}))
	words := []string{"the", "hall", "in", "a", "of", "and", "to", "it"}
	reqs := make([]string, n)
	for i := range n {
		reqs[i] = fmt.Sprintf(`{"prompt": "%s %s %s", "temperature": 0, "max_tokens": %d}`,
			words[i%8], words[(i/8)%8], words[(i*3)%8], 4+i%5)
	}
	want := map[string][]int32{}
	base := mustRealm(t, g, "tiny")
	for _, js := range reqs {
		if _, ok := want[js]; !ok {
			want[js] = one(t, base, js).Tokens
		}
	}
	realms := make([]*Realm, n)
	for i := range realms {
		realms[i] = mustRealm(t, g, "tiny")
	}
	ms, err := g.Models()
	require.NoError(t, err)
	require.Equal(t, n+1, ms[0].Realms)

	got := make([][]int32, n)
	errsOut := make([]error, n)
	var start, wg sync.WaitGroup
	start.Add(1)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			start.Wait()
			res, err := realms[i].Generate(bg, request(t, reqs[i]))
			if err != nil {
				errsOut[i] = err
				return
			}
			got[i] = res[0].Tokens
		}()
	}
	start.Done()
	wg.Wait()
	for i := range n {
		require.NoError(t, errsOut[i], "realm %d", i)
		require.Equal(t, want[reqs[i]], got[i], "realm %d: %s", i, reqs[i])
	}
}

// TestManyRealmsRealModel is TestManyRealmsGenerateAtOnce with SmolLM2
// (without -race, where it is too slow).
func TestManyRealmsRealModel(t *testing.T) {
	path := realModelPath(t)
	if raceEnabled {
		t.Skip("generation with the real model is too slow under -race")
	}
	const n = 64
	g := newRegistry(t)
	require.NoError(t, g.LoadFile("smol", path, LoadOptions{ContextLength: 256}))
	prompts := []string{"The capital of France is", "One, two, three,", "Water boils at", "The sky is"}
	want := map[string][]int32{}
	base := mustRealm(t, g, "smol")
	js := func(p string) string { return fmt.Sprintf(`{"prompt": %q, "temperature": 0, "max_tokens": 6}`, p) }
	for _, p := range prompts {
		want[p] = one(t, base, js(p)).Tokens
	}
	var wg sync.WaitGroup
	got := make([][]int32, n)
	errsOut := make([]error, n)
	for i := range n {
		r := mustRealm(t, g, "smol")
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := r.Generate(bg, request(t, js(prompts[i%len(prompts)])))
			if err != nil {
				errsOut[i] = err
				return
			}
			got[i] = res[0].Tokens
		}()
	}
	wg.Wait()
	for i := range n {
		require.NoError(t, errsOut[i], "realm %d", i)
		require.Equal(t, want[prompts[i%len(prompts)]], got[i], "realm %d", i)
	}
}

// TestIdleRealmsAreSmall creates 1,000 idle Realms on one model and bounds
// the Go heap they take. Each holds a guest instance (whose linear memory
// is most of it, ~106 KiB), an empty KV cache and an empty workspace; the
// bound (256 KiB a realm, less than half a KV cache of the tiny model's
// full context) catches a cache or scratch memory reserved up front.
func TestIdleRealmsAreSmall(t *testing.T) {
	const n = 1000
	g := newRegistry(t)
	require.NoError(t, g.LoadBytes("tiny", tinyImage(t, 12), LoadOptions{}))
	mustRealm(t, g, "tiny") // warm up: compile the guest, first allocations
	heap := func() uint64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapInuse
	}
	before := heap()
	realms := make([]*Realm, n)
	for i := range realms {
		r, err := g.Realm("tiny", Guest{})
		require.NoError(t, err)
		realms[i] = r
	}
	grown := heap() - before
	per := grown / n
	info, err := g.Info("tiny")
	require.NoError(t, err)
	full := uint64(info.Layers * 2 * info.Ctx * info.KVHeads * (info.Embd / info.Heads) * 2) // K and V, binary16
	t.Logf("%d idle realms: heap +%d KiB (%d bytes a realm; a full KV cache is %d)", n, grown>>10, per, full)
	require.Less(t, per, uint64(256<<10))
	require.Less(t, per, full/2)
	// Every realm still works.
	require.Equal(t, "length", one(t, realms[n-1], `{"prompt": "in", "max_tokens": 2}`).FinishReason)
	for _, r := range realms {
		require.NoError(t, r.Close())
	}
	ms, err := g.Models()
	require.NoError(t, err)
	require.Equal(t, 1, ms[0].Realms)
}

// TestMemoryBudgetUnderConcurrentUse loads models into a registry with room
// for two while other goroutines create realms on and generate with them:
// every call either works or fails with the error of an evicted id or a
// full budget, and the budget holds after each load.
func TestMemoryBudgetUnderConcurrentUse(t *testing.T) {
	size := int64(len(tinyImage(t, 1)))
	g := budgetRegistry(t, 2*size+size/2)
	require.NoError(t, g.LoadBytes("m0", tinyImage(t, 1), LoadOptions{}))
	var wg sync.WaitGroup
	stop := make(chan struct{})
	js := `{"prompt": "in", "temperature": 0, "max_tokens": 2}`
	for w := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				id := fmt.Sprintf("m%d", (i+w)%4)
				if r, err := g.Realm(id, Guest{}); err == nil {
					_, err = r.Generate(bg, request(t, js))
					require.NoError(t, err)
					require.NoError(t, r.Close())
				} else {
					require.ErrorIs(t, err, errs.ErrNotFound)
				}
				if _, err := g.Generate(bg, id, request(t, js)); err != nil {
					require.ErrorIs(t, err, errs.ErrNotFound)
				}
			}
		}()
	}
	for i := range 24 {
		err := g.LoadBytes(fmt.Sprintf("m%d", i%4), tinyImage(t, uint64(i)), LoadOptions{Replace: true})
		if err != nil {
			require.ErrorIs(t, err, errs.ErrMemoryBudget)
		}
		ms, err := g.Models()
		require.NoError(t, err)
		require.LessOrEqual(t, len(ms), 2)
	}
	close(stop)
	wg.Wait()
	ms, err := g.Models()
	require.NoError(t, err)
	require.LessOrEqual(t, len(ms), 2)
	for _, m := range ms {
		require.Zero(t, m.Realms)
	}
}
