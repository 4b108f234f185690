package tokenizer

import (
	"strings"
	"testing"

	"github.com/realm-ai/realm/engine/errs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func ptr[T any](v T) *T { return &v }

// spmVocab is a tiny SentencePiece vocabulary: <unk> <s> </s>, the 256
// byte tokens, then the given pieces with their scores.
func spmVocab(t *testing.T, pieces []string, scores []float32, mod func(*Config)) *Tokenizer {
	t.Helper()
	cfg := Config{Model: "llama", SpecialIDs: map[string]uint32{"bos": 1, "eos": 2, "unknown": 0}}
	add := func(text string, score float32, typ int32) {
		cfg.Tokens = append(cfg.Tokens, text)
		cfg.Scores = append(cfg.Scores, score)
		cfg.Types = append(cfg.Types, typ)
	}
	add("<unk>", 0, TypeUnknown)
	add("<s>", 0, TypeControl)
	add("</s>", 0, TypeControl)
	for b := 0; b < 256; b++ {
		add(byteTokenText(byte(b)), 0, TypeByte)
	}
	for i, p := range pieces {
		add(p, scores[i], TypeNormal)
	}
	if mod != nil {
		mod(&cfg)
	}
	tk, err := New(cfg)
	require.NoError(t, err)
	return tk
}

// texts maps ids back to token texts for readable assertions.
func texts(tk *Tokenizer, ids []int32) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = tk.TokenText(id)
	}
	return out
}

func TestSPMMergeOrderFollowsScores(t *testing.T) {
	noPrefix := func(c *Config) { c.AddSpacePrefix = ptr(false) }
	// "bc" scores higher than "ab": it merges first and "ab" never forms.
	tk := spmVocab(t, []string{"a", "b", "c", "ab", "bc"}, []float32{-5, -5, -5, -2, -1}, noPrefix)
	assert.Equal(t, []string{"a", "bc"}, texts(tk, tk.Encode("abc", false, false)))

	tk = spmVocab(t, []string{"a", "b", "c", "ab", "bc"}, []float32{-5, -5, -5, -1, -2}, noPrefix)
	assert.Equal(t, []string{"ab", "c"}, texts(tk, tk.Encode("abc", false, false)))

	// Equal scores: the leftmost pair wins.
	tk = spmVocab(t, []string{"a", "b", "c", "ab", "bc"}, []float32{-5, -5, -5, -1, -1}, noPrefix)
	assert.Equal(t, []string{"ab", "c"}, texts(tk, tk.Encode("abc", false, false)))

	// Merges chain into longer tokens.
	tk = spmVocab(t, []string{"a", "b", "c", "ab", "abc"}, []float32{-5, -5, -5, -1, -3}, noPrefix)
	assert.Equal(t, []string{"abc", "a"}, texts(tk, tk.Encode("abca", false, false)))
}

func TestSPMSpacePrefixAndEscaping(t *testing.T) {
	pieces := []string{"▁", "h", "i", "▁hi", "hi", "▁▁"}
	scores := []float32{-3, -5, -5, -1, -2, -4}
	tk := spmVocab(t, pieces, scores, nil)
	assert.True(t, tk.AddBOS())
	ids := tk.Encode("hi hi", true, false)
	assert.Equal(t, []string{"<s>", "▁hi", "▁hi"}, texts(tk, ids))
	// Decode drops the space the prefix added (only for the first piece).
	assert.Equal(t, "hi hi", tk.Decode(ids[1:]))
	// After BOS the first piece keeps its space, as in llama_detokenize.
	assert.Equal(t, " hi hi", tk.Decode(ids))
	// "hi" (-2) merges before "▁▁" (-4), and then "▁hi" (-1) wins.
	assert.Equal(t, []string{"▁", "▁hi"}, texts(tk, tk.Encode(" hi", false, false)))

	off := spmVocab(t, pieces, scores, func(c *Config) { c.AddSpacePrefix = ptr(false); c.AddBOS = ptr(false) })
	assert.Equal(t, []string{"hi", "▁hi"}, texts(off, off.Encode("hi hi", true, false)))
	assert.Equal(t, "hi hi", off.Decode(off.Encode("hi hi", true, false)))
}

func TestSPMByteFallback(t *testing.T) {
	tk := spmVocab(t, []string{"▁", "a"}, []float32{-1, -1}, func(c *Config) { c.AddSpacePrefix = ptr(false) })
	ids := tk.Encode("aé", false, false)
	assert.Equal(t, []string{"a", "<0xC3>", "<0xA9>"}, texts(tk, ids))
	assert.Equal(t, []byte{0xC3}, tk.Piece(ids[1]))
	assert.Equal(t, "aé", tk.Decode(ids))

	// A lead byte swallows the bytes it announces, even ASCII ones, which
	// then fall back to their byte tokens too (llama.cpp's behaviour).
	ids = tk.Encode("\xE2aa", false, false)
	assert.Equal(t, []string{"<0xE2>", "<0x61>", "<0x61>"}, texts(tk, ids))
	assert.Equal(t, "\xE2aa", tk.Decode(ids))
}

func TestSPMMissingByteTokensGiveUnknown(t *testing.T) {
	tk, err := New(Config{
		Model:      "llama",
		Tokens:     []string{"<unk>", "<s>", "</s>", "a"},
		Types:      []int32{TypeUnknown, TypeControl, TypeControl, TypeNormal},
		SpecialIDs: map[string]uint32{"unknown": 0},
	})
	require.NoError(t, err)
	// " aé": the three bytes of ▁ and the two of é have no tokens.
	assert.Equal(t, []int32{0, 0, 0, 3, 0, 0}, tk.Encode("aé", false, false))
	assert.Empty(t, tk.Piece(0), "unknown tokens render as nothing")
}

func TestSpecialTokenPartition(t *testing.T) {
	tk := spmVocab(t, []string{"▁", "x", "y", "<", ">", "▁x", "<ctl>", "<ctl>>", "<ud>"}, []float32{-1, -1, -1, -1, -1, -0.5, 0, 0, 0},
		func(c *Config) {
			c.Types[len(c.Types)-3] = TypeControl
			c.Types[len(c.Types)-2] = TypeControl
			c.Types[len(c.Types)-1] = TypeUserDefined
			c.AddBOS = ptr(false)
		})
	// Without parse_special, control texts are spelled out but
	// user-defined ones still match whole.
	got := texts(tk, tk.Encode("x<ctl>y<ud>x", false, false))
	assert.Equal(t, []string{"▁x", "<", "<0x63>", "<0x74>", "<0x6C>", ">", "y", "<ud>", "▁x"}, got)
	// With it, control tokens match too, longest first, and the text after
	// a special token gets the SPM space prefix.
	got = texts(tk, tk.Encode("x<ctl>>y<ctl>", false, true))
	assert.Equal(t, []string{"▁x", "<ctl>>", "▁", "y", "<ctl>"}, got)
	assert.Empty(t, tk.Piece(tk.toID["<ctl>"]), "control tokens render as nothing")
	assert.Equal(t, "<ud>", string(tk.Piece(tk.toID["<ud>"])), "user-defined tokens render as text")
}

func TestSpecialTokenStrip(t *testing.T) {
	// Phi-3 models right-strip the text after special tokens.
	tk := spmVocab(t, []string{"▁", "x", "▁x", "<|user|>", "<|end|>"}, []float32{-1, -1, -0.5, 0, 0},
		func(c *Config) {
			c.Types[len(c.Types)-2] = TypeControl
			c.Types[len(c.Types)-1] = TypeControl
			c.ModelName = "Phi-3 mini"
			c.AddBOS = ptr(false)
		})
	got := texts(tk, tk.Encode("<|user|> \n x<|end|>\n", false, true))
	assert.Equal(t, []string{"<|user|>", "▁x", "<|end|>"}, got)
}

// byteLevel spells s in GPT-2's byte-to-unicode alphabet.
func byteLevel(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		b.WriteRune(byteToRune[s[i]])
	}
	return b.String()
}

// bpeVocab is a tiny byte-level BPE vocabulary: <|endoftext|>, the 256 byte
// characters, then the merged pieces (given in plain text) with merges.
func bpeVocab(t *testing.T, pre string, pieces []string, merges [][2]string, mod func(*Config)) *Tokenizer {
	t.Helper()
	cfg := Config{Model: "gpt2", Pre: pre, SpecialIDs: map[string]uint32{"bos": 0, "eos": 0}}
	cfg.Tokens = append(cfg.Tokens, "<|endoftext|>")
	cfg.Types = append(cfg.Types, TypeControl)
	for b := 0; b < 256; b++ {
		cfg.Tokens = append(cfg.Tokens, string(byteToRune[b]))
		cfg.Types = append(cfg.Types, TypeNormal)
	}
	for _, p := range pieces {
		cfg.Tokens = append(cfg.Tokens, byteLevel(p))
		cfg.Types = append(cfg.Types, TypeNormal)
	}
	cfg.Merges = []string{}
	for _, m := range merges {
		cfg.Merges = append(cfg.Merges, byteLevel(m[0])+" "+byteLevel(m[1]))
	}
	if mod != nil {
		mod(&cfg)
	}
	tk, err := New(cfg)
	require.NoError(t, err)
	return tk
}

func plain(tk *Tokenizer, ids []int32) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = string(tk.Piece(id))
	}
	return out
}

func TestBPEMergesFollowRanks(t *testing.T) {
	pieces := []string{"ab", "bc", "abc", " a"}
	tk := bpeVocab(t, "gpt-2", pieces, [][2]string{{"a", "b"}, {"b", "c"}, {"ab", "c"}}, nil)
	assert.Equal(t, []string{"abc"}, plain(tk, tk.Encode("abc", false, false)))
	tk = bpeVocab(t, "gpt-2", pieces, [][2]string{{"b", "c"}, {"a", "b"}, {"ab", "c"}}, nil)
	assert.Equal(t, []string{"a", "bc"}, plain(tk, tk.Encode("abc", false, false)))
	// Words are merged separately: " a" comes from the word " abc".
	tk = bpeVocab(t, "gpt-2", pieces, [][2]string{{" ", "a"}, {"b", "c"}}, nil)
	assert.Equal(t, []string{"a", "bc", " a", "bc"}, plain(tk, tk.Encode("abc abc", false, false)))
	assert.Equal(t, "abc abc", tk.Decode(tk.Encode("abc abc", false, false)))
}

func TestBPEByteLevelRoundTrip(t *testing.T) {
	tk := bpeVocab(t, "smollm", nil, nil, func(c *Config) { c.Merges = nil; c.Merges = []string{} })
	for _, s := range []string{"héllo wörld", "日本語 😀", "tab\there\r\n", "\x00\x7f"} {
		ids := tk.Encode(s, false, false)
		assert.Equal(t, s, tk.Decode(ids), "%q", s)
	}
	// Invalid UTF-8 becomes U+FFFD before byte-level encoding, as in llama.cpp.
	assert.Equal(t, "a\uFFFDb", tk.Decode(tk.Encode("a\xffb", false, false)))
}

func TestBPEIgnoreMergesAndBOS(t *testing.T) {
	// llama-bpe: a word that is a token is used whole, whatever the merges
	// say, and BOS is added by default.
	tk := bpeVocab(t, "llama-bpe", []string{"ab", "bc", "abc"}, [][2]string{{"b", "c"}}, nil)
	assert.True(t, tk.AddBOS())
	assert.Equal(t, []string{"", "abc"}, plain(tk, tk.Encode("abc", true, false)))
	tk = bpeVocab(t, "gpt-2", []string{"ab", "bc", "abc"}, [][2]string{{"b", "c"}}, nil)
	assert.False(t, tk.AddBOS())
	assert.Equal(t, []string{"a", "bc"}, plain(tk, tk.Encode("abc", true, false)))
}

func TestBPEControlTokensAndEOG(t *testing.T) {
	tk := bpeVocab(t, "smollm", nil, nil, func(c *Config) {
		c.Tokens = append(c.Tokens, "<|im_start|>", "<|im_end|>", "<reponame>")
		c.Types = append(c.Types, TypeControl, TypeNormal, TypeControl)
		c.SpecialIDs = map[string]uint32{"bos": 257, "eos": 0}
	})
	start, end := int32(257), int32(258)
	assert.Equal(t, []int32{start}, tk.Encode("<|im_start|>", false, true))
	assert.Len(t, tk.Encode("<|im_start|>", false, false), len("<|im_start|>"))
	// "<|im_end|>" is recognized as end of turn by its text and becomes a
	// control token even though the file calls it normal.
	assert.True(t, tk.IsEOG(end))
	assert.True(t, tk.IsControl(end))
	assert.Equal(t, int32(0), tk.EOT(), "the lowest id among end-of-turn texts")
	assert.True(t, tk.IsEOG(0), "EOS")
	assert.True(t, tk.IsEOG(259), "<reponame> is a FIM repo token")
	assert.False(t, tk.IsEOG(start))
	assert.Equal(t, []int32{0, end, 259}, tk.EOGTokens())
	assert.Empty(t, tk.Piece(end))
	assert.Equal(t, "x", tk.Decode([]int32{start, 1 + 'x', end}))
}

func TestEndIsNotEOGWithHarmonyTokens(t *testing.T) {
	tk := bpeVocab(t, "gpt-2", nil, nil, func(c *Config) {
		c.Tokens = append(c.Tokens, "<|end|>", "<|return|>", "<|call|>")
		c.Types = append(c.Types, TypeControl, TypeControl, TypeControl)
	})
	assert.False(t, tk.IsEOG(257))
	assert.True(t, tk.IsEOG(258))
	assert.Equal(t, "<|end|>", string(tk.Piece(257)), "<|end|> becomes user-defined")
}

func TestPieceByteLevelUnknownMarker(t *testing.T) {
	tk := bpeVocab(t, "gpt-2", nil, nil, func(c *Config) {
		c.Tokens = append(c.Tokens, "a€")
		c.Types = append(c.Types, TypeNormal)
	})
	assert.Equal(t, "a[UNK_BYTE_0xe282aca€]", string(tk.Piece(257)))
	assert.Nil(t, tk.Piece(-1))
	assert.Nil(t, tk.Piece(int32(tk.VocabSize())))
	assert.Equal(t, "", tk.TokenText(9999))
}

func TestCleanUpSpaces(t *testing.T) {
	for in, want := range map[string]string{
		"Hello , world .":   "Hello, world.",
		"a ' b":             "a'b",
		"I 'm here":         "I'm here",
		"we 're , they 've": "we're, they've",
		"don 't":            "don 't",
		"you 'll":           "you 'll",
		"":                  "",
		" ?":                "?",
	} {
		assert.Equal(t, want, string(cleanUpSpaces([]byte(in))), "%q", in)
	}
	// BPE vocabularies whose pre-tokenizer asks for it clean decoded text.
	tk := bpeVocab(t, "gpt-2", nil, nil, nil)
	assert.Equal(t, "Hi, there!", tk.Decode(tk.Encode("Hi , there !", false, false)))
	tk = bpeVocab(t, "smollm", nil, nil, nil)
	assert.Equal(t, "Hi , there !", tk.Decode(tk.Encode("Hi , there !", false, false)))
}

func TestDecoderHoldsBackSplitCharacters(t *testing.T) {
	tk := spmVocab(t, []string{"▁", "a"}, []float32{-1, -1}, func(c *Config) { c.AddSpacePrefix = ptr(false) })
	ids := tk.Encode("a😀a", false, false)
	require.Len(t, ids, 6)
	d := tk.NewDecoder()
	var got []string
	for _, id := range ids {
		got = append(got, d.Push(id))
	}
	assert.Equal(t, []string{"a", "", "", "", "😀", "a"}, got)
	assert.Equal(t, "", d.Flush())

	// An unfinished character is replaced when flushed.
	d = tk.NewDecoder()
	assert.Equal(t, "", d.Push(ids[1]))
	assert.Equal(t, "", d.Push(ids[2]))
	assert.Equal(t, "\uFFFD", d.Flush())

	// Bytes that can never form a character are replaced at once.
	bad := tk.byteIDs[0xFF]
	d = tk.NewDecoder()
	assert.Equal(t, "\uFFFD", d.Push(bad))
	assert.Equal(t, "", d.Push(ids[1]))
	assert.Equal(t, "\uFFFDa", d.Push(ids[0]), "a truncated sequence is one U+FFFD")
	assert.Equal(t, "", d.Push(-5))
}

func TestValidPrefix(t *testing.T) {
	for _, c := range []struct {
		in, out, rest string
	}{
		{"abc", "abc", ""},
		{"a\xE2\x82", "a", "\xE2\x82"},
		{"a\xE2\x82\xAC", "a€", ""},
		{"\xF0\x9F", "", "\xF0\x9F"},
		{"\xED\xA0\x80", "\uFFFD\uFFFD\uFFFD", ""}, // surrogates are invalid
		{"\xC0\x80", "\uFFFD\uFFFD", ""},
		{"\xE2\x82x\xF0", "\uFFFDx", "\xF0"},
	} {
		out, rest := validPrefix([]byte(c.in), false)
		assert.Equal(t, c.out, out, "%q", c.in)
		assert.Equal(t, c.rest, string(rest), "%q", c.in)
	}
}

func TestNewErrors(t *testing.T) {
	for _, c := range []struct {
		cfg  Config
		want error
	}{
		{Config{Model: "bert", Tokens: []string{"a"}}, errs.ErrUnsupportedModel},
		{Config{Model: "gpt2", Pre: "no-such-pre", Tokens: []string{"a"}, Merges: []string{}}, errs.ErrUnsupportedModel},
		{Config{Tokens: []string{"a"}}, errs.ErrInvalidModel},
		{Config{Model: "gpt2", Tokens: []string{"a"}}, errs.ErrInvalidModel},
		{Config{Model: "llama"}, errs.ErrInvalidModel},
		{Config{Model: "llama", Tokens: []string{"a", "a"}}, errs.ErrInvalidModel},
		{Config{Model: "llama", Tokens: []string{"a", "b"}, Scores: []float32{1}}, errs.ErrInvalidModel},
		{Config{Model: "llama", Tokens: []string{"a", "b"}, Types: []int32{1}}, errs.ErrInvalidModel},
		{Config{Model: "llama", Tokens: []string{"a"}, AddBOS: ptr(true)}, errs.ErrInvalidModel},
		{Config{Model: "llama", Tokens: []string{"a", "b", "c"}, SpecialIDs: map[string]uint32{"nope": 1}}, errs.ErrInvalidArgument},
	} {
		_, err := New(c.cfg)
		assert.ErrorIs(t, err, c.want, "%+v", c.cfg)
	}
}

func TestSpecialIDDefaults(t *testing.T) {
	tk, err := New(Config{Model: "llama", Tokens: []string{"<unk>", "<s>", "</s>", ""}})
	require.NoError(t, err)
	assert.Equal(t, int32(1), tk.BOS())
	assert.Equal(t, int32(2), tk.EOS())
	assert.Equal(t, int32(0), tk.UNK())
	assert.Equal(t, int32(-1), tk.PAD())
	assert.Equal(t, "[EMPTY_3]", tk.TokenText(3))
	assert.True(t, tk.AddBOS())
	assert.False(t, tk.AddEOS())
	assert.Equal(t, "llama", tk.Model())

	// Out-of-range ids in the file keep the default.
	tk, err = New(Config{Model: "llama", Tokens: []string{"<unk>", "<s>", "</s>"},
		SpecialIDs: map[string]uint32{"eos": 99, "padding": 0}, AddEOS: ptr(true)})
	require.NoError(t, err)
	assert.Equal(t, int32(2), tk.EOS())
	assert.Equal(t, int32(0), tk.PAD())
	assert.Equal(t, []int32{1, 2}, tk.Encode("", true, false))
	assert.Empty(t, tk.Encode("", false, false))

	// BPE defaults point at id 11, which a small vocabulary lacks.
	tk = bpeVocab(t, "gpt-2", nil, nil, func(c *Config) { c.SpecialIDs = nil; c.Tokens = c.Tokens[:5] })
	assert.Equal(t, int32(-1), tk.BOS())
	tk = bpeVocab(t, "gpt-2", nil, nil, func(c *Config) { c.SpecialIDs = nil })
	assert.Equal(t, int32(11), tk.BOS())
	assert.Equal(t, "gpt-2", tk.Pre())
}

func TestGemma4StyleBPE(t *testing.T) {
	cfg := Config{
		Model:  "gemma4",
		Tokens: []string{"<pad>", "<bos>", "<eos>", "a", "b", "▁", "▁b", "\n", "\n\n", "<0x63>", "<0xC3>", "<0xA9>", "a▁b"},
		Types:  []int32{3, 3, 3, 1, 1, 1, 1, 1, 1, 6, 6, 6, 1},
		Merges: []string{"▁ b", "a ▁b", "nosep", "\n \n"},
	}
	_, err := New(cfg)
	assert.ErrorIs(t, err, errs.ErrInvalidModel, "Gemma 4 always adds BOS, so it needs one")

	cfg.SpecialIDs = map[string]uint32{"bos": 1, "eos": 2}
	tk, err := New(cfg)
	require.NoError(t, err)
	assert.True(t, tk.AddBOS())
	ids := tk.Encode("a b\n\nc\né", true, false)
	assert.Equal(t, []string{"<bos>", "a▁b", "\n\n", "<0x63>", "\n", "<0xC3>", "<0xA9>"}, texts(tk, ids))
	assert.Equal(t, "a b\n\nc\né", tk.Decode(ids))
}

func TestPresetNames(t *testing.T) {
	for _, pre := range []string{"", "default", "llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral",
		"midm-2.0", "lfm2", "jina-v5-nano", "dbrx", "smaug-bpe", "glm4", "chatglm-bpe", "falcon", "gpt-2", "phi-2",
		"jina-es", "jina-de", "gigachat", "jina-v2-es", "jina-v2-de", "a.x-4.0", "mellum", "modern-bert", "exaone4",
		"mpt", "olmo", "jais", "jina-v1-en", "jina-v2-code", "roberta-bpe", "trillion", "granite-docling",
		"starcoder", "refact", "codeshell", "exaone", "minerva-7b", "mellum2", "smollm", "command-r", "stablelm2",
		"megrez", "qwen2", "deepseek-r1-qwen", "kormo", "f2llmv2", "hunyuan", "solar-open", "grok-2", "bailingmoe",
		"bailingmoe2", "llada-moe", "qwen35", "seed-coder", "ufakzeka", "laguna", "gemma4", "granite-embed-multi-311m",
		"sarvam-moe"} {
		p, ok := presetFor(pre)
		assert.True(t, ok, pre)
		assert.NotEmpty(t, p.split, pre)
	}
	for _, pre := range []string{"deepseek-llm", "tekken", "gpt-4o", "kimi-k2", "bloom"} {
		_, ok := presetFor(pre)
		assert.False(t, ok, pre)
	}
	glm := bpeVocab(t, "glm4", nil, nil, func(c *Config) { c.SpecialIDs = nil })
	assert.Equal(t, int32(-1), glm.BOS(), "GLM-4 has no BOS by default")
}

func TestTokenByte(t *testing.T) {
	assert.Equal(t, byte(0x0A), tokenByte("<0x0A>"))
	assert.Equal(t, byte(0xAB), tokenByte("<0xab>"))
	assert.Equal(t, byte(0x0F), tokenByte("<0xF"))
	assert.Equal(t, byte(0x01), tokenByte("<0x1>"))
	assert.Equal(t, byte(0), tokenByte("<0"))
}
