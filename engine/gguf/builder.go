package gguf

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"os"

	"github.com/realm-ai/realm/engine/tensor"
)

// Builder writes GGUF version 3 files. Tests across Realm use it to build
// tiny models in code; it is not tuned for large files.
type Builder struct {
	keys    []string
	kv      map[string]any
	tensors []builderTensor
	// Alignment of tensor data; 0 means DefaultAlignment whatever
	// general.alignment was Set to (so tests can write bad values). A
	// non-zero Alignment is written as general.alignment unless that key
	// was Set, in which case the two must agree.
	Alignment int
}

type builderTensor struct {
	name string
	typ  tensor.Type
	dims []int64
	data []byte
}

// NewBuilder returns an empty Builder.
func NewBuilder() *Builder { return &Builder{kv: map[string]any{}} }

// Set adds or replaces a metadata value. Supported Go types: uint8, int8,
// uint16, int16, uint32, int32, float32, bool, string, uint64, int64,
// float64, int (written as int32), slices of those, and []any for arrays
// whose elements are themselves encodable (nested arrays included).
func (b *Builder) Set(key string, v any) {
	if _, ok := b.kv[key]; !ok {
		b.keys = append(b.keys, key)
	}
	b.kv[key] = v
}

// AddTensor adds a tensor; dims are in ggml order (dims[0] = row length).
func (b *Builder) AddTensor(name string, typ tensor.Type, dims []int64, data []byte) {
	b.tensors = append(b.tensors, builderTensor{name, typ, append([]int64(nil), dims...), data})
}

// alignment returns the tensor data alignment to write and whether the
// general.alignment key must be added for it.
func (b *Builder) alignment() (int, bool, error) {
	set, hasKey := b.kv["general.alignment"]
	if b.Alignment == 0 {
		return DefaultAlignment, false, nil
	}
	if b.Alignment < 0 || b.Alignment&(b.Alignment-1) != 0 || b.Alignment > math.MaxUint32 {
		return 0, false, fmt.Errorf("gguf builder: alignment %d is not a power of two", b.Alignment)
	}
	if hasKey && set != any(uint32(b.Alignment)) {
		return 0, false, fmt.Errorf("gguf builder: Alignment %d conflicts with general.alignment = %v", b.Alignment, set)
	}
	return b.Alignment, !hasKey, nil
}

// Bytes encodes the file. Tensor data are written as given, so a test can
// build a file whose data do not match its tensor infos.
func (b *Builder) Bytes() ([]byte, error) {
	align, addKey, err := b.alignment()
	if err != nil {
		return nil, err
	}
	keys, kv := b.keys, b.kv
	if addKey {
		keys = append(keys[:len(keys):len(keys)], "general.alignment")
		kv = map[string]any{"general.alignment": uint32(align)}
		for k, v := range b.kv {
			kv[k] = v
		}
	}
	var w bytes.Buffer
	w.WriteString(Magic)
	put(&w, uint32(3))
	put(&w, uint64(len(b.tensors)))
	put(&w, uint64(len(keys)))
	for _, k := range keys {
		putString(&w, k)
		t, err := typeOf(kv[k])
		if err != nil {
			return nil, fmt.Errorf("gguf builder: key %s: %w", k, err)
		}
		put(&w, uint32(t))
		if err := putValue(&w, kv[k]); err != nil {
			return nil, fmt.Errorf("gguf builder: key %s: %w", k, err)
		}
	}
	off := 0
	for _, t := range b.tensors {
		putString(&w, t.name)
		put(&w, uint32(len(t.dims)))
		for _, d := range t.dims {
			put(&w, uint64(d))
		}
		put(&w, uint32(t.typ))
		put(&w, uint64(off))
		off += (len(t.data) + align - 1) / align * align
	}
	pad(&w, align)
	for _, t := range b.tensors {
		w.Write(t.data)
		pad(&w, align)
	}
	return w.Bytes(), nil
}

// WriteFile encodes the file and writes it to path.
func (b *Builder) WriteFile(path string) error {
	data, err := b.Bytes()
	if err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o644)
}

func pad(w *bytes.Buffer, align int) {
	for w.Len()%align != 0 {
		w.WriteByte(0)
	}
}

func put(w *bytes.Buffer, v any) { _ = binary.Write(w, binary.LittleEndian, v) }

func putString(w *bytes.Buffer, s string) {
	put(w, uint64(len(s)))
	w.WriteString(s)
}

// typeOf maps a Go value to its GGUF type tag.
func typeOf(v any) (ValueType, error) {
	switch v.(type) {
	case uint8:
		return TypeUint8, nil
	case int8:
		return TypeInt8, nil
	case uint16:
		return TypeUint16, nil
	case int16:
		return TypeInt16, nil
	case uint32:
		return TypeUint32, nil
	case int32, int:
		return TypeInt32, nil
	case float32:
		return TypeFloat32, nil
	case bool:
		return TypeBool, nil
	case string:
		return TypeString, nil
	case uint64:
		return TypeUint64, nil
	case int64:
		return TypeInt64, nil
	case float64:
		return TypeFloat64, nil
	case []uint8, []int8, []uint16, []int16, []uint32, []int32, []int, []float32, []bool, []string, []uint64, []int64, []float64, []any:
		return TypeArray, nil
	}
	return 0, fmt.Errorf("cannot encode %T", v)
}

// elemType is the element type tag of a slice value.
func elemType(v any) (ValueType, error) {
	switch x := v.(type) {
	case []uint8:
		return TypeUint8, nil
	case []int8:
		return TypeInt8, nil
	case []uint16:
		return TypeUint16, nil
	case []int16:
		return TypeInt16, nil
	case []uint32:
		return TypeUint32, nil
	case []int32, []int:
		return TypeInt32, nil
	case []float32:
		return TypeFloat32, nil
	case []bool:
		return TypeBool, nil
	case []string:
		return TypeString, nil
	case []uint64:
		return TypeUint64, nil
	case []int64:
		return TypeInt64, nil
	case []float64:
		return TypeFloat64, nil
	case []any:
		if len(x) == 0 {
			return TypeUint8, nil
		}
		t, err := typeOf(x[0])
		if err != nil {
			return 0, err
		}
		for i, e := range x {
			if et, _ := typeOf(e); et != t {
				return 0, fmt.Errorf("array element %d is %T, not like element 0", i, e)
			}
		}
		return t, nil
	}
	return 0, fmt.Errorf("cannot encode %T as an array", v)
}

func putValue(w *bytes.Buffer, v any) error {
	switch x := v.(type) {
	case string:
		putString(w, x)
	case int:
		if x < math.MinInt32 || x > math.MaxInt32 {
			return fmt.Errorf("int %d does not fit int32", x)
		}
		put(w, int32(x))
	case bool:
		if x {
			w.WriteByte(1)
		} else {
			w.WriteByte(0)
		}
	case uint8, int8, uint16, int16, uint32, int32, float32, uint64, int64, float64:
		put(w, x)
	default:
		et, err := elemType(v)
		if err != nil {
			return err
		}
		put(w, uint32(et))
		switch s := v.(type) {
		case []string:
			put(w, uint64(len(s)))
			for _, e := range s {
				putString(w, e)
			}
		case []int:
			put(w, uint64(len(s)))
			for _, e := range s {
				if err := putValue(w, e); err != nil {
					return err
				}
			}
		case []bool:
			put(w, uint64(len(s)))
			for _, e := range s {
				_ = putValue(w, e)
			}
		case []any:
			put(w, uint64(len(s)))
			for _, e := range s {
				if err := putValue(w, e); err != nil {
					return err
				}
			}
		default:
			n := bytesLen(v)
			put(w, uint64(n))
			put(w, v)
		}
	}
	return nil
}

// bytesLen is the element count of a fixed-size numeric slice.
func bytesLen(v any) int {
	switch s := v.(type) {
	case []uint8:
		return len(s)
	case []int8:
		return len(s)
	case []uint16:
		return len(s)
	case []int16:
		return len(s)
	case []uint32:
		return len(s)
	case []int32:
		return len(s)
	case []float32:
		return len(s)
	case []uint64:
		return len(s)
	case []int64:
		return len(s)
	case []float64:
		return len(s)
	}
	return 0
}
