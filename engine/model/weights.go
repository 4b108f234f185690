package model

import (
	"fmt"
	"slices"

	"github.com/realm-ai/realm/engine/errs"
	"github.com/realm-ai/realm/engine/gguf"
	"github.com/realm-ai/realm/engine/tensor"
)

// weights fetches an architecture's tensors from a GGUF file, checking
// shapes and types. It keeps the first error (so a loader reads as a plain
// list of tensors) and remembers which tensors were taken, so that finish
// can reject files with tensors the architecture does not use, as llama.cpp
// does: an unknown tensor means a feature Realm does not implement.
type weights struct {
	f    *gguf.File
	arch string
	used map[string]bool
	err  error
}

func newWeights(f *gguf.File, arch string) *weights {
	return &weights{f: f, arch: arch, used: map[string]bool{}}
}

// lookup returns the named tensor after checking its shape against dims
// (ggml order: dims[0] is the row length); trailing 1s are ignored.
func (w *weights) lookup(name string, dims ...int) *gguf.TensorInfo {
	if w.err != nil {
		return nil
	}
	t, ok := w.f.Tensor(name)
	if !ok {
		w.err = fmt.Errorf("%w: %s: missing tensor %q", errs.ErrInvalidModel, w.f.Path, name)
		return nil
	}
	got := slices.Clone(t.Dims)
	for len(got) > len(dims) && got[len(got)-1] == 1 {
		got = got[:len(got)-1]
	}
	want := make([]int64, len(dims))
	for i, d := range dims {
		want[i] = int64(d)
	}
	if !slices.Equal(got, want) {
		w.err = fmt.Errorf("%w: %s: tensor %q has shape %v, want %v", errs.ErrInvalidModel, w.f.Path, name, t.Dims, want)
		return nil
	}
	if !t.Type.Supported() {
		w.err = fmt.Errorf("%w: %s: tensor %q has type %s", errs.ErrUnsupportedModel, w.f.Path, name, t.Type)
		return nil
	}
	w.used[name] = true
	return t
}

// has reports whether the file holds the named tensor.
func (w *weights) has(name string) bool {
	_, ok := w.f.Tensor(name)
	return ok
}

// matrix returns the named weight matrix, rows x cols, as a view of the
// file's bytes (no copy; the 32-element block types also get a packed copy,
// see tensor.NewMatrix, and the mapped pages it duplicates are released).
func (w *weights) matrix(name string, rows, cols int) *tensor.Matrix {
	t := w.lookup(name, cols, rows)
	if t == nil {
		return nil
	}
	var drop func([]byte)
	if w.f.Mapped() {
		// The packed copy replaces these file pages for Mul: let them go
		// as packing goes, so that the process does not hold the weights
		// twice, not even one large matrix while it is packed.
		drop = releaseFilePages
	}
	m, err := tensor.NewMatrixDropping(t.Type, rows, cols, w.f.TensorData(t), drop)
	if err != nil {
		w.err = fmt.Errorf("%w: %s: tensor %q: %v", errs.ErrInvalidModel, w.f.Path, name, err)
		return nil
	}
	if drop != nil {
		drop(m.PackedData()) // the pages across the parts' boundaries
	}
	return m
}

// vector returns the named 1-D tensor of n elements decoded to float32.
// Vectors (norm weights, rope factors) are small, so they are decoded once
// at load rather than read from the mapping each time.
func (w *weights) vector(name string, n int) []float32 {
	t := w.lookup(name, n)
	if t == nil {
		return nil
	}
	v := make([]float32, n)
	if err := tensor.Dequantize(t.Type, w.f.TensorData(t), v); err != nil {
		w.err = fmt.Errorf("%w: %s: tensor %q: %v", errs.ErrInvalidModel, w.f.Path, name, err)
		return nil
	}
	return v
}

// finish returns the first error, or an error naming a tensor the
// architecture did not use.
func (w *weights) finish() error {
	if w.err != nil {
		return w.err
	}
	for _, t := range w.f.Tensors {
		if !w.used[t.Name] {
			return fmt.Errorf("%w: %s: tensor %q is not used by architecture %s", errs.ErrUnsupportedModel, w.f.Path, t.Name, w.arch)
		}
	}
	return nil
}

// count returns the number of weights in the file.
func count(f *gguf.File) int64 {
	var n int64
	for _, t := range f.Tensors {
		e := int64(1)
		for _, d := range t.Dims {
			e *= d
		}
		n += e
	}
	return n
}
