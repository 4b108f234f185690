package sandbox

import (
	"context"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/realm-ai/realm/engine/sample"
)

// benchCandidates returns the host stage's candidates for p over a
// SmolLM2-sized vocabulary of random logits, and the logits.
func benchCandidates(b *testing.B, p sample.Params) ([]sample.Candidate, []float32) {
	r := rand.New(rand.NewPCG(1, 2))
	logits := make([]float32, 49152)
	for i := range logits {
		logits[i] = float32(r.NormFloat64() * 3)
	}
	s, err := sample.New(p)
	if err != nil {
		b.Fatal(err)
	}
	return append([]sample.Candidate(nil), s.Candidates(logits, nil)...), logits
}

var benchParams = map[string]sample.Params{
	"topk40":   sample.DefaultParams(),
	"topk0":    {Temperature: 0.8, TopK: 0, TopP: 0.95, MinP: 0.05, RepeatPenalty: 1},
	"greedy":   {Temperature: 0, TopK: 40, TopP: 1, RepeatPenalty: 1},
	"topk40p1": {Temperature: 0.8, TopK: 40, TopP: 1, MinP: 0, RepeatPenalty: 1},
}

// BenchmarkStep is the per-token cost of the decision stage: the default
// guest in the sandbox against the same policy natively (sample.Chain),
// over the same candidates. Their difference is the sandbox's per-token
// overhead (compare with a decode step of ~5-10 ms).
func BenchmarkStep(b *testing.B) {
	for _, name := range []string{"topk40", "topk0", "greedy", "topk40p1"} {
		p := benchParams[name]
		cands, logits := benchCandidates(b, p)
		b.Run(name+"/native", func(b *testing.B) {
			c := sample.NewChain(p)
			for b.Loop() {
				if _, err := c.Choose(cands); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(name+"/sandbox", func(b *testing.B) {
			h := newTestHost(b, Config{})
			in := defaultInstance(b, h, newFakeVocab(49152))
			if err := in.Begin(context.Background(), p, []int32{1, 2, 3}); err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if _, _, err := in.Step(cands, logits); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkHostStage is the native work that stays outside the sandbox
// each token (repetition penalty and candidate extraction over 49,152
// logits), for scale.
func BenchmarkHostStage(b *testing.B) {
	p := sample.DefaultParams()
	p.RepeatPenalty = 1.1
	_, logits := benchCandidates(b, p)
	s, _ := sample.New(p)
	history := make([]int32, 64)
	for i := range history {
		history[i] = int32(i * 700)
	}
	for b.Loop() {
		s.Candidates(logits, history)
	}
}

// BenchmarkBegin is the per-request cost: writing a 512-token prompt and
// calling realm_begin.
func BenchmarkBegin(b *testing.B) {
	h := newTestHost(b, Config{})
	in := defaultInstance(b, h, newFakeVocab(49152))
	prompt := make([]int32, 512)
	ctx := context.Background()
	p := sample.DefaultParams()
	for b.Loop() {
		if err := in.Begin(ctx, p, prompt); err != nil {
			b.Fatal(err)
		}
		in.End()
	}
}

// BenchmarkInstantiate is the cost of a new Realm's instance once the
// module is compiled.
func BenchmarkInstantiate(b *testing.B) {
	h := newTestHost(b, Config{})
	mod, err := h.DefaultModule()
	if err != nil {
		b.Fatal(err)
	}
	vocab := newFakeVocab(49152)
	ctx := context.Background()
	for b.Loop() {
		in, err := mod.Instantiate(ctx, vocab, nil)
		if err != nil {
			b.Fatal(err)
		}
		in.Close()
	}
}

// BenchmarkCompile is the one-time cost of compiling the default guest
// (a fresh host each time, so the cache does not answer).
func BenchmarkCompile(b *testing.B) {
	ctx := context.Background()
	for b.Loop() {
		h := NewHost(Config{})
		if _, err := h.DefaultModule(); err != nil {
			b.Fatal(err)
		}
		h.Close(ctx)
	}
}

// BenchmarkIdleMemory measures what 1000 idle instances of the default
// guest (each after one request) hold: Go heap in total (wazero's
// structures and the guests' linear memories, which live in the Go heap)
// and linear memory alone, per instance.
func BenchmarkIdleMemory(b *testing.B) {
	const n = 1000
	ctx := context.Background()
	vocab := newFakeVocab(49152)
	cands, logits := benchCandidates(b, sample.DefaultParams())
	for b.Loop() {
		h := NewHost(Config{})
		mod, err := h.DefaultModule()
		if err != nil {
			b.Fatal(err)
		}
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		insts := make([]*Instance, n)
		for i := range insts {
			if insts[i], err = mod.Instantiate(ctx, vocab, nil); err != nil {
				b.Fatal(err)
			}
			if err := insts[i].Begin(ctx, sample.DefaultParams(), []int32{1, 2, 3}); err != nil {
				b.Fatal(err)
			}
			if _, _, err := insts[i].Step(cands, logits); err != nil {
				b.Fatal(err)
			}
			insts[i].End()
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		var wasmBytes uint64
		for _, in := range insts {
			wasmBytes += uint64(in.wasm.Memory().Size())
		}
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/n, "heap-B/instance")
		b.ReportMetric(float64(wasmBytes)/n, "wasm-B/instance")
		for _, in := range insts {
			in.Close()
		}
		h.Close(ctx)
	}
}
