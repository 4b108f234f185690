package tensor

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// BenchmarkPack measures packing a 4096 x 1536 matrix (the copy's memory
// included, as at load). SetBytes is the matrix size.
//
//	go test -run '^$' -bench BenchmarkPack ./engine/tensor/
func BenchmarkPack(b *testing.B) {
	const rows, cols = 4096, 1536
	rng := rand.New(rand.NewPCG(9, 10))
	for _, typ := range []Type{Q4_0, Q4_1, Q5_0, Q8_0} {
		data := randomMatrixData(rng, typ, rows, cols)
		b.Run(fmt.Sprint(typ), func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				packMatrix(typ, data, rows, cols, nil)
			}
		})
	}
}

// BenchmarkPackGroups measures the rearrangement alone: packGroup over the
// same matrix into memory already mapped (BenchmarkPack adds the faults of
// a new copy).
func BenchmarkPackGroups(b *testing.B) {
	const rows, cols = 4096, 1536
	rng := rand.New(rand.NewPCG(9, 10))
	for _, typ := range []Type{Q4_0, Q4_1, Q5_0, Q8_0} {
		data := randomMatrixData(rng, typ, rows, cols)
		out := make([]byte, len(data))
		l := packLayouts[typ]
		blocks := cols / QK
		rs := blocks * l.bs
		gs := blocks * packedSize(typ)
		b.Run(fmt.Sprint(typ), func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				for g := range rows / packRows {
					packGroup(&l, data[g*packRows*rs:], rs, blocks, out[g*gs:])
				}
			}
		})
	}
}
