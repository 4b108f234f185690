package main

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"unsafe"

	"github.com/realm-ai/realm/engine/errs"
	"github.com/realm-ai/realm/engine/gguf"
	"github.com/realm-ai/realm/engine/model/testmodel"
	"github.com/realm-ai/realm/engine/tensor"
	"github.com/realm-ai/realm/registry"
	"github.com/stretchr/testify/require"
)

// tinyImage builds a tiny random-weight llama with a ChatML template and a
// context of 2048 whose end-of-generation tokens (ids 0 and 2) never win:
// their rows of the output matrix are zeroed (logit 0, while the best of
// the other random logits is positive). Generation then runs until
// max_tokens or a full context, so cancellation tests surely cancel a
// running generation.
func tinyImage(t testing.TB) []byte {
	t.Helper()
	tm := testmodel.NewLlama(tensor.Q8_0)
	tm.Context = 2048
	tm.ChatTemplate = testmodel.ChatML
	img, err := tm.Build()
	require.NoError(t, err)
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

// status runs fn through invoke, as an exported function would.
func status(fn func() error) int {
	st, _ := invoke(fn)
	return st
}

func decodeJSON(t testing.TB, s string) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal([]byte(s), &m), s)
	return m
}

func TestEverySentinelHasItsOwnStatus(t *testing.T) {
	want := map[error]int{
		errs.ErrNotLoaded:        statusNotLoaded,
		errs.ErrNotFound:         statusNotFound,
		errs.ErrInvalidModel:     statusInvalidModel,
		errs.ErrUnsupportedModel: statusUnsupportedModel,
		errs.ErrInvalidArgument:  statusInvalidArgument,
		errs.ErrSandbox:          statusSandbox,
		errs.ErrCancelled:        statusCancelled,
		errs.ErrClosed:           statusClosed,
		errs.ErrContextLength:    statusContextLength,
		errs.ErrMemoryBudget:     statusMemoryBudget,
		registry.ErrTimeout:      statusStreamTimeout,
		registry.ErrDone:         statusStreamDone,
	}
	seen := map[int]bool{}
	for err, st := range want {
		require.Equal(t, st, statusOf(err), err.Error())
		require.Equal(t, st, statusOf(fmt.Errorf("context: %w", err)), err.Error())
		require.False(t, seen[st], "status %d used twice", st)
		seen[st] = true
	}
	require.Len(t, statusTable, len(want))
	require.Equal(t, statusOK, statusOf(nil))
	require.Equal(t, statusInternal, statusOf(errors.New("no sentinel")))

	st, msg := invoke(func() error { return fmt.Errorf("%w: field \"x\"", errs.ErrInvalidArgument) })
	require.Equal(t, statusInvalidArgument, st)
	require.Equal(t, `invalid argument: field "x"`, msg)
	st, msg = invoke(func() error { return registry.ErrTimeout })
	require.Equal(t, statusStreamTimeout, st)
	require.Empty(t, msg, "a timeout is not an error")
	st, msg = invoke(func() error { return errors.New("oops") })
	require.Equal(t, statusInternal, st)
	require.Equal(t, "internal error: oops", msg)
}

func TestPanicsBecomeInternalErrors(t *testing.T) {
	st, msg := invoke(func() error { panic("boom") })
	require.Equal(t, statusInternal, st)
	require.Contains(t, msg, "panic: boom")
	require.Contains(t, msg, "impl_test.go", "the message says where")

	st, msg = invoke(func() error {
		var m map[string]int
		m["x"] = 1 // a runtime error
		return nil
	})
	require.Equal(t, statusInternal, st)
	require.Contains(t, msg, "assignment to entry in nil map")
}

func TestHandles(t *testing.T) {
	// NULL: invalid argument.
	_, err := realmIsLoaded(nil)
	require.ErrorIs(t, err, errs.ErrInvalidArgument)
	require.ErrorIs(t, realmFree(nil), errs.ErrInvalidArgument)
	require.ErrorIs(t, streamFree(nil), errs.ErrInvalidArgument)
	require.ErrorIs(t, streamCancel(nil), errs.ErrInvalidArgument)
	require.ErrorIs(t, registryFree(nil), errs.ErrInvalidArgument)

	// Foreign pointers: closed, never a crash.
	var local [16]byte
	foreign := unsafe.Pointer(&local)
	_, err = realmIsLoaded(foreign)
	require.ErrorIs(t, err, errs.ErrClosed)
	require.ErrorIs(t, realmFree(foreign), errs.ErrClosed)
	_, err = streamNext(foreign, 0)
	require.ErrorIs(t, err, errs.ErrClosed)

	// The wrong kind of handle: invalid argument.
	h, err := realmNew("")
	require.NoError(t, err)
	g, err := registryNew("{}")
	require.NoError(t, err)
	_, err = streamNext(h, 0)
	require.ErrorIs(t, err, errs.ErrInvalidArgument)
	require.Contains(t, err.Error(), "realm_t")
	_, err = registryModels(h)
	require.ErrorIs(t, err, errs.ErrInvalidArgument)
	_, err = realmIsLoaded(g)
	require.ErrorIs(t, err, errs.ErrInvalidArgument)
	require.ErrorIs(t, realmFree(g), errs.ErrInvalidArgument)

	// Freed: closed, and freeing twice too.
	require.NoError(t, realmFree(h))
	require.ErrorIs(t, realmFree(h), errs.ErrClosed)
	_, err = realmIsLoaded(h)
	require.ErrorIs(t, err, errs.ErrClosed)
	require.ErrorIs(t, realmLoadModel(h, "x.gguf", ""), errs.ErrClosed)
	require.NoError(t, registryFree(g))
	require.ErrorIs(t, registryFree(g), errs.ErrClosed)
	_, err = registryModels(g)
	require.ErrorIs(t, err, errs.ErrClosed)

	// A freed handle stays quarantined: new handles do not reuse it soon.
	fresh := map[unsafe.Pointer]bool{}
	for range 64 {
		p, err := realmNew("")
		require.NoError(t, err)
		require.NotEqual(t, h, p)
		require.NotEqual(t, g, p)
		fresh[p] = true
		require.NoError(t, realmFree(p))
	}
	require.Len(t, fresh, 64)
}

func TestQuarantineIsBounded(t *testing.T) {
	for range quarantineSize + 10 {
		p, err := realmNew("")
		require.NoError(t, err)
		require.NoError(t, realmFree(p))
	}
	quarantineMu.Lock()
	n := len(quarantine)
	quarantineMu.Unlock()
	require.Equal(t, quarantineSize, n)
}

func TestRealmThroughTheABI(t *testing.T) {
	_, err := realmNew(`{"threads": -1}`)
	require.ErrorIs(t, err, errs.ErrInvalidArgument)
	_, err = realmNew(`{"thread": 1}`)
	require.ErrorIs(t, err, errs.ErrInvalidArgument)

	h, err := realmNew(`{"context_length": 512}`)
	require.NoError(t, err)
	defer realmFree(h)
	loaded, err := realmIsLoaded(h)
	require.NoError(t, err)
	require.False(t, loaded)
	_, err = realmModelInfo(h)
	require.ErrorIs(t, err, errs.ErrNotLoaded)
	_, err = realmGenerate(h, `{"prompt": "x"}`)
	require.ErrorIs(t, err, errs.ErrNotLoaded)

	require.ErrorIs(t, realmLoadModel(h, "/no/such/file.gguf", ""), errs.ErrNotFound)
	require.ErrorIs(t, realmLoadModelBytes(h, []byte("junk"), ""), errs.ErrInvalidModel)
	require.NoError(t, realmLoadModelBytes(h, tinyImage(t), ""))
	loaded, err = realmIsLoaded(h)
	require.NoError(t, err)
	require.True(t, loaded)

	info, err := realmModelInfo(h)
	require.NoError(t, err)
	m := decodeJSON(t, info)
	for _, k := range []string{"architecture", "name", "n_params", "n_vocab", "n_ctx_train", "n_ctx",
		"n_embd", "n_layer", "n_head", "n_head_kv", "file_type", "file_size", "has_chat_template"} {
		require.Contains(t, m, k)
	}
	require.Equal(t, 512.0, m["n_ctx"], "the realm's default context length")
	require.Equal(t, "llama", m["architecture"])

	toks, err := realmTokenize(h, "the hall", "")
	require.NoError(t, err)
	text, err := realmDetokenize(h, toks)
	require.NoError(t, err)
	require.Equal(t, "the hall", text)
	special, err := realmTokenize(h, "<|im_start|>", `{"add_special": false, "parse_special": true}`)
	require.NoError(t, err)
	require.Equal(t, "[1]", special)
	_, err = realmTokenize(h, "x", `{"add_specials": true}`)
	require.ErrorIs(t, err, errs.ErrInvalidArgument)
	_, err = realmDetokenize(h, `"not a list"`)
	require.ErrorIs(t, err, errs.ErrInvalidArgument)
	_, err = realmDetokenize(h, `null`)
	require.ErrorIs(t, err, errs.ErrInvalidArgument)

	prompt, err := realmApplyChatTemplate(h, `[{"role": "user", "content": "hi"}]`, "")
	require.NoError(t, err)
	require.Equal(t, "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n", prompt)
	prompt, err = realmApplyChatTemplate(h, `[{"role": "user", "content": "hi"}]`, `{"add_generation_prompt": false}`)
	require.NoError(t, err)
	require.Equal(t, "<|im_start|>user\nhi<|im_end|>\n", prompt)

	res, err := realmGenerate(h, `{"prompt": "the hall", "temperature": 0, "max_tokens": 6}`)
	require.NoError(t, err)
	require.NotContains(t, res, `\u003c`, "no HTML escaping")
	r := decodeJSON(t, res)
	require.Equal(t, "length", r["finish_reason"])
	require.Len(t, r["tokens"], 6)
	usage := r["usage"].(map[string]any)
	require.Equal(t, 6.0, usage["completion_tokens"])
	require.Equal(t, usage["prompt_tokens"].(float64)+6, usage["total_tokens"])
	require.Contains(t, r["timings"], "prompt_ms")
	require.Contains(t, r["timings"], "decode_ms")
	require.Contains(t, r["timings"], "cached_tokens")

	batch, err := realmGenerate(h, `{"prompts": ["the hall", "in"], "temperature": 0, "max_tokens": 6}`)
	require.NoError(t, err)
	var many []map[string]any
	require.NoError(t, json.Unmarshal([]byte(batch), &many))
	require.Len(t, many, 2)
	require.Equal(t, r["text"], many[0]["text"])

	_, err = realmGenerate(h, `{"prompt": "x", "temprature": 0}`)
	require.ErrorIs(t, err, errs.ErrInvalidArgument)
	require.Contains(t, err.Error(), "temprature")
	_, err = realmGenerate(h, `{"prompt": "`+strings.Repeat("x ", 600)+`"}`) // context_length 512
	require.ErrorIs(t, err, errs.ErrContextLength)

	// Streaming: token chunks, then the final chunk, then DONE.
	s, err := realmStreamStart(h, `{"prompt": "the hall", "temperature": 0, "max_tokens": 6}`)
	require.NoError(t, err)
	var texts strings.Builder
	var ids []float64
	var final map[string]any
	for {
		js, err := streamNext(s, -1)
		if statusOf(err) == statusStreamDone {
			break
		}
		require.NoError(t, err)
		c := decodeJSON(t, js)
		texts.WriteString(c["text"].(string))
		if c["done"].(bool) {
			require.Nil(t, final, "one final chunk")
			final = c
			require.NotContains(t, c, "token")
			continue
		}
		ids = append(ids, c["token"].(float64))
	}
	require.Equal(t, r["text"], texts.String())
	require.Equal(t, r["tokens"], func() []any {
		out := make([]any, len(ids))
		for i, id := range ids {
			out[i] = id
		}
		return out
	}())
	require.Equal(t, "length", final["finish_reason"])
	require.Equal(t, usage["completion_tokens"], final["usage"].(map[string]any)["completion_tokens"])
	require.Contains(t, final, "timings")
	require.NoError(t, streamCancel(s), "cancel after the end is harmless")
	require.NoError(t, streamFree(s))
	require.ErrorIs(t, streamFree(s), errs.ErrClosed)
	_, err = streamNext(s, 0)
	require.ErrorIs(t, err, errs.ErrClosed)

	// Cancel mid-way; freeing the realm ends its streams too.
	s, err = realmStreamStart(h, `{"prompt": "the", "temperature": 0}`)
	require.NoError(t, err)
	_, err = streamNext(s, -1)
	require.NoError(t, err)
	require.NoError(t, streamCancel(s))
	for {
		js, err := streamNext(s, 5000)
		if statusOf(err) == statusStreamDone {
			break
		}
		require.NoError(t, err)
		if c := decodeJSON(t, js); c["done"].(bool) {
			require.Equal(t, "cancelled", c["finish_reason"])
		}
	}
	require.NoError(t, streamFree(s))
	_, err = realmStreamStart(h, `{"prompts": ["a", ""]}`)
	require.ErrorIs(t, err, errs.ErrInvalidArgument)
}

func TestFreeingARealmWithStreams(t *testing.T) {
	h, err := realmNew("")
	require.NoError(t, err)
	defer realmFree(h)
	require.NoError(t, realmLoadModelBytes(h, tinyImage(t), ""))
	// A long stream holds the realm; a second stream_start waits for it;
	// realm_free cancels the first and fails or ends the second.
	long, err := realmStreamStart(h, `{"prompt": "the", "temperature": 0}`)
	require.NoError(t, err)
	defer streamFree(long)
	type started struct {
		s   unsafe.Pointer
		err error
	}
	done := make(chan started, 1)
	go func() {
		s, err := realmStreamStart(h, `{"prompt": "the", "max_tokens": 1}`)
		done <- started{s, err}
	}()
	_, err = streamNext(long, -1)
	require.NoError(t, err)
	_, err = streamNext(long, 0)
	if err != nil {
		require.Equal(t, statusStreamTimeout, statusOf(err))
	}
	require.NoError(t, realmFree(h)) // cancels the long stream
	// The waiting stream_start either got in before the free or fails as closed.
	if st := <-done; st.err != nil {
		require.ErrorIs(t, st.err, errs.ErrClosed)
	} else {
		require.NoError(t, streamFree(st.s))
	}
	for {
		js, err := streamNext(long, 5000)
		if statusOf(err) == statusStreamDone {
			break
		}
		require.NoError(t, err)
		if c := decodeJSON(t, js); c["done"].(bool) {
			require.Equal(t, "cancelled", c["finish_reason"])
		}
	}
}

func TestRegistryThroughTheABI(t *testing.T) {
	g, err := registryNew("")
	require.NoError(t, err)
	img := tinyImage(t)
	require.NoError(t, registryLoadModelBytes(g, "tiny", img, ""))
	require.ErrorIs(t, registryLoadModelBytes(g, "tiny", img, ""), errs.ErrInvalidArgument)
	require.NoError(t, registryLoadModelBytes(g, "tiny", img, `{"replace": true, "context_length": 256}`))
	require.ErrorIs(t, registryLoadModelBytes(g, "x", img, `{"replace": 1}`), errs.ErrInvalidArgument)
	require.ErrorIs(t, registryLoadModel(g, "x", "/no/such.gguf", ""), errs.ErrNotFound)

	ms, err := registryModels(g)
	require.NoError(t, err)
	var models []map[string]any
	require.NoError(t, json.Unmarshal([]byte(ms), &models))
	require.Len(t, models, 1)
	require.Equal(t, "tiny", models[0]["id"])
	require.Equal(t, 0.0, models[0]["realms"])
	require.Equal(t, 256.0, models[0]["info"].(map[string]any)["n_ctx"])

	js := `{"prompt": "the hall", "temperature": 0, "max_tokens": 5}`
	res, err := registryGenerate(g, "tiny", js)
	require.NoError(t, err)
	_, err = registryGenerate(g, "nope", js)
	require.ErrorIs(t, err, errs.ErrNotFound)
	s, err := registryStreamStart(g, "tiny", js)
	require.NoError(t, err)
	require.NoError(t, streamFree(s))

	_, err = registryRealm(g, "tiny", `{"guest": "x"}`) // a typo of guest_wasm
	require.ErrorIs(t, err, errs.ErrInvalidArgument)
	r, err := registryRealm(g, "tiny", "")
	require.NoError(t, err)
	ms, err = registryModels(g)
	require.NoError(t, err)
	require.Contains(t, ms, `"realms":1`)
	require.NoError(t, registryUnload(g, "tiny"))
	require.ErrorIs(t, registryUnload(g, "tiny"), errs.ErrNotFound)
	require.NoError(t, registryFree(g))

	// The realm outlives the registry.
	own, err := realmGenerate(r, js)
	require.NoError(t, err)
	require.Equal(t, decodeJSON(t, res)["tokens"], decodeJSON(t, own)["tokens"])
	require.NoError(t, realmFree(r))
}

func TestGuestOptions(t *testing.T) {
	hostile, err := os.ReadFile("../engine/sandbox/testdata/hostile.wasm")
	require.NoError(t, err)
	b64 := base64.StdEncoding.EncodeToString(hostile)

	_, err = realmNew(`{"guest_wasm": "not base64!"}`)
	require.ErrorIs(t, err, errs.ErrInvalidArgument)
	_, err = realmNew(`{"guest_wasm": "` + base64.StdEncoding.EncodeToString([]byte("junk")) + `"}`)
	require.Equal(t, statusSandbox, statusOf(err))

	h, err := realmNew(`{"guest_wasm": "` + b64 + `", "guest_config": "x", "context_length": 256}`)
	require.NoError(t, err)
	defer realmFree(h)
	require.NoError(t, realmLoadModelBytes(h, tinyImage(t), ""))
	_, err = realmGenerate(h, `{"prompt": "the", "seed": 1, "max_tokens": 4}`) // mode 1: the guest traps
	require.Equal(t, statusSandbox, statusOf(err))
	require.Contains(t, err.Error(), "sandbox")
	_, err = realmGenerate(h, `{"prompt": "the", "seed": 0, "max_tokens": 4}`)
	require.NoError(t, err)

	g, err := registryNew("")
	require.NoError(t, err)
	defer registryFree(g)
	require.NoError(t, registryLoadModelBytes(g, "tiny", tinyImage(t), ""))
	tenant, err := registryRealm(g, "tiny", `{"guest_wasm": "`+b64+`"}`)
	require.NoError(t, err)
	defer realmFree(tenant)
	_, err = realmGenerate(tenant, `{"prompt": "the", "seed": 1, "max_tokens": 4}`)
	require.Equal(t, statusSandbox, statusOf(err))
}
