package tokenizer

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
)

// fuzzVocabs builds small vocabularies that exercise merges, byte
// fallback and special tokens: SPM with and without a space prefix, and
// byte-level BPE under two pre-tokenizers.
func fuzzVocabs(t testing.TB) []*Tokenizer {
	spmPieces := []string{"▁", "a", "b", "▁a", "ab", "▁ab", "é", "日本", "日", "本", "▁▁", "\n"}
	spmScores := []float32{-1, -2, -2, -1.5, -1.2, -0.5, -3, -1, -4, -4, -2, -2}
	build := func(cfg Config) *Tokenizer {
		tk, err := New(cfg)
		require.NoError(t, err)
		return tk
	}
	spm := func(prefix bool, extra map[string]int32) *Tokenizer {
		cfg := Config{Model: "llama", AddSpacePrefix: &prefix}
		add := func(s string, score float32, typ int32) {
			cfg.Tokens = append(cfg.Tokens, s)
			cfg.Scores = append(cfg.Scores, score)
			cfg.Types = append(cfg.Types, typ)
		}
		add("<unk>", 0, TypeUnknown)
		add("<s>", 0, TypeControl)
		add("</s>", 0, TypeControl)
		for b := 0; b < 256; b++ {
			add(byteTokenText(byte(b)), 0, TypeByte)
		}
		for i, p := range spmPieces {
			add(p, spmScores[i], TypeNormal)
		}
		for s, typ := range extra {
			add(s, 0, typ)
		}
		return build(cfg)
	}
	bpe := func(pre string) *Tokenizer {
		cfg := Config{Model: "gpt2", Pre: pre, SpecialIDs: map[string]uint32{"eos": 0}}
		cfg.Tokens = append(cfg.Tokens, "<|endoftext|>", "<|im_start|>")
		cfg.Types = append(cfg.Types, TypeControl, TypeControl)
		for b := 0; b < 256; b++ {
			cfg.Tokens = append(cfg.Tokens, string(byteToRune[b]))
			cfg.Types = append(cfg.Types, TypeNormal)
		}
		for _, m := range [][2]string{{" ", "a"}, {"b", "c"}, {" a", "bc"}, {"\xC3", "\xA9"}, {"1", "2"}, {"\n", "\n"}} {
			cfg.Merges = append(cfg.Merges, byteLevel(m[0])+" "+byteLevel(m[1]))
			cfg.Tokens = append(cfg.Tokens, byteLevel(m[0]+m[1]))
			cfg.Types = append(cfg.Types, TypeNormal)
		}
		return build(cfg)
	}
	return []*Tokenizer{
		spm(false, map[string]int32{"<ud>": TypeUserDefined, "  ": TypeUserDefined, "<ctl>": TypeControl}),
		spm(true, map[string]int32{"<ctl>": TypeControl}),
		bpe("smollm"),
		bpe("llama-bpe"),
		bpe("qwen2"),
	}
}

// FuzzEncode checks that encoding never panics or yields ids outside the
// vocabulary, that valid UTF-8 survives Encode then Decode (where llama.cpp
// guarantees it: SPM inputs without U+2581, which SPM reads as a space, and
// up to the space clean-up some BPE vocabularies apply), and
// that the streaming decoder emits valid UTF-8 equal to the pieces.
func FuzzEncode(f *testing.F) {
	for _, s := range []string{"", "a", "hello world", "ab abc  a\n\n\nb", "日本語 😀", "é\xC3", "\xff\xfe",
		"<ud><ctl>x<|im_start|>", "12345 don't", " \t\r\n ", "a\u2581b", "\xED\xA0\x80", "\xF4\x90\x80\x80"} {
		f.Add(s)
	}
	vocabs := fuzzVocabs(f)
	f.Fuzz(func(t *testing.T, s string) {
		for _, tk := range vocabs {
			for _, special := range []bool{false, true} {
				ids := tk.Encode(s, special, special)
				for _, id := range ids {
					require.True(t, id >= 0 && int(id) < tk.VocabSize(), "id %d", id)
				}
				var pieces []byte
				d := tk.NewDecoder()
				var streamed strings.Builder
				for _, id := range ids {
					pieces = append(pieces, tk.Piece(id)...)
					streamed.WriteString(d.Push(id))
				}
				streamed.WriteString(d.Flush())
				require.True(t, utf8.ValidString(streamed.String()))
				if utf8.Valid(pieces) {
					require.Equal(t, string(pieces), streamed.String())
				}
				if special || !utf8.ValidString(s) || (tk.spm && strings.Contains(s, spaceEscape)) {
					continue
				}
				want := s
				if tk.cleanSpaces {
					want = string(cleanUpSpaces([]byte(s)))
				}
				require.Equal(t, want, tk.Decode(ids), "ids %v", ids)
			}
		}
	})
}
