package registry

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// BenchmarkRealmsDecode measures batching through the registry on SmolLM2:
// n Realms of one model id (each with its own session and default
// WebAssembly guest choosing every token) generate 48 greedy tokens at the
// same time; their prompts are cached beforehand. It reports the aggregate
// decode rate; "batch" runs the same prompts as one "prompts" request on a
// single Realm.
//
//	go test -run '^$' -bench RealmsDecode -benchtime 2x ./registry/
func BenchmarkRealmsDecode(b *testing.B) {
	path := realModelPath(b)
	g, err := NewRegistry(Options{})
	require.NoError(b, err)
	defer g.Close()
	require.NoError(b, g.LoadFile("smol", path, LoadOptions{}))
	prompts := []string{
		"Once upon a time", "The history of the Roman Empire", "In a small village by the sea",
		"The best way to learn to cook is", "Dear diary, today", "The spaceship landed on",
		"The old lighthouse keeper", "A long time ago in a distant land",
	}
	for _, n := range []int{1, 8} {
		b.Run(fmt.Sprintf("realms=%d", n), func(b *testing.B) {
			realms := make([]*Realm, n)
			for i := range realms {
				r, err := g.Realm("smol", Guest{})
				require.NoError(b, err)
				defer r.Close()
				realms[i] = r
			}
			run := func() int {
				var wg sync.WaitGroup
				tokens := make([]int, n)
				for i, r := range realms {
					wg.Add(1)
					go func() {
						defer wg.Done()
						res, err := r.Generate(bg, batchRequest(b, []string{prompts[i]}, 48))
						if err == nil {
							tokens[i] = res[0].CompletionTokens
						}
					}()
				}
				wg.Wait()
				total := 0
				for _, t := range tokens {
					total += t
				}
				return total
			}
			run() // caches the prompts
			b.ResetTimer()
			tokens, start := 0, time.Now()
			for range b.N {
				tokens += run()
			}
			b.ReportMetric(float64(tokens)/time.Since(start).Seconds(), "tokens/s")
		})
	}
	b.Run("batch=8", func(b *testing.B) {
		r, err := g.Realm("smol", Guest{})
		require.NoError(b, err)
		defer r.Close()
		req := batchRequest(b, prompts, 48)
		_, err = r.Generate(bg, req) // caches the prompts
		require.NoError(b, err)
		b.ResetTimer()
		tokens, start := 0, time.Now()
		for range b.N {
			res, err := r.Generate(bg, req)
			require.NoError(b, err)
			for _, x := range res {
				tokens += x.CompletionTokens
			}
		}
		b.ReportMetric(float64(tokens)/time.Since(start).Seconds(), "tokens/s")
	})
}
