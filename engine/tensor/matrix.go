package tensor

import (
	"fmt"
	"math"
	"sync"

	"github.com/realm-ai/realm/engine/errs"
)

// Matrix is a 2-D weight tensor: Rows rows of Cols elements of type Type,
// stored row after row in ggml's block layout (in ggml's terms ne[0] = Cols,
// ne[1] = Rows). Data is usually a slice of a memory-mapped GGUF file and is
// only read. Build one with NewMatrix, which checks the sizes; a Matrix may
// then be used by many goroutines at once.
type Matrix struct {
	Type       Type
	Rows, Cols int
	Data       []byte

	// packed is Data's first Rows/8*8 rows rearranged for the assembly
	// kernels (pack.go), when this CPU has packed kernels for Type; nil
	// otherwise. Built by NewMatrix; it costs as much memory as those rows.
	packed []byte
	// packedMem owns packed's memory (pack.go): kept with the matrix.
	packedMem *packedMem
}

// NewMatrix wraps data as a rows x cols matrix of type t. It fails with
// errs.ErrUnsupportedModel if Realm cannot compute with t, and with
// errs.ErrInvalidModel if the shape is empty, cols is not a whole number of
// t's blocks, or data is not exactly rows*t.RowSize(cols) bytes.
func NewMatrix(t Type, rows, cols int, data []byte) (*Matrix, error) {
	return NewMatrixDropping(t, rows, cols, data, nil)
}

// NewMatrixDropping is NewMatrix for data that is a file mapping: while
// the packed copy is built, drop (if not nil) is called, possibly from
// several goroutines at once, with consecutive parts of data that the copy
// has replaced, so that the caller can let the kernel drop their pages
// before the whole matrix is packed and the process never holds both
// versions of a large matrix. drop must not change the bytes seen through
// data. PackedData is the whole of those parts.
func NewMatrixDropping(t Type, rows, cols int, data []byte, drop func([]byte)) (*Matrix, error) {
	if !t.Supported() {
		return nil, fmt.Errorf("%w: matrix of type %s", errs.ErrUnsupportedModel, t)
	}
	if rows <= 0 || cols <= 0 {
		return nil, fmt.Errorf("%w: matrix %s %dx%d: empty or negative shape", errs.ErrInvalidModel, t, rows, cols)
	}
	rs, err := t.RowSize(int64(cols))
	if err != nil {
		return nil, fmt.Errorf("%w: matrix %s %dx%d: %v", errs.ErrInvalidModel, t, rows, cols, err)
	}
	if int64(rows) > math.MaxInt/rs {
		return nil, fmt.Errorf("%w: matrix %s %dx%d: size overflows", errs.ErrInvalidModel, t, rows, cols)
	}
	if want := int64(rows) * rs; int64(len(data)) != want {
		return nil, fmt.Errorf("%w: matrix %s %dx%d: data is %d bytes, want %d",
			errs.ErrInvalidModel, t, rows, cols, len(data), want)
	}
	m := &Matrix{Type: t, Rows: rows, Cols: cols, Data: data}
	if packedKernels[t] != nil && rows >= packRows {
		m.packed, m.packedMem = packMatrix(t, data, rows, cols, drop)
	}
	return m, nil
}

// PackedData returns the part of Data that the packed copy duplicates (the
// rows of whole packed groups), or nil without a packed copy. Mul never
// reads it; Row does. A caller whose Data is a file mapping may let the
// kernel drop those pages (they are read back from the file on access).
func (m *Matrix) PackedData() []byte {
	if m.packed == nil {
		return nil
	}
	return m.Data[:m.Rows/packRows*packRows*m.rowSize()]
}

// rowSize is the number of bytes of one row.
func (m *Matrix) rowSize() int {
	return m.Cols / m.Type.BlockLen() * m.Type.BlockSize()
}

// Row dequantizes row i into dst[:m.Cols] (an embedding lookup), with the
// same bit-exact results as Dequantize. It panics if i is out of range or
// dst is shorter than m.Cols, as indexing would.
func (m *Matrix) Row(i int, dst []float32) {
	if i < 0 || i >= m.Rows {
		panic(fmt.Sprintf("tensor: Matrix.Row: row %d out of range [0,%d)", i, m.Rows))
	}
	if len(dst) < m.Cols {
		panic(fmt.Sprintf("tensor: Matrix.Row: dst has %d elements, need %d", len(dst), m.Cols))
	}
	rs := m.rowSize()
	dequantRow(m.Type, m.Data[i*rs:(i+1)*rs], dst[:m.Cols])
}

// minParallelWork is the number of multiply-adds below which Mul runs on
// the caller alone: waking workers costs more than the work.
const minParallelWork = 1 << 21

// actPool recycles activation scratch buffers between Mul calls.
var actPool = sync.Pool{New: func() any { return new(activations) }}

// quantOffset is the offset the packed kernels take off t's unsigned
// quants (Q8_0's are made unsigned by flipping the sign bit), or 0.
func quantOffset(t Type) int32 {
	switch t {
	case Q4_0:
		return 8
	case Q5_0:
		return 16
	case Q8_0:
		return 128
	}
	return 0
}

// setCorr fills r.corr for weights stored with offset off.
func setCorr(off int32, r *actRow) {
	for j, s := range r.sum4 {
		r.corr[j] = -off * s
	}
}

// mulTileRows is how many rows Mul multiplies by every activation vector
// before moving on, when there are several: a tile of weights stays in the
// cache while each vector passes over it. A multiple of packRows.
const mulTileRows = 64

// Mul computes out[b*Rows+r] = W[r]·x[b] for the n activation vectors
// x[b] = x[b*Cols:(b+1)*Cols] and every row r, as ggml's CPU backend does:
// each x[b] is first converted once to the weight type's VecDotType (int8
// blocks with scales for quantized weights, F16/BF16 for half weights), then
// every row is dotted with it by the type's kernel (assembly where the CPU
// has one, see rows.go; the results are the same; with several vectors,
// the packed types take them two at a time where the CPU has two-vector
// kernels, with the same results again). Rows are split over p's
// threads (p may be nil: serial). It panics if x has fewer than n*Cols or
// out fewer than n*Rows elements, as indexing would, or if m was not built
// by NewMatrix and has an unsupported type or short Data.
func (m *Matrix) Mul(p *Pool, x []float32, n int, out []float32) {
	if n <= 0 {
		return
	}
	if len(x) < n*m.Cols || len(out) < n*m.Rows {
		panic(fmt.Sprintf("tensor: Matrix.Mul: %dx%d matrix, %d vectors: x has %d elements, out %d",
			m.Rows, m.Cols, n, len(x), len(out)))
	}
	kernel := rowKernels[m.Type]
	if kernel == nil {
		panic("tensor: Matrix.Mul: unsupported type " + m.Type.String())
	}
	act := actPool.Get().(*activations)
	defer actPool.Put(act)
	j := &act.job
	*j = mulJob{m: m, x: x, out: out, act: act, kernel: kernel, packed: packedKernels[m.Type], packed2: packed2Kernels[m.Type]}
	vt := m.Type.VecDotType()
	act.reset(vt, n, m.Cols)
	serial := p == nil || m.Rows*m.Cols*n < minParallelWork
	if serial || n == 1 {
		j.quantize(0, n)
	} else {
		p.Run(n, j.quantize)
	}
	if off := quantOffset(m.Type); off != 0 {
		for b := range act.rows {
			setCorr(off, &act.rows[b])
		}
	}
	if serial {
		j.multiply(0, m.Rows)
	} else {
		// Split on whole packed groups: chunks of packRows rows.
		p.Run((m.Rows+packRows-1)/packRows, j.multiplyGroups)
	}
	if vt == F32 {
		clear(act.rows) // do not keep the caller's x alive in the pool
	}
	*j = mulJob{}
}

// mulJob is one Matrix.Mul call, kept in its pooled activations so that a
// serial call allocates nothing.
type mulJob struct {
	m       *Matrix
	x, out  []float32
	act     *activations
	kernel  rowsFunc
	packed  packedFunc
	packed2 packed2Func // nil: one vector at a time
}

// quantize converts vectors [lo, hi) of x.
func (j *mulJob) quantize(lo, hi int) {
	vt, cols := j.m.Type.VecDotType(), j.m.Cols
	for b := lo; b < hi; b++ {
		quantizeAct(vt, j.x[b*cols:(b+1)*cols], &j.act.rows[b])
	}
}

// multiplyGroups computes the rows of packed groups [lo, hi).
func (j *mulJob) multiplyGroups(lo, hi int) {
	j.multiply(lo*packRows, min(hi*packRows, j.m.Rows))
}

// multiply computes rows [lo, hi) for every vector, lo a multiple of
// packRows: rows [packedRows, Rows) (all of them without a packed copy)
// from the file layout, the packed groups before them from the packed copy.
func (j *mulJob) multiply(lo, hi int) {
	m, vecs := j.m, j.act.rows
	rows, rs := m.Rows, m.rowSize()
	packedRows := 0
	if j.packed != nil && m.packed != nil {
		packedRows = rows / packRows * packRows
	}
	groupSize := m.Cols / QK * packedSize(m.Type)
	for t := lo; t < hi; t += mulTileRows {
		te := min(t+mulTileRows, hi)
		paired := 0 // vectors whose packed rows of this tile are done
		if t < packedRows && j.packed2 != nil {
			ge := min(te, packedRows)
			w := m.packed[t/packRows*groupSize:]
			for ; paired+1 < len(vecs); paired += 2 {
				oa := j.out[paired*rows : (paired+1)*rows]
				ob := j.out[(paired+1)*rows : (paired+2)*rows]
				j.packed2(w, (ge-t)/packRows, &vecs[paired], &vecs[paired+1], oa[t:ge], ob[t:ge])
			}
		}
		for b := range vecs {
			o := j.out[b*rows : (b+1)*rows]
			if t < packedRows && b >= paired {
				ge := min(te, packedRows)
				j.packed(m.packed[t/packRows*groupSize:], (ge-t)/packRows, &vecs[b], o[t:ge])
			}
			if te > packedRows {
				ts := max(t, packedRows)
				j.kernel(m.Data[ts*rs:te*rs], rs, &vecs[b], o[ts:te])
			}
		}
	}
}
