package gguf

import (
	"bytes"
	"encoding/binary"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/realm-ai/realm/engine/tensor"
)

var updateCorrupt = flag.Bool("update-corrupt", false, "rewrite testdata/corrupt from corruptCases")

// corruptBase is a small valid file the corrupt cases start from: one string
// key, one uint32 array, two tensors.
func corruptBase() []byte {
	b := NewBuilder()
	b.Set("general.architecture", "llama")
	b.Set("arr", []uint32{1, 2, 3})
	b.AddTensor("a", tensor.F32, []int64{4}, make([]byte, 16))
	b.AddTensor("b", tensor.F32, []int64{8}, make([]byte, 32))
	data, err := b.Bytes()
	if err != nil {
		panic(err)
	}
	return data
}

// Offsets inside corruptBase (see Builder.Bytes): header 24 bytes, then the
// KVs, then the tensor infos.
const (
	offVersion  = 4
	offTensorN  = 8
	offKVN      = 16
	offKey0Len  = 24
	offKey0Type = 24 + 8 + len("general.architecture")
	offStr0Len  = offKey0Type + 4
	offKey1Len  = offStr0Len + 8 + len("llama")
	offArrType  = offKey1Len + 8 + len("arr") + 4
	offArrLen   = offArrType + 4
	offTensor0  = offArrLen + 8 + 12
	offT0NDims  = offTensor0 + 8 + 1
	offT0Dim0   = offT0NDims + 4
	offT0Type   = offT0Dim0 + 8
	offT0Off    = offT0Type + 4
	offTensor1  = offT0Off + 8
	offT1Off    = offTensor1 + 8 + 1 + 4 + 8 + 4
)

func with(f func(d []byte) []byte) []byte { return f(corruptBase()) }

func put32(d []byte, off int, v uint32) []byte { binary.LittleEndian.PutUint32(d[off:], v); return d }
func put64(d []byte, off int, v uint64) []byte { binary.LittleEndian.PutUint64(d[off:], v); return d }

func corruptCases() map[string][]byte {
	c := map[string][]byte{}
	base := corruptBase()
	// Truncations at many points, including inside every field.
	for _, n := range []int{0, 1, 3, 4, 6, 8, 12, 16, 20, 24, 30, 40, 52, 60, 70, 80, 90, 100, 110, 120, 130, 140, 150, 160, len(base) - 40, len(base) - 1} {
		if n < len(base) {
			c[fmt.Sprintf("truncated_%04d", n)] = append([]byte(nil), base[:n]...)
		}
	}
	c["bad_magic"] = with(func(d []byte) []byte { copy(d, "GGUG"); return d })
	c["magic_lowercase"] = with(func(d []byte) []byte { copy(d, "gguf"); return d })
	c["version_0"] = with(func(d []byte) []byte { return put32(d, offVersion, 0) })
	c["version_1"] = with(func(d []byte) []byte { return put32(d, offVersion, 1) })
	c["version_99"] = with(func(d []byte) []byte { return put32(d, offVersion, 99) })
	c["huge_tensor_count"] = with(func(d []byte) []byte { return put64(d, offTensorN, 1<<62) })
	c["huge_kv_count"] = with(func(d []byte) []byte { return put64(d, offKVN, 1<<62) })
	c["kv_count_plus_one"] = with(func(d []byte) []byte { return put64(d, offKVN, 3) })
	c["tensor_count_plus_one"] = with(func(d []byte) []byte { return put64(d, offTensorN, 3) })
	c["huge_key_length"] = with(func(d []byte) []byte { return put64(d, offKey0Len, 1<<60) })
	c["key_length_past_end"] = with(func(d []byte) []byte { return put64(d, offKey0Len, uint64(len(d))) })
	c["unknown_value_type"] = with(func(d []byte) []byte { return put32(d, offKey0Type, 13) })
	c["value_type_max"] = with(func(d []byte) []byte { return put32(d, offKey0Type, 0xffffffff) })
	c["huge_string_length"] = with(func(d []byte) []byte { return put64(d, offStr0Len, 1<<63) })
	c["string_length_past_end"] = with(func(d []byte) []byte { return put64(d, offStr0Len, uint64(len(d))) })
	c["huge_array_length"] = with(func(d []byte) []byte { return put64(d, offArrLen, 1<<61) })
	c["array_length_past_end"] = with(func(d []byte) []byte { return put64(d, offArrLen, 1000) })
	c["array_unknown_elem_type"] = with(func(d []byte) []byte { return put32(d, offArrType, 77) })
	c["array_of_strings_huge"] = with(func(d []byte) []byte { d = put32(d, offArrType, uint32(TypeString)); return put64(d, offArrLen, 1<<40) })
	c["n_dims_0"] = with(func(d []byte) []byte { return put32(d, offT0NDims, 0) })
	c["n_dims_9"] = with(func(d []byte) []byte { return put32(d, offT0NDims, 9) })
	c["dim_zero"] = with(func(d []byte) []byte { return put64(d, offT0Dim0, 0) })
	c["dim_huge"] = with(func(d []byte) []byte { return put64(d, offT0Dim0, 1<<62) })
	c["dim_negative"] = with(func(d []byte) []byte { return put64(d, offT0Dim0, 1<<63) })
	c["tensor_type_garbage"] = with(func(d []byte) []byte { return put32(d, offT0Type, 0xdeadbeef) })
	c["tensor_type_unknown"] = with(func(d []byte) []byte { return put32(d, offT0Type, 50) })
	c["tensor_type_q4_0_partial_block"] = with(func(d []byte) []byte { return put32(d, offT0Type, uint32(tensor.Q4_0)) })
	c["offset_past_end"] = with(func(d []byte) []byte { return put64(d, offT0Off, 1<<20) })
	c["offset_huge"] = with(func(d []byte) []byte { return put64(d, offT0Off, 1<<63) })
	c["offset_misaligned"] = with(func(d []byte) []byte { return put64(d, offT0Off, 3) })
	c["tensors_overlap"] = with(func(d []byte) []byte { return put64(d, offT1Off, 0) })
	c["tensor_end_past_eof"] = with(func(d []byte) []byte { return d[:len(d)-8] })
	c["duplicate_tensor_name"] = with(func(d []byte) []byte { d[offTensor1+8] = 'a'; return d })
	dupKey := NewBuilder()
	dupKey.Set("kk", uint32(1))
	dupKey.Set("kx", uint32(2))
	d, _ := dupKey.Bytes()
	d[24+8+2+4+4+8+1] = 'k'
	c["duplicate_key"] = d
	badAlign := func(v any) []byte {
		b := NewBuilder()
		b.Set("general.alignment", v)
		b.AddTensor("a", tensor.F32, []int64{4}, make([]byte, 16))
		d, _ := b.Bytes()
		return d
	}
	c["alignment_string"] = badAlign("32")
	c["alignment_zero"] = badAlign(uint32(0))
	c["alignment_not_pow2"] = badAlign(uint32(24))
	c["alignment_float"] = badAlign(float32(32))
	c["alignment_huge"] = badAlign(uint32(1 << 30))
	badBool := NewBuilder()
	badBool.Set("flag", true)
	d, _ = badBool.Bytes()
	d[24+8+4+4] = 7
	c["bool_not_0_or_1"] = d
	deep := any([]int32{1})
	for i := 0; i < 12; i++ {
		deep = []any{deep}
	}
	deepB := NewBuilder()
	deepB.Set("deep", deep)
	d, _ = deepB.Bytes()
	c["arrays_nested_too_deep"] = d
	c["all_zero_header"] = make([]byte, 64)
	c["only_magic"] = []byte("GGUF")
	return c
}

// TestGenerateCorruptCorpus rewrites the committed corpus when run with
// -update-corrupt; otherwise it checks the corpus matches the generator.
func TestGenerateCorruptCorpus(t *testing.T) {
	dir := filepath.Join("testdata", "corrupt")
	cases := corruptCases()
	require.GreaterOrEqual(t, len(cases), 50)
	if *updateCorrupt {
		require.NoError(t, os.RemoveAll(dir))
		require.NoError(t, os.MkdirAll(dir, 0o755))
		for name, data := range cases {
			require.NoError(t, os.WriteFile(filepath.Join(dir, name+".gguf"), data, 0o644))
		}
	}
	for name, data := range cases {
		got, err := os.ReadFile(filepath.Join(dir, name+".gguf"))
		require.NoError(t, err, "run go test ./engine/gguf -run TestGenerateCorruptCorpus -update-corrupt")
		require.True(t, bytes.Equal(data, got), "%s differs from the generator; rerun with -update-corrupt", name)
	}
}
