package server

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// BenchmarkStreamingCompletion measures the server around a generation: a
// streamed 32-token completion of the tiny model per iteration, parallel
// over GOMAXPROCS clients.
func BenchmarkStreamingCompletion(b *testing.B) {
	_, ts := newTestServer(b, newRegistry(b), Options{})
	const body = `{"model": "endless", "prompt": "x", "max_tokens": 32, "temperature": 0, "stream": true}`
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			// No require here: FailNow must not run on these goroutines.
			resp, err := http.Post(ts.URL+"/v1/completions", "application/json", strings.NewReader(body))
			if err != nil {
				b.Error(err)
				return
			}
			_, err = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if err != nil || resp.StatusCode != http.StatusOK {
				b.Errorf("status %d, %v", resp.StatusCode, err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N*32)/b.Elapsed().Seconds(), "tokens/s")
}
