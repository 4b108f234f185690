package registry

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/realm-ai/realm/engine"
	"github.com/realm-ai/realm/engine/errs"
	"github.com/stretchr/testify/require"
)

func TestRealmWithoutModel(t *testing.T) {
	r, err := New(Options{})
	require.NoError(t, err)
	loaded, err := r.IsLoaded()
	require.NoError(t, err)
	require.False(t, loaded)
	_, err = r.Info()
	require.ErrorIs(t, err, errs.ErrNotLoaded)
	_, err = r.Tokenize("x", true, false)
	require.ErrorIs(t, err, errs.ErrNotLoaded)
	_, err = r.Generate(bg, request(t, `{"prompt": "x"}`))
	require.ErrorIs(t, err, errs.ErrNotLoaded)
	_, err = r.Stream(bg, request(t, `{"prompt": "x"}`))
	require.ErrorIs(t, err, errs.ErrNotLoaded)

	_, err = New(Options{Threads: -2})
	require.ErrorIs(t, err, errs.ErrInvalidArgument)
}

func TestRealmLoadErrors(t *testing.T) {
	r, err := New(Options{})
	require.NoError(t, err)
	defer r.Close()
	require.ErrorIs(t, r.LoadFile("/nonexistent/model.gguf", Options{}), errs.ErrNotFound)
	require.ErrorIs(t, r.LoadFile("", Options{}), errs.ErrInvalidArgument)
	require.ErrorIs(t, r.LoadFile(t.TempDir(), Options{}), errs.ErrInvalidModel)
	require.ErrorIs(t, r.LoadBytes("junk", []byte("GGUF but not really"), Options{}), errs.ErrInvalidModel)
	require.ErrorIs(t, r.LoadBytes("tiny", tinyImage(t, 1), Options{ContextLength: -1}), errs.ErrInvalidArgument)

	// A failed load keeps the model loaded before.
	require.NoError(t, r.LoadBytes("tiny", tinyImage(t, 1), Options{ContextLength: 256}))
	require.ErrorIs(t, r.LoadBytes("junk", []byte("nope"), Options{}), errs.ErrInvalidModel)
	info, err := r.Info()
	require.NoError(t, err)
	require.Equal(t, 256, info.Ctx)
}

func TestRealmInfoTokensAndTemplate(t *testing.T) {
	r := loadedRealm(t, 1)
	info, err := r.Info()
	require.NoError(t, err)
	require.Equal(t, "llama", info.Architecture)
	require.Equal(t, "tiny llama", info.Name)
	require.Equal(t, 2048, info.CtxTrain)
	require.Equal(t, 2048, info.Ctx)
	require.Equal(t, 64, info.Embd)
	require.Equal(t, 2, info.Layers)
	require.True(t, info.HasChatTemplate)
	require.Equal(t, int64(len(tinyImage(t, 1))), info.FileSize)
	require.Positive(t, info.Params)

	ids, err := r.Tokenize("the hall", true, false)
	require.NoError(t, err)
	require.NotEmpty(t, ids)
	text, err := r.Detokenize(ids)
	require.NoError(t, err)
	require.Equal(t, "the hall", text)
	_, err = r.Detokenize([]int32{1 << 20})
	require.ErrorIs(t, err, errs.ErrInvalidArgument)

	prompt, err := r.ApplyChatTemplate([]engine.Message{{Role: "user", Content: "hi"}}, true)
	require.NoError(t, err)
	require.Equal(t, "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n", prompt)
}

func TestRealmGenerateMatchesEngine(t *testing.T) {
	img := tinyImage(t, 1)
	m, err := engine.LoadBytes("tiny", img, engine.LoadOptions{})
	require.NoError(t, err)
	defer m.Close()
	s, err := m.NewSession()
	require.NoError(t, err)
	ids, err := m.Tokenize("the hall in", true, true)
	require.NoError(t, err)
	p := engine.DefaultSamplingParams()
	p.Temperature, p.MaxTokens = 0, 12
	want, err := s.Generate(bg, ids, p, nil)
	require.NoError(t, err)

	r := loadedRealm(t, 1)
	got := one(t, r, `{"prompt": "the hall in", "temperature": 0, "max_tokens": 12}`)
	require.Equal(t, want.Tokens, got.Tokens)
	require.Equal(t, want.Text, got.Text)
	require.Equal(t, "length", got.FinishReason)
	require.Equal(t, len(ids), got.PromptTokens)

	// Again on the same session: the prompt's cache is reused, the output is the same.
	again := one(t, r, `{"prompt": "the hall in", "temperature": 0, "max_tokens": 12}`)
	require.Equal(t, want.Tokens, again.Tokens)
	require.Positive(t, again.CachedTokens)

	// A batch gives one result per prompt, in order.
	res, err := r.Generate(bg, request(t, `{"prompts": ["in the", "the hall in"], "temperature": 0, "max_tokens": 12}`))
	require.NoError(t, err)
	require.Len(t, res, 2)
	require.Equal(t, want.Tokens, res[1].Tokens)
	require.Equal(t, one(t, r, `{"prompt": "in the", "temperature": 0, "max_tokens": 12}`).Tokens, res[0].Tokens)
}

func TestRealmChatAndLimits(t *testing.T) {
	r := loadedRealm(t, 1)
	chat := one(t, r, `{"messages": [{"role": "user", "content": "hi"}], "temperature": 0, "max_tokens": 5}`)
	tmpl, err := r.ApplyChatTemplate([]engine.Message{{Role: "user", Content: "hi"}}, true)
	require.NoError(t, err)
	ids, err := r.Tokenize(tmpl, true, true)
	require.NoError(t, err)
	require.Equal(t, len(ids), chat.PromptTokens)
	plain := one(t, r, `{"prompt": `+quote(tmpl)+`, "temperature": 0, "max_tokens": 5}`)
	require.Equal(t, plain.Tokens, chat.Tokens)

	_, err = r.Generate(bg, request(t, `{"prompt": "`+strings.Repeat("x ", 3000)+`"}`))
	require.ErrorIs(t, err, errs.ErrContextLength)
	_, err = r.Generate(bg, request(t, `{"prompt": ""}`))
	require.ErrorIs(t, err, errs.ErrInvalidArgument)
	_, err = r.Stream(bg, request(t, `{"prompts": ["a", ""]}`))
	require.ErrorIs(t, err, errs.ErrInvalidArgument)
}

func quote(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	return `"` + r.Replace(s) + `"`
}

func TestStreamChunksMakeTheResult(t *testing.T) {
	r := loadedRealm(t, 1)
	js := `{"prompt": "the hall in", "temperature": 0, "max_tokens": 20, "stop": ["he"]}`
	want := one(t, r, js)
	s, err := r.Stream(bg, request(t, js))
	require.NoError(t, err)
	defer s.Close()
	chunks := drain(t, s)
	require.NotEmpty(t, chunks)
	last := chunks[len(chunks)-1]
	require.True(t, last.Done)
	require.Equal(t, int32(-1), last.Token)
	var text strings.Builder
	var ids []int32
	for _, c := range chunks {
		text.WriteString(c.Text)
		if !c.Done {
			require.GreaterOrEqual(t, c.Token, int32(0))
			ids = append(ids, c.Token)
		}
	}
	require.Equal(t, want.Text, text.String())
	require.Equal(t, want.Text, last.Result.Text)
	require.Equal(t, want.Tokens, ids)
	require.Equal(t, want.FinishReason, last.Result.FinishReason)

	// After the end: ErrDone, repeatedly.
	_, err = s.Next(0)
	require.ErrorIs(t, err, ErrDone)
	_, err = s.Next(time.Millisecond)
	require.ErrorIs(t, err, ErrDone)
	require.NoError(t, s.Close())
	_, err = s.Next(0)
	require.ErrorIs(t, err, errs.ErrClosed)
	require.NoError(t, s.Close())
}

func TestStreamNextTimesOutAndWakes(t *testing.T) {
	s := newStream(func() {})
	_, err := s.Next(10 * time.Millisecond)
	require.ErrorIs(t, err, ErrTimeout)
	got := make(chan Chunk, 2)
	var wg sync.WaitGroup
	for range 2 { // two readers: both are woken
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := s.Next(-1)
			if err == nil {
				got <- c
			}
		}()
	}
	time.Sleep(5 * time.Millisecond)
	require.NoError(t, s.push(engine.Token{ID: 7, Text: "a"}))
	s.finish(&engine.Result{Text: "ab", FinishReason: "stop"}, nil)
	close(s.done)
	wg.Wait()
	close(got)
	var texts []string
	for c := range got {
		texts = append(texts, c.Text)
	}
	require.ElementsMatch(t, []string{"a", ""}, texts)
	_, err = s.Next(0)
	require.ErrorIs(t, err, ErrDone)

	// A failed generation reports its error once, then ErrDone.
	s = newStream(func() {})
	s.finish(nil, errs.ErrSandbox)
	_, err = s.Next(0)
	require.ErrorIs(t, err, errs.ErrSandbox)
	_, err = s.Next(0)
	require.ErrorIs(t, err, ErrDone)

	// Close wakes a waiting reader with ErrClosed.
	s = newStream(func() {})
	close(s.done)
	failed := make(chan error)
	go func() {
		_, err := s.Next(-1)
		failed <- err
	}()
	time.Sleep(5 * time.Millisecond)
	require.NoError(t, s.Close())
	require.ErrorIs(t, <-failed, errs.ErrClosed)
}

// longRequest generates until the context (2048) is full, unless
// cancelled, on an endlessRealm.
const longRequest = `{"prompt": "the", "temperature": 0, "max_tokens": 0}`

// endlessRealm returns a Realm with endlessImage loaded.
func endlessRealm(t testing.TB) *Realm {
	t.Helper()
	r, err := New(Options{})
	require.NoError(t, err)
	t.Cleanup(func() { r.Close() })
	require.NoError(t, r.LoadBytes("endless.gguf", endlessImage(t, 1), Options{}))
	return r
}

func TestEndlessModelRunsToTheEnd(t *testing.T) {
	// The premise of the cancellation tests (on a shorter context, to be quick).
	r := endlessRealm(t)
	require.NoError(t, r.LoadBytes("endless.gguf", endlessImage(t, 1), Options{ContextLength: 300}))
	res := one(t, r, longRequest)
	require.Equal(t, "length", res.FinishReason)
	require.Equal(t, 300, res.PromptTokens+res.CompletionTokens-1, "the last token is not evaluated")
}

func TestStreamCancel(t *testing.T) {
	r := endlessRealm(t)
	s, err := r.Stream(bg, request(t, longRequest))
	require.NoError(t, err)
	defer s.Close()
	_, err = s.Next(-1) // generation has begun
	require.NoError(t, err)
	s.Cancel()
	chunks := drain(t, s)
	last := chunks[len(chunks)-1]
	require.True(t, last.Done)
	require.Equal(t, engine.FinishCancelled, last.Result.FinishReason)
	require.Less(t, last.Result.CompletionTokens, 2000)

	// The realm is usable again.
	require.Equal(t, "length", one(t, r, `{"prompt": "the", "max_tokens": 2}`).FinishReason)

	// Cancelling via the caller's context works too.
	ctx, cancel := context.WithCancel(bg)
	s, err = r.Stream(ctx, request(t, longRequest))
	require.NoError(t, err)
	cancel()
	chunks = drain(t, s)
	require.Equal(t, engine.FinishCancelled, chunks[len(chunks)-1].Result.FinishReason)
	require.NoError(t, s.Close())
}

func TestStreamCloseWhileGenerating(t *testing.T) {
	r := endlessRealm(t)
	s, err := r.Stream(bg, request(t, longRequest))
	require.NoError(t, err)
	_, err = s.Next(-1)
	require.NoError(t, err)
	start := time.Now()
	require.NoError(t, s.Close())
	require.Less(t, time.Since(start), 5*time.Second)
	select {
	case <-s.done:
	default:
		t.Fatal("Close returned before the generation stopped")
	}
	_, err = s.Next(0)
	require.ErrorIs(t, err, errs.ErrClosed)
}

func TestRealmCloseCancelsStreams(t *testing.T) {
	r := endlessRealm(t)
	s, err := r.Stream(bg, request(t, longRequest))
	require.NoError(t, err)
	defer s.Close()
	_, err = s.Next(-1)
	require.NoError(t, err)
	require.NoError(t, r.Close())
	chunks := drain(t, s)
	require.Equal(t, engine.FinishCancelled, chunks[len(chunks)-1].Result.FinishReason)

	_, err = r.Info()
	require.ErrorIs(t, err, errs.ErrClosed)
	_, err = r.IsLoaded()
	require.ErrorIs(t, err, errs.ErrClosed)
	require.ErrorIs(t, r.LoadBytes("tiny", tinyImage(t, 1), Options{}), errs.ErrClosed)
	_, err = r.Generate(bg, request(t, `{"prompt": "x"}`))
	require.ErrorIs(t, err, errs.ErrClosed)
	require.NoError(t, r.Close())
}

func TestCallsWaitForAStream(t *testing.T) {
	// A second call on the realm waits for the stream's generation; the
	// stream buffers everything although nobody reads it.
	r := loadedRealm(t, 1)
	s, err := r.Stream(bg, request(t, `{"prompt": "the", "temperature": 0, "max_tokens": 50}`))
	require.NoError(t, err)
	defer s.Close()
	res := one(t, r, `{"prompt": "the", "temperature": 0, "max_tokens": 50}`)
	chunks := drain(t, s)
	require.Equal(t, res.Text, chunks[len(chunks)-1].Result.Text)
	require.Len(t, chunks, len(res.Tokens)+1)
}

func TestRealmsRunInParallel(t *testing.T) {
	path := tinyFile(t, 3)
	const n = 4
	var wg sync.WaitGroup
	results := make([][]int32, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := New(Options{})
			require.NoError(t, err)
			defer r.Close()
			require.NoError(t, r.LoadFile(path, Options{}))
			results[i] = one(t, r, `{"prompt": "in the", "temperature": 0, "max_tokens": 16}`).Tokens
		}()
	}
	wg.Wait()
	for i := 1; i < n; i++ {
		require.Equal(t, results[0], results[i])
	}
}
