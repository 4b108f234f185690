package testmodel

import (
	"fmt"
	"math/rand/v2"

	"github.com/realm-ai/realm/engine/gguf"
	"github.com/realm-ai/realm/engine/tensor"
)

// Gemma3 describes a tiny Gemma 3 (general.architecture "gemma3") with the
// same small vocabulary as Llama. Zero fields take the defaults of
// NewGemma3.
type Gemma3 struct {
	Embd, FF, Heads, KVHeads, HeadDim, Layers, Context int
	// Window is gemma3.attention.sliding_window; 0 writes no window.
	Window int
	// Pattern, when not nil, is written as
	// gemma3.attention.sliding_window_pattern (an int period or a []bool
	// of one flag per layer).
	Pattern     any
	RopeBase    float32 // gemma3.rope.freq_base
	RopeBaseSWA float32 // gemma3.rope.freq_base_swa, 0 = not written
	Softcap     float32 // gemma3.final_logit_softcapping, 0 = not written
	Untied      bool    // write output.weight instead of tying it to token_embd
	Type        tensor.Type
	Seed        uint64
	// ChatTemplate is tokenizer.chat_template, "" = none (Gemma's base
	// models ship none).
	ChatTemplate string

	// Extra, when set, can add or override metadata and add tensors before
	// the image is written.
	Extra func(b *gguf.Builder)

	// Filled by Build: the weights as stored (dequantized after the
	// quantization round trip), by tensor name.
	Weights map[string][]float32
}

// NewGemma3 returns a 3-layer model with n_embd 64, n_ff 96, 4 query heads
// sharing 2 KV heads of width 32 (so key_length differs from
// n_embd/n_head, as in Gemma), a sliding window of 4 on the default
// pattern, a context of 64 and weights of type typ.
func NewGemma3(typ tensor.Type) *Gemma3 {
	return &Gemma3{Embd: 64, FF: 96, Heads: 4, KVHeads: 2, HeadDim: 32, Layers: 3, Context: 64,
		Window: 4, RopeBase: 1000000, Type: typ, Seed: 1}
}

// Vocab returns the vocabulary size.
func (m *Gemma3) Vocab() int {
	tokens, _, _ := Vocab()
	return len(tokens)
}

// Build returns the model as a GGUF image.
func (m *Gemma3) Build() ([]byte, error) {
	r := rand.New(rand.NewPCG(m.Seed, 7))
	tokens, types, merges := Vocab()
	vocab := len(tokens)
	b := gguf.NewBuilder()
	b.Set("general.architecture", "gemma3")
	b.Set("general.name", "tiny gemma3")
	b.Set("general.file_type", uint32(0))
	b.Set("gemma3.block_count", uint32(m.Layers))
	b.Set("gemma3.context_length", uint32(m.Context))
	b.Set("gemma3.embedding_length", uint32(m.Embd))
	b.Set("gemma3.feed_forward_length", uint32(m.FF))
	b.Set("gemma3.attention.head_count", uint32(m.Heads))
	b.Set("gemma3.attention.head_count_kv", uint32(m.KVHeads))
	b.Set("gemma3.attention.key_length", uint32(m.HeadDim))
	b.Set("gemma3.attention.value_length", uint32(m.HeadDim))
	b.Set("gemma3.attention.layer_norm_rms_epsilon", float32(1e-6))
	b.Set("gemma3.rope.freq_base", m.RopeBase)
	if m.Window > 0 {
		b.Set("gemma3.attention.sliding_window", uint32(m.Window))
	}
	switch p := m.Pattern.(type) {
	case nil:
	case int:
		b.Set("gemma3.attention.sliding_window_pattern", uint32(p))
	case []bool:
		b.Set("gemma3.attention.sliding_window_pattern", p)
	default:
		return nil, fmt.Errorf("testmodel: Pattern of type %T", m.Pattern)
	}
	if m.RopeBaseSWA != 0 {
		b.Set("gemma3.rope.freq_base_swa", m.RopeBaseSWA)
	}
	if m.Softcap != 0 {
		b.Set("gemma3.final_logit_softcapping", m.Softcap)
	}
	b.Set("tokenizer.ggml.model", "gpt2")
	b.Set("tokenizer.ggml.pre", "default")
	b.Set("tokenizer.ggml.tokens", tokens)
	b.Set("tokenizer.ggml.token_type", types)
	b.Set("tokenizer.ggml.merges", merges)
	b.Set("tokenizer.ggml.bos_token_id", uint32(0))
	b.Set("tokenizer.ggml.eos_token_id", uint32(0))
	b.Set("tokenizer.ggml.add_bos_token", false)
	if m.ChatTemplate != "" {
		b.Set("tokenizer.chat_template", m.ChatTemplate)
	}

	m.Weights = map[string][]float32{}
	var err error
	add := func(name string, typ tensor.Type, rows, cols int, scale float64, offset float32) {
		if err != nil {
			return
		}
		v := make([]float32, rows*cols)
		for i := range v {
			v[i] = float32(r.NormFloat64()*scale) + offset
		}
		var data []byte
		if data, err = tensor.Quantize(typ, v); err != nil {
			return
		}
		if err = tensor.Dequantize(typ, data, v); err != nil {
			return
		}
		m.Weights[name] = v
		dims := []int64{int64(cols), int64(rows)}
		if rows == 1 {
			dims = dims[:1]
		}
		b.AddTensor(name, typ, dims, data)
	}
	qDim, kvDim := m.Heads*m.HeadDim, m.KVHeads*m.HeadDim
	add("token_embd.weight", m.Type, vocab, m.Embd, 0.5, 0)
	for l := 0; l < m.Layers; l++ {
		p := fmt.Sprintf("blk.%d.", l)
		// Norm weights as the converter stores them: 1 + Gemma's weight.
		add(p+"attn_norm.weight", tensor.F32, 1, m.Embd, 0.1, 1)
		add(p+"attn_q.weight", m.Type, qDim, m.Embd, 0.3, 0)
		add(p+"attn_k.weight", m.Type, kvDim, m.Embd, 0.3, 0)
		add(p+"attn_v.weight", m.Type, kvDim, m.Embd, 0.3, 0)
		add(p+"attn_q_norm.weight", tensor.F32, 1, m.HeadDim, 0.1, 1)
		add(p+"attn_k_norm.weight", tensor.F32, 1, m.HeadDim, 0.1, 1)
		add(p+"attn_output.weight", m.Type, m.Embd, qDim, 0.1, 0)
		add(p+"post_attention_norm.weight", tensor.F32, 1, m.Embd, 0.1, 1)
		add(p+"ffn_norm.weight", tensor.F32, 1, m.Embd, 0.1, 1)
		add(p+"ffn_gate.weight", m.Type, m.FF, m.Embd, 0.2, 0)
		add(p+"ffn_up.weight", m.Type, m.FF, m.Embd, 0.2, 0)
		add(p+"ffn_down.weight", m.Type, m.Embd, m.FF, 0.1, 0)
		add(p+"post_ffw_norm.weight", tensor.F32, 1, m.Embd, 0.1, 1)
	}
	add("output_norm.weight", tensor.F32, 1, m.Embd, 0.1, 1)
	if m.Untied {
		add("output.weight", m.Type, vocab, m.Embd, 0.3, 0)
	}
	if err != nil {
		return nil, err
	}
	if m.Extra != nil {
		m.Extra(b)
	}
	return b.Bytes()
}
