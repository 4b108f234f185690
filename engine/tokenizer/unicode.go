package tokenizer

import "unicode"

// cpFlags classifies one code point the way llama.cpp's unicode tables do:
// exactly one category bit (the regex classes \p{N}, \p{L}, \p{Z}, \p{M},
// \p{P}, \p{S}, \p{C}, or "undefined" for unassigned code points) plus the
// helper bit fWhitespace for what Python's regex \s matches. The value 0 means
// "outside the text", which the pre-tokenizer splitters use at segment ends.
type cpFlags uint16

const (
	fUndefined cpFlags = 1 << iota
	fNumber
	fLetter
	fSeparator
	fMark
	fPunct
	fSymbol
	fControl
	fWhitespace
)

// isWS, isLetter and isNumber read the bits the pre-tokenizers test most.
func (f cpFlags) isWS() bool     { return f&fWhitespace != 0 }
func (f cpFlags) isLetter() bool { return f&fLetter != 0 }
func (f cpFlags) isNumber() bool { return f&fNumber != 0 }

// maxCodepoint is one past the largest code point llama.cpp classifies.
const maxCodepoint = 0x110000

// latinFlags caches the flags of U+0000..U+00FF, the hot path for most text.
var latinFlags [256]cpFlags

func init() {
	for c := range latinFlags {
		latinFlags[c] = computeFlags(rune(c))
	}
}

// flagsOf returns the llama.cpp flags of code point c.
func flagsOf(c rune) cpFlags {
	if c >= 0 && c < 256 {
		return latinFlags[c]
	}
	return computeFlags(c)
}

// computeFlags derives the flags from Go's Unicode tables. llama.cpp's tables
// (src/unicode-data.cpp, generated with Python's regex module) follow Unicode
// 15.1 while Go's follow 15.0; the only differences are the code points that
// 15.1 assigned, patched in unicode151Added. Everything else was checked code
// point by code point against llama.cpp's table.
func computeFlags(c rune) cpFlags {
	if c < 0 || c >= maxCodepoint {
		return fUndefined
	}
	var f cpFlags
	switch {
	case unicode.IsLetter(c):
		f = fLetter
	case unicode.IsNumber(c):
		f = fNumber
	case unicode.IsMark(c):
		f = fMark
	case unicode.IsPunct(c):
		f = fPunct
	case unicode.IsSymbol(c):
		f = fSymbol
	case unicode.In(c, unicode.Z):
		f = fSeparator
	case unicode.In(c, unicode.Cc, unicode.Cf, unicode.Co, unicode.Cs):
		f = fControl
	default:
		f = unicode151Added(c)
	}
	if isWhitespaceCP(c) {
		f |= fWhitespace
	}
	return f
}

// unicode151Added classifies the code points that Unicode 15.1 assigned
// (IDEOGRAPHIC DESCRIPTION CHARACTERs U+2FFC..U+2FFF and U+31EF, CJK
// Extension I U+2EBF0..U+2EE5D); every other unassigned code point is
// undefined, as in llama.cpp.
func unicode151Added(c rune) cpFlags {
	switch {
	case c >= 0x2FFC && c <= 0x2FFF, c == 0x31EF:
		return fSymbol
	case c >= 0x2EBF0 && c <= 0x2EE5D:
		return fLetter
	}
	return fUndefined
}

// isWhitespaceCP is llama.cpp's unicode_set_whitespace: the code points with
// the Unicode White_Space property.
func isWhitespaceCP(c rune) bool {
	switch {
	case c >= 0x09 && c <= 0x0D, c == 0x20, c == 0x85, c == 0xA0, c == 0x1680:
		return true
	case c >= 0x2000 && c <= 0x200A:
		return true
	case c == 0x2028, c == 0x2029, c == 0x202F, c == 0x205F, c == 0x3000:
		return true
	}
	return false
}

// utf8SeqLen is llama.cpp's unicode_len_utf8: the sequence length announced
// by a lead byte, judged only by its high nibble (continuation bytes count as
// length 1, and F8..FF as length 4).
func utf8SeqLen(b byte) int {
	switch b >> 4 {
	case 0xC, 0xD:
		return 2
	case 0xE:
		return 3
	case 0xF:
		return 4
	}
	return 1
}

// replacementChar is U+FFFD, which llama.cpp substitutes for bytes that do
// not decode.
const replacementChar = 0xFFFD

// decodeCodepoints splits s into code points exactly like llama.cpp's
// unicode_cpts_from_utf8: continuation bytes are checked but overlong forms,
// surrogates and values above U+10FFFF are accepted as decoded, and a byte
// that starts no acceptable sequence becomes U+FFFD and is skipped alone.
func decodeCodepoints(s string, dst []rune) []rune {
	for i := 0; i < len(s); {
		c, n := decodeOne(s, i)
		dst = append(dst, c)
		i += n
	}
	return dst
}

// decodeOne decodes the code point at s[i:] as unicode_cpt_from_utf8 does,
// returning U+FFFD and width 1 where that function throws.
func decodeOne(s string, i int) (rune, int) {
	b0 := s[i]
	cont := func(k int) bool { return i+k < len(s) && s[i+k]&0xC0 == 0x80 }
	switch {
	case b0&0x80 == 0:
		return rune(b0), 1
	case b0&0x40 == 0:
		return replacementChar, 1
	case b0&0x20 == 0:
		if cont(1) {
			return rune(b0&0x1F)<<6 | rune(s[i+1]&0x3F), 2
		}
	case b0&0x10 == 0:
		if cont(1) && cont(2) {
			return rune(b0&0x0F)<<12 | rune(s[i+1]&0x3F)<<6 | rune(s[i+2]&0x3F), 3
		}
	case b0&0x08 == 0:
		if cont(1) && cont(2) && cont(3) {
			return rune(b0&0x07)<<18 | rune(s[i+1]&0x3F)<<12 | rune(s[i+2]&0x3F)<<6 | rune(s[i+3]&0x3F), 4
		}
	}
	return replacementChar, 1
}

// appendCodepoint encodes c like llama.cpp's unicode_cpt_to_utf8, which
// (unlike Go's utf8 package) encodes surrogates as three bytes. Values above
// U+10FFFF make llama.cpp throw out of llama_tokenize; Realm writes U+FFFD.
func appendCodepoint(dst []byte, c rune) []byte {
	switch {
	case c >= 0 && c <= 0x7F:
		return append(dst, byte(c))
	case c >= 0x80 && c <= 0x7FF:
		return append(dst, 0xC0|byte(c>>6&0x1F), 0x80|byte(c&0x3F))
	case c >= 0x800 && c <= 0xFFFF:
		return append(dst, 0xE0|byte(c>>12&0x0F), 0x80|byte(c>>6&0x3F), 0x80|byte(c&0x3F))
	case c >= 0x10000 && c <= 0x10FFFF:
		return append(dst, 0xF0|byte(c>>18&0x07), 0x80|byte(c>>12&0x3F), 0x80|byte(c>>6&0x3F), 0x80|byte(c&0x3F))
	}
	return appendCodepoint(dst, replacementChar)
}

// byteToRune is GPT-2's byte-to-unicode table: printable Latin-1 bytes map
// to themselves, the other 68 bytes to U+0100 onwards in byte order.
var byteToRune [256]rune

// runeToByte inverts byteToRune; entries are -1 where no byte maps.
var runeToByte = map[rune]byte{}

func init() {
	next := rune(256)
	for b := 0; b < 256; b++ {
		printable := (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF)
		if printable {
			byteToRune[b] = rune(b)
		} else {
			byteToRune[b] = next
			next++
		}
		runeToByte[byteToRune[b]] = byte(b)
	}
}

// toLowerASCII folds A-Z; llama.cpp's unicode_tolower is only ever compared
// with ASCII letters by the contraction rules, and no other code point
// lowercases to one of those.
func toLowerASCII(c rune) rune {
	if c >= 'A' && c <= 'Z' {
		return c + ('a' - 'A')
	}
	return c
}
