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

func defaultTiny(typ tensor.Type) *testmodel.Llama { return testmodel.NewLlama(typ) }

// load builds and loads m, with extra applied to the image.
func load(t testing.TB, m *testmodel.Llama, extra func(b *gguf.Builder)) Model {
	t.Helper()
	net, err := tryLoad(t, m, extra)
	require.NoError(t, err)
	return net
}

func tryLoad(t testing.TB, m *testmodel.Llama, extra func(b *gguf.Builder)) (Model, error) {
	t.Helper()
	m.Extra = extra
	img, err := m.Build()
	require.NoError(t, err)
	f, err := gguf.FromBytes("tiny.gguf", img)
	require.NoError(t, err)
	t.Cleanup(func() { f.Close() })
	return Load(f)
}

// reference is a plain float64 llama forward pass, one token at a time,
// written from the paper's equations. It rounds K, V, the query and the
// attention weights to f16 where ggml does (roundF16 = true), so that F32
// models can be compared tightly.
type reference struct {
	m        *testmodel.Llama
	roundF16 bool
	k, v     [][][]float64 // [layer][pos][kvDim]
}

func f16(x float64) float64 {
	return float64(tensor.FP16ToFP32(tensor.FP32ToFP16(float32(x))))
}

// matvec multiplies the named weight matrix by x. Like ggml it first
// rounds x to the precision of the weight type's activation format: f16
// for F16 weights, 8-bit blocks for the 4/5/8-bit types (Q8_1 holds the
// same values as Q8_0).
func (rf *reference) matvec(name string, x []float64, rows int) []float64 {
	w := rf.m.Weights[name]
	cols := len(x)
	switch rf.m.Type {
	case tensor.F16:
		x = roundedTo(tensor.F16, x)
	case tensor.Q8_0, tensor.Q4_0, tensor.Q5_0:
		x = roundedTo(tensor.Q8_0, x)
	case tensor.Q4_1, tensor.Q5_1:
		return rf.matvecQ8_1(name, x, rows)
	}
	out := make([]float64, rows)
	for r := range out {
		var s float64
		for c := 0; c < cols; c++ {
			s += float64(w[r*cols+c]) * x[c]
		}
		out[r] = s
	}
	return out
}

// matvecQ8_1 is matvec for weights with a block minimum m (Q4_1, Q5_1),
// whose dot with a Q8_1 activation block is sum((w-m)*d*q) + m*s where s is
// f16(amax/127 * sum(q)) rather than d*sum(q).
func (rf *reference) matvecQ8_1(name string, x []float64, rows int) []float64 {
	w, raw := rf.m.Weights[name], rf.m.Raw[name]
	cols := len(x)
	const qk = 32
	bs := rf.m.Type.BlockSize()
	nb := cols / qk
	xq := make([]float64, cols)
	s := make([]float64, nb)
	for b := 0; b < nb; b++ {
		var amax float64
		for _, v := range x[b*qk : (b+1)*qk] {
			amax = max(amax, math.Abs(float64(float32(v))))
		}
		dv := float32(amax) / 127
		d := float64(tensor.FP16ToFP32(tensor.FP32ToFP16(dv)))
		var id float32
		if amax != 0 {
			id = 127 / float32(amax)
		}
		sum := 0
		for j := b * qk; j < (b+1)*qk; j++ {
			q := math.RoundToEven(float64(float32(x[j]) * id))
			sum += int(q)
			xq[j] = d * q
		}
		s[b] = float64(tensor.FP16ToFP32(tensor.FP32ToFP16(dv * float32(sum))))
	}
	out := make([]float64, rows)
	for r := range out {
		var total float64
		for b := 0; b < nb; b++ {
			blk := raw[(r*nb+b)*bs:]
			m := float64(tensor.FP16ToFP32(uint16(blk[2]) | uint16(blk[3])<<8))
			for j := b * qk; j < (b+1)*qk; j++ {
				total += (float64(w[r*cols+j]) - m) * xq[j]
			}
			total += m * s[b]
		}
		out[r] = total
	}
	return out
}

// roundedTo returns x after a round trip through type typ.
func roundedTo(typ tensor.Type, x []float64) []float64 {
	v := make([]float32, len(x))
	for i := range x {
		v[i] = float32(x[i])
	}
	data, err := tensor.Quantize(typ, v)
	if err != nil {
		panic(err)
	}
	if err := tensor.Dequantize(typ, data, v); err != nil {
		panic(err)
	}
	out := make([]float64, len(x))
	for i := range v {
		out[i] = float64(v[i])
	}
	return out
}

func (rf *reference) rmsnorm(x []float64, name string) []float64 {
	w := rf.m.Weights[name]
	var ss float64
	for _, v := range x {
		ss += v * v
	}
	s := 1 / math.Sqrt(ss/float64(len(x))+1e-5)
	out := make([]float64, len(x))
	for i := range x {
		out[i] = x[i] * s * float64(w[i])
	}
	return out
}

func (rf *reference) rope(x []float64, pos int) {
	m := rf.m
	hd := m.HeadDim()
	scale := 1.0
	if m.RopeLinear != 0 {
		scale = 1 / float64(m.RopeLinear)
	}
	for h := 0; h < len(x)/hd; h++ {
		for i := 0; i < hd; i += 2 {
			freq := math.Pow(float64(m.RopeBase), -float64(i)/float64(hd))
			if m.RopeFreqs != nil {
				freq /= float64(m.RopeFreqs[i/2])
			}
			a := float64(pos) * freq * scale
			x0, x1 := x[h*hd+i], x[h*hd+i+1]
			x[h*hd+i] = x0*math.Cos(a) - x1*math.Sin(a)
			x[h*hd+i+1] = x0*math.Sin(a) + x1*math.Cos(a)
		}
	}
}

// step evaluates one token at the next position and returns its logits.
func (rf *reference) step(token int32) []float64 {
	m := rf.m
	hd := m.HeadDim()
	if rf.k == nil {
		rf.k = make([][][]float64, m.Layers)
		rf.v = make([][][]float64, m.Layers)
	}
	pos := len(rf.k[0])
	x := make([]float64, m.Embd)
	for i := range x {
		x[i] = float64(m.Weights["token_embd.weight"][int(token)*m.Embd+i])
	}
	round := func(v []float64) {
		if rf.roundF16 {
			for i := range v {
				v[i] = f16(v[i])
			}
		}
	}
	for l := 0; l < m.Layers; l++ {
		p := fmt.Sprintf("blk.%d.", l)
		xb := rf.rmsnorm(x, p+"attn_norm.weight")
		q := rf.matvec(p+"attn_q.weight", xb, m.Heads*hd)
		k := rf.matvec(p+"attn_k.weight", xb, m.KVHeads*hd)
		v := rf.matvec(p+"attn_v.weight", xb, m.KVHeads*hd)
		rf.rope(q, pos)
		rf.rope(k, pos)
		round(k)
		round(v)
		rf.k[l] = append(rf.k[l], k)
		rf.v[l] = append(rf.v[l], v)
		att := make([]float64, m.Heads*hd)
		for h := 0; h < m.Heads; h++ {
			kvh := h / (m.Heads / m.KVHeads)
			qh := append([]float64(nil), q[h*hd:(h+1)*hd]...)
			round(qh)
			scores := make([]float64, pos+1)
			maxS := math.Inf(-1)
			for t := 0; t <= pos; t++ {
				var s float64
				for d := 0; d < hd; d++ {
					s += qh[d] * rf.k[l][t][kvh*hd+d]
				}
				scores[t] = s / math.Sqrt(float64(hd))
				maxS = max(maxS, scores[t])
			}
			var sum float64
			for t := range scores {
				scores[t] = math.Exp(scores[t] - maxS)
				sum += scores[t]
			}
			for t := range scores {
				scores[t] /= sum
			}
			round(scores)
			for t := 0; t <= pos; t++ {
				for d := 0; d < hd; d++ {
					att[h*hd+d] += scores[t] * rf.v[l][t][kvh*hd+d]
				}
			}
		}
		o := rf.matvec(p+"attn_output.weight", att, m.Embd)
		for i := range x {
			x[i] += o[i]
		}
		xb = rf.rmsnorm(x, p+"ffn_norm.weight")
		g := rf.matvec(p+"ffn_gate.weight", xb, m.FF)
		u := rf.matvec(p+"ffn_up.weight", xb, m.FF)
		for i := range g {
			g[i] = g[i] / (1 + math.Exp(-g[i])) * u[i]
		}
		d := rf.matvec(p+"ffn_down.weight", g, m.Embd)
		for i := range x {
			x[i] += d[i]
		}
	}
	xb := rf.rmsnorm(x, "output_norm.weight")
	out := "output.weight"
	if m.Tied {
		out = "token_embd.weight"
	}
	return rf.matvec(out, xb, m.Vocab())
}

func randomTokens(r *rand.Rand, n, vocab int) []int32 {
	ts := make([]int32, n)
	for i := range ts {
		ts[i] = int32(r.IntN(vocab))
	}
	return ts
}

// compare checks our logits against the reference's: the largest absolute
// difference relative to the largest reference logit, and the cosine.
func compare(t *testing.T, got []float32, want []float64, relTol float64, what string) {
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
	cos := dot / math.Sqrt(ng*nw)
	require.Greater(t, cos, 0.999, "%s: cosine", what)
	require.Less(t, maxDiff/maxAbs, relTol, "%s: max abs diff %g of %g", what, maxDiff, maxAbs)
}

func TestLlamaMatchesReference(t *testing.T) {
	// Rounding to f16 amplifies float32-level differences into single f16
	// ulps (5e-4 relative) here and there, and with quantized weights a
	// changed activation quant adds a step of 1/127 of its block: the
	// bound is 3e-3 of the largest logit (3e-2 for the 4/5-bit types, whose
	// tiny random models are the most sensitive); a wrong formula gives
	// errors of order 1 and a cosine far below 0.999.
	cases := []struct {
		name   string
		tiny   *testmodel.Llama
		relTol float64
	}{
		{"F32", defaultTiny(tensor.F32), 3e-3},
		{"F32 tied", func() *testmodel.Llama { m := defaultTiny(tensor.F32); m.Tied = true; return m }(), 3e-3},
		{"F32 rope scaling+freqs", func() *testmodel.Llama {
			m := defaultTiny(tensor.F32)
			m.RopeLinear, m.RopeBase = 2, 500000
			m.RopeFreqs = make([]float32, m.HeadDim()/2)
			for i := range m.RopeFreqs {
				m.RopeFreqs[i] = 1 + float32(i)/4
			}
			return m
		}(), 3e-3},
		{"F32 MHA", func() *testmodel.Llama { m := defaultTiny(tensor.F32); m.KVHeads = m.Heads; return m }(), 3e-3},
		{"F16", defaultTiny(tensor.F16), 3e-3},
		{"Q8_0", defaultTiny(tensor.Q8_0), 3e-3},
		{"Q4_0", defaultTiny(tensor.Q4_0), 3e-2},
		{"Q4_1", defaultTiny(tensor.Q4_1), 3e-2},
		{"Q5_1", defaultTiny(tensor.Q5_1), 3e-2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			net := load(t, tc.tiny, nil)
			tokens := randomTokens(rand.New(rand.NewPCG(7, 7)), 20, tc.tiny.Vocab())
			cache := NewKVCache(net.Config(), tc.tiny.Context)
			batch := []SeqInput{{Cache: cache, Tokens: tokens, Logits: LogitsAll}}
			require.NoError(t, net.Forward(NewWorkspace(nil), batch))
			require.Equal(t, len(tokens), cache.Len())
			ref := &reference{m: tc.tiny, roundF16: true}
			v := tc.tiny.Vocab()
			for i, tok := range tokens {
				want := ref.step(tok)
				compare(t, batch[0].Out[i*v:(i+1)*v], want, tc.relTol, fmt.Sprintf("position %d", i))
			}
		})
	}
}

// Without the f16 roundings the reference still agrees closely: the
// roundings are small, as they should be.
func TestLlamaCloseToExactMath(t *testing.T) {
	tiny := defaultTiny(tensor.F32)
	net := load(t, tiny, nil)
	tokens := randomTokens(rand.New(rand.NewPCG(8, 8)), 16, tiny.Vocab())
	batch := []SeqInput{{Cache: NewKVCache(net.Config(), tiny.Context), Tokens: tokens, Logits: LogitsAll}}
	require.NoError(t, net.Forward(NewWorkspace(nil), batch))
	ref := &reference{m: tiny} // no f16 rounding at all
	for i, tok := range tokens {
		want := ref.step(tok)
		compare(t, batch[0].Out[i*tiny.Vocab():(i+1)*tiny.Vocab()], want, 3e-3, fmt.Sprintf("position %d", i))
	}
}

// Like llama.cpp, a batch of two or more tokens and a single token sum
// attention in different lane orders, so a prompt fed token by token gives
// logits close to, not equal to, the batched ones; any split of the prompt
// into chunks of at least two tokens gives exactly the batched logits.
func TestPromptChunking(t *testing.T) {
	for _, typ := range []tensor.Type{tensor.F32, tensor.Q8_0, tensor.Q4_1} {
		tiny := defaultTiny(typ)
		net := load(t, tiny, nil)
		tokens := randomTokens(rand.New(rand.NewPCG(9, 9)), 24, tiny.Vocab())
		v := tiny.Vocab()

		batched := []SeqInput{{Cache: NewKVCache(net.Config(), tiny.Context), Tokens: tokens, Logits: LogitsAll}}
		require.NoError(t, net.Forward(NewWorkspace(nil), batched))

		w := NewWorkspace(tensor.NewPool(2))
		chunked := NewKVCache(net.Config(), tiny.Context)
		for i := 0; i < len(tokens); {
			n := min(5, len(tokens)-i)
			if len(tokens)-i-n == 1 {
				n++ // never leave a single-token tail
			}
			step := []SeqInput{{Cache: chunked, Tokens: tokens[i : i+n], Logits: LogitsAll}}
			require.NoError(t, net.Forward(w, step))
			require.Equal(t, batched[0].Out[i*v:(i+n)*v], step[0].Out, "%s chunk at %d", typ, i)
			i += n
		}

		single := NewKVCache(net.Config(), tiny.Context)
		for i, tok := range tokens {
			step := []SeqInput{{Cache: single, Tokens: []int32{tok}, Logits: LogitsLast}}
			require.NoError(t, net.Forward(w, step))
			want := make([]float64, v)
			for j := range want {
				want[j] = float64(batched[0].Out[i*v+j])
			}
			compare(t, step[0].Out, want, 1e-3, fmt.Sprintf("%s token %d", typ, i))
		}
	}
}

// Several sequences in one batch give exactly what each gives alone.
func TestMultiSequenceBatch(t *testing.T) {
	tiny := defaultTiny(tensor.Q8_0)
	net := load(t, tiny, nil)
	r := rand.New(rand.NewPCG(10, 10))
	prefixB := randomTokens(r, 6, tiny.Vocab())
	prefixC := randomTokens(r, 9, tiny.Vocab())
	newA := randomTokens(r, 7, tiny.Vocab())
	newB := randomTokens(r, 3, tiny.Vocab())
	newC := randomTokens(r, 1, tiny.Vocab())

	prefill := func(prefix []int32) *KVCache {
		c := NewKVCache(net.Config(), tiny.Context)
		if len(prefix) > 0 {
			require.NoError(t, net.Forward(NewWorkspace(nil), []SeqInput{{Cache: c, Tokens: prefix}}))
		}
		return c
	}

	alone := func(prefix, tokens []int32, mode LogitsMode) []float32 {
		s := []SeqInput{{Cache: prefill(prefix), Tokens: tokens, Logits: mode}}
		require.NoError(t, net.Forward(NewWorkspace(nil), s))
		return append([]float32(nil), s[0].Out...)
	}
	wantA := alone(nil, newA, LogitsAll)
	wantB := alone(prefixB, newB, LogitsLast)
	wantC := alone(prefixC, newC, LogitsLast)

	batch := []SeqInput{
		{Cache: prefill(nil), Tokens: newA, Logits: LogitsAll},
		{Cache: prefill(prefixB), Tokens: newB, Logits: LogitsLast},
		{Cache: prefill(nil), Tokens: randomTokens(r, 4, tiny.Vocab()), Logits: LogitsNone},
		{Cache: prefill(prefixC), Tokens: newC, Logits: LogitsLast},
	}
	require.NoError(t, net.Forward(NewWorkspace(tensor.NewPool(2)), batch))
	require.Equal(t, wantA, batch[0].Out)
	require.Equal(t, wantB, batch[1].Out)
	require.Nil(t, batch[2].Out)
	require.Equal(t, wantC, batch[3].Out)
	require.Equal(t, len(prefixB)+len(newB), batch[1].Cache.Len())
}

func TestCacheTruncateReplays(t *testing.T) {
	tiny := defaultTiny(tensor.F32)
	net := load(t, tiny, nil)
	tokens := randomTokens(rand.New(rand.NewPCG(11, 11)), 10, tiny.Vocab())
	w := NewWorkspace(nil)
	cache := NewKVCache(net.Config(), tiny.Context)
	first := []SeqInput{{Cache: cache, Tokens: tokens, Logits: LogitsLast}}
	require.NoError(t, net.Forward(w, first))
	want := append([]float32(nil), first[0].Out...)

	cache.Truncate(4)
	require.Equal(t, 4, cache.Len())
	again := []SeqInput{{Cache: cache, Tokens: tokens[4:], Logits: LogitsLast}}
	require.NoError(t, net.Forward(w, again))
	require.Equal(t, want, again[0].Out)
	require.Greater(t, cache.Bytes(), 0)
}

func TestForwardErrors(t *testing.T) {
	tiny := defaultTiny(tensor.F32)
	tiny.Context = 8
	net := load(t, tiny, nil)
	w := NewWorkspace(nil)
	cache := NewKVCache(net.Config(), 8)

	err := net.Forward(w, []SeqInput{{Cache: cache, Tokens: make([]int32, 9)}})
	require.ErrorIs(t, err, errs.ErrContextLength)
	err = net.Forward(w, []SeqInput{{Cache: cache, Tokens: []int32{int32(tiny.Vocab())}}})
	require.ErrorIs(t, err, errs.ErrInvalidArgument)
	err = net.Forward(w, []SeqInput{{Cache: cache, Tokens: []int32{-1}}})
	require.ErrorIs(t, err, errs.ErrInvalidArgument)
	err = net.Forward(w, []SeqInput{{Cache: cache}})
	require.ErrorIs(t, err, errs.ErrInvalidArgument)
	err = net.Forward(w, nil)
	require.ErrorIs(t, err, errs.ErrInvalidArgument)
	err = net.Forward(w, []SeqInput{{Cache: cache, Tokens: []int32{1}}, {Cache: cache, Tokens: []int32{2}}})
	require.ErrorIs(t, err, errs.ErrInvalidArgument)
	other := defaultTiny(tensor.F32)
	other.Layers = 3
	err = net.Forward(w, []SeqInput{{Cache: NewKVCache(load(t, other, nil).Config(), 8), Tokens: []int32{1}}})
	require.ErrorIs(t, err, errs.ErrInvalidArgument)
	require.Equal(t, 0, cache.Len(), "failed forward passes leave the cache alone")

	require.NoError(t, net.Forward(w, []SeqInput{{Cache: cache, Tokens: make([]int32, 8)}}))
	err = net.Forward(w, []SeqInput{{Cache: cache, Tokens: []int32{1}}})
	require.ErrorIs(t, err, errs.ErrContextLength)
}

func TestLoadErrors(t *testing.T) {
	load := func(tiny *testmodel.Llama, extra func(b *gguf.Builder)) error {
		_, err := tryLoad(t, tiny, extra)
		return err
	}

	err := load(defaultTiny(tensor.F32), func(b *gguf.Builder) { b.Set("general.architecture", "mamba") })
	require.ErrorIs(t, err, errs.ErrUnsupportedModel)
	require.ErrorContains(t, err, "mamba")

	err = load(defaultTiny(tensor.F32), func(b *gguf.Builder) {
		b.AddTensor("blk.0.attn_q.bias", tensor.F32, []int64{64}, make([]byte, 256))
	})
	require.ErrorIs(t, err, errs.ErrUnsupportedModel)
	require.ErrorContains(t, err, "blk.0.attn_q.bias")

	err = load(defaultTiny(tensor.F32), func(b *gguf.Builder) { b.Set("llama.rope.scaling.type", "yarn") })
	require.ErrorIs(t, err, errs.ErrUnsupportedModel)

	err = load(defaultTiny(tensor.F32), func(b *gguf.Builder) { b.Set("llama.attention.head_count_kv", uint32(3)) })
	require.ErrorIs(t, err, errs.ErrInvalidModel)

	// Q2_K is a valid GGUF type Realm cannot compute with.
	tiny := defaultTiny(tensor.F32)
	tiny.FF = 256
	tiny.Types = map[string]tensor.Type{"blk.0.ffn_down.weight": tensor.Q2_K}
	err = load(tiny, nil)
	require.ErrorIs(t, err, errs.ErrUnsupportedModel)
	require.ErrorContains(t, err, "blk.0.ffn_down.weight")
	require.ErrorContains(t, err, "Q2_K")
}
