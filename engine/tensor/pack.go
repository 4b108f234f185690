package tensor

import (
	"encoding/binary"
	"sync"
)

// Packed weights. For the 32-element block types (Q4_0, Q4_1, Q5_0, Q5_1,
// Q8_0) the assembly kernels read a copy of the matrix rearranged in
// groups of packRows rows: per group and block index, one packed block
// holds
//
//	d[8] f16                  the eight rows' scales
//	m[8] f16                  Q4_1, Q5_1: their mins
//	hm[8] uint32              Q5_0, Q5_1: high bits, hm[j] bit 4r+t = element 4j+t of row r
//	quants                    Q8_0: 8 vectors of 32 bytes, vector j = rows' bytes 4j..4j+3;
//	                          others: 4 vectors, vector c = rows' nibble bytes 4c..4c+3
//	                          (low nibbles: elements 4c.., high: 16+4c..)
//
// so that a 256-bit register holds four consecutive quants of each of the
// eight rows, one row per 32-bit lane: one multiply-add with the matching
// four activation quants broadcast advances eight rows at once, and a
// block's scales for eight rows are one load. The packed block is exactly
// as big as the eight original blocks; rows past the last whole group are
// multiplied from the original layout.
const packRows = 8

// packedSize returns the bytes of one packed block of type t (8 blocks).
func packedSize(t Type) int { return packRows * t.BlockSize() }

// packMatrix returns the packed copy of the first rows/packRows*packRows
// rows of a rows x cols matrix of 32-element block type t.
func packMatrix(t Type, data []byte, rows, cols int) []byte {
	bs := t.BlockSize()
	blocks := cols / QK
	rs := blocks * bs
	groups := rows / packRows
	out := allocPacked(groups * blocks * packedSize(t))
	o := 0
	for g := range groups {
		for b := range blocks {
			var src [packRows][]byte
			for r := range src {
				src[r] = data[(g*packRows+r)*rs+b*bs:][:bs]
			}
			packBlock(t, src, out[o:o+packedSize(t)])
			o += packedSize(t)
		}
	}
	return out
}

// packBlock writes the packed block of one block of each of eight rows.
func packBlock(t Type, src [packRows][]byte, dst []byte) {
	var qsOff, qhOff, minOff, hmOff, quantsOff int
	switch t {
	case Q4_0:
		qsOff, quantsOff = q4_0Qs, 16
	case Q4_1:
		qsOff, minOff, quantsOff = q4_1Qs, 16, 32
	case Q5_0:
		qsOff, qhOff, hmOff, quantsOff = q5_0Qs, q5_0Qh, 16, 48
	case Q5_1:
		qsOff, qhOff, minOff, hmOff, quantsOff = q5_1Qs, q5_1Qh, 16, 32, 64
	case Q8_0:
		qsOff, quantsOff = q8_0Qs, 16
	default:
		panic("tensor: packBlock: type " + t.String())
	}
	nq := QK / 2 // quant bytes per row: nibbles
	if t == Q8_0 {
		nq = QK
	}
	le := binary.LittleEndian
	for r, b := range src {
		le.PutUint16(dst[2*r:], le.Uint16(b[0:])) // d is the first field of every block
		if minOff > 0 {
			le.PutUint16(dst[minOff+2*r:], le.Uint16(b[2:])) // m follows d
		}
		for c := 0; c < nq/4; c++ {
			le.PutUint32(dst[quantsOff+32*c+4*r:], le.Uint32(b[qsOff+4*c:]))
		}
		if hmOff > 0 {
			qh := binary.LittleEndian.Uint32(b[qhOff:])
			for j := range 8 {
				m := binary.LittleEndian.Uint32(dst[hmOff+4*j:])
				m |= (qh >> (4 * j) & 0xf) << (4 * r)
				binary.LittleEndian.PutUint32(dst[hmOff+4*j:], m)
			}
		}
	}
}

// Packed copies are read from start to end once per token, faster than
// the core can fetch them from DRAM: on 4 KiB pages the hardware stream
// prefetchers stop at every page boundary, and a single core streams ~1.5x
// less than on 2 MiB pages (docs/performance.md). So the copies come from
// large chunks that are advised to use transparent huge pages before they
// are first written (Linux; elsewhere adviseHugePages does nothing).
// Small copies share chunks: a chunk is freed by the garbage collector
// once no matrix uses any part of it.
const (
	packChunk = 32 << 20 // bytes per shared chunk
	packAlign = 64       // cache line: every copy starts on its own
)

var packArena struct {
	sync.Mutex
	free []byte // the unused rest of the current chunk
}

// allocPacked returns n zero bytes for a packed copy.
func allocPacked(n int) []byte {
	if n >= packChunk/4 {
		b := make([]byte, n)
		adviseHugePages(b)
		return b
	}
	size := (n + packAlign - 1) &^ (packAlign - 1)
	packArena.Lock()
	defer packArena.Unlock()
	if len(packArena.free) < size {
		packArena.free = make([]byte, packChunk)
		adviseHugePages(packArena.free)
	}
	b := packArena.free[:n:n]
	packArena.free = packArena.free[size:]
	return b
}
