package tensor

import "fmt"

// Kernels at the level Matrix.Mul calls them: one call multiplies many
// weight rows by one converted activation vector, so that a platform with
// assembly kernels pays one call per run of rows rather than one per row
// or per block. Every kernel returns results bit-identical to the portable
// one-row kernels of dot.go: integer block sums are exact, and the float
// operations are the same ones in the same order.

// rowsFunc sets out[i] = W[i]·a for i < len(out), where row i of W starts
// at w[i*stride] and has as many blocks as a.
type rowsFunc func(w []byte, stride int, a *actRow, out []float32)

// packedFunc sets out[i] = W[i]·a for the 8*groups rows of groups packed
// row groups starting at w (see pack.go), each of len(a.d) blocks.
type packedFunc func(w []byte, groups int, a *actRow, out []float32)

// packed2Func is packedFunc for two activation vectors at once: outA[i] =
// W[i]·a and outB[i] = W[i]·b, each bit-identical to the one-vector
// kernel, reading the packed weights once for both.
type packed2Func func(w []byte, groups int, a, b *actRow, outA, outB []float32)

// kernelSet is one implementation of the kernels, for the weight types it
// has.
type kernelSet struct {
	name    string               // instruction set, for tests and benchmarks: "avx2", "vnni"
	packed  map[Type]packedFunc  // 32-element block types, packed layout
	packed2 map[Type]packed2Func // the same for two vectors at once (optional)
	rows    map[Type]rowsFunc    // other types, file layout
}

// packedKernels and rowKernels are what Mul uses for each weight type: the
// kernels of the first assembly set (asmKernelSets, best first, only those
// the CPU runs) that has the type, else the portable dot kernel row by row.
var packedKernels, rowKernels = func() (map[Type]packedFunc, map[Type]rowsFunc) {
	p, k := make(map[Type]packedFunc), make(map[Type]rowsFunc)
	for t := range traits {
		if f := pickPacked(asmKernelSets, t); f != nil {
			p[t] = f
		}
		if f := pickRows(asmKernelSets, t); f != nil {
			k[t] = f
		}
	}
	return p, k
}()

// packed2Kernels holds the two-vector packed kernels Mul uses: those of
// the set that packedKernels' kernel for the type comes from, when it has
// one.
var packed2Kernels = func() map[Type]packed2Func {
	p := make(map[Type]packed2Func)
	for t := range traits {
		for _, s := range asmKernelSets {
			if s.packed[t] != nil {
				if f := s.packed2[t]; f != nil {
					p[t] = f
				}
				break
			}
		}
	}
	return p
}()

// pickPacked returns the packed kernel for t from the first set that has one.
func pickPacked(sets []kernelSet, t Type) packedFunc {
	for _, s := range sets {
		if f := s.packed[t]; f != nil {
			return f
		}
	}
	return nil
}

// pickRows returns the row kernel for t from the first set that has one, or
// the portable kernel.
func pickRows(sets []kernelSet, t Type) rowsFunc {
	for _, s := range sets {
		if f := s.rows[t]; f != nil {
			return f
		}
	}
	if dot := dotKernel(t); dot != nil {
		return portableRows(dot)
	}
	return nil
}

// portableRows applies a one-row dot kernel to each row.
func portableRows(dot dotFunc) rowsFunc {
	return func(w []byte, stride int, a *actRow, out []float32) {
		for i := range out {
			out[i] = dot(w[i*stride:], a)
		}
	}
}

// checkKernelArgs panics unless w holds n weight units of unit bytes and a
// holds blocks >= 1 blocks of per quants: the assembly kernels trust these
// bounds.
func checkKernelArgs(w []byte, n, unit, blocks, per int, a *actRow) {
	if n <= 0 {
		return
	}
	if blocks <= 0 || len(w) < n*unit || len(a.qs) < blocks*per || len(a.d) < blocks {
		panic(fmt.Sprintf("tensor: kernel: %d units of %d bytes, %d blocks: weights %d bytes, activation %d quants and %d scales",
			n, unit, blocks, len(w), len(a.qs), len(a.d)))
	}
}
