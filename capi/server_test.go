package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestServerThroughTheABI(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tiny.gguf")
	require.NoError(t, os.WriteFile(path, tinyImage(t), 0o644))
	opts := fmt.Sprintf(`{"models": [{"id": "tiny", "path": %q}], "port": 0, "quiet": true}`, path)
	h, err := serverStart(opts)
	require.NoError(t, err)

	js, err := serverInfo(h)
	require.NoError(t, err)
	var info serverInfoJSON
	require.NoError(t, json.Unmarshal([]byte(js), &info))
	require.False(t, info.Auth)
	require.Equal(t, []string{"tiny"}, info.Models)
	require.True(t, strings.HasPrefix(info.Address, "127.0.0.1:"))

	resp, err := http.Post("http://"+info.Address+"/v1/completions", "application/json",
		strings.NewReader(`{"model": "tiny", "prompt": "Hi", "max_tokens": 3}`))
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	require.Equal(t, 200, resp.StatusCode, "%s", body)
	require.Contains(t, string(body), `"completion_tokens":3`)

	require.Equal(t, statusInvalidArgument, status(func() error { return serverShutdown(h, -1) }))
	require.NoError(t, serverShutdown(h, 1000))
	require.NoError(t, serverShutdown(h, 1000), "idempotent")
	_, err = http.Get("http://" + info.Address + "/health")
	require.Error(t, err, "the listener is closed")
	require.NoError(t, serverFree(h))
	require.Equal(t, statusClosed, status(func() error { return serverFree(h) }))
	require.Equal(t, statusClosed, status(func() error { _, err := serverInfo(h); return err }))

	// Bad options fail before anything starts.
	require.Equal(t, statusInvalidArgument, status(func() error { _, err := serverStart(`{"models": []}`); return err }))
	require.Equal(t, statusInvalidArgument, status(func() error { _, err := serverStart(`{"modles": []}`); return err }))
	require.Equal(t, statusNotFound, status(func() error {
		_, err := serverStart(`{"models": [{"id": "x", "path": "/nonexistent.gguf"}]}`)
		return err
	}))
}
