package server

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/realm-ai/realm/registry"
	"github.com/stretchr/testify/require"
)

func get(t *testing.T, url, key string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	require.NoError(t, err)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(data)
}

func TestModelsHealthAndMetrics(t *testing.T) {
	_, ts := newTestServer(t, newRegistry(t), Options{})
	status, body := get(t, ts.URL+"/health", "")
	require.Equal(t, 200, status)
	require.JSONEq(t, `{"status":"ok"}`, body)

	status, body = get(t, ts.URL+"/v1/models", "")
	require.Equal(t, 200, status)
	var models struct {
		Object string `json:"object"`
		Data   []struct {
			ID     string `json:"id"`
			Object string `json:"object"`
		} `json:"data"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &models))
	require.Equal(t, "list", models.Object)
	require.Len(t, models.Data, 2)
	require.Equal(t, "endless", models.Data[0].ID)
	require.Equal(t, "tiny", models.Data[1].ID)
	require.Equal(t, "model", models.Data[0].Object)

	status, body = get(t, ts.URL+"/v1/models/tiny", "")
	require.Equal(t, 200, status)
	require.Contains(t, body, `"id":"tiny"`)
	status, body = get(t, ts.URL+"/v1/models/nope", "")
	require.Equal(t, 404, status)
	require.Contains(t, body, "model_not_found")

	status, _ = post(t, ts.URL+"/v1/completions", "", map[string]any{"model": "endless", "prompt": "hi", "max_tokens": 3, "temperature": 0})
	require.Equal(t, 200, status)
	status, body = get(t, ts.URL+"/metrics", "")
	require.Equal(t, 200, status)
	require.Contains(t, body, `realm_http_requests_total{endpoint="/v1/completions",status="200"} 1`)
	require.Contains(t, body, `realm_http_requests_total{endpoint="/health",status="200"} 1`)
	require.Contains(t, body, `realm_http_requests_total{endpoint="/v1/models/{model}",status="404"} 1`)
	require.Contains(t, body, `realm_completion_tokens_total{model="endless"} 3`)
	require.Contains(t, body, `realm_prompt_tokens_total{model="endless"} `)
	require.Contains(t, body, `realm_time_to_first_token_seconds_count{model="endless"} 1`)
	require.Contains(t, body, `realm_http_request_duration_seconds_bucket{endpoint="/v1/completions",le="+Inf"} 1`)
	require.Contains(t, body, "# TYPE realm_active_realms gauge")
}

func TestChatCompletion(t *testing.T) {
	_, ts := newTestServer(t, newRegistry(t), Options{})
	status, out := post(t, ts.URL+"/v1/chat/completions", "", map[string]any{
		"model": "endless", "max_tokens": 5, "temperature": 0, "seed": 1,
		"messages": []map[string]any{
			{"role": "developer", "content": "Be brief."},
			{"role": "user", "content": []map[string]string{{"type": "text", "text": "Hello"}}},
		},
	})
	require.Equal(t, 200, status, "%v", out)
	require.Equal(t, "chat.completion", out["object"])
	require.Equal(t, "endless", out["model"])
	require.True(t, strings.HasPrefix(out["id"].(string), "chatcmpl-"))
	choices := out["choices"].([]any)
	require.Len(t, choices, 1)
	c := choices[0].(map[string]any)
	require.Equal(t, "length", c["finish_reason"])
	msg := c["message"].(map[string]any)
	require.Equal(t, "assistant", msg["role"])
	require.NotEmpty(t, msg["content"])
	u := out["usage"].(map[string]any)
	require.EqualValues(t, 5, u["completion_tokens"])
	require.Greater(t, u["prompt_tokens"].(float64), 5.0)
	require.Equal(t, u["prompt_tokens"].(float64)+5, u["total_tokens"])
}

// TestStreamMatchesWhole checks that a streamed completion carries the
// same text and usage as the whole one, in OpenAI's chunk shapes.
func TestStreamMatchesWhole(t *testing.T) {
	_, ts := newTestServer(t, newRegistry(t), Options{})
	req := map[string]any{"model": "endless", "prompt": "Once upon", "max_tokens": 12, "temperature": 0}
	status, whole := post(t, ts.URL+"/v1/completions", "", req)
	require.Equal(t, 200, status)
	require.Equal(t, "text_completion", whole["object"])
	wantText := whole["choices"].([]any)[0].(map[string]any)["text"].(string)
	require.NotEmpty(t, wantText)

	req["stream"] = true
	req["stream_options"] = map[string]any{"include_usage": true}
	resp := postRaw(t, context.Background(), ts.URL+"/v1/completions", "", req)
	defer resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode)
	require.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
	chunks, done := events(t, resp.Body)
	require.True(t, done)
	require.GreaterOrEqual(t, len(chunks), 3)
	var text strings.Builder
	for _, c := range chunks[:len(chunks)-1] {
		require.Equal(t, "text_completion", c["object"])
		require.Contains(t, c, "usage")
		require.Nil(t, c["usage"])
		text.WriteString(c["choices"].([]any)[0].(map[string]any)["text"].(string))
	}
	require.Equal(t, wantText, text.String())
	finish := chunks[len(chunks)-2]["choices"].([]any)[0].(map[string]any)["finish_reason"]
	require.Equal(t, "length", finish)
	last := chunks[len(chunks)-1]
	require.Empty(t, last["choices"])
	require.Equal(t, whole["usage"], last["usage"])
}

func TestChatStream(t *testing.T) {
	_, ts := newTestServer(t, newRegistry(t), Options{})
	resp := postRaw(t, context.Background(), ts.URL+"/v1/chat/completions", "", map[string]any{
		"model": "tiny", "max_tokens": 8, "temperature": 0, "stream": true,
		"messages": []map[string]string{{"role": "user", "content": "Hi"}},
	})
	defer resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode)
	chunks, done := events(t, resp.Body)
	require.True(t, done)
	require.GreaterOrEqual(t, len(chunks), 2)
	first := chunks[0]["choices"].([]any)[0].(map[string]any)
	require.Equal(t, "assistant", first["delta"].(map[string]any)["role"])
	ids := map[any]bool{}
	for _, c := range chunks {
		require.Equal(t, "chat.completion.chunk", c["object"])
		require.NotContains(t, c, "usage") // not asked for
		ids[c["id"]] = true
	}
	require.Len(t, ids, 1, "every chunk has the completion's id")
	last := chunks[len(chunks)-1]["choices"].([]any)[0].(map[string]any)
	require.Contains(t, []any{"stop", "length"}, last["finish_reason"])
	for _, c := range chunks[:len(chunks)-1] {
		require.Nil(t, c["choices"].([]any)[0].(map[string]any)["finish_reason"])
	}
}

func TestErrors(t *testing.T) {
	reg := newRegistry(t)
	_, ts := newTestServer(t, reg, Options{MaxBodyBytes: 4096})
	chat := ts.URL + "/v1/chat/completions"
	comp := ts.URL + "/v1/completions"
	msgs := []map[string]string{{"role": "user", "content": "Hi"}}
	cases := []struct {
		name   string
		url    string
		body   any
		status int
		param  any
		inMsg  string
	}{
		{"unknown model", chat, map[string]any{"model": "gpt-4o", "messages": msgs}, 404, "model", "gpt-4o"},
		{"no model", chat, map[string]any{"messages": msgs}, 400, "model", "model"},
		{"malformed JSON", chat, `{"model": "tiny", "messages": [`, 400, nil, "JSON"},
		{"not an object", comp, `[1, 2]`, 400, nil, "request"},
		{"empty body", comp, ``, 400, nil, "empty"},
		{"wrong type", comp, map[string]any{"model": "tiny", "prompt": "x", "max_tokens": "ten"}, 400, nil, "max_tokens"},
		{"top_p out of range", comp, map[string]any{"model": "tiny", "prompt": "x", "top_p": 2}, 400, nil, "top_p"},
		{"temperature out of range", comp, map[string]any{"model": "tiny", "prompt": "x", "temperature": 3}, 400, "temperature", "temperature"},
		{"max_tokens 0", comp, map[string]any{"model": "tiny", "prompt": "x", "max_tokens": 0}, 400, "max_tokens", "max_tokens"},
		{"n > 1", chat, map[string]any{"model": "tiny", "messages": msgs, "n": 2}, 400, "n", "n = 2"},
		{"presence penalty", chat, map[string]any{"model": "tiny", "messages": msgs, "presence_penalty": 0.5}, 400, "presence_penalty", "presence_penalty"},
		{"logprobs", chat, map[string]any{"model": "tiny", "messages": msgs, "logprobs": true}, 400, "logprobs", "logprobs"},
		{"unknown field", chat, map[string]any{"model": "tiny", "messages": msgs, "bogus": 1}, 400, nil, "bogus"},
		{"prompt on chat", chat, map[string]any{"model": "tiny", "messages": msgs, "prompt": "x"}, 400, "prompt", "prompt"},
		{"messages on completions", comp, map[string]any{"model": "tiny", "prompt": "x", "messages": msgs}, 400, "messages", "messages"},
		{"no messages", chat, map[string]any{"model": "tiny"}, 400, "messages", "messages"},
		{"bad role", chat, map[string]any{"model": "tiny", "messages": []map[string]string{{"role": "robot", "content": "x"}}}, 400, "messages[0].role", "robot"},
		{"image part", chat, map[string]any{"model": "tiny", "messages": []map[string]any{{"role": "user", "content": []map[string]any{{"type": "image_url"}}}}}, 400, "messages[0].content", "image_url"},
		{"token prompt", comp, map[string]any{"model": "tiny", "prompt": []int{1, 2}}, 400, "prompt", "token"},
		{"two prompts", comp, map[string]any{"model": "tiny", "prompt": []string{"a", "b"}}, 400, "prompt", "2 strings"},
		{"too many stops", comp, map[string]any{"model": "tiny", "prompt": "x", "stop": []string{"a", "b", "c", "d", "e"}}, 400, "stop", "stop"},
		{"stream_options without stream", comp, map[string]any{"model": "tiny", "prompt": "x", "stream_options": map[string]bool{"include_usage": true}}, 400, "stream_options", "stream"},
		{"prompt past the context", comp, map[string]any{"model": "tiny", "prompt": strings.Repeat("a b ", 150)}, 400, "prompt", "context"},
		{"oversized body", comp, map[string]any{"model": "tiny", "prompt": strings.Repeat("x", 5000)}, 413, nil, "4096"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, out := post(t, c.url, "", c.body)
			require.Equal(t, c.status, status, "%v", out)
			e := errorOf(t, out)
			require.Equal(t, c.param, e["param"])
			require.Contains(t, e["message"], c.inMsg)
			require.NotEmpty(t, e["type"])
		})
	}
	status, out := post(t, comp, "", map[string]any{"model": "tiny", "prompt": strings.Repeat("a b ", 150)})
	require.Equal(t, 400, status)
	require.Equal(t, "context_length_exceeded", errorOf(t, out)["code"])

	status, body := get(t, ts.URL+"/v1/nothing", "")
	require.Equal(t, 404, status)
	require.Contains(t, body, `"error"`)
	status, body = get(t, comp, "")
	require.Equal(t, 405, status)
	require.Contains(t, body, `"error"`)
}

func TestAuthAndTenants(t *testing.T) {
	keys, err := NewKeys(map[string]Tenant{"key-a": {Name: "a"}, "key-a2": {Name: "a"}, "key-b": {Name: "b"}})
	require.NoError(t, err)
	reg := newRegistry(t)
	s, ts := newTestServer(t, reg, Options{Keys: keys})
	body := map[string]any{"model": "tiny", "prompt": "x", "max_tokens": 2}

	status, out := post(t, ts.URL+"/v1/completions", "", body)
	require.Equal(t, 401, status)
	require.Equal(t, "invalid_api_key", errorOf(t, out)["code"])
	status, out = post(t, ts.URL+"/v1/completions", "wrong", body)
	require.Equal(t, 401, status)
	require.Equal(t, "invalid_api_key", errorOf(t, out)["code"])
	status, _ = get(t, ts.URL+"/v1/models", "")
	require.Equal(t, 401, status)
	status, _ = get(t, ts.URL+"/v1/models", "key-b")
	require.Equal(t, 200, status)
	req, err := http.NewRequest(http.MethodGet, ts.URL+"/v1/models", nil)
	require.NoError(t, err)
	for auth, want := range map[string]int{"bearer key-b": 200, "Basic key-b": 401, "key-b": 401, "Bearer ": 401} {
		req.Header.Set("Authorization", auth)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, want, resp.StatusCode, auth)
	}
	status, _ = get(t, ts.URL+"/health", "")
	require.Equal(t, 200, status, "probes need no key")

	for _, key := range []string{"key-a", "key-a2", "key-b"} {
		status, out = post(t, ts.URL+"/v1/completions", key, body)
		require.Equal(t, 200, status, "%v", out)
	}
	// Two tenants used "tiny": two Realms; key-a and key-a2 share one.
	models, err := reg.Models()
	require.NoError(t, err)
	realms := map[string]int{}
	for _, m := range models {
		realms[m.ID] = m.Realms
	}
	require.Equal(t, map[string]int{"tiny": 2, "endless": 0}, realms)
	_, page := get(t, ts.URL+"/metrics", "")
	require.Contains(t, page, `realm_active_realms{model="tiny"} 2`)

	require.NoError(t, s.Shutdown(context.Background()))
	models, err = reg.Models()
	require.NoError(t, err)
	for _, m := range models {
		require.Zero(t, m.Realms, "shutdown closes the tenants' realms")
	}
}

// cancelledCount returns the generations of model the server saw cancelled.
func cancelledCount(s *Server, model string) uint64 {
	s.metrics.mu.Lock()
	defer s.metrics.mu.Unlock()
	return s.metrics.cancelled[model]
}

func TestClientDisconnectCancelsStream(t *testing.T) {
	s, ts := newTestServer(t, newRegistry(t), Options{})
	ctx, cancel := context.WithCancel(context.Background())
	resp := postRaw(t, ctx, ts.URL+"/v1/completions", "", map[string]any{
		"model": "endless", "prompt": "x", "max_tokens": 60000, "temperature": 0, "stream": true,
	})
	buf := make([]byte, 64)
	_, err := io.ReadAtLeast(resp.Body, buf, 16) // the stream has started
	require.NoError(t, err)
	cancel()
	resp.Body.Close()
	require.Eventually(t, func() bool { return cancelledCount(s, "endless") == 1 }, 10*time.Second, 10*time.Millisecond,
		"the generation was not cancelled")
	s.metrics.mu.Lock()
	generated := s.metrics.completionTokens["endless"]
	s.metrics.mu.Unlock()
	require.Less(t, generated, uint64(60000))
}

// startServer serves on a loopback listener (for shutdown tests).
func startServer(t *testing.T, reg *registry.Registry, o Options) (*Server, string, chan error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	s := New(reg, o)
	done := make(chan error, 1)
	go func() { done <- s.Serve(ln) }()
	return s, "http://" + ln.Addr().String(), done
}

func TestShutdownFinishesShortRequests(t *testing.T) {
	reg := newRegistry(t)
	s, url, done := startServer(t, reg, Options{ShutdownTimeout: 20 * time.Second})
	resp := postRaw(t, context.Background(), url+"/v1/completions", "", map[string]any{
		"model": "endless", "prompt": "x", "max_tokens": 300, "temperature": 0, "stream": true,
	})
	defer resp.Body.Close()
	buf := make([]byte, 16)
	_, err := io.ReadFull(resp.Body, buf)
	require.NoError(t, err)
	shut := make(chan error, 1)
	go func() { shut <- s.Shutdown(context.Background()) }()
	require.Eventually(t, s.Draining, 5*time.Second, time.Millisecond)
	rest, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Contains(t, string(rest), "data: [DONE]", "the request in flight finished")
	require.NoError(t, <-shut)
	require.NoError(t, <-done)
	require.Zero(t, cancelledCount(s, "endless"))
}

func TestShutdownCancelsLongRequests(t *testing.T) {
	reg := newRegistry(t)
	s, url, done := startServer(t, reg, Options{ShutdownTimeout: 100 * time.Millisecond})
	resp := postRaw(t, context.Background(), url+"/v1/completions", "", map[string]any{
		"model": "endless", "prompt": "x", "max_tokens": 60000, "temperature": 0, "stream": true,
	})
	defer resp.Body.Close()
	buf := make([]byte, 16)
	_, err := io.ReadFull(resp.Body, buf)
	require.NoError(t, err)
	start := time.Now()
	require.NoError(t, s.Shutdown(context.Background()))
	require.Less(t, time.Since(start), 100*time.Millisecond+cancelGrace+time.Second, "shutdown is bounded")
	require.NoError(t, <-done)
	rest, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Contains(t, string(rest), `"code":"unavailable"`, "the stream ends with an error event")
	require.NotContains(t, string(rest), "[DONE]")
	require.Equal(t, uint64(1), cancelledCount(s, "endless"))
}

func TestHealthWhileDraining(t *testing.T) {
	s, ts := newTestServer(t, newRegistry(t), Options{})
	s.draining.Store(true) // what Shutdown does first
	status, body := get(t, ts.URL+"/health", "")
	require.Equal(t, 503, status)
	require.Contains(t, body, "shutting_down")
}

// TestRealModel answers with SmolLM2 when REALM_TEST_MODEL names it.
func TestRealModel(t *testing.T) {
	path := os.Getenv("REALM_TEST_MODEL")
	if path == "" {
		t.Skip("REALM_TEST_MODEL is not set")
	}
	reg, err := registry.NewRegistry(registry.Options{})
	require.NoError(t, err)
	defer reg.Close()
	require.NoError(t, reg.LoadFile("smol", path, registry.LoadOptions{}))
	_, ts := newTestServer(t, reg, Options{})
	status, out := post(t, ts.URL+"/v1/chat/completions", "", map[string]any{
		"model": "smol", "max_tokens": 24, "temperature": 0,
		"messages": []map[string]string{
			{"role": "system", "content": "You are a helpful assistant."},
			{"role": "user", "content": "What is the capital of France?"},
		},
	})
	require.Equal(t, 200, status, "%v", out)
	require.Contains(t, out["choices"].([]any)[0].(map[string]any)["message"].(map[string]any)["content"], "Paris")
	status, out = post(t, ts.URL+"/v1/completions", "", map[string]any{
		"model": "smol", "prompt": "The capital of France is", "max_tokens": 12, "temperature": 0, "stop": "\n\n",
	})
	require.Equal(t, 200, status, "%v", out)
	require.Contains(t, out["choices"].([]any)[0].(map[string]any)["text"], "Paris")
}

func TestStartAndKeyFile(t *testing.T) {
	dir := t.TempDir()
	model := filepath.Join(dir, "tiny.gguf")
	require.NoError(t, os.WriteFile(model, tinyImage(t, 256, false), 0o644))
	keyFile := filepath.Join(dir, "keys")
	require.NoError(t, os.WriteFile(keyFile, []byte("# tenants\nsecret-1 acme\n\nsecret-2 globex\n"), 0o600))
	in, err := Start(Config{Models: []ModelSpec{{ID: "tiny", Path: model}}, APIKeysFile: keyFile, Quiet: true})
	require.NoError(t, err)
	require.True(t, in.Auth())
	ids, err := in.Models()
	require.NoError(t, err)
	require.Equal(t, []string{"tiny"}, ids)
	url := "http://" + in.Addr()
	status, _ := post(t, url+"/v1/completions", "", map[string]any{"model": "tiny", "prompt": "x", "max_tokens": 2})
	require.Equal(t, 401, status)
	status, _ = post(t, url+"/v1/completions", "secret-2", map[string]any{"model": "tiny", "prompt": "x", "max_tokens": 2})
	require.Equal(t, 200, status)
	require.NoError(t, in.Shutdown(time.Second))
	require.NoError(t, in.Shutdown(time.Second), "idempotent")
	_, err = http.Get(url + "/health")
	require.Error(t, err, "the listener is closed")

	_, err = Start(Config{})
	require.ErrorContains(t, err, "no model")
	_, err = Start(Config{Models: []ModelSpec{{ID: "x", Path: filepath.Join(dir, "missing.gguf")}}})
	require.Error(t, err)
}

// TestTenantGuests runs a tenant on the sandbox's hostile test guest: seed
// 1 makes it trap, which fails that tenant's request (500, or an error
// event in a stream) and nobody else's.
func TestTenantGuests(t *testing.T) {
	wasm, err := os.ReadFile("../engine/sandbox/testdata/hostile.wasm")
	require.NoError(t, err)
	keys, err := NewKeys(map[string]Tenant{
		"plain":   {Name: "plain"},
		"hostile": {Name: "hostile", Guest: registry.Guest{Wasm: wasm}, GuestPath: "hostile.wasm"},
	})
	require.NoError(t, err)
	_, ts := newTestServer(t, newRegistry(t), Options{Keys: keys})
	trap := map[string]any{"model": "tiny", "prompt": "x", "max_tokens": 4, "seed": 1}
	status, out := post(t, ts.URL+"/v1/completions", "hostile", trap)
	require.Equal(t, 500, status)
	require.Equal(t, "sandbox_error", errorOf(t, out)["code"])
	status, _ = post(t, ts.URL+"/v1/completions", "plain", trap)
	require.Equal(t, 200, status)

	trap["stream"] = true
	resp := postRaw(t, context.Background(), ts.URL+"/v1/completions", "hostile", trap)
	defer resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode)
	chunks, done := events(t, resp.Body)
	require.False(t, done)
	require.NotEmpty(t, chunks)
	require.Equal(t, "sandbox_error", chunks[len(chunks)-1]["error"].(map[string]any)["code"])

	// Seed 0 makes the hostile guest greedy: the same tokens as the
	// default guest at temperature 0.
	greedy := map[string]any{"model": "tiny", "prompt": "x", "max_tokens": 6, "seed": 0}
	_, a := post(t, ts.URL+"/v1/completions", "hostile", greedy)
	greedy["temperature"] = 0
	_, b := post(t, ts.URL+"/v1/completions", "plain", greedy)
	require.Equal(t, b["choices"].([]any)[0].(map[string]any)["text"], a["choices"].([]any)[0].(map[string]any)["text"])
}

func TestClientDisconnectCancelsWholeRequest(t *testing.T) {
	s, ts := newTestServer(t, newRegistry(t), Options{})
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		body := strings.NewReader(`{"model": "endless", "prompt": "x", "max_tokens": 60000, "temperature": 0}`)
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, ts.URL+"/v1/completions", body)
		if err == nil {
			var resp *http.Response
			if resp, err = http.DefaultClient.Do(req); err == nil {
				resp.Body.Close()
			}
		}
		errc <- err
	}()
	require.Eventually(t, func() bool {
		s.metrics.mu.Lock()
		defer s.metrics.mu.Unlock()
		return s.metrics.ttft["endless"] != nil // generating
	}, 10*time.Second, time.Millisecond)
	cancel()
	require.ErrorIs(t, <-errc, context.Canceled)
	require.Eventually(t, func() bool { return cancelledCount(s, "endless") == 1 }, 10*time.Second, 10*time.Millisecond)
	require.Eventually(t, func() bool {
		_, page := get(t, ts.URL+"/metrics", "")
		return strings.Contains(page, `realm_http_requests_total{endpoint="/v1/completions",status="499"} 1`)
	}, 10*time.Second, 10*time.Millisecond)
}
