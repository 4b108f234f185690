package model

import (
	"fmt"
	"math"

	"github.com/realm-ai/realm/engine/errs"
	"github.com/realm-ai/realm/engine/gguf"
	"github.com/realm-ai/realm/engine/tensor"
)

// llama is the Llama architecture (Llama 2/3, Mistral, TinyLlama, SmolLM2):
// pre-norm blocks of RMSNorm, grouped-query attention with RoPE on adjacent
// pairs, and a SwiGLU feed-forward network.
type llama struct {
	cfg     Config
	tokEmbd *tensor.Matrix // (vocab, n_embd)
	layers  []llamaLayer
	outNorm []float32      // (n_embd)
	output  *tensor.Matrix // (vocab, n_embd); token_embd when the file ties them
	rope    rope
}

type llamaLayer struct {
	attnNorm []float32      // (n_embd)
	wq       *tensor.Matrix // (n_head*head_dim, n_embd)
	wk       *tensor.Matrix // (n_head_kv*head_dim, n_embd)
	wv       *tensor.Matrix // (n_head_kv*head_dim, n_embd)
	wo       *tensor.Matrix // (n_embd, n_head*head_dim)
	ffnNorm  []float32      // (n_embd)
	gate     *tensor.Matrix // (n_ff, n_embd)
	up       *tensor.Matrix // (n_ff, n_embd)
	down     *tensor.Matrix // (n_embd, n_ff)
}

func loadLlama(f *gguf.File) (Model, error) {
	md := &meta{f: f, arch: "llama"}
	c := Config{Arch: "llama"}
	c.Layers = md.integer("block_count")
	c.Embd = md.integer("embedding_length")
	c.FF = md.integer("feed_forward_length")
	c.Heads = md.integer("attention.head_count")
	c.KVHeads = md.integerOr("attention.head_count_kv", c.Heads)
	c.TrainCtx = md.integer("context_length")
	c.RMSEps = md.float("attention.layer_norm_rms_epsilon")
	c.RopeBase = md.floatOr("rope.freq_base", 10000)
	c.RopeScale = md.ropeScale()
	md.check(c.Layers > 0 && c.Embd > 0 && c.FF > 0, "block_count, embedding_length and feed_forward_length must be positive")
	md.check(c.Heads > 0 && c.KVHeads > 0 && c.Heads%c.KVHeads == 0,
		"head_count %d is not a multiple of head_count_kv %d", c.Heads, c.KVHeads)
	if md.err == nil {
		c.HeadDim = md.integerOr("attention.key_length", c.Embd/c.Heads)
		md.check(md.integerOr("attention.value_length", c.HeadDim) == c.HeadDim, "value_length differs from key_length")
		c.RopeDim = md.integerOr("rope.dimension_count", c.HeadDim)
		md.check(c.HeadDim > 0 && c.RopeDim > 0 && c.RopeDim%2 == 0 && c.RopeDim <= c.HeadDim,
			"rope dimension count %d does not fit head dim %d", c.RopeDim, c.HeadDim)
	}
	if experts := md.integerOr("expert_count", 0); md.err == nil && experts > 0 {
		return nil, fmt.Errorf("%w: %s: llama with %d experts (mixture of experts)", errs.ErrUnsupportedModel, f.Path, experts)
	}
	if md.err != nil {
		return nil, md.err
	}

	w := newWeights(f, c.Arch)
	m := &llama{}
	if t, ok := f.Tensor("token_embd.weight"); ok && len(t.Dims) == 2 {
		c.Vocab = int(t.Dims[1])
	}
	m.tokEmbd = w.matrix("token_embd.weight", c.Vocab, c.Embd)
	qDim, kvDim := c.Heads*c.HeadDim, c.KVDim()
	m.layers = make([]llamaLayer, c.Layers)
	for i := range m.layers {
		p := fmt.Sprintf("blk.%d.", i)
		m.layers[i] = llamaLayer{
			attnNorm: w.vector(p+"attn_norm.weight", c.Embd),
			wq:       w.matrix(p+"attn_q.weight", qDim, c.Embd),
			wk:       w.matrix(p+"attn_k.weight", kvDim, c.Embd),
			wv:       w.matrix(p+"attn_v.weight", kvDim, c.Embd),
			wo:       w.matrix(p+"attn_output.weight", c.Embd, qDim),
			ffnNorm:  w.vector(p+"ffn_norm.weight", c.Embd),
			gate:     w.matrix(p+"ffn_gate.weight", c.FF, c.Embd),
			up:       w.matrix(p+"ffn_up.weight", c.FF, c.Embd),
			down:     w.matrix(p+"ffn_down.weight", c.Embd, c.FF),
		}
	}
	m.outNorm = w.vector("output_norm.weight", c.Embd)
	m.output = m.tokEmbd
	if w.has("output.weight") {
		m.output = w.matrix("output.weight", c.Vocab, c.Embd)
	}
	var factors []float32
	if w.has("rope_freqs.weight") {
		factors = w.vector("rope_freqs.weight", c.RopeDim/2)
	}
	if err := w.finish(); err != nil {
		return nil, err
	}
	c.Parameters = count(f)
	m.cfg = c
	m.rope = newRope(c.RopeDim, c.RopeBase, c.RopeScale, factors)
	return m, nil
}

// Config implements Model.
func (m *llama) Config() Config { return m.cfg }

// Forward implements Model.
func (m *llama) Forward(w *Workspace, batch []SeqInput) error {
	c := m.cfg
	rows, outRows, err := checkBatch(c, batch)
	if err != nil {
		return err
	}
	e, qDim, kvDim := c.Embd, c.Heads*c.HeadDim, c.KVDim()
	x := grow(&w.x, rows*e)
	xb := grow(&w.xb, rows*e)
	xb2 := grow(&w.xb2, rows*e)
	q := grow(&w.q, rows*qDim)
	k := grow(&w.k, rows*kvDim)
	v := grow(&w.v, rows*kvDim)
	att := grow(&w.att, rows*qDim)
	hb := grow(&w.hb, rows*c.FF)
	hb2 := grow(&w.hb2, rows*c.FF)

	scale := 1 / float32(math.Sqrt(float64(c.HeadDim)))
	embed(m.tokEmbd, batch, x, e)
	cs := ropeAngles(w, &m.rope, batch, rows)

	for l := range m.layers {
		layer := &m.layers[l]
		if err := cancelled(batch); err != nil {
			return err
		}

		// Attention: x += wo · attention(rope(wq·xb), rope(wk·xb), wv·xb)
		rmsNormRows(xb, x, layer.attnNorm, c.RMSEps, rows, e)
		layer.wq.Mul(w.pool, xb, rows, q)
		layer.wk.Mul(w.pool, xb, rows, k)
		layer.wv.Mul(w.pool, xb, rows, v)
		for r := 0; r < rows; r++ {
			rc := cs[r*m.rope.dims : (r+1)*m.rope.dims]
			m.rope.rotateAdjacent(q[r*qDim:(r+1)*qDim], c.HeadDim, rc)
			m.rope.rotateAdjacent(k[r*kvDim:(r+1)*kvDim], c.HeadDim, rc)
		}
		r := 0
		for _, s := range batch {
			n, start := len(s.Tokens), s.Cache.Len()
			s.Cache.store(l, start, k[r*kvDim:(r+n)*kvDim], v[r*kvDim:(r+n)*kvDim])
			attend(w, c, s.Cache, l, start, n, q[r*qDim:(r+n)*qDim], att[r*qDim:(r+n)*qDim], scale, 0)
			r += n
		}
		layer.wo.Mul(w.pool, att, rows, xb2)
		add(x, xb2)

		// Feed-forward: x += down · (silu(gate·xb) * up·xb)
		rmsNormRows(xb, x, layer.ffnNorm, c.RMSEps, rows, e)
		layer.gate.Mul(w.pool, xb, rows, hb)
		layer.up.Mul(w.pool, xb, rows, hb2)
		swiglu(hb, hb2)
		layer.down.Mul(w.pool, hb, rows, xb2)
		add(x, xb2)
	}

	outputLogits(w, c, batch, x, outRows, m.outNorm, m.output)
	commit(batch)
	return nil
}
