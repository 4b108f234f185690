package main

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/realm-ai/realm/registry"
	"github.com/stretchr/testify/require"
)

// TestSmokeFromC compiles testdata/smoke.c with the system C compiler
// against the built library and runs it on a tiny model: the ABI works
// from C, and C gets what Go gets.
func TestSmokeFromC(t *testing.T) {
	cc := os.Getenv("CC")
	if cc == "" {
		cc = "cc"
	}
	if _, err := exec.LookPath(cc); err != nil {
		t.Skipf("no C compiler (%s)", cc)
	}
	dir := buildLib(t)
	work := t.TempDir()
	model := filepath.Join(work, "tiny.gguf")
	require.NoError(t, os.WriteFile(model, tinyImage(t), 0o644))
	bin := filepath.Join(work, "smoke")
	out, err := exec.Command(cc, "-std=c99", "-Wall", "-Werror", "-I.", "-o", bin, "testdata/smoke.c",
		"-L"+dir, "-lrealm", "-Wl,-rpath,"+dir, "-lpthread").CombinedOutput()
	require.NoError(t, err, "compile smoke.c:\n%s", out)

	out, err = exec.Command(bin, model).CombinedOutput()
	t.Logf("smoke output:\n%s", out)
	require.NoError(t, err)
	require.True(t, strings.HasSuffix(strings.TrimSpace(string(out)), "OK"))

	var fromC map[string]any
	for _, line := range strings.Split(string(out), "\n") {
		if js, ok := strings.CutPrefix(line, "generate: "); ok {
			require.NoError(t, json.Unmarshal([]byte(js), &fromC))
		}
	}
	require.NotNil(t, fromC)

	r, err := registry.New(registry.Options{})
	require.NoError(t, err)
	defer r.Close()
	require.NoError(t, r.LoadFile(model, registry.Options{}))
	req, err := registry.ParseRequest([]byte(`{"prompt":"the hall","temperature":0,"max_tokens":8}`))
	require.NoError(t, err)
	res, err := r.Generate(context.Background(), req)
	require.NoError(t, err)
	require.Equal(t, res[0].Text, fromC["text"])
	require.Len(t, fromC["tokens"], len(res[0].Tokens))
}
