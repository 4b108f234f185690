package tokenizer

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The expected pieces below are what the original regular expressions give
// (Python's regex module, applied in sequence segment by segment as
// llama.cpp's unicode_regex_split does).
func TestPreTokenizers(t *testing.T) {
	for _, c := range []struct {
		pre, text string
		want      []string
	}{
		{"gpt-2", "Hello world's  test 123", []string{"Hello", " world", "'s", " ", " test", " 123"}},
		{"gpt-2", "I'LL go\n\n  now!!  ", []string{"I", "'", "LL", " go", "\n\n ", " now", "!!", "  "}},
		{"gpt-2", "naïve café—ok?", []string{"naïve", " café", "—", "ok", "?"}},
		{"llama-bpe", "I'LL go\n\n  now!!\n  x", []string{"I", "'LL", " go", "\n\n", " ", " now", "!!\n", " ", " x"}},
		{"llama-bpe", "12345678 abc", []string{"123", "456", "78", " abc"}},
		{"llama-bpe", "日本語のテキスト 😀🎉", []string{"日本語のテキスト", " 😀🎉"}},
		{"llama-bpe", "\tfoo  bar", []string{"\tfoo", " ", " bar"}},
		{"qwen2", "12345 x's", []string{"1", "2", "3", "4", "5", " x", "'s"}},
		{"qwen2", "a\r\n\r\n b", []string{"a", "\r\n\r\n", " b"}},
		// smollm splits digits off first, so "  " before "1" stays whole.
		{"smollm", "a  1", []string{"a", "  ", "1"}},
		{"smollm", "x 2024 y", []string{"x", " ", "2", "0", "2", "4", " y"}},
		{"smollm", "v1.2.3", []string{"v", "1", ".", "2", ".", "3"}},
		{"default", "Hello, world!!! 12345 $x", []string{"Hello", ",", " world", "!!!", " ", "123", "45", " ", "$", "x"}},
		{"default", "a`b", []string{"a", "`", "b"}},
		{"default", "f(x)=y^2", []string{"f", "(", "x", ")=", "y", "^", "2"}},
		{"laguna", "ab\n\ncd", []string{"ab", "\n\n", "cd"}},
		// Combining marks split Qwen2 words but not Qwen3.5 ones.
		{"qwen2", "नमस्ते दुनिया", []string{"नमस", "्त", "े", " द", "ुन", "िय", "ा"}},
		{"qwen35", "नमस्ते दुनिया", []string{"नमस्ते", " दुनिया"}},
	} {
		p, ok := presetFor(c.pre)
		require.True(t, ok, c.pre)
		assert.Equal(t, c.want, preTokenize(c.text, p.split, false), "%s %q", c.pre, c.text)
	}
}

func TestPreTokenizeByteEncodes(t *testing.T) {
	p, _ := presetFor("gpt-2")
	// Spaces, newlines and UTF-8 bytes are spelled in GPT-2's byte alphabet.
	assert.Equal(t, []string{"Hello", "Ġworld", "ĊĊ", "ĠÃ©"}, preTokenize("Hello world\n\n é", p.split, true))
}

func TestCodepointFlags(t *testing.T) {
	for _, c := range []struct {
		r    rune
		want cpFlags
	}{
		{'a', fLetter}, {'7', fNumber}, {' ', fSeparator | fWhitespace}, {'\n', fControl | fWhitespace},
		{'.', fPunct}, {'$', fSymbol}, {'`', fSymbol}, {0x0301, fMark}, {0xA0, fSeparator | fWhitespace},
		{0x85, fControl | fWhitespace}, {0x3000, fSeparator | fWhitespace}, {0x1F, fControl},
		{'²', fNumber}, {'日', fLetter}, {0x1F600, fSymbol}, {0xE000, fControl}, {0xD800, fControl},
		// Unicode 15.1 additions, which llama.cpp's tables include.
		{0x2FFC, fSymbol}, {0x31EF, fSymbol}, {0x2EBF0, fLetter}, {0x2EE5D, fLetter},
		{0x2EE5E, fUndefined}, {0x0378, fUndefined}, {0x110000, fUndefined},
	} {
		assert.Equal(t, c.want, flagsOf(c.r), "U+%04X", c.r)
	}
}

func TestDecodeCodepointsLikeLlamaCpp(t *testing.T) {
	// Overlong forms and surrogates decode; stray bytes become U+FFFD.
	cps := decodeCodepoints("\xC0\x80a\xED\xA0\x80\x80\xE2\x82b", nil)
	assert.Equal(t, []rune{0, 'a', 0xD800, 0xFFFD, 0xFFFD, 0xFFFD, 'b'}, cps)
	assert.Equal(t, "\xED\xA0\x80", string(appendCodepoint(nil, 0xD800)))
	assert.Equal(t, "\uFFFD", string(appendCodepoint(nil, 0x110000)))
}
