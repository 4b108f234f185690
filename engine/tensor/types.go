// Package tensor holds the ggml tensor types Realm reads from GGUF files,
// their block layouts, dequantization, and the matrix kernels the forward
// pass runs on them.
//
// Block layouts follow ggml (ggml/src/ggml-common.h); type ids are the ones
// GGUF stores (enum ggml_type).
package tensor

import "fmt"

// Type is a ggml tensor type id as stored in a GGUF tensor info.
type Type uint32

// The ggml type ids Realm knows. Ids missing here (2-bit, 3-bit, IQ types)
// are valid GGUF but unsupported by Realm.
const (
	F32  Type = 0
	F16  Type = 1
	Q4_0 Type = 2
	Q4_1 Type = 3
	Q5_0 Type = 6
	Q5_1 Type = 7
	Q8_0 Type = 8
	Q8_1 Type = 9
	Q2_K Type = 10
	Q3_K Type = 11
	Q4_K Type = 12
	Q5_K Type = 13
	Q6_K Type = 14
	Q8_K Type = 15
	I8   Type = 24
	I16  Type = 25
	I32  Type = 26
	I64  Type = 27
	F64  Type = 28
	BF16 Type = 30
)

// QK is the block length of the 32-element quant types; QKK is the super-block
// length of the K-quants.
const (
	QK  = 32
	QKK = 256
)

type typeTraits struct {
	name      string
	blockLen  int // elements per block
	blockSize int // bytes per block
	supported bool
}

var traits = map[Type]typeTraits{
	F32:  {"F32", 1, 4, true},
	F16:  {"F16", 1, 2, true},
	BF16: {"BF16", 1, 2, true},
	Q4_0: {"Q4_0", QK, 2 + QK/2, true},
	Q4_1: {"Q4_1", QK, 4 + QK/2, true},
	Q5_0: {"Q5_0", QK, 2 + 4 + QK/2, true},
	Q5_1: {"Q5_1", QK, 4 + 4 + QK/2, true},
	Q8_0: {"Q8_0", QK, 2 + QK, true},
	Q8_1: {"Q8_1", QK, 4 + QK, false},
	Q2_K: {"Q2_K", QKK, QKK/16 + QKK/4 + 4, false},
	Q3_K: {"Q3_K", QKK, QKK/8 + QKK/4 + 12 + 2, false},
	Q4_K: {"Q4_K", QKK, 4 + 12 + QKK/2, true},
	Q5_K: {"Q5_K", QKK, 4 + 12 + QKK/8 + QKK/2, true},
	Q6_K: {"Q6_K", QKK, QKK/2 + QKK/4 + QKK/16 + 2, true},
	Q8_K: {"Q8_K", QKK, 4 + QKK + QKK/16*2, false},
	I8:   {"I8", 1, 1, false},
	I16:  {"I16", 1, 2, false},
	I32:  {"I32", 1, 4, false},
	I64:  {"I64", 1, 8, false},
	F64:  {"F64", 1, 8, false},
}

// Known reports whether t is a ggml type id Realm can size (and so can
// validate in a file), whether or not it can compute with it.
func (t Type) Known() bool { _, ok := traits[t]; return ok }

// Supported reports whether Realm can dequantize and multiply tensors of type t.
func (t Type) Supported() bool { return traits[t].supported }

// String returns ggml's name for the type ("Q4_K"), or "type(N)" if unknown.
func (t Type) String() string {
	if tr, ok := traits[t]; ok {
		return tr.name
	}
	return fmt.Sprintf("type(%d)", uint32(t))
}

// BlockLen is the number of elements in one block of t (1 for plain types).
func (t Type) BlockLen() int { return traits[t].blockLen }

// BlockSize is the number of bytes in one block of t.
func (t Type) BlockSize() int { return traits[t].blockSize }

// RowSize returns the bytes needed for n elements of type t, or an error if
// the type is unknown or n is not a whole number of blocks.
func (t Type) RowSize(n int64) (int64, error) {
	tr, ok := traits[t]
	if !ok {
		return 0, fmt.Errorf("unknown tensor type %d", uint32(t))
	}
	if n < 0 || n%int64(tr.blockLen) != 0 {
		return 0, fmt.Errorf("%d elements is not a whole number of %s blocks of %d", n, tr.name, tr.blockLen)
	}
	return n / int64(tr.blockLen) * int64(tr.blockSize), nil
}
