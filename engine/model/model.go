// Package model runs the forward pass of the transformer architectures Realm
// supports, reading weights straight from a GGUF file's mapping.
//
// An architecture is one file (llama.go, gemma3.go); the pieces
// architectures share live beside it: RMSNorm and activations (ops.go),
// rotary embeddings (rope.go, sincosf.go), attention (attention.go), ggml's
// arithmetic (ggml.go) and K-quant matrix products (ggmlmul.go), the
// per-sequence KV cache (kvcache.go) and the scratch memory of a forward
// pass (workspace.go).
//
// The arithmetic is llama.cpp's CPU backend (x86-64, AVX-512), operation
// for operation, so that logits are bit-identical to llama.cpp's: matrix
// products quantize activations and add up like ggml's kernels
// (tensor.Matrix.Mul), RMSNorm sums squares in float64, RoPE takes glibc's
// sine and cosine of ggml's angles, K and V are stored as f16, and
// attention rounds and sums like ggml_mul_mat and ggml_soft_max with an f16
// cache (attention.go). The llama.cpp goldens in engine/testdata check it.
package model

import (
	"fmt"

	"github.com/realm-ai/realm/engine/errs"
	"github.com/realm-ai/realm/engine/gguf"
)

// Config holds the hyperparameters of a loaded model.
type Config struct {
	Arch       string // general.architecture, e.g. "llama"
	Layers     int    // transformer blocks
	Embd       int    // embedding width (n_embd)
	FF         int    // feed-forward width (n_ff)
	Heads      int    // query heads
	KVHeads    int    // key/value heads (Heads for plain multi-head attention)
	HeadDim    int    // width of one head
	Vocab      int    // vocabulary size (rows of the embedding table)
	TrainCtx   int    // context length the model was trained with
	RMSEps     float32
	RopeDim    int     // leading dimensions of each head that RoPE rotates
	RopeBase   float32 // rope.freq_base
	RopeScale  float32 // ggml's freq_scale: 1 / linear scaling factor
	Parameters int64   // number of weights in the file
}

// KVDim is the width of one position's keys (and values) in one layer.
func (c Config) KVDim() int { return c.KVHeads * c.HeadDim }

// LogitsMode says which positions of a sequence's new tokens need logits.
type LogitsMode int

const (
	// LogitsNone computes no logits (prompt chunks before the last).
	LogitsNone LogitsMode = iota
	// LogitsLast computes logits for the last new token only.
	LogitsLast
	// LogitsAll computes logits for every new token.
	LogitsAll
)

// SeqInput is one sequence's share of a batched forward pass.
type SeqInput struct {
	// Cache is the sequence's KV cache. The new tokens take positions
	// Cache.Len(), Cache.Len()+1, ...; Forward appends their keys and values.
	Cache *KVCache
	// Tokens are the new tokens of the sequence (at least one).
	Tokens []int32
	// Logits selects the positions whose logits are computed.
	Logits LogitsMode
	// Out is set by Forward: Vocab logits per selected position, in order
	// (one row for LogitsLast, len(Tokens) rows for LogitsAll). It points
	// into the Workspace and is valid until its next Forward.
	Out []float32
	// Done, if not nil, cancels the sequence when closed (a context's
	// Done channel). Forward polls it between layers and stops early with
	// an error wrapping errs.ErrCancelled, changing no cache, once every
	// sequence of the batch is cancelled; a batch with a sequence whose
	// Done is nil or open runs to the end.
	Done <-chan struct{}
}

// Model is a loaded architecture. It is immutable after loading, so one
// Model serves any number of concurrent Forward calls, each with its own
// Workspace and caches.
type Model interface {
	// Config returns the model's hyperparameters.
	Config() Config
	// Forward runs the transformer over a batch of sequences: the matrix
	// products run over all new tokens of the batch at once, attention runs
	// per sequence over its own cache with causal masking. On error no
	// cache is changed.
	//
	// Results are bit-identical to llama.cpp's for the same split of a
	// sequence into batches: like llama.cpp, a sequence with one new token
	// (a decoding step) sums its attention in another order than one with
	// several, so feeding a prompt token by token gives logits that differ
	// in the last bits from feeding it at once. Other sequences in the same
	// batch do not affect a sequence's results.
	Forward(w *Workspace, batch []SeqInput) error
}

// loaders maps general.architecture to the function that builds it.
var loaders = map[string]func(f *gguf.File) (Model, error){
	"llama":  loadLlama,
	"gemma3": loadGemma3,
}

// Load builds the model described by f. The model reads weights from f's
// mapping, so f must stay open while the model is used.
func Load(f *gguf.File) (Model, error) {
	arch, err := f.String("general.architecture")
	if err != nil {
		return nil, err
	}
	load, ok := loaders[arch]
	if !ok {
		return nil, fmt.Errorf("%w: %s: architecture %q", errs.ErrUnsupportedModel, f.Path, arch)
	}
	return load(f)
}
