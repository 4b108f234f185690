package tokenizer

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// llamaCppRecord is testdata/llamacpp_<name>.json, made by
// testdata/make_llamacpp.py with llama-cpp-python.
type llamaCppRecord struct {
	Model        string  `json:"model"`
	NVocab       int     `json:"n_vocab"`
	BOS          int32   `json:"bos"`
	EOS          int32   `json:"eos"`
	EOT          int32   `json:"eot"`
	AddBOS       bool    `json:"add_bos"`
	EOG          []int32 `json:"eog"`
	Control      int     `json:"control"`
	PiecesSHA256 string  `json:"pieces_sha256"`
	Encode       []struct {
		S       string  `json:"s"`
		Plain   []int32 `json:"plain"`
		Special []int32 `json:"special"`
	} `json:"encode"`
	Decode []struct {
		IDs []int32 `json:"ids"`
		Hex string  `json:"hex"`
	} `json:"decode"`
}

// checkLlamaCpp compares a tokenizer with llama.cpp on random strings and
// id sequences, every token's piece, and the special-token facts.
func checkLlamaCpp(t *testing.T, tk *Tokenizer, name string) {
	b, err := os.ReadFile(filepath.Join("testdata", "llamacpp_"+name+".json"))
	require.NoError(t, err)
	var r llamaCppRecord
	require.NoError(t, json.Unmarshal(b, &r))

	assert.Equal(t, r.NVocab, tk.VocabSize())
	assert.Equal(t, r.BOS, tk.BOS())
	assert.Equal(t, r.EOS, tk.EOS())
	assert.Equal(t, r.EOT, tk.EOT())
	assert.Equal(t, r.AddBOS, tk.AddBOS())
	assert.Equal(t, r.EOG, tk.EOGTokens())
	control := 0
	for id := range tk.VocabSize() {
		if tk.IsControl(int32(id)) {
			control++
		}
	}
	assert.Equal(t, r.Control, control)

	h := sha256.New()
	for id := range tk.VocabSize() {
		p := tk.Piece(int32(id))
		h.Write(binary.LittleEndian.AppendUint32(nil, uint32(len(p))))
		h.Write(p)
	}
	assert.Equal(t, r.PiecesSHA256, hex.EncodeToString(h.Sum(nil)), "pieces differ from llama_token_to_piece")

	for i, e := range r.Encode {
		assert.Equal(t, e.Plain, nonNil(tk.Encode(e.S, false, false)), "plain %d %q", i, e.S)
		assert.Equal(t, e.Special, nonNil(tk.Encode(e.S, true, true)), "special %d %q", i, e.S)
	}
	for i, d := range r.Decode {
		assert.Equal(t, d.Hex, hex.EncodeToString([]byte(tk.Decode(d.IDs))), "decode %d %v", i, d.IDs)
	}
}

func TestLlamaCppSmolLM2(t *testing.T) {
	checkLlamaCpp(t, openTokenizer(t, smolLM2Path(t)), "smollm2")
}

func TestLlamaCppGemma3(t *testing.T) {
	checkLlamaCpp(t, openTokenizer(t, gemma3Path(t)), "gemma3")
}
