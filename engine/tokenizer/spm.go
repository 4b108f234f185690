package tokenizer

import "strings"

// SentencePiece-style BPE as llama.cpp's llm_tokenizer_spm_session runs it:
// the text (spaces already escaped to U+2581) starts as one symbol per UTF-8
// character; the adjacent pair whose concatenation is a token with the
// highest score (leftmost on ties) is merged until no pair forms a token.
// Symbols left without a token fall back to <0xNN> byte tokens.

// spaceEscape is U+2581 LOWER ONE EIGHTH BLOCK, SentencePiece's visible space.
const spaceEscape = "\u2581"

// escapeSpaces replaces every ' ' with U+2581.
func escapeSpaces(s string) string { return strings.ReplaceAll(s, " ", spaceEscape) }

// unescapeSpaces replaces every U+2581 with ' '.
func unescapeSpaces(s string) string { return strings.ReplaceAll(s, spaceEscape, " ") }

// byteTokenText returns the text of byte b's fallback token, "<0xNN>".
func byteTokenText(b byte) string {
	const hex = "0123456789ABCDEF"
	return string([]byte{'<', '0', 'x', hex[b>>4], hex[b&15], '>'})
}

// encodeSPM appends the tokens of text, which must already be escaped.
func (t *Tokenizer) encodeSPM(text string, out []int32) []int32 {
	syms := splitChars(text, nil)
	var q bigramQueue
	tryAdd := func(l, r int) {
		if l < 0 || r < 0 {
			return
		}
		merged := text[syms[l].off : syms[l].off+syms[l].n+syms[r].n]
		id, ok := t.toID[merged]
		if !ok {
			return
		}
		q.push(bigram{left: l, right: r, key: -float64(t.scores[id]), size: len(merged)})
	}
	for i := 1; i < len(syms); i++ {
		tryAdd(i-1, i)
	}
	for len(q) > 0 {
		bg := q.pop()
		ls, rs := &syms[bg.left], &syms[bg.right]
		if ls.n == 0 || rs.n == 0 || ls.n+rs.n != bg.size {
			continue
		}
		ls.n += rs.n
		rs.n = 0
		ls.next = rs.next
		if rs.next >= 0 {
			syms[rs.next].prev = bg.left
		}
		tryAdd(ls.prev, bg.left)
		tryAdd(bg.left, ls.next)
	}
	for i := 0; i >= 0 && i < len(syms); i = syms[i].next {
		s := syms[i]
		piece := text[s.off : s.off+s.n]
		if id, ok := t.toID[piece]; ok {
			out = append(out, id)
			continue
		}
		// Every merged symbol is a token, so only single characters get
		// here; llama.cpp's rev_merge lookup can never succeed for them.
		for j := 0; j < len(piece); j++ {
			if id := t.byteToken(piece[j]); id >= 0 {
				out = append(out, id)
			}
		}
	}
	return out
}

// byteToken is llama.cpp's byte_to_token for SPM vocabularies: the <0xNN>
// token, else the one-byte token. llama.cpp throws when neither exists;
// Realm emits the unknown token then (or drops the byte without one).
func (t *Tokenizer) byteToken(b byte) int32 {
	if id := t.byteIDs[b]; id >= 0 {
		return id
	}
	return t.unk
}
