package model

import (
	"os"
	"testing"

	"github.com/realm-ai/realm/engine/gguf"
	"github.com/stretchr/testify/require"
)

// BenchmarkLoad measures building a model from its (cached) file: opening
// the mapping and Load, which packs the 32-element block matrices and
// releases the mapped pages they replace ("load"), and the same followed
// by the logits of a 5-token prompt on one thread ("first-token", what
// `python -m realm bench` reports as ttft, without the tokenizer).
// REALM_TEST_MODEL (SmolLM2 Q4_1) and REALM_TEST_GEMMA3 name the files; a
// missing one is skipped.
//
//	go test -run '^$' -bench Load -benchtime 5x ./engine/model/
func BenchmarkLoad(b *testing.B) {
	for _, env := range []string{"REALM_TEST_MODEL", "REALM_TEST_GEMMA3"} {
		for _, first := range []bool{false, true} {
			name := env + "/load"
			if first {
				name = env + "/first-token"
			}
			b.Run(name, func(b *testing.B) {
				path := os.Getenv(env)
				if path == "" {
					b.Skip(env + " not set")
				}
				for b.Loop() {
					f, err := gguf.Open(path)
					require.NoError(b, err)
					m, err := Load(f)
					require.NoError(b, err)
					if first {
						seq := []SeqInput{{
							Cache:  NewKVCache(m.Config(), 64),
							Tokens: []int32{1, 100, 200, 300, 400},
							Logits: LogitsLast,
						}}
						require.NoError(b, m.Forward(NewWorkspace(nil), seq))
						require.Len(b, seq[0].Out, m.Config().Vocab)
					}
					require.NoError(b, f.Close())
				}
			})
		}
	}
}

// BenchmarkPromptForward measures one forward pass over a 128-token prompt
// (logits of the last token only) on one thread, for each test model:
// mostly matrix products of 128 vectors.
//
//	go test -run '^$' -bench PromptForward -benchtime 5x ./engine/model/
func BenchmarkPromptForward(b *testing.B) {
	for _, env := range []string{"REALM_TEST_MODEL", "REALM_TEST_GEMMA3"} {
		b.Run(env, func(b *testing.B) {
			path := os.Getenv(env)
			if path == "" {
				b.Skip(env + " not set")
			}
			f, err := gguf.Open(path)
			require.NoError(b, err)
			defer f.Close()
			m, err := Load(f)
			require.NoError(b, err)
			ids := make([]int32, 128)
			for i := range ids {
				ids[i] = int32(1000 + 37*i)
			}
			w := NewWorkspace(nil)
			for b.Loop() {
				seq := []SeqInput{{Cache: NewKVCache(m.Config(), len(ids)), Tokens: ids, Logits: LogitsLast}}
				require.NoError(b, m.Forward(w, seq))
			}
			b.ReportMetric(float64(len(ids))*float64(b.N)/b.Elapsed().Seconds(), "tokens/s")
		})
	}
}
