package tokenizer

import "unicode/utf8"

// Decoder turns a stream of token ids into text without ever splitting a
// UTF-8 character: a piece that ends inside a character (byte-fallback
// tokens, byte-level BPE tokens holding part of an emoji) is held back until
// the rest arrives. Bytes that can never form a character come out as
// U+FFFD, one per maximal ill-formed subsequence (as Python's
// errors="replace" does). Its output concatenated equals the tokens' pieces
// (llama_token_to_piece, special=false) whenever those form valid UTF-8.
//
// A Decoder is not safe for concurrent use.
type Decoder struct {
	t       *Tokenizer
	pending []byte
}

// NewDecoder starts a streaming decoder.
func (t *Tokenizer) NewDecoder() *Decoder { return &Decoder{t: t} }

// Push adds one token and returns the text that is now complete (often "").
// Ids outside the vocabulary add nothing.
func (d *Decoder) Push(id int32) string {
	if id < 0 || int(id) >= len(d.t.tokens) {
		return ""
	}
	d.pending = d.t.appendPiece(d.pending, id)
	out, rest := validPrefix(d.pending, false)
	d.pending = append(d.pending[:0], rest...)
	return out
}

// Flush returns whatever is held back, with an unfinished character
// replaced by U+FFFD, and resets the decoder.
func (d *Decoder) Flush() string {
	out, _ := validPrefix(d.pending, true)
	d.pending = d.pending[:0]
	return out
}

// validPrefix converts buf to valid UTF-8. Unless final, a trailing
// sequence that is a proper prefix of a valid character is returned as rest
// instead of being replaced.
func validPrefix(buf []byte, final bool) (string, []byte) {
	if utf8.Valid(buf) {
		return string(buf), nil
	}
	out := make([]byte, 0, len(buf)+8)
	for i := 0; i < len(buf); {
		if r, n := utf8.DecodeRune(buf[i:]); r != utf8.RuneError || n > 1 {
			out = append(out, buf[i:i+n]...)
			i += n
			continue
		}
		n := prefixLen(buf[i:])
		if i+n == len(buf) && n > 0 && !final {
			return string(out), buf[i:]
		}
		out = append(out, "\uFFFD"...)
		i += max(n, 1)
	}
	return string(out), nil
}

// prefixLen returns how many bytes at the start of b are a proper prefix of
// some valid UTF-8 encoding (a lead byte plus the continuation bytes it
// accepts), or 0 when b[0] cannot start a character.
func prefixLen(b []byte) int {
	lo, hi := byte(0x80), byte(0xBF)
	var need int
	switch c := b[0]; {
	case c >= 0xC2 && c <= 0xDF:
		need = 2
	case c >= 0xE0 && c <= 0xEF:
		need = 3
		if c == 0xE0 {
			lo = 0xA0
		} else if c == 0xED {
			hi = 0x9F
		}
	case c >= 0xF0 && c <= 0xF4:
		need = 4
		if c == 0xF0 {
			lo = 0x90
		} else if c == 0xF4 {
			hi = 0x8F
		}
	default:
		return 0
	}
	n := 1
	for n < need && n < len(b) && b[n] >= lo && b[n] <= hi {
		n++
		lo, hi = 0x80, 0xBF
	}
	return n
}
