// Package testmodel builds tiny models with random weights (Llama, and
// Gemma 3 in gemma3.go) as GGUF images, for tests of the engine and the
// layers above it. A model has a small byte-level BPE vocabulary (printable
// ASCII, a few merges, and "<|endoftext|>" as BOS/EOS/EOG) and, optionally,
// a chat template, so it can be loaded, prompted and chatted with like a
// real one; its output is deterministic gibberish.
package testmodel

import (
	"fmt"
	"math/rand/v2"

	"github.com/realm-ai/realm/engine/gguf"
	"github.com/realm-ai/realm/engine/tensor"
)

// Llama describes a tiny llama. Zero fields take the defaults of NewLlama.
type Llama struct {
	Embd, FF, Heads, KVHeads, Layers, Context int
	RopeBase                                  float32
	RopeLinear                                float32   // linear rope scaling factor, 0 = none
	RopeFreqs                                 []float32 // rope_freqs.weight, nil = none
	Tied                                      bool      // no output.weight: token_embd is the LM head
	Type                                      tensor.Type
	Seed                                      uint64
	ChatTemplate                              string // tokenizer.chat_template, "" = none

	// Extra, when set, can add or override metadata and add tensors before
	// the image is written.
	Extra func(b *gguf.Builder)
	// Types overrides the type of named tensors. Types Realm cannot
	// quantize to (K-quants, Q2_K, ...) are written as zero bytes.
	Types map[string]tensor.Type

	// Filled by Build: the weights as stored (dequantized after the
	// quantization round trip) and their bytes, by tensor name.
	Weights map[string][]float32
	Raw     map[string][]byte
}

// NewLlama returns a 2-layer model with n_embd 64, n_ff 96, 4 query heads
// and 2 KV heads (head dim 16), a context of 64 and weights of type typ.
func NewLlama(typ tensor.Type) *Llama {
	return &Llama{Embd: 64, FF: 96, Heads: 4, KVHeads: 2, Layers: 2, Context: 64,
		RopeBase: 10000, Type: typ, Seed: 1}
}

// ChatML is a ChatML chat template in Jinja, as Hugging Face models ship it.
const ChatML = "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"

// Vocab returns the token texts of the tiny vocabulary (GPT-2 byte-level
// spelling: "Ġ" is a space) and its merges. Token 0 is "<|endoftext|>",
// 1 and 2 are "<|im_start|>" and "<|im_end|>".
func Vocab() (tokens []string, types []int32, merges []string) {
	tokens = []string{"<|endoftext|>", "<|im_start|>", "<|im_end|>"}
	types = []int32{3, 3, 3}          // control
	tokens = append(tokens, "Ġ", "Ċ") // space and newline, byte-level
	for c := '!'; c <= '~'; c++ {
		tokens = append(tokens, string(c))
	}
	merges = []string{"Ġ t", "h e", "Ġt he", "l l", "Ġ a", "i n"}
	tokens = append(tokens, "Ġt", "he", "Ġthe", "ll", "Ġa", "in")
	for len(types) < len(tokens) {
		types = append(types, 1) // normal
	}
	return tokens, types, merges
}

// HeadDim returns the width of one attention head.
func (m *Llama) HeadDim() int { return m.Embd / m.Heads }

// Vocab returns the vocabulary size.
func (m *Llama) Vocab() int {
	tokens, _, _ := Vocab()
	return len(tokens)
}

// Build returns the model as a GGUF image.
func (m *Llama) Build() ([]byte, error) {
	r := rand.New(rand.NewPCG(m.Seed, 99))
	tokens, types, merges := Vocab()
	vocab := len(tokens)
	b := gguf.NewBuilder()
	b.Set("general.architecture", "llama")
	b.Set("general.name", "tiny llama")
	b.Set("general.file_type", uint32(0))
	b.Set("llama.block_count", uint32(m.Layers))
	b.Set("llama.context_length", uint32(m.Context))
	b.Set("llama.embedding_length", uint32(m.Embd))
	b.Set("llama.feed_forward_length", uint32(m.FF))
	b.Set("llama.attention.head_count", uint32(m.Heads))
	b.Set("llama.attention.head_count_kv", uint32(m.KVHeads))
	b.Set("llama.attention.layer_norm_rms_epsilon", float32(1e-5))
	b.Set("llama.rope.freq_base", m.RopeBase)
	if m.RopeLinear != 0 {
		b.Set("llama.rope.scaling.type", "linear")
		b.Set("llama.rope.scaling.factor", m.RopeLinear)
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
	m.Raw = map[string][]byte{}
	var err error
	add := func(name string, typ tensor.Type, rows, cols int, scale float64, offset float32) {
		if err != nil {
			return
		}
		v := make([]float32, rows*cols)
		for i := range v {
			v[i] = float32(r.NormFloat64()*scale) + offset
		}
		if t, ok := m.Types[name]; ok {
			typ = t
		}
		data, qerr := tensor.Quantize(typ, v)
		if qerr != nil {
			size, serr := typ.RowSize(int64(len(v)))
			if serr != nil {
				err = serr
				return
			}
			data = make([]byte, size)
			clear(v)
		} else if err = tensor.Dequantize(typ, data, v); err != nil {
			return
		}
		m.Weights[name], m.Raw[name] = v, data
		dims := []int64{int64(cols), int64(rows)}
		if rows == 1 {
			dims = dims[:1]
		}
		b.AddTensor(name, typ, dims, data)
	}
	hd := m.HeadDim()
	add("token_embd.weight", m.Type, vocab, m.Embd, 1, 0)
	for l := 0; l < m.Layers; l++ {
		p := fmt.Sprintf("blk.%d.", l)
		add(p+"attn_norm.weight", tensor.F32, 1, m.Embd, 0.1, 1)
		add(p+"attn_q.weight", m.Type, m.Heads*hd, m.Embd, 0.3, 0)
		add(p+"attn_k.weight", m.Type, m.KVHeads*hd, m.Embd, 0.3, 0)
		add(p+"attn_v.weight", m.Type, m.KVHeads*hd, m.Embd, 0.3, 0)
		add(p+"attn_output.weight", m.Type, m.Embd, m.Heads*hd, 0.1, 0)
		add(p+"ffn_norm.weight", tensor.F32, 1, m.Embd, 0.1, 1)
		add(p+"ffn_gate.weight", m.Type, m.FF, m.Embd, 0.2, 0)
		add(p+"ffn_up.weight", m.Type, m.FF, m.Embd, 0.2, 0)
		add(p+"ffn_down.weight", m.Type, m.Embd, m.FF, 0.1, 0)
	}
	add("output_norm.weight", tensor.F32, 1, m.Embd, 0.1, 1)
	if !m.Tied {
		add("output.weight", m.Type, vocab, m.Embd, 0.3, 0)
	}
	if err != nil {
		return nil, err
	}
	if m.RopeFreqs != nil {
		data, err := tensor.Quantize(tensor.F32, m.RopeFreqs)
		if err != nil {
			return nil, err
		}
		b.AddTensor("rope_freqs.weight", tensor.F32, []int64{int64(len(m.RopeFreqs))}, data)
	}
	if m.Extra != nil {
		m.Extra(b)
	}
	return b.Bytes()
}
