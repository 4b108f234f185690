// Package tokenizer turns text into token ids and back exactly as llama.cpp
// does for a GGUF vocabulary (src/llama-vocab.cpp): SentencePiece-style
// vocabularies (tokenizer.ggml.model "llama", e.g. Llama 2, Gemma 3) and
// GPT-2 byte-level BPE vocabularies (tokenizer.ggml.model "gpt2", e.g.
// SmolLM2, Llama 3, Qwen2) with the pre-tokenizer named by
// tokenizer.ggml.pre.
//
// Encode equals llama_tokenize, Piece equals llama_token_to_piece with
// special=false, and Decode equals llama_detokenize with remove_special and
// unparse_special false. A Tokenizer is immutable once built and safe for
// concurrent use; a Decoder is not.
package tokenizer

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/realm-ai/realm/engine/errs"
)

// Token types of tokenizer.ggml.token_type (llama.cpp's llama_token_type).
const (
	// TypeUndefined marks a token with no usable type; it renders as nothing.
	TypeUndefined int32 = 0
	// TypeNormal is an ordinary piece of text.
	TypeNormal int32 = 1
	// TypeUnknown is the unknown token (<unk>).
	TypeUnknown int32 = 2
	// TypeControl is a control token (<s>, <|im_start|>): matched in input
	// only with parseSpecial, rendered as nothing.
	TypeControl int32 = 3
	// TypeUserDefined is a token always matched whole in input and rendered
	// as its text (Gemma's runs of spaces and newlines).
	TypeUserDefined int32 = 4
	// TypeUnused is a reserved token; it renders as nothing.
	TypeUnused int32 = 5
	// TypeByte is a byte-fallback token, "<0xNN>".
	TypeByte int32 = 6
)

// attr is a set of llama.cpp's llama_token_attr bits.
type attr uint16

const (
	attrUnknown attr = 1 << iota
	attrUnused
	attrNormal
	attrControl
	attrUserDefined
	attrByte
	attrNormalized
	attrLStrip
	attrRStrip
	attrSingleWord
)

// attrOfType maps a token type to its attribute, as llama.cpp's loader does.
func attrOfType(t int32) attr {
	switch t {
	case TypeUnknown:
		return attrUnknown
	case TypeUnused:
		return attrUnused
	case TypeNormal:
		return attrNormal
	case TypeControl:
		return attrControl
	case TypeUserDefined:
		return attrUserDefined
	case TypeByte:
		return attrByte
	}
	return 0
}

// noToken is LLAMA_TOKEN_NULL.
const noToken int32 = -1

// Special-token names accepted in Config.SpecialIDs. Each is the middle of a
// GGUF key "tokenizer.ggml.<name>_token_id"; "seperator" is spelled as in
// llama.cpp. "prefix", "suffix" and "middle" are the deprecated spellings of
// the FIM ids and, as in llama.cpp, win when both are present.
var specialNames = []string{
	"bos", "eos", "eot", "eom", "unknown", "seperator", "padding", "mask",
	"fim_pre", "fim_suf", "fim_mid", "fim_pad", "fim_rep", "fim_sep",
	"prefix", "suffix", "middle",
}

// Config is a vocabulary as plain data: what FromGGUF reads from a file's
// tokenizer.* keys, usable directly to build small vocabularies in tests.
type Config struct {
	// Model is tokenizer.ggml.model: "llama" (SentencePiece BPE), "gpt2"
	// (byte-level BPE) or "gemma4" (SentencePiece-style BPE with merges).
	Model string
	// Pre is tokenizer.ggml.pre, the pre-tokenizer of a BPE vocabulary
	// ("" means llama.cpp's "default"). It is ignored for "llama".
	Pre string
	// Tokens is tokenizer.ggml.tokens, indexed by token id.
	Tokens []string
	// Scores is tokenizer.ggml.scores (optional; SentencePiece merge order).
	Scores []float32
	// Types is tokenizer.ggml.token_type (optional; Type* constants).
	Types []int32
	// Merges is tokenizer.ggml.merges ("left right", rank = index); it is
	// required for BPE models.
	Merges []string
	// SpecialIDs holds the tokenizer.ggml.<name>_token_id values present in
	// the file, keyed by <name> (see the list in specialNames: "bos",
	// "eos", "eot", "unknown", "padding", ...). Absent names keep
	// llama.cpp's per-model defaults; ids outside the vocabulary are ignored.
	SpecialIDs map[string]uint32
	// AddBOS, AddEOS, AddSep and AddSpacePrefix are tokenizer.ggml.
	// add_bos_token, add_eos_token, add_sep_token and add_space_prefix;
	// nil means absent (llama.cpp's default for the model applies).
	AddBOS, AddEOS, AddSep, AddSpacePrefix *bool
	// ModelName is general.name; llama.cpp keys a few per-token attributes
	// on it (Phi-3's right-stripping special tokens).
	ModelName string
}

// Tokenizer encodes and decodes text for one vocabulary.
type Tokenizer struct {
	spm     bool   // SentencePiece vocabulary, else BPE
	model   string // tokenizer.ggml.model
	preName string // tokenizer.ggml.pre as given
	pre     preset // BPE pre-tokenizer and flags

	tokens []string
	scores []float32
	attrs  []attr
	toID   map[string]int32
	ranks  map[string]int32 // "left right" -> merge rank
	// byteIDs is the SPM byte_to_token table: <0xNN>, else the one-byte
	// token, else -1.
	byteIDs [256]int32

	special []int32 // control, user-defined and unknown tokens, longest first
	eog     map[int32]struct{}

	bos, eos, eot, eom, unk, sep, pad, mask int32
	fimPre, fimSuf, fimMid, fimPad, fimRep  int32
	fimSep                                  int32

	addBOS, addEOS, addSep bool
	addSpacePrefix         bool
	cleanSpaces            bool
	escapeSpaces           bool // token texts use U+2581 for spaces

	source string // names the vocabulary in errors
}

// errorf builds an error wrapping sentinel and naming the vocabulary.
func (t *Tokenizer) errorf(sentinel error, format string, args ...any) error {
	return fmt.Errorf("%w: %s: "+format, append([]any{sentinel, t.source}, args...)...)
}

// New builds a tokenizer from plain data, applying llama.cpp's defaults and
// fix-ups. It fails with errs.ErrInvalidModel for malformed data and
// errs.ErrUnsupportedModel for a tokenizer model or pre-tokenizer Realm does
// not implement.
func New(cfg Config) (*Tokenizer, error) { return build(cfg, "tokenizer") }

// build is New with source naming the vocabulary in error messages.
func build(cfg Config, source string) (*Tokenizer, error) {
	t := &Tokenizer{model: cfg.Model, preName: cfg.Pre, source: source}
	switch cfg.Model {
	case "llama":
		t.spm = true
		t.bos, t.eos, t.unk = 1, 2, 0
		t.addSpacePrefix, t.addBOS, t.escapeSpaces = true, true, true
	case "gpt2", "gemma4":
		pre := cfg.Pre
		t.bos, t.eos, t.unk = 11, 11, noToken
		if cfg.Model == "gemma4" {
			pre = "gemma4"
			t.bos, t.eos = noToken, noToken
		}
		p, ok := presetFor(pre)
		if !ok {
			return nil, t.errorf(errs.ErrUnsupportedModel, "pre-tokenizer %q", cfg.Pre)
		}
		t.pre = p
		t.cleanSpaces, t.addBOS, t.escapeSpaces = p.cleanSpaces, p.addBOS, p.escapeSpaces
		if p.noBOS {
			t.bos = noToken
		}
		if cfg.Merges == nil {
			return nil, t.errorf(errs.ErrInvalidModel, "%s vocabulary without tokenizer.ggml.merges", cfg.Model)
		}
	case "":
		return nil, t.errorf(errs.ErrInvalidModel, "missing tokenizer.ggml.model")
	default:
		return nil, t.errorf(errs.ErrUnsupportedModel, "model %q", cfg.Model)
	}
	t.eot, t.eom, t.sep, t.pad, t.mask = noToken, noToken, noToken, noToken, noToken
	t.fimPre, t.fimSuf, t.fimMid, t.fimPad, t.fimRep, t.fimSep = noToken, noToken, noToken, noToken, noToken, noToken
	if cfg.AddSpacePrefix != nil {
		t.addSpacePrefix = *cfg.AddSpacePrefix
	}
	if err := t.loadTokens(cfg); err != nil {
		return nil, err
	}
	if !t.spm {
		t.loadMerges(cfg.Merges)
	}
	if err := t.loadSpecialIDs(cfg); err != nil {
		return nil, err
	}
	t.detectSpecialTokens()
	t.buildSpecialCache(cfg.ModelName)
	return t, nil
}

// loadTokens fills the token table, scores and attributes.
func (t *Tokenizer) loadTokens(cfg Config) error {
	n := len(cfg.Tokens)
	if n == 0 {
		return t.errorf(errs.ErrInvalidModel, "empty tokenizer.ggml.tokens")
	}
	if int64(n) > 1<<31-1 {
		return t.errorf(errs.ErrInvalidModel, "%d tokens", n)
	}
	if cfg.Scores != nil && len(cfg.Scores) < n {
		return t.errorf(errs.ErrInvalidModel, "%d scores for %d tokens", len(cfg.Scores), n)
	}
	if cfg.Types != nil && len(cfg.Types) < n {
		return t.errorf(errs.ErrInvalidModel, "%d token types for %d tokens", len(cfg.Types), n)
	}
	t.tokens = make([]string, n)
	t.scores = make([]float32, n)
	t.attrs = make([]attr, n)
	t.toID = make(map[string]int32, n)
	for i, w := range cfg.Tokens {
		if w == "" {
			w = fmt.Sprintf("[EMPTY_%d]", i)
		}
		if prev, dup := t.toID[w]; dup {
			return t.errorf(errs.ErrInvalidModel, "duplicate token %q has ids %d and %d", w, prev, i)
		}
		t.toID[w] = int32(i)
		t.tokens[i] = w
		if cfg.Scores != nil {
			t.scores[i] = cfg.Scores[i]
		}
		t.attrs[i] = attrNormal
		if cfg.Types != nil {
			t.attrs[i] = attrOfType(cfg.Types[i])
		}
	}
	for b := 0; b < 256; b++ {
		t.byteIDs[b] = noToken
		if id, ok := t.toID[byteTokenText(byte(b))]; ok {
			t.byteIDs[b] = id
		} else if id, ok := t.toID[string([]byte{byte(b)})]; ok {
			t.byteIDs[b] = id
		}
	}
	return nil
}

// loadMerges indexes "left right" merges by rank. As in llama.cpp, the
// separator is the first space after the first byte, and a repeated merge
// keeps its first rank; a merge without a separator can never apply.
func (t *Tokenizer) loadMerges(merges []string) {
	t.ranks = make(map[string]int32, len(merges))
	for i, m := range merges {
		if len(m) < 2 || strings.IndexByte(m[1:], ' ') < 0 {
			continue
		}
		if _, ok := t.ranks[m]; !ok {
			t.ranks[m] = int32(i)
		}
	}
}

// loadSpecialIDs applies the tokenizer.ggml.*_token_id and add_* values.
func (t *Tokenizer) loadSpecialIDs(cfg Config) error {
	n := int32(len(t.tokens))
	slots := map[string]*int32{
		"bos": &t.bos, "eos": &t.eos, "eot": &t.eot, "eom": &t.eom, "unknown": &t.unk,
		"seperator": &t.sep, "padding": &t.pad, "mask": &t.mask,
		"fim_pre": &t.fimPre, "fim_suf": &t.fimSuf, "fim_mid": &t.fimMid,
		"fim_pad": &t.fimPad, "fim_rep": &t.fimRep, "fim_sep": &t.fimSep,
		"prefix": &t.fimPre, "suffix": &t.fimSuf, "middle": &t.fimMid,
	}
	for name := range cfg.SpecialIDs {
		if _, ok := slots[name]; !ok {
			return t.errorf(errs.ErrInvalidArgument, "unknown special token name %q", name)
		}
	}
	for _, name := range specialNames {
		id := slots[name]
		if *id >= n {
			*id = noToken // a default outside the vocabulary is disabled
		}
		if v, ok := cfg.SpecialIDs[name]; ok && int64(v) < int64(n) {
			*id = int32(v)
		}
	}
	if cfg.AddBOS != nil {
		t.addBOS = *cfg.AddBOS
	}
	if cfg.AddEOS != nil {
		t.addEOS = *cfg.AddEOS
	}
	if cfg.AddSep != nil {
		t.addSep = *cfg.AddSep
	}
	if t.pre.gemma4 {
		t.addBOS = true
	}
	for _, c := range []struct {
		add  bool
		id   int32
		what string
	}{{t.addBOS, t.bos, "add_bos_token is true, but bos_token_id is not set"},
		{t.addEOS, t.eos, "add_eos_token is true, but eos_token_id is not set"},
		{t.addSep, t.sep, "add_sep_token is true, but seperator_token_id is not set"}} {
		if c.add && c.id == noToken {
			return t.errorf(errs.ErrInvalidModel, "%s", c.what)
		}
	}
	return nil
}

// Token texts that llama.cpp recognizes when the file does not name them.
var (
	eotTexts = []string{"<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>",
		"<|end_of_text|>", "<EOT>", "_<EOT>", "[EOT]", "<｜end▁of▁sentence｜>", "<end_of_utterance>"}
	eomTexts    = []string{"<|eom_id|>"}
	fimPreTexts = []string{"<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>", "<｜fim▁begin｜>", "<PRE>",
		"▁<PRE>", "<|code_prefix|>", "<|prefix|>"}
	fimSufTexts = []string{"<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>", "<｜fim▁hole｜>", "<SUF>",
		"▁<SUF>", "<|code_suffix|>", "<|suffix|>"}
	fimMidTexts = []string{"<|fim_middle|>", "<fim-middle>", "<fim_middle>", "<｜fim▁end｜>", "<MID>",
		"▁<MID>", "<|code_middle|>", "<|middle|>"}
	fimPadTexts = []string{"<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]"}
	fimRepTexts = []string{"<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>"}
	fimSepTexts = []string{"<|file_sep|>"}
	eogTexts    = []string{"<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<|flush|>",
		"<|calls|>", "<end_of_turn>", "<|endoftext|>", "</s>", "<|eom_id|>", "<EOT>", "_<EOT>", "[EOT]",
		"[EOS]", "<|end_of_text|>", "<end_of_utterance>", "<eos>", "<turn|>", "<|tool_response>",
		"<｜end▁of▁sentence｜>", "[e~["}
	alwaysRenderTexts = []string{"<|channel|>", "<|message|>", "<|start|>", "<|constrain|>"}
)

// detectSpecialTokens reproduces llama.cpp's detection of EOT, EOM and FIM
// tokens by their text, the end-of-generation set and the attribute fix-ups
// that go with them. llama.cpp walks an unordered map, so when a vocabulary
// holds several candidates for one role the winner is unspecified there;
// Realm takes the lowest id.
func (t *Tokenizer) detectSpecialTokens() {
	forceControl := func(id int32) { t.attrs[id] |= attrControl }
	detect := func(slot *int32, texts []string) {
		if *slot != noToken {
			return
		}
		for id, w := range t.tokens {
			if slices.Contains(texts, w) {
				*slot = int32(id)
				forceControl(int32(id))
				return
			}
		}
	}
	detect(&t.eot, eotTexts)
	detect(&t.eom, eomTexts)
	detect(&t.fimPre, fimPreTexts)
	detect(&t.fimSuf, fimSufTexts)
	detect(&t.fimMid, fimMidTexts)
	detect(&t.fimPad, fimPadTexts)
	detect(&t.fimRep, fimRepTexts)
	detect(&t.fimSep, fimSepTexts)

	t.eog = map[int32]struct{}{}
	for _, id := range []int32{t.fimPad, t.fimRep, t.fimSep} {
		if id != noToken {
			t.eog[id] = struct{}{}
		}
	}
	for id, w := range t.tokens {
		if slices.Contains(eogTexts, w) {
			t.eog[int32(id)] = struct{}{}
			forceControl(int32(id))
		}
	}
	for id, w := range t.tokens {
		if slices.Contains(alwaysRenderTexts, w) {
			t.attrs[id] = attrUserDefined
		}
	}
	for _, id := range []int32{t.eos, t.eot, t.eom} {
		if id != noToken {
			t.eog[id] = struct{}{}
		}
	}
	// o200k_harmony and solar-open: "<|end|>" is not an end of generation.
	has := map[string]int32{}
	for id := range t.eog {
		has[t.tokens[id]] = id
	}
	_, ret := has["<|return|>"]
	_, call := has["<|call|>"]
	_, calls := has["<|calls|>"]
	_, flush := has["<|flush|>"]
	if end, ok := has["<|end|>"]; ok && ((ret && (call || calls)) || ((call || calls) && flush)) {
		delete(t.eog, end)
		t.attrs[end] = attrUserDefined
	}
	// Gemma 4 and PaddleOCR: "</s>" is not an end of generation.
	if s, ok := has["</s>"]; ok {
		if _, tr := has["<|tool_response>"]; tr {
			delete(t.eog, s)
			t.attrs[s] = attrNormal
		}
	}
}

// buildSpecialCache lists the tokens matched whole in input text (control,
// user-defined and unknown), longest text first, and applies llama.cpp's
// per-model strip attributes.
func (t *Tokenizer) buildSpecialCache(modelName string) {
	for id, a := range t.attrs {
		if a&(attrControl|attrUserDefined|attrUnknown) != 0 {
			t.special = append(t.special, int32(id))
		}
	}
	// llama.cpp's std::sort is not stable; Realm breaks length ties by id.
	slices.SortStableFunc(t.special, func(a, b int32) int {
		return cmp.Compare(len(t.tokens[b]), len(t.tokens[a]))
	})
	setAttr := func(text string, a attr, on bool) {
		if id, ok := t.toID[text]; ok {
			if on {
				t.attrs[id] |= a
			} else {
				t.attrs[id] &^= a
			}
		}
	}
	name := strings.ToLower(modelName)
	switch {
	case strings.Contains(t.preName, "jina-v2-de") || strings.Contains(t.preName, "jina-v2-es") ||
		strings.Contains(t.preName, "jina-v2-code"):
		setAttr("<mask>", attrLStrip, true)
	case strings.Contains(name, "phi-3") || strings.Contains(name, "phi3"):
		for _, id := range t.special {
			t.attrs[id] |= attrRStrip
		}
		setAttr("</s>", attrRStrip, true)
		for _, w := range []string{"<unk>", "<s>", "<|endoftext|>"} {
			setAttr(w, attrRStrip, false)
		}
	case strings.Contains(name, "modern-bert"):
		setAttr("[MASK]", attrLStrip, true)
	}
}

// fragment is a piece of the input: raw text text[off:off+n], or a special
// token when tok >= 0.
type fragment struct {
	tok    int32
	off, n int
}

// isCSpace is C's isspace in the "C" locale.
func isCSpace(b byte) bool {
	return b == ' ' || (b >= '\t' && b <= '\r')
}

// partition splits text at occurrences of special tokens, as llama.cpp's
// tokenizer_st_partition: tokens are tried longest first, each splitting all
// raw fragments left by the previous ones. User-defined tokens always
// split; control and unknown tokens only when parseSpecial is set.
func (t *Tokenizer) partition(text string, parseSpecial bool) []fragment {
	if text == "" {
		return nil
	}
	frags := []fragment{{tok: noToken, off: 0, n: len(text)}}
	for _, id := range t.special {
		a := t.attrs[id]
		if !parseSpecial && a&(attrControl|attrUnknown) != 0 {
			continue
		}
		st := t.tokens[id]
		var next []fragment
		changed := false
		for fi, fr := range frags {
			idx := -1
			if fr.tok == noToken {
				idx = strings.Index(text[fr.off:fr.off+fr.n], st)
			}
			if idx < 0 {
				if changed {
					next = append(next, fr)
				}
				continue
			}
			if !changed {
				next = append(make([]fragment, 0, len(frags)+4), frags[:fi]...)
				changed = true
			}
			base, length := fr.off, fr.n
			for {
				m := base + idx
				if left := m - base; left > 0 {
					if a&attrLStrip != 0 {
						for left > 0 && isCSpace(text[base+left-1]) {
							left--
						}
					}
					if left > 0 {
						next = append(next, fragment{tok: noToken, off: base, n: left})
					}
				}
				next = append(next, fragment{tok: id})
				end := m + len(st)
				if end >= base+length {
					break
				}
				length -= end - base
				base = end
				if a&attrRStrip != 0 {
					for length > 0 && isCSpace(text[base]) {
						base++
						length--
					}
				}
				idx = strings.Index(text[base:base+length], st)
				if idx < 0 {
					if length > 0 {
						next = append(next, fragment{tok: noToken, off: base, n: length})
					}
					break
				}
			}
		}
		if changed {
			frags = next
		}
	}
	return frags
}

// Encode tokenizes text like llama_tokenize(text, addSpecial, parseSpecial):
// addSpecial adds BOS/EOS as the vocabulary asks (AddBOS, AddEOS), and
// parseSpecial lets control tokens written in the text (such as
// "<|im_start|>") become their ids instead of being spelled out.
func (t *Tokenizer) Encode(text string, addSpecial, parseSpecial bool) []int32 {
	frags := t.partition(text, parseSpecial)
	out := make([]int32, 0, len(text)/3+4)
	if addSpecial && t.addBOS {
		out = append(out, t.bos)
	}
	prevSpecial := true // SPM: prefix a space at the start and after specials
	for _, fr := range frags {
		if fr.tok != noToken {
			out = append(out, fr.tok)
			prevSpecial = true
			continue
		}
		raw := text[fr.off : fr.off+fr.n]
		if t.spm {
			if t.addSpacePrefix && prevSpecial {
				raw = " " + raw
			}
			out = t.encodeSPM(escapeSpaces(raw), out)
			prevSpecial = false
			continue
		}
		out = t.encodeBPE(raw, out)
	}
	if addSpecial && t.addEOS {
		out = append(out, t.eos)
	}
	return out
}

// Piece returns the bytes token id stands for, like llama_token_to_piece
// with special=false: control and unknown tokens give nothing, byte tokens
// give their byte, so a piece may be part of a UTF-8 sequence. It returns
// nil for ids outside the vocabulary.
func (t *Tokenizer) Piece(id int32) []byte {
	if id < 0 || int(id) >= len(t.tokens) {
		return nil
	}
	return t.appendPiece(nil, id)
}

// appendPiece appends the piece of a valid id to dst.
func (t *Tokenizer) appendPiece(dst []byte, id int32) []byte {
	a := t.attrs[id]
	text := t.tokens[id]
	switch {
	case a&(attrUnknown|attrControl) != 0:
		return dst
	case a&attrUserDefined != 0:
		return append(dst, text...)
	case a&attrNormal != 0:
		if t.spm || t.escapeSpaces {
			return append(dst, unescapeSpaces(text)...)
		}
		return appendByteLevel(dst, text)
	case a&attrByte != 0:
		return append(dst, tokenByte(text))
	}
	return dst
}

// appendByteLevel undoes GPT-2's byte-to-unicode mapping (llama.cpp's
// llama_decode_text), including its "[UNK_BYTE_0x..]" marker for characters
// outside the mapping.
func appendByteLevel(dst []byte, text string) []byte {
	for i := 0; i < len(text); {
		c, n := decodeOne(text, i)
		i += n
		if b, ok := runeToByte[c]; ok {
			dst = append(dst, b)
			continue
		}
		dst = append(dst, "[UNK_BYTE_0x"...)
		for _, u := range appendCodepoint(nil, c) {
			dst = fmt.Appendf(dst, "%02x", u)
		}
		dst = append(dst, text...)
		dst = append(dst, ']')
	}
	return dst
}

// tokenByte parses the byte of a "<0xNN>" token like llama.cpp's
// token_to_byte: strtol over the two characters after "<0x".
func tokenByte(text string) byte {
	var v byte
	for i := 3; i < len(text) && i < 5; i++ {
		c := text[i]
		switch {
		case c >= '0' && c <= '9':
			v = v<<4 | (c - '0')
		case c >= 'a' && c <= 'f':
			v = v<<4 | (c - 'a' + 10)
		case c >= 'A' && c <= 'F':
			v = v<<4 | (c - 'A' + 10)
		default:
			return v
		}
	}
	return v
}

// Decode turns ids into text like llama_detokenize(remove_special=false,
// unparse_special=false): the pieces are concatenated, SentencePiece
// vocabularies that add a space prefix drop the first piece's leading space,
// and BPE vocabularies with clean_up_tokenization_spaces apply llama.cpp's
// space clean-up. The result holds the pieces' bytes as they are, so it can
// be invalid UTF-8 when ids end inside a character; ids outside the
// vocabulary are skipped.
func (t *Tokenizer) Decode(ids []int32) string {
	var buf []byte
	removeSpace := t.addSpacePrefix
	for _, id := range ids {
		if id < 0 || int(id) >= len(t.tokens) {
			removeSpace = false
			continue
		}
		start := len(buf)
		buf = t.appendPiece(buf, id)
		if removeSpace && len(buf) > start && buf[start] == ' ' {
			buf = append(buf[:start], buf[start+1:]...)
		}
		removeSpace = false
	}
	if t.cleanSpaces {
		buf = cleanUpSpaces(buf)
	}
	return string(buf)
}

// cleanUpSpaces is llama.cpp's clean_spaces pass of llama_detokenize, done
// in place with the same index arithmetic: drop a space before ?!., ; turn
// " ' " into "'"; and drop the space before 's 'm 're 've.
func cleanUpSpaces(text []byte) []byte {
	n := len(text)
	if n == 0 {
		return text
	}
	total := 1
	for i := 1; i < n; i++ {
		x := text[i]
		if text[i-1] == ' ' && (x == '?' || x == '!' || x == '.' || x == ',') {
			total--
		}
		text[total] = x
		total++
	}
	n, total = total, 1
	for i := 1; i < n; i++ {
		x := text[i]
		if x == '\'' && i+1 < n && text[i-1] == ' ' && text[i+1] == ' ' {
			total--
			i++
			text[i] = 0
		}
		text[total] = x
		total++
	}
	n, total = total, 1
	for i := 1; i < n; i++ {
		x := text[i]
		if text[i-1] == ' ' && x == '\'' && i+1 < n {
			x1 := text[i+1]
			switch {
			case x1 == 't' || x1 == 'd':
			case x1 == 's' || x1 == 'm':
				total--
			case i+2 < n:
				x2 := text[i+2]
				if (x1 == 'r' || x1 == 'v') && x2 == 'e' {
					total--
				}
			}
		}
		text[total] = x
		total++
	}
	return text[:total]
}

// VocabSize is the number of tokens.
func (t *Tokenizer) VocabSize() int { return len(t.tokens) }

// BOS is the beginning-of-sequence token, or -1 when the vocabulary has none.
func (t *Tokenizer) BOS() int32 { return t.bos }

// EOS is the end-of-sequence token, or -1 when the vocabulary has none.
func (t *Tokenizer) EOS() int32 { return t.eos }

// EOT is the end-of-turn token (named in the file or recognized by its
// text, such as "<|im_end|>" or "<end_of_turn>"), or -1.
func (t *Tokenizer) EOT() int32 { return t.eot }

// UNK is the unknown token, or -1.
func (t *Tokenizer) UNK() int32 { return t.unk }

// PAD is the padding token, or -1.
func (t *Tokenizer) PAD() int32 { return t.pad }

// AddBOS reports whether Encode with addSpecial prepends BOS.
func (t *Tokenizer) AddBOS() bool { return t.addBOS }

// AddEOS reports whether Encode with addSpecial appends EOS.
func (t *Tokenizer) AddEOS() bool { return t.addEOS }

// IsEOG reports whether id ends generation (llama_vocab_is_eog): EOS, EOT,
// EOM, FIM pad/repo/separator tokens and tokens llama.cpp recognizes by text
// such as "<|im_end|>", "<end_of_turn>" and "<|endoftext|>".
func (t *Tokenizer) IsEOG(id int32) bool {
	_, ok := t.eog[id]
	return ok
}

// EOGTokens lists the end-of-generation tokens in increasing order.
func (t *Tokenizer) EOGTokens() []int32 {
	ids := make([]int32, 0, len(t.eog))
	for id := range t.eog {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// IsControl reports whether id is a control token (rendered as nothing).
func (t *Tokenizer) IsControl(id int32) bool {
	return id >= 0 && int(id) < len(t.attrs) && t.attrs[id]&attrControl != 0
}

// TokenText is the token's text as stored in the vocabulary (byte-level
// BPE texts keep their byte-to-unicode spelling), or "" for ids outside it.
func (t *Tokenizer) TokenText(id int32) string {
	if id < 0 || int(id) >= len(t.tokens) {
		return ""
	}
	return t.tokens[id]
}

// Model is tokenizer.ggml.model ("llama", "gpt2" or "gemma4").
func (t *Tokenizer) Model() string { return t.model }

// Pre is tokenizer.ggml.pre as given ("" when absent).
func (t *Tokenizer) Pre() string { return t.preName }
