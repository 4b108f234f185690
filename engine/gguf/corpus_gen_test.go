package gguf

import (
	"bytes"
	"encoding/binary"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/realm-ai/realm/engine/errs"
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
	offT1Type   = offTensor1 + 8 + 1 + 4 + 8
	offT1Off    = offT1Type + 4
)

func with(f func(d []byte) []byte) []byte { return f(corruptBase()) }

func put32(d []byte, off int, v uint32) []byte { binary.LittleEndian.PutUint32(d[off:], v); return d }
func put64(d []byte, off int, v uint64) []byte { binary.LittleEndian.PutUint64(d[off:], v); return d }

// corruptCase is one file of the corrupt corpus and the error it must give:
// the sentinel and a fragment of the message naming the field at fault.
type corruptCase struct {
	data []byte
	want error
	msg  string
}

func invalid(data []byte, msg string) corruptCase {
	return corruptCase{data, errs.ErrInvalidModel, msg}
}

func unsupported(data []byte, msg string) corruptCase {
	return corruptCase{data, errs.ErrUnsupportedModel, msg}
}

// built encodes a Builder set up by f.
func built(f func(b *Builder)) []byte {
	b := NewBuilder()
	f(b)
	d, err := b.Bytes()
	if err != nil {
		panic(err)
	}
	return d
}

func corruptCases() map[string]corruptCase {
	c := map[string]corruptCase{}
	base := corruptBase()
	// Truncations at many points, including inside every field.
	for _, n := range []int{0, 1, 3, 4, 6, 8, 12, 16, 20, 24, 30, 40, 52, 60, 70, 80, 90, 100, 110, 120, 130, 140, 150, 160, len(base) - 40, len(base) - 1} {
		if n < len(base) {
			c[fmt.Sprintf("truncated_%04d", n)] = invalid(append([]byte(nil), base[:n]...), "")
		}
	}
	c["bad_magic"] = invalid(with(func(d []byte) []byte { copy(d, "GGUG"); return d }), "magic")
	c["magic_lowercase"] = invalid(with(func(d []byte) []byte { copy(d, "gguf"); return d }), "magic")
	c["version_0"] = invalid(with(func(d []byte) []byte { return put32(d, offVersion, 0) }), "version")
	c["version_1"] = unsupported(with(func(d []byte) []byte { return put32(d, offVersion, 1) }), "version 1")
	c["version_4"] = unsupported(with(func(d []byte) []byte { return put32(d, offVersion, 4) }), "version 4")
	c["version_99"] = unsupported(with(func(d []byte) []byte { return put32(d, offVersion, 99) }), "version 99")
	c["version_garbage"] = invalid(with(func(d []byte) []byte { return put32(d, offVersion, 0x12345678) }), "version")
	c["big_endian"] = unsupported(with(func(d []byte) []byte { return put32(d, offVersion, 3<<24) }), "big-endian")
	c["huge_tensor_count"] = invalid(with(func(d []byte) []byte { return put64(d, offTensorN, 1<<62) }), "tensor_count")
	c["huge_kv_count"] = invalid(with(func(d []byte) []byte { return put64(d, offKVN, 1<<62) }), "metadata_kv_count")
	c["max_kv_count"] = invalid(with(func(d []byte) []byte { return put64(d, offKVN, math.MaxUint64) }), "metadata_kv_count")
	c["kv_count_plus_one"] = invalid(with(func(d []byte) []byte { return put64(d, offKVN, 3) }), "")
	c["kv_count_minus_one"] = invalid(with(func(d []byte) []byte { return put64(d, offKVN, 1) }), "tensor 0")
	c["tensor_count_plus_one"] = invalid(with(func(d []byte) []byte { return put64(d, offTensorN, 3) }), "tensor 2")
	c["huge_key_length"] = invalid(with(func(d []byte) []byte { return put64(d, offKey0Len, 1<<60) }), "metadata 0: key")
	c["key_length_past_end"] = invalid(with(func(d []byte) []byte { return put64(d, offKey0Len, uint64(len(d))) }), "metadata 0: key")
	c["unknown_value_type"] = invalid(with(func(d []byte) []byte { return put32(d, offKey0Type, 13) }), "unknown value type 13")
	c["value_type_max"] = invalid(with(func(d []byte) []byte { return put32(d, offKey0Type, 0xffffffff) }), "unknown value type")
	c["huge_string_length"] = invalid(with(func(d []byte) []byte { return put64(d, offStr0Len, 1<<63) }), `"general.architecture"`)
	c["string_length_past_end"] = invalid(with(func(d []byte) []byte { return put64(d, offStr0Len, uint64(len(d))) }), `"general.architecture"`)
	c["huge_array_length"] = invalid(with(func(d []byte) []byte { return put64(d, offArrLen, 1<<61) }), `metadata "arr"`)
	c["max_array_length"] = invalid(with(func(d []byte) []byte { return put64(d, offArrLen, math.MaxUint64) }), `metadata "arr"`)
	c["array_length_past_end"] = invalid(with(func(d []byte) []byte { return put64(d, offArrLen, 1000) }), `metadata "arr"`)
	c["array_unknown_elem_type"] = invalid(with(func(d []byte) []byte { return put32(d, offArrType, 77) }), "element type 77")
	c["array_of_strings_huge"] = invalid(with(func(d []byte) []byte { d = put32(d, offArrType, uint32(TypeString)); return put64(d, offArrLen, 1<<40) }), `metadata "arr"`)
	c["array_of_arrays_huge"] = invalid(with(func(d []byte) []byte { d = put32(d, offArrType, uint32(TypeArray)); return put64(d, offArrLen, 1<<40) }), `metadata "arr"`)
	c["array_of_strings_past_end"] = invalid(with(func(d []byte) []byte { return put32(d, offArrType, uint32(TypeString)) }), `metadata "arr": array element 0`)
	c["n_dims_0"] = invalid(with(func(d []byte) []byte { return put32(d, offT0NDims, 0) }), "n_dims 0")
	c["n_dims_5"] = invalid(with(func(d []byte) []byte { return put32(d, offT0NDims, 5) }), "n_dims 5")
	c["n_dims_9"] = invalid(with(func(d []byte) []byte { return put32(d, offT0NDims, 9) }), "n_dims 9")
	c["n_dims_max"] = invalid(with(func(d []byte) []byte { return put32(d, offT0NDims, math.MaxUint32) }), "n_dims")
	c["dim_zero"] = invalid(with(func(d []byte) []byte { return put64(d, offT0Dim0, 0) }), `tensor 0 "a": dim 0`)
	c["dim_huge"] = invalid(with(func(d []byte) []byte { return put64(d, offT0Dim0, 1<<62) }), `tensor 0 "a": size`)
	c["dim_negative"] = invalid(with(func(d []byte) []byte { return put64(d, offT0Dim0, 1<<63) }), `tensor 0 "a": dim 0`)
	c["tensor_name_huge"] = invalid(with(func(d []byte) []byte { return put64(d, offTensor0, 1<<62) }), "tensor 0: name")
	c["tensor_name_past_end"] = invalid(with(func(d []byte) []byte { return put64(d, offTensor0, uint64(len(d))) }), "tensor 0: name")
	c["tensor_type_garbage"] = invalid(with(func(d []byte) []byte { return put32(d, offT0Type, 0xdeadbeef) }), "invalid tensor type")
	c["tensor_type_unknown"] = unsupported(with(func(d []byte) []byte { return put32(d, offT0Type, 50) }), `tensor 0 "a": tensor type 50`)
	c["tensor_type_q4_0_partial_block"] = invalid(with(func(d []byte) []byte { return put32(d, offT0Type, uint32(tensor.Q4_0)) }), "block length")
	c["tensor_type_f64_too_big"] = invalid(with(func(d []byte) []byte { return put32(d, offT1Type, uint32(tensor.F64)) }), `tensor 1 "b": offset`)
	c["offset_past_end"] = invalid(with(func(d []byte) []byte { return put64(d, offT0Off, 1<<20) }), `tensor 0 "a": offset 1048576`)
	c["offset_huge"] = invalid(with(func(d []byte) []byte { return put64(d, offT0Off, 1<<63) }), `tensor 0 "a": offset`)
	c["offset_max"] = invalid(with(func(d []byte) []byte { return put64(d, offT0Off, math.MaxUint64) }), `tensor 0 "a": offset`)
	c["offset_misaligned"] = invalid(with(func(d []byte) []byte { return put64(d, offT0Off, 3) }), "not aligned")
	c["offset_misaligned_second"] = invalid(with(func(d []byte) []byte { return put64(d, offT1Off, 48) }), `tensor 1 "b": offset 48 not aligned`)
	c["tensors_overlap"] = invalid(with(func(d []byte) []byte { return put64(d, offT1Off, 0) }), "overlaps")
	c["tensor_end_past_eof"] = invalid(with(func(d []byte) []byte { return d[:len(d)-8] }), `tensor 1 "b"`)
	c["data_section_missing"] = invalid(base[:offT1Off+8], "section starts")
	c["duplicate_tensor_name"] = invalid(with(func(d []byte) []byte { d[offTensor1+8] = 'a'; return d }), "duplicate name")
	c["all_zero_header"] = invalid(make([]byte, 64), "magic")
	c["only_magic"] = invalid([]byte("GGUF"), "version")
	c["all_ff_after_magic"] = invalid(append([]byte("GGUF"), bytes.Repeat([]byte{0xff}, 60)...), "version")

	d := built(func(b *Builder) { b.Set("kk", uint32(1)); b.Set("kx", uint32(2)) })
	d[24+8+2+4+4+8+1] = 'k'
	c["duplicate_key"] = invalid(d, `duplicate key "kk"`)
	badAlign := func(v any) []byte {
		return built(func(b *Builder) {
			b.Set("general.alignment", v)
			b.AddTensor("a", tensor.F32, []int64{4}, make([]byte, 16))
		})
	}
	c["alignment_string"] = invalid(badAlign("32"), "general.alignment")
	c["alignment_zero"] = invalid(badAlign(uint32(0)), "general.alignment")
	c["alignment_not_pow2"] = invalid(badAlign(uint32(24)), "general.alignment")
	c["alignment_float"] = invalid(badAlign(float32(32)), "general.alignment")
	c["alignment_int32"] = invalid(badAlign(int32(32)), "general.alignment")
	c["alignment_uint64"] = invalid(badAlign(uint64(32)), "general.alignment")
	c["alignment_array"] = invalid(badAlign([]uint32{32}), "general.alignment")
	c["alignment_huge"] = invalid(badAlign(uint32(1<<30)), "section starts")
	// With general.alignment = 64 the builder's 32-byte layout is misaligned.
	c["alignment_64_misaligned"] = invalid(built(func(b *Builder) {
		b.Set("general.alignment", uint32(64))
		b.AddTensor("a", tensor.F32, []int64{8}, make([]byte, 32))
		b.AddTensor("b", tensor.F32, []int64{8}, make([]byte, 32))
	}), `tensor 1 "b": offset 32 not aligned to 64`)

	d = built(func(b *Builder) { b.Set("flag", true) })
	d[24+8+4+4] = 7
	c["bool_not_0_or_1"] = invalid(d, `metadata "flag": bool`)
	d = built(func(b *Builder) { b.Set("flags", []bool{true, false}) })
	d[24+8+len("flags")+4+4+8+1] = 2 // the second element
	c["bool_array_not_0_or_1"] = invalid(d, `metadata "flags": bool array`)
	deep := any([]int32{1})
	for i := 0; i < 12; i++ {
		deep = []any{deep}
	}
	c["arrays_nested_too_deep"] = invalid(built(func(b *Builder) { b.Set("deep", deep) }), "nested deeper")
	// An array of two arrays of one int32 each; the second inner array
	// (element type, length, element) starts at offInner1.
	nested := func() []byte {
		return built(func(b *Builder) { b.Set("n", []any{[]int32{1}, []int32{2}}) })
	}
	const offInner1 = 24 + 8 + len("n") + 4 + 4 + 8 + (4 + 8 + 4)
	d = nested()
	put32(d, offInner1, 99)
	c["nested_array_unknown_elem_type"] = invalid(d, `metadata "n": array element 1: array element type 99`)
	d = nested()
	put64(d, offInner1+4, 1<<50)
	c["nested_array_huge_length"] = invalid(d, `metadata "n": array element 1: array of`)
	c["dims_product_overflow"] = invalid(built(func(b *Builder) {
		b.AddTensor("big", tensor.F32, []int64{1 << 32, 1 << 32}, make([]byte, 16))
	}), `tensor 0 "big": dim 1`)
	c["dims_four_huge"] = invalid(built(func(b *Builder) {
		b.AddTensor("big", tensor.F32, []int64{1 << 16, 1 << 16, 1 << 16, 1 << 16}, make([]byte, 16))
	}), `tensor 0 "big": dim 3`)
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
		for name, c := range cases {
			require.NoError(t, os.WriteFile(filepath.Join(dir, name+".gguf"), c.data, 0o644))
		}
	}
	for name, c := range cases {
		got, err := os.ReadFile(filepath.Join(dir, name+".gguf"))
		require.NoError(t, err, "run go test ./engine/gguf -run TestGenerateCorruptCorpus -update-corrupt")
		require.True(t, bytes.Equal(c.data, got), "%s differs from the generator; rerun with -update-corrupt", name)
	}
}

// TestCorruptCases checks that each corrupt file fails with the right
// sentinel and a message naming the file and the field at fault.
func TestCorruptCases(t *testing.T) {
	for name, c := range corruptCases() {
		t.Run(name, func(t *testing.T) {
			_, err := FromBytes(name+".gguf", c.data)
			require.Error(t, err)
			assert.ErrorIs(t, err, c.want)
			assert.Contains(t, err.Error(), "gguf "+name+".gguf: ")
			assert.Contains(t, err.Error(), c.msg)
		})
	}
}
