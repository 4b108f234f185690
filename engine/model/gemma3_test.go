package model

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/realm-ai/realm/engine/errs"
	"github.com/realm-ai/realm/engine/gguf"
	"github.com/realm-ai/realm/engine/model/testmodel"
	"github.com/realm-ai/realm/engine/tensor"
	"github.com/stretchr/testify/require"
)

// loadGemma builds and loads a tiny Gemma 3.
func loadGemma(t testing.TB, m *testmodel.Gemma3) *gemma3 {
	t.Helper()
	net, err := tryLoadGemma(t, m)
	require.NoError(t, err)
	return net.(*gemma3)
}

func tryLoadGemma(t testing.TB, m *testmodel.Gemma3) (Model, error) {
	t.Helper()
	img, err := m.Build()
	require.NoError(t, err)
	f, err := gguf.FromBytes("tiny-gemma3.gguf", img)
	require.NoError(t, err)
	t.Cleanup(func() { f.Close() })
	return Load(f)
}

// gemmaRef is a plain float64 Gemma 3 forward pass, one token at a time,
// written from the architecture's description (see gemma3.go). It rounds
// to f16 where ggml does: K and V in the cache, the query and the
// attention weights before their products, and GELU's input and output
// (ggml reads GELU from an f16 table).
type gemmaRef struct {
	m    *testmodel.Gemma3
	k, v [][][]float64 // [layer][pos][kvDim]
}

func gemmaF16(x float64) float64 {
	return float64(tensor.FP16ToFP32(tensor.FP32ToFP16(float32(x))))
}

func (rf *gemmaRef) matvec(name string, x []float64, rows int) []float64 {
	w := rf.m.Weights[name]
	out := make([]float64, rows)
	for r := range out {
		var s float64
		for c, xc := range x {
			s += float64(w[r*len(x)+c]) * xc
		}
		out[r] = s
	}
	return out
}

func (rf *gemmaRef) rmsnorm(x []float64, name string) []float64 {
	w := rf.m.Weights[name]
	var ss float64
	for _, v := range x {
		ss += v * v
	}
	s := 1 / math.Sqrt(ss/float64(len(x))+1e-6)
	out := make([]float64, len(x))
	for i := range x {
		out[i] = x[i] * s * float64(w[i])
	}
	return out
}

// sliding reports whether layer l uses the window (the default pattern:
// all but every sixth layer).
func (rf *gemmaRef) sliding(l int) bool {
	if rf.m.Window == 0 {
		return false
	}
	if p, ok := rf.m.Pattern.([]bool); ok {
		return p[l]
	}
	period := 6
	if p, ok := rf.m.Pattern.(int); ok {
		period = p
	}
	return period == 0 || l%period < period-1
}

// ropeNeox rotates pairs (i, i+d/2) of each head by pos·base^(-2i/d).
func (rf *gemmaRef) ropeNeox(x []float64, pos int, base float64) {
	hd := rf.m.HeadDim
	for h := 0; h+hd <= len(x); h += hd {
		for i := 0; i < hd/2; i++ {
			theta := float64(pos) * math.Pow(base, -2*float64(i)/float64(hd))
			c, s := math.Cos(theta), math.Sin(theta)
			x0, x1 := x[h+i], x[h+i+hd/2]
			x[h+i] = x0*c - x1*s
			x[h+i+hd/2] = x0*s + x1*c
		}
	}
}

func gemmaGELU(x float64) float64 {
	if x <= -10 {
		return 0
	}
	if x >= 10 {
		return x
	}
	x = gemmaF16(x)
	return gemmaF16(0.5 * x * (1 + math.Tanh(math.Sqrt(2/math.Pi)*x*(1+0.044715*x*x))))
}

func (rf *gemmaRef) step(token int32) []float64 {
	m := rf.m
	if rf.k == nil {
		rf.k = make([][][]float64, m.Layers)
		rf.v = make([][][]float64, m.Layers)
	}
	pos := len(rf.k[0])
	e, hd := m.Embd, m.HeadDim
	x := make([]float64, e)
	emb := m.Weights["token_embd.weight"]
	for i := range x {
		x[i] = float64(emb[int(token)*e+i]) * math.Sqrt(float64(e))
	}
	for l := 0; l < m.Layers; l++ {
		p := fmt.Sprintf("blk.%d.", l)
		h := rf.rmsnorm(x, p+"attn_norm.weight")
		q := rf.matvec(p+"attn_q.weight", h, m.Heads*hd)
		k := rf.matvec(p+"attn_k.weight", h, m.KVHeads*hd)
		v := rf.matvec(p+"attn_v.weight", h, m.KVHeads*hd)
		for i := 0; i < m.Heads; i++ {
			copy(q[i*hd:], rf.rmsnorm(q[i*hd:(i+1)*hd], p+"attn_q_norm.weight"))
		}
		for i := 0; i < m.KVHeads; i++ {
			copy(k[i*hd:], rf.rmsnorm(k[i*hd:(i+1)*hd], p+"attn_k_norm.weight"))
		}
		base, first := float64(m.RopeBase), 0
		if rf.sliding(l) {
			base, first = 10000, max(0, pos+1-m.Window)
			if m.RopeBaseSWA != 0 {
				base = float64(m.RopeBaseSWA)
			}
		}
		rf.ropeNeox(q, pos, base)
		rf.ropeNeox(k, pos, base)
		for i := range k {
			k[i], v[i] = gemmaF16(k[i]), gemmaF16(v[i])
		}
		rf.k[l] = append(rf.k[l], k)
		rf.v[l] = append(rf.v[l], v)

		att := make([]float64, m.Heads*hd)
		group := m.Heads / m.KVHeads
		for i := 0; i < m.Heads; i++ {
			qh := make([]float64, hd)
			for j := range qh {
				qh[j] = gemmaF16(q[i*hd+j] / math.Sqrt(float64(hd)))
			}
			off := (i / group) * hd
			w := make([]float64, pos+1-first)
			best := math.Inf(-1)
			for t := range w {
				var s float64
				for j := range qh {
					s += qh[j] * rf.k[l][first+t][off+j]
				}
				w[t] = s
				best = max(best, s)
			}
			var sum float64
			for t := range w {
				w[t] = math.Exp(w[t] - best)
				sum += w[t]
			}
			for t := range w {
				pw := gemmaF16(w[t] / sum)
				for j := 0; j < hd; j++ {
					att[i*hd+j] += pw * rf.v[l][first+t][off+j]
				}
			}
		}
		o := rf.rmsnorm(rf.matvec(p+"attn_output.weight", att, e), p+"post_attention_norm.weight")
		for i := range x {
			x[i] += o[i]
		}
		h = rf.rmsnorm(x, p+"ffn_norm.weight")
		g := rf.matvec(p+"ffn_gate.weight", h, m.FF)
		u := rf.matvec(p+"ffn_up.weight", h, m.FF)
		for i := range g {
			g[i] = gemmaGELU(g[i]) * u[i]
		}
		d := rf.rmsnorm(rf.matvec(p+"ffn_down.weight", g, e), p+"post_ffw_norm.weight")
		for i := range x {
			x[i] += d[i]
		}
	}
	out := "token_embd.weight"
	if m.Untied {
		out = "output.weight"
	}
	logits := rf.matvec(out, rf.rmsnorm(x, "output_norm.weight"), m.Vocab())
	if m.Softcap > 0 && m.Window == 0 {
		for i, z := range logits {
			logits[i] = math.Tanh(z/float64(m.Softcap)) * float64(m.Softcap)
		}
	}
	return logits
}

// gemmaCompare checks logits against the reference: cosine and the largest
// difference relative to the largest reference logit.
func gemmaCompare(t *testing.T, got []float32, want []float64, relTol float64, what string) {
	t.Helper()
	var dot, ng, nw, maxDiff, maxAbs float64
	for i := range want {
		g := float64(got[i])
		dot += g * want[i]
		ng += g * g
		nw += want[i] * want[i]
		maxDiff = max(maxDiff, math.Abs(g-want[i]))
		maxAbs = max(maxAbs, math.Abs(want[i]))
	}
	require.Greater(t, dot/math.Sqrt(ng*nw), 0.999, "%s: cosine", what)
	require.Less(t, maxDiff/maxAbs, relTol, "%s: max abs diff %g of %g", what, maxDiff, maxAbs)
}

func gemmaTokens(seed uint64, n, vocab int) []int32 {
	r := rand.New(rand.NewPCG(seed, seed))
	ts := make([]int32, n)
	for i := range ts {
		ts[i] = int32(r.IntN(vocab))
	}
	return ts
}

func TestGemma3MatchesReference(t *testing.T) {
	cases := []struct {
		name string
		tiny func() *testmodel.Gemma3
	}{
		{"window 4, default pattern", func() *testmodel.Gemma3 { return testmodel.NewGemma3(tensor.F32) }},
		{"period 2, local base", func() *testmodel.Gemma3 {
			m := testmodel.NewGemma3(tensor.F32)
			m.Pattern, m.RopeBaseSWA, m.Layers = 2, 5000, 4
			return m
		}},
		{"flags, untied, MHA", func() *testmodel.Gemma3 {
			m := testmodel.NewGemma3(tensor.F32)
			m.Pattern, m.Untied, m.KVHeads = []bool{false, true, true}, true, 4
			return m
		}},
		{"no window, soft-capped", func() *testmodel.Gemma3 {
			m := testmodel.NewGemma3(tensor.F32)
			m.Window, m.Softcap = 0, 5
			return m
		}},
		{"F16 weights", func() *testmodel.Gemma3 { return testmodel.NewGemma3(tensor.F16) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tiny := tc.tiny()
			net := loadGemma(t, tiny)
			tokens := gemmaTokens(3, 16, tiny.Vocab())
			batch := []SeqInput{{Cache: NewKVCache(net.Config(), tiny.Context), Tokens: tokens, Logits: LogitsAll}}
			require.NoError(t, net.Forward(NewWorkspace(nil), batch))
			ref := &gemmaRef{m: tiny}
			v := tiny.Vocab()
			for i, tok := range tokens {
				// f16 roundings turn float32-level differences into
				// single f16 ulps here and there: 3e-3 of the largest
				// logit; a wrong formula is off by order 1.
				gemmaCompare(t, batch[0].Out[i*v:(i+1)*v], ref.step(tok), 3e-3, fmt.Sprintf("position %d", i))
			}
		})
	}
}

// Tokens older than the window reach a sliding layer's output not at all:
// with one layer, which slides, the last position's logits do not depend
// on the first tokens; with a global layer they do.
func TestGemma3SlidingWindow(t *testing.T) {
	run := func(tiny *testmodel.Gemma3, tokens []int32) []float32 {
		net := loadGemma(t, tiny)
		batch := []SeqInput{{Cache: NewKVCache(net.Config(), tiny.Context), Tokens: tokens, Logits: LogitsLast}}
		require.NoError(t, net.Forward(NewWorkspace(nil), batch))
		return append([]float32(nil), batch[0].Out...)
	}
	a := gemmaTokens(4, 10, 50)
	b := append([]int32{a[0] + 1, a[1] + 1}, a[2:]...)

	sliding := testmodel.NewGemma3(tensor.F32)
	sliding.Layers = 1
	require.True(t, loadGemma(t, sliding).layers[0].sliding)
	require.Equal(t, run(sliding, a), run(sliding, b), "tokens 0 and 1 lie outside the window of 4")
	b8 := append([]int32(nil), a...)
	b8[7]++
	require.NotEqual(t, run(sliding, a), run(sliding, b8), "token 7 lies inside it")

	global := testmodel.NewGemma3(tensor.F32)
	global.Layers, global.Pattern = 1, 1
	require.False(t, loadGemma(t, global).layers[0].sliding)
	require.NotEqual(t, run(global, a), run(global, b))
}

func TestGemma3Pattern(t *testing.T) {
	layers := func(m *testmodel.Gemma3) []bool {
		var s []bool
		for _, l := range loadGemma(t, m).layers {
			s = append(s, l.sliding)
		}
		return s
	}
	m := testmodel.NewGemma3(tensor.F32)
	m.Layers = 13
	require.Equal(t, []bool{true, true, true, true, true, false, true, true, true, true, true, false, true}, layers(m))
	m.Layers, m.Pattern = 4, 0
	require.Equal(t, []bool{true, true, true, true}, layers(m), "period 0: every layer slides")
	m.Pattern = 3
	require.Equal(t, []bool{true, true, false, true}, layers(m))
	m.Pattern = []bool{false, true, false, true}
	require.Equal(t, []bool{false, true, false, true}, layers(m))
	m.Window = 0
	require.Equal(t, []bool{false, false, false, false}, layers(m), "no window: every layer is global")

	g := loadGemma(t, testmodel.NewGemma3(tensor.F32))
	require.Equal(t, float32(1/math.Sqrt(32)), g.qScale, "1/sqrt(key_length), not 1/sqrt(n_embd/n_head)")
	require.Equal(t, float32(0), g.softcap, "soft-capping only without a window")
}

func TestGemma3LoadErrors(t *testing.T) {
	m := testmodel.NewGemma3(tensor.F32)
	m.Pattern = []bool{true, false}
	_, err := tryLoadGemma(t, m)
	require.ErrorIs(t, err, errs.ErrInvalidModel)

	m = testmodel.NewGemma3(tensor.F32)
	m.Pattern = "six"
	_, err = m.Build()
	require.Error(t, err)

	m = testmodel.NewGemma3(tensor.F32)
	m.Extra = func(b *gguf.Builder) { b.Set("gemma3.attention.sliding_window_pattern", "6") }
	_, err = tryLoadGemma(t, m)
	require.ErrorIs(t, err, errs.ErrInvalidModel)

	m = testmodel.NewGemma3(tensor.F32)
	m.Extra = func(b *gguf.Builder) { b.Set("gemma3.final_logit_softcapping", float32(-1)) }
	_, err = tryLoadGemma(t, m)
	require.ErrorIs(t, err, errs.ErrInvalidModel)

	m = testmodel.NewGemma3(tensor.F32)
	m.Extra = func(b *gguf.Builder) { b.Set("gemma3.attention.value_length", uint32(16)) }
	_, err = tryLoadGemma(t, m)
	require.ErrorIs(t, err, errs.ErrInvalidModel)

	m = testmodel.NewGemma3(tensor.F32)
	m.Extra = func(b *gguf.Builder) {
		b.AddTensor("blk.0.attn_q_norm.bias", tensor.F32, []int64{32}, make([]byte, 4*32))
	}
	_, err = tryLoadGemma(t, m)
	require.ErrorIs(t, err, errs.ErrUnsupportedModel, "a tensor gemma3 does not use")
}

// geglu reads GELU from a table equal to ggml's ggml_table_gelu_f16; these
// entries were read from the reference build's table (-1.9990234 is the
// entry that needs ggml_gelu_f32's fused multiply-add).
func TestGeglu(t *testing.T) {
	for _, c := range []struct{ x, want uint16 }{
		{0xbfff, 0xa9d3}, {0xb800, 0xb0f0}, {0x3800, 0x3588}, {0x3c00, 0x3abb},
		{0x4200, 0x41fe}, {0xc200, 0x9b73}, {0x068e, 0x0347},
	} {
		require.Equal(t, c.want, tensor.FP32ToFP16(geluTable()[c.x]), "gelu(%v)", tensor.FP16ToFP32(c.x))
	}
	gate := []float32{-12, -1.99918, 0.5, 10, 25}
	up := []float32{3, 2, 2, 0.5, -1}
	geglu(gate, up)
	require.Equal(t, []float32{0, 2 * tensor.FP16ToFP32(0xa9d3), 2 * tensor.FP16ToFP32(0x3588), 5, -25}, gate)
}
