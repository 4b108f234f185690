package model

import (
	"fmt"
	"math"

	"github.com/realm-ai/realm/engine/gguf"
	"github.com/realm-ai/realm/engine/tensor"
)

// gemma3 is Google's Gemma 3 text architecture as llama.cpp runs it
// (src/models/gemma3.cpp):
//
//   - the token embedding is scaled by sqrt(n_embd);
//   - every block normalises before and after both attention and the
//     feed-forward network (attn_norm, post_attention_norm, ffn_norm,
//     post_ffw_norm), all plain RMSNorm: the converter already stored
//     Gemma's (1 + weight) as the weight;
//   - queries and keys get their own per-head RMSNorm (attn_q_norm,
//     attn_k_norm) before NEOX-style RoPE, and the query is then scaled by
//     1/sqrt(head_dim) (1/sqrt(n_embd/n_head) for the 62-layer 27B, as
//     llama.cpp decides by layer count);
//   - most layers attend to a sliding window with RoPE base 10000, every
//     sixth layer attends globally with gemma3.rope.freq_base;
//   - the feed-forward network is GeGLU with ggml's tanh GELU;
//   - the LM head is tied to the embedding unless output.weight exists.
type gemma3 struct {
	cfg       Config
	tokEmbd   *tensor.Matrix // (vocab, n_embd)
	embdScale float32        // sqrt(n_embd), applied to token embeddings
	layers    []gemma3Layer
	outNorm   []float32      // (n_embd)
	output    *tensor.Matrix // (vocab, n_embd); token_embd when tied
	global    rope           // RoPE of the full-attention layers
	local     rope           // RoPE of the sliding-window layers
	window    int            // sliding window in positions; 0: none
	qScale    float32        // query scale before attention
	softcap   float32        // final logit soft-capping; 0: none
}

type gemma3Layer struct {
	attnNorm     []float32      // (n_embd)
	wq           *tensor.Matrix // (n_head*head_dim, n_embd)
	wk           *tensor.Matrix // (n_head_kv*head_dim, n_embd)
	wv           *tensor.Matrix // (n_head_kv*head_dim, n_embd)
	qNorm        []float32      // (head_dim)
	kNorm        []float32      // (head_dim)
	wo           *tensor.Matrix // (n_embd, n_head*head_dim)
	attnPostNorm []float32      // (n_embd)
	ffnNorm      []float32      // (n_embd)
	gate         *tensor.Matrix // (n_ff, n_embd)
	up           *tensor.Matrix // (n_ff, n_embd)
	down         *tensor.Matrix // (n_embd, n_ff)
	ffnPostNorm  []float32      // (n_embd)
	sliding      bool           // attends to the sliding window only
}

// gemma3SlidingPeriod is llama.cpp's default layer pattern for Gemma 3:
// of every 6 layers the first 5 slide and the last attends globally
// (llama_hparams::set_swa_pattern(6)).
const gemma3SlidingPeriod = 6

// gemma3LocalRopeBase is the RoPE base of the sliding-window layers, which
// llama.cpp sets for Gemma 3 (rope_freq_base_train_swa; Hugging Face's
// rope_local_base_freq). A file may override it with rope.freq_base_swa.
const gemma3LocalRopeBase = 10000

func loadGemma3(f *gguf.File) (Model, error) {
	md := &meta{f: f, arch: "gemma3"}
	c := Config{Arch: "gemma3"}
	c.Layers = md.integer("block_count")
	c.Embd = md.integer("embedding_length")
	c.FF = md.integer("feed_forward_length")
	c.Heads = md.integer("attention.head_count")
	c.KVHeads = md.integerOr("attention.head_count_kv", c.Heads)
	c.TrainCtx = md.integer("context_length")
	c.RMSEps = md.float("attention.layer_norm_rms_epsilon")
	c.RopeBase = md.floatOr("rope.freq_base", 10000)
	c.RopeScale = md.ropeScale()
	localBase := md.floatOr("rope.freq_base_swa", gemma3LocalRopeBase)
	window := md.integerOr("attention.sliding_window", 0)
	softcap := md.floatOr("final_logit_softcapping", 0)
	md.check(c.Layers > 0 && c.Embd > 0 && c.FF > 0, "block_count, embedding_length and feed_forward_length must be positive")
	md.check(c.Heads > 0 && c.KVHeads > 0 && c.Heads%c.KVHeads == 0,
		"head_count %d is not a multiple of head_count_kv %d", c.Heads, c.KVHeads)
	md.check(c.RopeBase > 0 && localBase > 0, "rope bases %v and %v must be positive", c.RopeBase, localBase)
	md.check(softcap >= 0, "final_logit_softcapping %v is negative", softcap)
	if md.err == nil {
		c.HeadDim = md.integerOr("attention.key_length", c.Embd/c.Heads)
		md.check(md.integerOr("attention.value_length", c.Embd/c.Heads) == c.HeadDim, "value_length differs from key_length")
		c.RopeDim = md.integerOr("rope.dimension_count", c.HeadDim)
		md.check(c.HeadDim > 0 && c.RopeDim > 0 && c.RopeDim%2 == 0 && c.RopeDim <= c.HeadDim,
			"rope dimension count %d does not fit head dim %d", c.RopeDim, c.HeadDim)
	}
	sliding := gemma3Pattern(md, c.Layers, window)
	if md.err != nil {
		return nil, md.err
	}

	w := newWeights(f, c.Arch)
	m := &gemma3{window: window}
	if t, ok := f.Tensor("token_embd.weight"); ok && len(t.Dims) == 2 {
		c.Vocab = int(t.Dims[1])
	}
	m.tokEmbd = w.matrix("token_embd.weight", c.Vocab, c.Embd)
	qDim, kvDim := c.Heads*c.HeadDim, c.KVDim()
	m.layers = make([]gemma3Layer, c.Layers)
	for i := range m.layers {
		p := fmt.Sprintf("blk.%d.", i)
		m.layers[i] = gemma3Layer{
			attnNorm:     w.vector(p+"attn_norm.weight", c.Embd),
			wq:           w.matrix(p+"attn_q.weight", qDim, c.Embd),
			wk:           w.matrix(p+"attn_k.weight", kvDim, c.Embd),
			wv:           w.matrix(p+"attn_v.weight", kvDim, c.Embd),
			qNorm:        w.vector(p+"attn_q_norm.weight", c.HeadDim),
			kNorm:        w.vector(p+"attn_k_norm.weight", c.HeadDim),
			wo:           w.matrix(p+"attn_output.weight", c.Embd, qDim),
			attnPostNorm: w.vector(p+"post_attention_norm.weight", c.Embd),
			ffnNorm:      w.vector(p+"ffn_norm.weight", c.Embd),
			gate:         w.matrix(p+"ffn_gate.weight", c.FF, c.Embd),
			up:           w.matrix(p+"ffn_up.weight", c.FF, c.Embd),
			down:         w.matrix(p+"ffn_down.weight", c.Embd, c.FF),
			ffnPostNorm:  w.vector(p+"post_ffw_norm.weight", c.Embd),
			sliding:      sliding[i],
		}
	}
	m.outNorm = w.vector("output_norm.weight", c.Embd)
	m.output = m.tokEmbd
	if w.has("output.weight") {
		m.output = w.matrix("output.weight", c.Vocab, c.Embd)
	}
	if err := w.finish(); err != nil {
		return nil, err
	}
	c.Parameters = count(f)
	m.cfg = c
	m.embdScale = float32(math.Sqrt(float64(c.Embd)))
	// llama.cpp (llama_model::load_hparams, LLM_ARCH_GEMMA3) tells the 27B
	// apart by its 62 layers and scales its queries by 1/sqrt(n_embd/n_head)
	// (Gemma's query_pre_attn_scalar), every other size by 1/sqrt(head_dim).
	scaleBy := c.HeadDim
	if c.Layers == 62 {
		scaleBy = c.Embd / c.Heads
	}
	m.qScale = 1 / float32(math.Sqrt(float64(scaleBy)))
	m.global = newRope(c.RopeDim, c.RopeBase, c.RopeScale, nil)
	// The sliding layers use plain RoPE: llama.cpp sets their frequency
	// scale to 1 whatever the scaling of the global layers.
	m.local = newRope(c.RopeDim, localBase, 1, nil)
	// llama.cpp builds the soft-capped graph only for files without a
	// sliding window (llm_build_gemma3<false>); with one the key is unused.
	if window == 0 {
		m.softcap = softcap
	}
	return m, nil
}

// gemma3Pattern returns which layers use the sliding window: none without
// a window; else as gemma3.attention.sliding_window_pattern says (a period,
// or one flag per layer), else every layer but the last of each
// gemma3SlidingPeriod.
func gemma3Pattern(md *meta, layers, window int) []bool {
	sliding := make([]bool, max(layers, 0))
	if md.err != nil || window == 0 {
		return sliding
	}
	period := gemma3SlidingPeriod
	key := md.key("attention.sliding_window_pattern")
	if v, ok := md.f.Get(key); ok {
		if flags, ok := v.Array(); ok {
			if len(flags) != layers {
				md.check(false, "%s has %d entries for %d layers", key, len(flags), layers)
				return sliding
			}
			for i, e := range flags {
				b, isBool := e.Bool()
				n, isInt := e.Uint()
				md.check(isBool || isInt, "%s[%d] is a %s", key, i, e.Type)
				sliding[i] = b || n != 0
			}
			return sliding
		}
		n, ok := v.Uint()
		md.check(ok, "%s is a %s, want an integer or an array", key, v.Type)
		period = int(n)
	}
	// llama_hparams::set_swa_pattern: period 0 slides every layer, 1 none.
	for i := range sliding {
		sliding[i] = period == 0 || i%period < period-1
	}
	return sliding
}

// Config implements Model.
func (m *gemma3) Config() Config { return m.cfg }

// Forward implements Model.
func (m *gemma3) Forward(w *Workspace, batch []SeqInput) error {
	c := m.cfg
	rows, outRows, err := checkBatch(c, batch)
	if err != nil {
		return err
	}
	e, hd, qDim, kvDim := c.Embd, c.HeadDim, c.Heads*c.HeadDim, c.KVDim()
	x := grow(&w.x, rows*e)
	xb := grow(&w.xb, rows*e)
	xb2 := grow(&w.xb2, rows*e)
	q := grow(&w.q, rows*qDim)
	k := grow(&w.k, rows*kvDim)
	v := grow(&w.v, rows*kvDim)
	att := grow(&w.att, rows*qDim)
	hb := grow(&w.hb, rows*c.FF)
	hb2 := grow(&w.hb2, rows*c.FF)

	embed(m.tokEmbd, batch, x, e)
	for i := range x {
		x[i] *= m.embdScale
	}

	var cs []float32
	var csOf *rope // the RoPE whose angles cs holds
	for l := range m.layers {
		layer := &m.layers[l]
		if err := cancelled(batch); err != nil {
			return err
		}
		rp, window := &m.global, 0
		if layer.sliding {
			rp, window = &m.local, m.window
		}
		if rp != csOf {
			cs, csOf = ropeAngles(w, rp, batch, rows), rp
		}

		// Attention: x += norm(wo · attention(q, k, v)) with
		// q = scale·rope(norm(wq·xb)), k = rope(norm(wk·xb)), v = wv·xb.
		rmsNormRows(xb, x, layer.attnNorm, c.RMSEps, rows, e)
		matMul(w.pool, layer.wq, xb, rows, q)
		matMul(w.pool, layer.wk, xb, rows, k)
		matMul(w.pool, layer.wv, xb, rows, v)
		rmsNormRows(q, q, layer.qNorm, c.RMSEps, rows*c.Heads, hd)
		rmsNormRows(k, k, layer.kNorm, c.RMSEps, rows*c.KVHeads, hd)
		for r := 0; r < rows; r++ {
			rc := cs[r*rp.dims : (r+1)*rp.dims]
			rp.rotateNeox(q[r*qDim:(r+1)*qDim], hd, rc)
			rp.rotateNeox(k[r*kvDim:(r+1)*kvDim], hd, rc)
		}
		for i := range q {
			q[i] *= m.qScale
		}
		r := 0
		for _, s := range batch {
			n, start := len(s.Tokens), s.Cache.Len()
			s.Cache.store(l, start, k[r*kvDim:(r+n)*kvDim], v[r*kvDim:(r+n)*kvDim])
			attend(w, c, s.Cache, l, start, n, q[r*qDim:(r+n)*qDim], att[r*qDim:(r+n)*qDim], 1, window)
			r += n
		}
		matMul(w.pool, layer.wo, att, rows, xb2)
		rmsNormRows(xb2, xb2, layer.attnPostNorm, c.RMSEps, rows, e)
		add(x, xb2)

		// Feed-forward: x += norm(down · (gelu(gate·xb) * up·xb)).
		rmsNormRows(xb, x, layer.ffnNorm, c.RMSEps, rows, e)
		matMul(w.pool, layer.gate, xb, rows, hb)
		matMul(w.pool, layer.up, xb, rows, hb2)
		geglu(hb, hb2)
		matMul(w.pool, layer.down, hb, rows, xb2)
		rmsNormRows(xb2, xb2, layer.ffnPostNorm, c.RMSEps, rows, e)
		add(x, xb2)
	}

	outputLogits(w, c, batch, x, outRows, m.outNorm, m.output)
	if m.softcap > 0 {
		// ggml_scale by 1/cap, ggml_tanh, ggml_scale by cap.
		inv := 1 / m.softcap
		for _, s := range batch {
			for i, v := range s.Out {
				s.Out[i] = float32(math.Tanh(float64(v*inv))) * m.softcap
			}
		}
	}
	commit(batch)
	return nil
}
