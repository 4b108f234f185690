package tensor

import (
	"runtime"
	"sync"
	"unsafe"
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
	l := packLayouts[t]
	if l.bs != bs {
		panic("tensor: packMatrix: type " + t.String())
	}
	pack := func(lo, hi int) {
		done := lo
		for g := lo; g < hi; g++ {
			if drop != nil && g-done == packDropGroups {
				drop(data[done*packRows*rs : g*packRows*rs])
				done = g
			}
			packGroup(&l, data[g*packRows*rs:(g+1)*packRows*rs], rs, blocks, out[g*blocks*ps:(g+1)*blocks*ps])
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
		promoteHugePages(own, out)
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
	promoteHugePages(own, out)
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

// packLayout is where packGroup finds the fields of a block of type t
// (offsets in the file's block, qhOff/minOff 0 when absent) and puts them
// in the packed block (minOut, hmOut 0 when absent).
type packLayout struct {
	bs, qsOff, qhOff, chunks int // block bytes, quants, high bits, 4-byte quant chunks
	minOut, hmOut, quantsOut int // m[8], hm[8], quant vectors in the packed block
}

// packLayouts holds the layout of every type with packed kernels.
var packLayouts = map[Type]packLayout{
	Q4_0: {bs: 18, qsOff: q4_0Qs, chunks: 4, quantsOut: 16},
	Q4_1: {bs: 20, qsOff: q4_1Qs, chunks: 4, minOut: 16, quantsOut: 32},
	Q5_0: {bs: 22, qsOff: q5_0Qs, qhOff: q5_0Qh, chunks: 4, hmOut: 16, quantsOut: 48},
	Q5_1: {bs: 24, qsOff: q5_1Qs, qhOff: q5_1Qh, chunks: 4, minOut: 16, hmOut: 32, quantsOut: 64},
	Q8_0: {bs: 34, qsOff: q8_0Qs, chunks: 8, quantsOut: 16},
}

// packGroup writes the packed blocks of one group of packRows rows: src
// holds the rows one after the other, rs bytes apart, blocks blocks each;
// dst receives blocks packed blocks. It moves whole 2- and 4-byte fields
// through unaligned loads and stores (x86 and arm64 allow them): packing
// is most of a model's load time, and per-byte code with bounds checks
// ran at 1-1.5 GB/s.
func packGroup(l *packLayout, src []byte, rs, blocks int, dst []byte) {
	ps := packRows * l.bs
	if blocks <= 0 || rs < blocks*l.bs || len(src) < (packRows-1)*rs+blocks*l.bs || len(dst) < blocks*ps {
		panic("tensor: packGroup: short rows or destination")
	}
	base := unsafe.Pointer(unsafe.SliceData(src))
	out := unsafe.Pointer(unsafe.SliceData(dst))
	for b := range blocks {
		o := unsafe.Add(out, b*ps)
		var hm [8]uint32
		for r := range packRows {
			s := unsafe.Add(base, r*rs+b*l.bs)
			*(*uint16)(unsafe.Add(o, 2*r)) = *(*uint16)(s) // d leads every block
			if l.minOut > 0 {
				*(*uint16)(unsafe.Add(o, l.minOut+2*r)) = *(*uint16)(unsafe.Add(s, 2)) // m follows d
			}
			for c := range l.chunks {
				*(*uint32)(unsafe.Add(o, l.quantsOut+32*c+4*r)) = *(*uint32)(unsafe.Add(s, l.qsOff+4*c))
			}
			if l.hmOut > 0 {
				qh := *(*uint32)(unsafe.Add(s, l.qhOff))
				for j := range hm {
					hm[j] |= (qh >> (4 * j) & 0xf) << (4 * r)
				}
			}
		}
		if l.hmOut > 0 {
			*(*[8]uint32)(unsafe.Add(o, l.hmOut)) = hm
		}
	}
}

// Packed copies are read from start to end once per token, faster than
// the core can fetch them from DRAM: on 4 KiB pages the hardware stream
// prefetchers stop at every page boundary, and a single core streams ~1.5x
// less than on 2 MiB pages (docs/performance.md). So the copies come from
// large chunks, and once a copy is written a background goroutine
// collapses its pages into transparent huge pages (promoteHugePages;
// Linux only): faulting in fresh huge pages while packing made the load
// up to twice as slow. Small copies share chunks.
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
type packedMem struct {
	b      []byte
	mapped bool // b is an anonymous mapping of its own (osAlloc)
}

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
