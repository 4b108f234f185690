package tokenizer

// Byte-level BPE as llama.cpp's llm_tokenizer_bpe_session runs it: every
// pre-tokenized word starts as one symbol per UTF-8 character, and the pair
// of neighbours with the lowest merge rank (leftmost on ties) is merged until
// no ranked pair remains.

// symbol is one piece of a word during merging: the bytes word[off:off+n]
// and its neighbours in the linked list (-1 at the ends). n == 0 marks a
// symbol merged into its left neighbour.
type symbol struct {
	prev, next int
	off, n     int
}

// bigram is a candidate merge of symbols left and right. For BPE, key is the
// merge rank (lower first); for SPM, it is the negated token score. size is
// the byte length of the merged text, used to detect stale entries.
type bigram struct {
	left, right int
	key         float64
	size        int
}

// bigramQueue is a binary heap ordered by key, then by left position, which
// is the order of llama.cpp's priority queues (llm_bigram_bpe and
// llm_bigram_spm comparators).
type bigramQueue []bigram

func (q bigramQueue) less(i, j int) bool {
	if q[i].key != q[j].key {
		return q[i].key < q[j].key
	}
	return q[i].left < q[j].left
}

func (q *bigramQueue) push(b bigram) {
	*q = append(*q, b)
	h := *q
	for i := len(h) - 1; i > 0; {
		p := (i - 1) / 2
		if !h.less(i, p) {
			break
		}
		h[i], h[p] = h[p], h[i]
		i = p
	}
}

func (q *bigramQueue) pop() bigram {
	h := *q
	top := h[0]
	last := len(h) - 1
	h[0] = h[last]
	h = h[:last]
	for i := 0; ; {
		l, r, m := 2*i+1, 2*i+2, i
		if l < len(h) && h.less(l, m) {
			m = l
		}
		if r < len(h) && h.less(r, m) {
			m = r
		}
		if m == i {
			break
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
	*q = h
	return top
}

// splitChars makes one symbol per UTF-8 character of word, each as long as
// its lead byte announces (clipped at the end), as llama.cpp does.
func splitChars(word string, syms []symbol) []symbol {
	syms = syms[:0]
	for off := 0; off < len(word); {
		n := min(utf8SeqLen(word[off]), len(word)-off)
		syms = append(syms, symbol{prev: len(syms) - 1, next: len(syms) + 1, off: off, n: n})
		off += n
	}
	if len(syms) > 0 {
		syms[len(syms)-1].next = -1
	}
	return syms
}

// mergeRank returns the rank of merging a and b, or -1.
func (t *Tokenizer) mergeRank(a, b string, buf *[]byte) int32 {
	k := append((*buf)[:0], a...)
	k = append(k, ' ')
	k = append(k, b...)
	*buf = k
	if r, ok := t.ranks[string(k)]; ok {
		return r
	}
	return -1
}

// encodeBPE appends the tokens of one raw-text fragment.
func (t *Tokenizer) encodeBPE(text string, out []int32) []int32 {
	if t.pre.escapeSpaces {
		text = escapeSpaces(text)
	}
	var (
		syms []symbol
		q    bigramQueue
		kbuf []byte
	)
	for _, word := range preTokenize(text, t.pre.split, t.pre.byteEncode) {
		syms = syms[:0]
		whole := false
		if t.pre.ignoreMerges {
			_, whole = t.toID[word]
		} else if t.pre.gemma4 && isAllNewlines(word) {
			_, whole = t.toID[word]
		}
		if whole {
			syms = append(syms, symbol{prev: -1, next: -1, off: 0, n: len(word)})
		} else {
			syms = splitChars(word, syms)
		}
		q = q[:0]
		tryAdd := func(l, r int) {
			if l < 0 || r < 0 {
				return
			}
			a := word[syms[l].off : syms[l].off+syms[l].n]
			b := word[syms[r].off : syms[r].off+syms[r].n]
			if rank := t.mergeRank(a, b, &kbuf); rank >= 0 {
				q.push(bigram{left: l, right: r, key: float64(rank), size: len(a) + len(b)})
			}
		}
		for i := 1; i < len(syms); i++ {
			tryAdd(i-1, i)
		}
		for len(q) > 0 {
			bg := q.pop()
			ls, rs := &syms[bg.left], &syms[bg.right]
			// Stale entries: a side was merged away or grew since the push.
			// (llama.cpp compares the texts; with fixed symbol starts the
			// lengths decide the same thing.)
			if ls.n == 0 || rs.n == 0 || ls.n+rs.n != bg.size || ls.next != bg.right {
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
			if s.n == 0 {
				continue
			}
			piece := word[s.off : s.off+s.n]
			if id, ok := t.toID[piece]; ok {
				out = append(out, id)
				continue
			}
			// No token for the piece: fall back to single bytes, dropping
			// those the vocabulary lacks, exactly as llama.cpp does.
			for j := 0; j < len(piece); j++ {
				var id int32
				var ok bool
				if t.pre.byteEncode {
					id, ok = t.toID[piece[j:j+1]]
				} else {
					id, ok = t.toID[byteTokenText(piece[j])]
				}
				if ok {
					out = append(out, id)
				}
			}
		}
	}
	return out
}

func isAllNewlines(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] != '\n' {
			return false
		}
	}
	return true
}
