// Package engine is Realm's inference engine: it loads a GGUF model, turns
// text into tokens and back, applies the model's chat template, and runs
// generation sessions whose outputs match llama.cpp's on the same file.
//
//	m, err := engine.LoadFile(path, engine.LoadOptions{})
//	s, err := m.NewSession()
//	ids, err := m.Tokenize(prompt, true, true)
//	res, err := s.Generate(ctx, ids, engine.DefaultSamplingParams(), onToken)
//
// A Model is immutable once loaded and may be shared by any number of
// Sessions running concurrently; each Session owns its KV cache and scratch
// memory and runs one call at a time. Every error wraps exactly one sentinel
// of package errs.
package engine

import (
	"fmt"
	"sync"

	"github.com/realm-ai/realm/engine/errs"
	"github.com/realm-ai/realm/engine/gguf"
	"github.com/realm-ai/realm/engine/jinja"
	"github.com/realm-ai/realm/engine/model"
	"github.com/realm-ai/realm/engine/tensor"
	"github.com/realm-ai/realm/engine/tokenizer"
)

// MaxDefaultContext caps the context length a model gets when LoadOptions
// does not set one: KV memory grows with it.
const MaxDefaultContext = 8192

// LoadOptions tune how a model is loaded.
type LoadOptions struct {
	// ContextLength is the most tokens (prompt + generated) a session holds.
	// 0 means the model's training context, capped at MaxDefaultContext.
	ContextLength int `json:"context_length,omitempty"`
	// Threads is the number of threads a forward pass runs on. 0 means 1:
	// measured on the target machines, llama.cpp decodes fastest on one
	// thread, and sessions running side by side use the other cores. The
	// model owns one tensor.Pool of this many threads, shared by all its
	// sessions (a Pool is safe for concurrent use). Results do not depend
	// on it.
	Threads int `json:"threads,omitempty"`
}

// ModelInfo describes a loaded model.
type ModelInfo struct {
	Name               string `json:"name"`
	Architecture       string `json:"architecture"`
	FileType           string `json:"file_type"`
	Parameters         int64  `json:"parameters"`
	ContextLength      int    `json:"context_length"`
	TrainContextLength int    `json:"train_context_length"`
	VocabSize          int    `json:"vocab_size"`
	EmbeddingLength    int    `json:"embedding_length"`
	Layers             int    `json:"layers"`
	Heads              int    `json:"heads"`
	KVHeads            int    `json:"kv_heads"`
	BOS                int32  `json:"bos_token_id"`
	EOS                int32  `json:"eos_token_id"`
	HasChatTemplate    bool   `json:"has_chat_template"`
	Threads            int    `json:"threads"`
}

// Model is a loaded model. Its methods are safe for concurrent use. After
// Close every method, and every method of its sessions, fails with
// errs.ErrClosed.
type Model struct {
	file    *gguf.File
	net     model.Model
	tok     *tokenizer.Tokenizer
	tmpl    *jinja.Template // nil: no template in the file (chatml is used) or tmplErr
	tmplErr error
	info    ModelInfo
	nCtx    int
	pool    *tensor.Pool // shared by all sessions: Pool is safe for concurrent use
	batch   *scheduler   // batches the forward passes of concurrent sessions (batch.go)

	// mu guards closed and the file mapping: every use of the weights or
	// the tokenizer holds it for reading, Close takes it for writing, so
	// Close waits for forward passes in flight (at most one step each)
	// and nothing reads the mapping after it is gone.
	mu     sync.RWMutex
	closed bool
}

// LoadFile maps the GGUF file at path read-only and loads the model in it.
func LoadFile(path string, o LoadOptions) (*Model, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	f, err := gguf.Open(path)
	if err != nil {
		return nil, err
	}
	m, err := load(f, o)
	if err != nil {
		f.Close()
		return nil, err
	}
	return m, nil
}

// LoadBytes loads a model from a GGUF image in memory. The data is used in
// place, not copied: it must not change while the model is open.
func LoadBytes(name string, data []byte, o LoadOptions) (*Model, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	f, err := gguf.FromBytes(name, data)
	if err != nil {
		return nil, err
	}
	m, err := load(f, o)
	if err != nil {
		f.Close()
		return nil, err
	}
	return m, nil
}

func (o LoadOptions) validate() error {
	if o.ContextLength < 0 {
		return fmt.Errorf("%w: context_length = %d, want >= 0", errs.ErrInvalidArgument, o.ContextLength)
	}
	if o.Threads < 0 {
		return fmt.Errorf("%w: threads = %d, want >= 0", errs.ErrInvalidArgument, o.Threads)
	}
	return nil
}

func load(f *gguf.File, o LoadOptions) (*Model, error) {
	net, err := model.Load(f)
	if err != nil {
		return nil, err
	}
	tok, err := tokenizer.FromGGUF(f)
	if err != nil {
		return nil, err
	}
	c := net.Config()
	if tok.VocabSize() != c.Vocab {
		return nil, fmt.Errorf("%w: %s: tokenizer has %d tokens, embedding table %d",
			errs.ErrInvalidModel, f.Path, tok.VocabSize(), c.Vocab)
	}
	nCtx := o.ContextLength
	if nCtx == 0 {
		nCtx = min(c.TrainCtx, MaxDefaultContext)
		if nCtx <= 0 {
			nCtx = MaxDefaultContext
		}
	}
	threads := o.Threads
	if threads == 0 {
		threads = 1
	}
	m := &Model{file: f, net: net, tok: tok, nCtx: nCtx}
	if src, err := f.StringOr("tokenizer.chat_template", ""); err != nil {
		return nil, err
	} else if src != "" {
		m.tmpl, m.tmplErr = jinja.Parse(src)
		if m.tmplErr != nil {
			m.tmpl = nil
		}
	}
	name, err := f.StringOr("general.name", "")
	if err != nil {
		return nil, err
	}
	ftype, err := f.Uint32Or("general.file_type", 1<<31)
	if err != nil {
		return nil, err
	}
	m.info = ModelInfo{
		Name:               name,
		Architecture:       c.Arch,
		FileType:           fileTypeName(ftype),
		Parameters:         c.Parameters,
		ContextLength:      nCtx,
		TrainContextLength: c.TrainCtx,
		VocabSize:          c.Vocab,
		EmbeddingLength:    c.Embd,
		Layers:             c.Layers,
		Heads:              c.Heads,
		KVHeads:            c.KVHeads,
		BOS:                tok.BOS(),
		EOS:                tok.EOS(),
		HasChatTemplate:    m.tmpl != nil,
		Threads:            threads,
	}
	m.pool = tensor.NewPool(threads)
	m.batch = newScheduler(m, threads)
	return m, nil
}

// fileTypeName names llama.cpp's general.file_type (enum llama_ftype).
func fileTypeName(t uint32) string {
	names := map[uint32]string{
		0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 7: "Q8_0", 8: "Q5_0", 9: "Q5_1",
		10: "Q2_K", 11: "Q3_K_S", 12: "Q3_K_M", 13: "Q3_K_L", 14: "Q4_K_S", 15: "Q4_K_M",
		16: "Q5_K_S", 17: "Q5_K_M", 18: "Q6_K", 32: "BF16",
	}
	if n, ok := names[t]; ok {
		return n
	}
	if t == 1<<31 {
		return ""
	}
	return fmt.Sprintf("type(%d)", t)
}

// acquire locks the model for a use of its weights or tokenizer; it fails
// once the model is closed. Release with m.mu.RUnlock.
func (m *Model) acquire() error {
	m.mu.RLock()
	if m.closed {
		m.mu.RUnlock()
		return fmt.Errorf("%w: model", errs.ErrClosed)
	}
	return nil
}

// Close releases the model: it waits for forward passes in flight, stops
// the thread pool, unmaps the file and lets go of the weights (their
// packed copies are garbage from then on, even while sessions of the
// model are still referenced). It is idempotent.
func (m *Model) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil
	}
	m.closed = true
	m.pool.Close()
	m.net = nil // every use holds m.mu and checks closed first
	return m.file.Close()
}

// Info describes the model (it stays readable after Close).
func (m *Model) Info() ModelInfo { return m.info }

// Tokenize turns text into token ids like llama_tokenize: addSpecial adds
// the BOS (and EOS) tokens the model asks for, parseSpecial turns the text
// of control tokens ("<|im_start|>") into those tokens.
func (m *Model) Tokenize(text string, addSpecial, parseSpecial bool) ([]int32, error) {
	if err := m.acquire(); err != nil {
		return nil, err
	}
	defer m.mu.RUnlock()
	return m.tok.Encode(text, addSpecial, parseSpecial), nil
}

// Detokenize turns token ids back into text; control tokens give no text.
func (m *Model) Detokenize(ids []int32) (string, error) {
	if err := m.acquire(); err != nil {
		return "", err
	}
	defer m.mu.RUnlock()
	if err := m.checkTokens(ids); err != nil {
		return "", err
	}
	return m.tok.Decode(ids), nil
}

// checkTokens reports the first id outside the vocabulary.
func (m *Model) checkTokens(ids []int32) error {
	for i, id := range ids {
		if id < 0 || int(id) >= m.info.VocabSize {
			return fmt.Errorf("%w: token %d at index %d is outside the vocabulary [0, %d)",
				errs.ErrInvalidArgument, id, i, m.info.VocabSize)
		}
	}
	return nil
}
