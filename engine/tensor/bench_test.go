package tensor

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// Benchmarks for Matrix.Mul on SmolLM2-135M's ffn_down shape (576 rows of
// 1536; a K-quant row needs a multiple of 256), one token (n=1, decode) and
// 2, 4 and 8 tokens (batched decoding) and a 64-token batch (prompt), on
// 1 and 2 threads. b.SetBytes is the weight
// size, so MB/s is the weight bandwidth achieved.
//
//	go test -run '^$' -bench BenchmarkMul ./engine/tensor/
func BenchmarkMul(b *testing.B) {
	const rows, cols = 576, 1536
	rng := rand.New(rand.NewPCG(5, 6))
	for _, typ := range mulTypes {
		m, err := NewMatrix(typ, rows, cols, randomMatrixData(rng, typ, rows, cols))
		if err != nil {
			b.Fatal(err)
		}
		for _, n := range []int{1, 2, 4, 8, 64} {
			x := randomVectors(rng, n*cols)
			out := make([]float32, n*rows)
			for _, threads := range []int{1, 2} {
				var p *Pool
				if threads > 1 {
					p = NewPool(threads)
				}
				b.Run(fmt.Sprintf("%s/n=%d/threads=%d", typ, n, threads), func(b *testing.B) {
					b.SetBytes(int64(len(m.Data)))
					for b.Loop() {
						m.Mul(p, x, n, out)
					}
				})
				p.Close()
			}
		}
	}
}

// BenchmarkDequantizeRow measures Row (embedding lookup) per type.
func BenchmarkDequantizeRow(b *testing.B) {
	const cols = 1536
	rng := rand.New(rand.NewPCG(7, 8))
	dst := make([]float32, cols)
	for _, typ := range mulTypes {
		m, err := NewMatrix(typ, 4, cols, randomMatrixData(rng, typ, 4, cols))
		if err != nil {
			b.Fatal(err)
		}
		b.Run(typ.String(), func(b *testing.B) {
			for b.Loop() {
				m.Row(1, dst)
			}
		})
	}
}

// BenchmarkPoolRun measures the fixed cost of a parallel loop with no work.
func BenchmarkPoolRun(b *testing.B) {
	p := NewPool(2)
	defer p.Close()
	for b.Loop() {
		p.Run(8, func(lo, hi int) {})
	}
}
