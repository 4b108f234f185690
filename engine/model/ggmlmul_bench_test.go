package model

import (
	"math/rand/v2"
	"testing"

	"github.com/realm-ai/realm/engine/tensor"
)

func benchKQuant(b *testing.B, typ tensor.Type, n int) {
	r := rand.New(rand.NewPCG(1, 2))
	const rows, cols = 640, 2048
	m := randomKQuant(r, typ, rows, cols)
	x := randomVectors(r, n*cols)
	out := make([]float32, n*rows)
	b.ResetTimer()
	for range b.N {
		matMul(nil, m, x, n, out)
	}
	b.ReportMetric(float64(rows*cols*n*b.N)/b.Elapsed().Seconds()/1e9, "GMAC/s")
}

func BenchmarkMatMulQ4K1(b *testing.B)  { benchKQuant(b, tensor.Q4_K, 1) }
func BenchmarkMatMulQ6K1(b *testing.B)  { benchKQuant(b, tensor.Q6_K, 1) }
func BenchmarkMatMulQ4K16(b *testing.B) { benchKQuant(b, tensor.Q4_K, 16) }
func BenchmarkMatMulQ6K16(b *testing.B) { benchKQuant(b, tensor.Q6_K, 16) }
