package server

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/realm-ai/realm/engine/gguf"
	"github.com/realm-ai/realm/engine/model/testmodel"
	"github.com/realm-ai/realm/engine/tensor"
	"github.com/realm-ai/realm/registry"
	"github.com/stretchr/testify/require"
)

// tinyImage builds a tiny random-weight llama with a ChatML template.
// With endless, its end-of-generation tokens (ids 0 and 2) never win
// (their output rows are zeroed while the best random logit is positive),
// so greedy generation runs until max_tokens or a full context.
func tinyImage(t testing.TB, ctxLen int, endless bool) []byte {
	t.Helper()
	tm := testmodel.NewLlama(tensor.Q8_0)
	tm.Context = ctxLen
	tm.Seed = 7
	tm.ChatTemplate = testmodel.ChatML
	img, err := tm.Build()
	require.NoError(t, err)
	if endless {
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
	}
	return img
}

// newRegistry returns a registry with "tiny" (context 256) and "endless"
// (context 65536: the cancellation tests need a generation that cannot end
// before the client or the server cancels it) loaded, closed at the end of the test.
func newRegistry(t testing.TB) *registry.Registry {
	t.Helper()
	reg, err := registry.NewRegistry(registry.Options{Threads: 1})
	require.NoError(t, err)
	t.Cleanup(func() { reg.Close() })
	require.NoError(t, reg.LoadBytes("tiny", tinyImage(t, 256, false), registry.LoadOptions{}))
	require.NoError(t, reg.LoadBytes("endless", tinyImage(t, 65536, true), registry.LoadOptions{ContextLength: 65536}))
	return reg
}

// newTestServer serves reg through httptest.
func newTestServer(t testing.TB, reg *registry.Registry, o Options) (*Server, *httptest.Server) {
	t.Helper()
	s := New(reg, o)
	ts := httptest.NewServer(s)
	t.Cleanup(func() {
		ts.Close()
		require.NoError(t, s.Shutdown(context.Background()))
	})
	return s, ts
}

// post sends body (a string is sent as is, anything else as JSON) and
// returns the status and the decoded JSON answer.
func post(t testing.TB, url, key string, body any) (int, map[string]any) {
	t.Helper()
	resp := postRaw(t, context.Background(), url, key, body)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	var out map[string]any
	require.NoError(t, json.Unmarshal(data, &out), "body: %s", data)
	return resp.StatusCode, out
}

func postRaw(t testing.TB, ctx context.Context, url, key string, body any) *http.Response {
	t.Helper()
	var data []byte
	if s, ok := body.(string); ok {
		data = []byte(s)
	} else {
		var err error
		data, err = json.Marshal(body)
		require.NoError(t, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(data))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	return resp
}

// events reads the server-sent events of a stream up to "[DONE]" (which
// it reports) or the end of the body.
func events(t testing.TB, body io.Reader) (chunks []map[string]any, done bool) {
	t.Helper()
	sc := bufio.NewScanner(body)
	for sc.Scan() {
		line := sc.Text()
		data, ok := strings.CutPrefix(line, "data: ")
		if !ok {
			require.Empty(t, line, "unexpected line in the event stream")
			continue
		}
		if data == "[DONE]" {
			return chunks, true
		}
		var c map[string]any
		require.NoError(t, json.Unmarshal([]byte(data), &c), "event: %s", data)
		chunks = append(chunks, c)
	}
	return chunks, false
}

// errorOf returns the "error" object of an answer.
func errorOf(t testing.TB, out map[string]any) map[string]any {
	t.Helper()
	e, ok := out["error"].(map[string]any)
	require.True(t, ok, "no error object in %v", out)
	for _, k := range []string{"message", "type", "param", "code"} {
		require.Contains(t, e, k)
	}
	return e
}
