// Package gguf reads GGUF model files (versions 2 and 3) as specified in
// https://github.com/ggml-org/ggml/blob/master/docs/gguf.md.
//
// A file is opened with Open (memory-mapped read-only, never copied) or
// FromBytes (a caller's buffer, never copied). Everything in the header is
// validated before it is trusted: counts and lengths are checked against the
// bytes that remain, so a corrupt header cannot make the reader allocate
// memory it claims to need, and every tensor must lie inside the file. Errors
// wrap errs.ErrInvalidModel (malformed) or errs.ErrUnsupportedModel (valid
// but beyond Realm) and name the file and the field at fault.
package gguf

import (
	"errors"
	"fmt"
	"math"
	"os"
	"sort"
	"sync"

	"github.com/realm-ai/realm/engine/errs"
	"github.com/realm-ai/realm/engine/tensor"
)

// Magic is the four bytes every GGUF file starts with.
const Magic = "GGUF"

// DefaultAlignment is the tensor data alignment when general.alignment is absent.
const DefaultAlignment = 32

// maxDims is the most dimensions a ggml tensor has.
const maxDims = 4

// preallocMax caps how many table entries are allocated up front from a
// count the header claims.
const preallocMax = 4096

// maxNesting bounds nested arrays so a hostile file cannot recurse deeply.
const maxNesting = 8

// KV is one metadata key and its value, in file order.
type KV struct {
	Key   string
	Value Value
}

// TensorInfo describes one tensor. Dims are in ggml order: Dims[0] is the
// length of a row (the fastest-varying dimension).
type TensorInfo struct {
	Name   string
	Dims   []int64
	Type   tensor.Type
	Offset int64 // absolute offset of the data in the file
	Size   int64 // bytes of data
}

// Elements returns the number of elements of the tensor.
func (t *TensorInfo) Elements() int64 {
	n := int64(1)
	for _, d := range t.Dims {
		n *= d
	}
	return n
}

// File is an opened GGUF file. Its metadata and tensor table are immutable;
// tensor data are views of the mapping, valid until Close.
type File struct {
	Path      string // the path, or the name given to FromBytes
	Version   uint32
	Alignment uint64
	KV        []KV
	Tensors   []TensorInfo

	data    []byte
	kv      map[string]int
	tensors map[string]int
	unmap   func() error
	once    sync.Once
	closeEr error
}

// Open memory-maps the file at path read-only and parses it.
func Open(path string) (*File, error) {
	data, unmap, err := mapFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%w: gguf %s: %w", errs.ErrNotFound, path, err)
		}
		return nil, fmt.Errorf("%w: gguf %s: %w", errs.ErrInvalidModel, path, err)
	}
	f, err := parse(path, data)
	if err != nil {
		_ = unmap()
		return nil, err
	}
	f.unmap = unmap
	return f, nil
}

// FromBytes parses a GGUF file held in memory. The File refers to data
// without copying it; the caller must not modify data while the File is used.
func FromBytes(name string, data []byte) (*File, error) {
	return parse(name, data)
}

// Close releases the mapping. Tensor data obtained before must not be used
// afterwards. Close is idempotent.
func (f *File) Close() error {
	f.once.Do(func() {
		if f.unmap != nil {
			f.closeEr = f.unmap()
		}
		f.data = nil
	})
	return f.closeEr
}

// Size is the file's length in bytes.
func (f *File) Size() int64 { return int64(len(f.data)) }

// Mapped reports whether the file's bytes are a shared read-only mapping of
// the file (Open), whose pages the kernel may drop and read again, rather
// than memory the caller owns (FromBytes).
func (f *File) Mapped() bool { return f.unmap != nil }

// Get returns the value of a metadata key.
func (f *File) Get(key string) (Value, bool) {
	i, ok := f.kv[key]
	if !ok {
		return Value{}, false
	}
	return f.KV[i].Value, true
}

// Tensor looks up a tensor by name.
func (f *File) Tensor(name string) (*TensorInfo, bool) {
	i, ok := f.tensors[name]
	if !ok {
		return nil, false
	}
	return &f.Tensors[i], true
}

// TensorData returns the bytes of a tensor of this file (a view of the
// mapping, no copy). It returns nil after Close, or if t does not describe a
// range inside the file.
func (f *File) TensorData(t *TensorInfo) []byte {
	if t == nil || t.Offset < 0 || t.Size < 0 || t.Offset > int64(len(f.data)) || t.Size > int64(len(f.data))-t.Offset {
		return nil
	}
	return f.data[t.Offset : t.Offset+t.Size : t.Offset+t.Size]
}

// errorf builds an invalid-model error naming the file.
func (f *File) errorf(format string, args ...any) error {
	return fmt.Errorf("%w: gguf %s: %s", errs.ErrInvalidModel, f.Path, fmt.Sprintf(format, args...))
}

func parse(name string, data []byte) (*File, error) {
	f := &File{Path: name, data: data, Alignment: DefaultAlignment}
	r := reader{b: data}
	magic, err := r.bytes(4)
	if err != nil || string(magic) != Magic {
		return nil, f.errorf("magic: not a GGUF file")
	}
	if f.Version, err = r.u32(); err != nil {
		return nil, f.errorf("version: %v", err)
	}
	switch f.Version {
	case 2, 3:
	case 1:
		return nil, fmt.Errorf("%w: gguf %s: version: version 1 files are not supported (re-convert the model)", errs.ErrUnsupportedModel, name)
	case 2 << 24, 3 << 24:
		return nil, fmt.Errorf("%w: gguf %s: version: big-endian GGUF files are not supported", errs.ErrUnsupportedModel, name)
	default:
		if f.Version > 3 && f.Version < 256 {
			return nil, fmt.Errorf("%w: gguf %s: version: GGUF version %d is newer than the versions Realm reads (2 and 3)", errs.ErrUnsupportedModel, name, f.Version)
		}
		return nil, f.errorf("version: unknown version %d", f.Version)
	}
	nTensors, err := r.u64()
	if err != nil {
		return nil, f.errorf("tensor_count: %v", err)
	}
	nKV, err := r.u64()
	if err != nil {
		return nil, f.errorf("metadata_kv_count: %v", err)
	}
	// Each KV needs at least 8 (key length) + 4 (type) + 1 bytes; each tensor
	// info at least 8 + 4 + 8 + 4 + 8. Bound the counts by what remains.
	if nKV > uint64(r.remaining())/13 {
		return nil, f.errorf("metadata_kv_count: %d entries cannot fit in %d bytes", nKV, r.remaining())
	}
	if nTensors > uint64(r.remaining())/32 {
		return nil, f.errorf("tensor_count: %d tensors cannot fit in %d bytes", nTensors, r.remaining())
	}

	// The counts are bounded, but a lying header could still claim several
	// entries per byte of the file; let the tables grow only as entries parse.
	f.KV = make([]KV, 0, min(nKV, preallocMax))
	f.kv = make(map[string]int, min(nKV, preallocMax))
	for i := uint64(0); i < nKV; i++ {
		key, err := r.str()
		if err != nil {
			return nil, f.errorf("metadata %d: key: %v", i, err)
		}
		if _, dup := f.kv[key]; dup {
			return nil, f.errorf("metadata %d: duplicate key %q", i, key)
		}
		t, err := r.u32()
		if err != nil {
			return nil, f.errorf("metadata %q: type: %v", key, err)
		}
		v, err := r.value(ValueType(t), 0)
		if err != nil {
			return nil, f.errorf("metadata %q: %v", key, err)
		}
		f.kv[key] = len(f.KV)
		f.KV = append(f.KV, KV{Key: key, Value: v})
	}
	if v, ok := f.Get("general.alignment"); ok {
		a, isInt := v.Uint()
		if !isInt || v.Type != TypeUint32 {
			return nil, f.errorf("general.alignment: must be uint32, got %s", v.Type)
		}
		if a == 0 || a&(a-1) != 0 {
			return nil, f.errorf("general.alignment: %d is not a power of two", a)
		}
		f.Alignment = a
	}

	f.Tensors = make([]TensorInfo, 0, min(nTensors, preallocMax))
	f.tensors = make(map[string]int, min(nTensors, preallocMax))
	relOffsets := make([]uint64, 0, min(nTensors, preallocMax))
	for i := uint64(0); i < nTensors; i++ {
		t, rel, err := f.tensorInfo(&r, i)
		if err != nil {
			return nil, err
		}
		if _, dup := f.tensors[t.Name]; dup {
			return nil, f.errorf("tensor %d %q: duplicate name", i, t.Name)
		}
		f.tensors[t.Name] = len(f.Tensors)
		f.Tensors = append(f.Tensors, t)
		relOffsets = append(relOffsets, rel)
	}

	start := alignUp(uint64(r.off), f.Alignment)
	if start > uint64(len(data)) && len(f.Tensors) > 0 {
		return nil, f.errorf("tensor data: section starts at %d past end of file (size %d)", start, len(data))
	}
	for i := range f.Tensors {
		t := &f.Tensors[i]
		rel := relOffsets[i]
		if rel%f.Alignment != 0 {
			return nil, f.errorf("tensor %d %q: offset %d not aligned to %d", i, t.Name, rel, f.Alignment)
		}
		if rel > uint64(len(data)) || start+rel > uint64(len(data)) || uint64(t.Size) > uint64(len(data))-(start+rel) {
			return nil, f.errorf("tensor %d %q: offset %d: %d bytes of data past end of file (data section at %d, file size %d)", i, t.Name, rel, t.Size, start, len(data))
		}
		t.Offset = int64(start + rel)
	}
	if err := f.checkOverlap(); err != nil {
		return nil, err
	}
	return f, nil
}

func (f *File) tensorInfo(r *reader, i uint64) (TensorInfo, uint64, error) {
	var t TensorInfo
	name, err := r.str()
	if err != nil {
		return t, 0, f.errorf("tensor %d: name: %v", i, err)
	}
	t.Name = name
	nd, err := r.u32()
	if err != nil {
		return t, 0, f.errorf("tensor %d %q: n_dims: %v", i, name, err)
	}
	if nd == 0 || nd > maxDims {
		return t, 0, f.errorf("tensor %d %q: n_dims %d not in 1..%d", i, name, nd, maxDims)
	}
	t.Dims = make([]int64, nd)
	n := uint64(1)
	for d := range t.Dims {
		v, err := r.u64()
		if err != nil {
			return t, 0, f.errorf("tensor %d %q: dim %d: %v", i, name, d, err)
		}
		if v == 0 || v > math.MaxInt64 || n > math.MaxInt64/v {
			return t, 0, f.errorf("tensor %d %q: dim %d = %d is zero or overflows the element count", i, name, d, v)
		}
		n *= v
		t.Dims[d] = int64(v)
	}
	typ, err := r.u32()
	if err != nil {
		return t, 0, f.errorf("tensor %d %q: type: %v", i, name, err)
	}
	t.Type = tensor.Type(typ)
	if !t.Type.Known() {
		if typ < 64 {
			return t, 0, fmt.Errorf("%w: gguf %s: tensor %d %q: tensor type %d is not supported", errs.ErrUnsupportedModel, f.Path, i, name, typ)
		}
		return t, 0, f.errorf("tensor %d %q: invalid tensor type %d", i, name, typ)
	}
	if t.Dims[0]%int64(t.Type.BlockLen()) != 0 {
		return t, 0, f.errorf("tensor %d %q: row length %d is not a multiple of the %s block length %d", i, name, t.Dims[0], t.Type, t.Type.BlockLen())
	}
	blocks := n / uint64(t.Type.BlockLen())
	if blocks > math.MaxInt64/uint64(t.Type.BlockSize()) {
		return t, 0, f.errorf("tensor %d %q: size overflows", i, name)
	}
	t.Size = int64(blocks * uint64(t.Type.BlockSize()))
	rel, err := r.u64()
	if err != nil {
		return t, 0, f.errorf("tensor %d %q: offset: %v", i, name, err)
	}
	return t, rel, nil
}

func (f *File) checkOverlap() error {
	idx := make([]int, len(f.Tensors))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool { return f.Tensors[idx[a]].Offset < f.Tensors[idx[b]].Offset })
	for k := 1; k < len(idx); k++ {
		prev, cur := &f.Tensors[idx[k-1]], &f.Tensors[idx[k]]
		if prev.Offset+prev.Size > cur.Offset {
			return f.errorf("tensor %q: data overlaps tensor %q", cur.Name, prev.Name)
		}
	}
	return nil
}

func alignUp(n, a uint64) uint64 { return (n + a - 1) / a * a }
