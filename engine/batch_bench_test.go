package engine

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/realm-ai/realm/engine/sample"
	"github.com/stretchr/testify/require"
)

// noEnd is a greedy Policy that never picks an end-of-generation token,
// so that every stream of a benchmark runs to MaxTokens.
type noEnd struct{ m *Model }

func (noEnd) Begin(context.Context, sample.Params, []int32) error { return nil }
func (noEnd) End()                                                {}
func (p noEnd) Step(cands []sample.Candidate, _ []float32) (int32, bool, error) {
	for _, c := range cands {
		if !p.m.tok.IsEOG(c.ID) {
			return c.ID, false, nil
		}
	}
	return 0, true, nil
}

// benchPrompts are the prompts of the batching benchmarks, one per stream
// (cycled), tokenized for m.
func benchPrompts(b *testing.B, m *Model) [][]int32 {
	b.Helper()
	var out [][]int32
	for _, text := range []string{
		"Once upon a time", "The history of the Roman Empire", "In a small village by the sea",
		"The best way to learn to cook is", "Dear diary, today", "The spaceship landed on",
		"The old lighthouse keeper", "A long time ago in a distant land",
	} {
		ids, err := m.Tokenize(text, true, false)
		require.NoError(b, err)
		out = append(out, ids)
	}
	return out
}

// BenchmarkBatchDecode measures continuous batching on SmolLM2: n greedy
// streams decode 48 tokens each at the same time, on their own sessions
// (prompts evaluated beforehand, not timed; greedy without end-of-generation
// tokens, so every stream runs to the end). It reports the aggregate
// decode rate (tokens/s over the wall time of the streams), the rate per
// stream, and the fairness ratio slowest/fastest stream.
//
//	go test -run '^$' -bench BatchDecode -benchtime 2x ./engine/
func BenchmarkBatchDecode(b *testing.B) {
	for _, n := range []int{1, 2, 4, 8} {
		b.Run(fmt.Sprintf("streams=%d", n), func(b *testing.B) { benchBatchDecode(b, n) })
	}
}

func benchBatchDecode(b *testing.B, n int) {
	m := real(b)
	prompts := benchPrompts(b, m)
	sessions := make([]*Session, n)
	for i := range sessions {
		s, err := m.NewSession()
		require.NoError(b, err)
		defer s.Close()
		sessions[i] = s
	}
	p := greedy(48)
	p.Stop = nil
	var tokens int
	var wall float64
	fairness := 1.0
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		for i, s := range sessions {
			_, err := s.Evaluate(ctx, prompts[i%len(prompts)])
			require.NoError(b, err)
		}
		b.StartTimer()
		results := make([]*Result, n)
		failures := make([]error, n)
		var wg sync.WaitGroup
		start := time.Now()
		for i, s := range sessions {
			wg.Add(1)
			go func() {
				defer wg.Done()
				// The prompt is cached: only its last token is evaluated.
				results[i], failures[i] = s.GenerateWithPolicy(ctx, prompts[i%len(prompts)], p, noEnd{m}, nil)
			}()
		}
		wg.Wait()
		wall += time.Since(start).Seconds()
		lo, hi := 0.0, 0.0
		for i, r := range results {
			require.NoError(b, failures[i])
			tokens += len(r.Tokens)
			rate := float64(len(r.Tokens)) / (r.PromptMs + r.DecodeMs)
			if i == 0 || rate < lo {
				lo = rate
			}
			hi = max(hi, rate)
		}
		fairness = min(fairness, lo/hi)
	}
	b.ReportMetric(float64(tokens)/wall, "tokens/s")
	b.ReportMetric(float64(tokens)/wall/float64(n), "tokens/s/stream")
	b.ReportMetric(fairness, "slowest/fastest")
}

// BenchmarkBatchTTFT measures the time to first token of a new request (a
// 60-token prompt, on a fresh session) alone and while 8 greedy streams
// decode on the same model, and the mean batch step of that load.
//
//	go test -run '^$' -bench BatchTTFT -benchtime 3x ./engine/
func BenchmarkBatchTTFT(b *testing.B) {
	m := real(b)
	prompts := benchPrompts(b, m)
	var newPrompt []int32
	for _, ids := range prompts {
		newPrompt = append(newPrompt, ids...)
	}
	newPrompt = newPrompt[:min(len(newPrompt), 60)]
	p := greedy(1)

	ttft := func() float64 {
		s, err := m.NewSession()
		require.NoError(b, err)
		defer s.Close()
		start := time.Now()
		var first time.Duration
		_, err = s.Generate(ctx, newPrompt, p, func(Token) error {
			if first == 0 {
				first = time.Since(start)
			}
			return nil
		})
		require.NoError(b, err)
		return float64(first.Microseconds()) / 1000
	}

	var alone, loaded, stepMs float64
	b.ResetTimer()
	for range b.N {
		alone += ttft()

		// 8 streams decoding until cancelled.
		c, cancel := context.WithCancel(ctx)
		var wg sync.WaitGroup
		var mu sync.Mutex
		decoded := 0
		started := make(chan struct{}, 8)
		for i := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s, err := m.NewSession()
				if err != nil {
					return
				}
				defer s.Close()
				lp := greedy(0)
				lp.Stop = nil
				n := 0
				_, _ = s.GenerateWithPolicy(c, prompts[i], lp, noEnd{m}, func(Token) error {
					if n++; n == 1 {
						started <- struct{}{}
					}
					mu.Lock()
					decoded++
					mu.Unlock()
					return nil
				})
			}()
		}
		for range 8 {
			<-started
		}
		mu.Lock()
		d0 := decoded
		mu.Unlock()
		t0 := time.Now()
		loaded += ttft()
		time.Sleep(300 * time.Millisecond)
		mu.Lock()
		d1 := decoded
		mu.Unlock()
		// Steps of the load: decoded tokens per stream over the window.
		stepMs += float64(time.Since(t0).Milliseconds()) / (float64(d1-d0) / 8)
		cancel()
		wg.Wait()
	}
	n := float64(b.N)
	b.ReportMetric(alone/n, "ttft-alone-ms")
	b.ReportMetric(loaded/n, "ttft-loaded-ms")
	b.ReportMetric(stepMs/n, "load-step-ms")
	b.ReportMetric(loaded/alone, "loaded/alone")
}

// BenchmarkCancelDuringPrompt measures cancellation inside a forward pass
// on SmolLM2: a 1000-token prompt (a first chunk of 512 tokens) is
// cancelled 100 ms into its evaluation. It reports how long Generate takes
// to return after the cancel, and how long until the session is usable
// again (the engine has stopped the chunk, between two layers).
//
//	go test -run '^$' -bench CancelDuringPrompt -benchtime 3x ./engine/
func BenchmarkCancelDuringPrompt(b *testing.B) {
	m := real(b)
	long := make([]int32, 1000)
	for i := range long {
		long[i] = int32(1000 + 37*i)
	}
	s, err := m.NewSession()
	require.NoError(b, err)
	defer s.Close()
	var returned, usable float64
	b.ResetTimer()
	for range b.N {
		c, cancel := context.WithCancel(ctx)
		var at time.Time
		timer := time.AfterFunc(100*time.Millisecond, func() {
			at = time.Now()
			cancel()
		})
		r, err := s.Generate(c, long, greedy(1), nil)
		back := time.Now()
		require.NoError(b, err)
		require.Equal(b, FinishCancelled, r.FinishReason)
		_, err = s.Evaluate(ctx, long[:1]) // waits for the abandoned step
		require.NoError(b, err)
		done := time.Now()
		timer.Stop()
		returned += float64(back.Sub(at).Microseconds()) / 1000
		usable += float64(done.Sub(at).Microseconds()) / 1000
	}
	b.ReportMetric(returned/float64(b.N), "return-ms")
	b.ReportMetric(usable/float64(b.N), "usable-ms")
}
