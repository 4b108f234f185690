package tensor

import (
	"encoding/binary"
	"runtime"
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
// rows of a rows x cols matrix of 32-element block type t and the owner of
// its memory (see allocPacked), calling drop
// (if not nil) with the source rows of every packDropGroups groups packed.
func packMatrix(t Type, data []byte, rows, cols int, drop func([]byte)) ([]byte, *packedMem) {
	bs := t.BlockSize()
	blocks := cols / QK
	rs := blocks * bs
	groups := rows / packRows
	ps := packedSize(t)
	out, own := allocPacked(groups * blocks * ps)
	pack := func(lo, hi int) {
		o := lo * blocks * ps
		done := lo
		for g := lo; g < hi; g++ {
			if drop != nil && g-done == packDropGroups {
				drop(data[done*packRows*rs : g*packRows*rs])
				done = g
			}
			for b := range blocks {
				var src [packRows][]byte
				for r := range src {
					src[r] = data[(g*packRows+r)*rs+b*bs:][:bs]
				}
				packBlock(t, src, out[o:o+ps])
				o += ps
			}
		}
		if drop != nil && hi > done {
			drop(data[done*packRows*rs : hi*packRows*rs])
		}
	}
	// Packing is most of a model's load time: large matrices are split
	// over the cores (disjoint groups, so the result does not depend on it).
	workers := min(runtime.GOMAXPROCS(0), groups*blocks*ps/packParallelBytes, 8)
	if workers <= 1 {
		pack(0, groups)
		return out, own
	}
	var wg sync.WaitGroup
	for w := range workers {
		lo, hi := groups*w/workers, groups*(w+1)/workers
		wg.Add(1)
		go func() {
			defer wg.Done()
			pack(lo, hi)
		}()
	}
	wg.Wait()
	return out, own
}

const (
	// packParallelBytes is the least packed size worth one more packing
	// goroutine.
	packParallelBytes = 1 << 20
	// packDropGroups is how many row groups packMatrix packs between calls
	// of its drop function.
	packDropGroups = 256
)

// packBlock writes the packed block of one block of each of eight rows.
func packBlock(t Type, src [packRows][]byte, dst []byte) {
	switch t { // the types of the largest matrices, with constant offsets
	case Q8_0:
		packPlain(&src, dst[:packRows*34], 34, q8_0Qs, 0, 16, 8)
		return
	case Q4_0:
		packPlain(&src, dst[:packRows*18], 18, q4_0Qs, 0, 16, 4)
		return
	case Q4_1:
		packPlain(&src, dst[:packRows*20], 20, q4_1Qs, 16, 32, 4)
		return
	}
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
			*(*[4]byte)(dst[quantsOff+32*c+4*r:]) = *(*[4]byte)(b[qsOff+4*c:])
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

// packPlain is packBlock for the types without high bits (Q4_0, Q4_1,
// Q8_0): a block of bs bytes per row, scale first, min next (minOff > 0),
// quants at qsOff, chunks 4-byte chunks of them per row.
func packPlain(src *[packRows][]byte, d []byte, bs, qsOff, minOff, quantsOff, chunks int) {
	for r := range packRows {
		b := src[r][:bs]
		d[2*r], d[2*r+1] = b[0], b[1]
		if minOff > 0 {
			d[minOff+2*r], d[minOff+2*r+1] = b[2], b[3]
		}
		q := b[qsOff : qsOff+4*chunks]
		o := d[quantsOff+4*r:]
		for c := range chunks {
			*(*[4]byte)(o[32*c:]) = *(*[4]byte)(q[4*c:])
		}
	}
}

// Packed copies are read from start to end once per token, faster than
// the core can fetch them from DRAM: on 4 KiB pages the hardware stream
// prefetchers stop at every page boundary, and a single core streams ~1.5x
// less than on 2 MiB pages (docs/performance.md). So the copies come from
// large chunks that are advised to use transparent huge pages before they
// are first written (Linux; elsewhere adviseHugePages does nothing).
// Small copies share chunks.
//
// On Linux the chunks are mapped outside the Go heap (osAlloc): the copies
// are most of a model's memory, and inside the heap they would count as
// live heap for the garbage collector's pacing, which then lets garbage
// grow to as much again before collecting it. A chunk is unmapped once no
// packedMem referring to it is reachable: every Matrix keeps the packedMem
// of its copy.
const (
	packChunk = 32 << 20 // bytes per shared chunk
	packAlign = 64       // cache line: every copy starts on its own
)

// packedMem owns one chunk of packed-copy memory; the chunk lives as long
// as its packedMem is reachable.
type packedMem struct{ b []byte }

var packArena struct {
	sync.Mutex
	free  []byte // the unused rest of the current chunk
	owner *packedMem
}

// allocPacked returns n zero bytes for a packed copy and the owner of
// their memory, which must stay reachable while they are used.
func allocPacked(n int) ([]byte, *packedMem) {
	if n >= packChunk/4 {
		own := osAlloc(n)
		return own.b[:n:n], own
	}
	size := (n + packAlign - 1) &^ (packAlign - 1)
	packArena.Lock()
	defer packArena.Unlock()
	if len(packArena.free) < size {
		packArena.owner = osAlloc(packChunk)
		packArena.free = packArena.owner.b
	}
	b := packArena.free[:n:n]
	packArena.free = packArena.free[size:]
	return b, packArena.owner
}
