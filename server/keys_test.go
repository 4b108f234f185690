package server

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/realm-ai/realm/engine/errs"
	"github.com/stretchr/testify/require"
)

func writeFile(t *testing.T, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(p, []byte(text), 0o600))
	return p
}

func TestLoadKeys(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "g.wasm", "\x00asm-not-checked-here")
	path := writeFile(t, dir, "keys", strings.Join([]string{
		"# key tenant [guest]",
		"k1 acme g.wasm",
		"  k2\tacme   g.wasm  ",
		"",
		"k3 globex",
	}, "\n"))
	keys, err := LoadKeys(path)
	require.NoError(t, err)
	require.Equal(t, 2, keys.Tenants())
	a1, a2, g := keys.Lookup("k1"), keys.Lookup("k2"), keys.Lookup("k3")
	require.NotNil(t, a1)
	require.Same(t, a1, a2, "two keys of one tenant share it")
	require.Equal(t, "acme", a1.Name)
	require.Equal(t, filepath.Join(dir, "g.wasm"), a1.GuestPath)
	require.Equal(t, []byte("\x00asm-not-checked-here"), a1.Guest.Wasm)
	require.Equal(t, "globex", g.Name)
	require.Nil(t, g.Guest.Wasm)
	require.Nil(t, keys.Lookup("k4"))
	require.Nil(t, keys.Lookup(""))
}

func TestLoadKeysErrors(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "a.wasm", "a")
	writeFile(t, dir, "b.wasm", "b")
	cases := map[string]string{
		"one field":       "k1\n",
		"four fields":     "k1 t a.wasm extra\n",
		"duplicate key":   "k1 t\nk1 u\n",
		"two guests":      "k1 t a.wasm\nk2 t b.wasm\n",
		"missing guest":   "k1 t nowhere.wasm\n",
		"only comments":   "# nothing\n",
		"guest then none": "k1 t a.wasm\nk2 t\n",
	}
	for name, text := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := LoadKeys(writeFile(t, dir, "keys", text))
			require.Error(t, err)
			if name == "missing guest" {
				require.ErrorIs(t, err, errs.ErrNotFound)
				require.ErrorContains(t, err, ":1:")
			} else {
				require.ErrorIs(t, err, errs.ErrInvalidArgument)
			}
		})
	}
	_, err := LoadKeys(filepath.Join(dir, "absent"))
	require.ErrorIs(t, err, errs.ErrNotFound)
}

func TestParseModelSpec(t *testing.T) {
	m, err := ParseModelSpec("smol=/m/SmolLM2.gguf")
	require.NoError(t, err)
	require.Equal(t, ModelSpec{ID: "smol", Path: "/m/SmolLM2.gguf"}, m)
	m, err = ParseModelSpec("/m/SmolLM2.gguf")
	require.NoError(t, err)
	require.Equal(t, ModelSpec{ID: "SmolLM2", Path: "/m/SmolLM2.gguf"}, m)
	for _, bad := range []string{"", "=x", "x="} {
		_, err = ParseModelSpec(bad)
		require.ErrorIs(t, err, errs.ErrInvalidArgument, bad)
	}
}
