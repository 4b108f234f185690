package tokenizer

// Pre-tokenization: before BPE merges, llama.cpp cuts text into words with a
// list of regular expressions chosen by tokenizer.ggml.pre. Each expression
// refines the previous segmentation: it runs inside every segment on its own,
// and both its matches and the text between them become segments. Two of the
// expressions (GPT-2's and Llama 3's) have hand-written matchers in
// llama.cpp's unicode.cpp; the rest run through std::regex over a "collapsed"
// text where each non-ASCII code point stands for its category. The functions
// here reproduce the observable behaviour of both paths with code-point
// classifiers, since Go's regexp has neither lookahead nor the same classes.
//
// Segmentations are lists of lengths in code points, like llama.cpp's
// bpe_offsets.

// splitter refines segs (lengths over cps) into a finer segmentation.
type splitter func(cps []rune, fl []cpFlags, segs []int) []int

// segment gives a splitter bounded access to one segment [ini, end).
type segment struct {
	cps      []rune
	fl       []cpFlags
	ini, end int
	prev     int
	out      []int
}

// flags returns the flags at p, or 0 outside the segment.
func (s *segment) flags(p int) cpFlags {
	if p >= s.ini && p < s.end {
		return s.fl[p]
	}
	return 0
}

// cp returns the code point at p, or -1 outside the segment.
func (s *segment) cp(p int) rune {
	if p >= s.ini && p < s.end {
		return s.cps[p]
	}
	return -1
}

// emit closes the current piece at e (empty pieces are dropped).
func (s *segment) emit(e int) {
	if e > s.prev {
		s.out = append(s.out, e-s.prev)
	}
	s.prev = e
}

// forEachSegment runs fn on every segment of segs and collects the pieces.
func forEachSegment(cps []rune, fl []cpFlags, segs []int, fn func(s *segment)) []int {
	s := &segment{cps: cps, fl: fl, out: make([]int, 0, len(segs)*4)}
	start := 0
	for _, n := range segs {
		s.ini, s.end, s.prev = start, start+n, start
		fn(s)
		s.emit(s.end)
		start += n
	}
	return s.out
}

// isContraction reports the length (2 or 3) of an English contraction
// ('s 't 'm 'd 're 've 'll) starting at the apostrophe at pos, or 0.
func (s *segment) contraction(pos int, fold bool) int {
	if s.cps[pos] != '\'' || pos+1 >= s.end {
		return 0
	}
	low := func(c rune) rune {
		if fold {
			return toLowerASCII(c)
		}
		return c
	}
	switch low(s.cps[pos+1]) {
	case 's', 't', 'm', 'd':
		return 2
	}
	if pos+2 < s.end {
		a, b := low(s.cps[pos+1]), low(s.cps[pos+2])
		if (a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l') {
			return 3
		}
	}
	return 0
}

const wsLetterNumber = fWhitespace | fLetter | fNumber

// splitGPT2 is the GPT-2 pattern
// 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
// as llama.cpp's unicode_regex_split_custom_gpt2 applies it.
func splitGPT2(cps []rune, fl []cpFlags, segs []int) []int {
	return forEachSegment(cps, fl, segs, func(s *segment) {
		for pos := s.ini; pos < s.end; {
			c, f := s.cps[pos], s.fl[pos]
			if n := s.contraction(pos, false); n > 0 {
				pos += n
				s.emit(pos)
				continue
			}
			f2 := f
			if c == ' ' {
				f2 = s.flags(pos + 1)
			}
			var run cpFlags // the class of a " ?class+" match, if any
			switch {
			case f2.isLetter():
				run = fLetter
			case f2.isNumber():
				run = fNumber
			case f2&wsLetterNumber == 0 && f2 != 0:
				run = ^wsLetterNumber
			}
			if run != 0 {
				if c == ' ' {
					pos++
				}
				for inRun(s.flags(pos), run) {
					pos++
				}
				s.emit(pos)
				continue
			}
			pos = s.whitespace(pos, false)
		}
	})
}

// inRun tests flags f against a run class: fLetter, fNumber, or the
// complement of whitespace/letter/number (which excludes "outside", 0).
func inRun(f cpFlags, run cpFlags) bool {
	if f == 0 {
		return false
	}
	if run == ^wsLetterNumber {
		return f&wsLetterNumber == 0
	}
	return f&run != 0
}

// whitespace matches, at pos, the tail alternatives shared by the GPT-2 and
// Llama 3 patterns: (\s*[\r\n]+ when newlines is set), \s+(?!\S), \s+, and
// finally a lone code point that nothing matched. It emits the piece and
// returns the new position.
func (s *segment) whitespace(pos int, newlines bool) int {
	n, lastNL := 0, -1
	for s.flags(pos + n).isWS() {
		if c := s.cps[pos+n]; c == '\r' || c == '\n' {
			lastNL = pos + n + 1
		}
		n++
	}
	switch {
	case newlines && lastNL >= 0:
		pos = lastNL
	case n > 1 && pos+n < s.end:
		pos += n - 1
	case n > 0:
		pos += n
	default:
		pos++
	}
	s.emit(pos)
	return pos
}

// wordRules parameterizes the Llama 3 family of patterns:
//
//	(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,D}|
//	 ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
type wordRules struct {
	contractions  bool // the leading contraction alternative is present
	maxDigits     int  // D: 3 for Llama 3, 1 for Qwen2
	punctNewlines bool // the [\r\n]* after a punctuation run is present
	marks         bool // Qwen3.5: letter runs take \p{M} too ([\p{L}\p{M}]+)
}

// splitWords returns the splitter for one member of the Llama 3 family. For
// D=3 it is llama.cpp's unicode_regex_split_custom_llama3; for the others
// (Qwen2 and relatives) llama.cpp runs std::regex, whose leftmost-first,
// backtracking semantics give the same pieces.
func splitWords(r wordRules) splitter {
	letter, notPunct := fLetter, wsLetterNumber
	if r.marks {
		letter, notPunct = fLetter|fMark, wsLetterNumber|fMark
	}
	return func(cps []rune, fl []cpFlags, segs []int) []int {
		return forEachSegment(cps, fl, segs, func(s *segment) {
			for pos := s.ini; pos < s.end; {
				c, f := s.cps[pos], s.fl[pos]
				if r.contractions {
					if n := s.contraction(pos, true); n > 0 {
						pos += n
						s.emit(pos)
						continue
					}
				}
				// [^\r\n\p{L}\p{N}]?\p{L}+
				if c != '\r' && c != '\n' && !f.isNumber() && (f&letter != 0 || s.flags(pos+1)&letter != 0) {
					pos++
					for s.flags(pos)&letter != 0 {
						pos++
					}
					s.emit(pos)
					continue
				}
				// \p{N}{1,D}
				if f.isNumber() {
					for k := 0; k < r.maxDigits && s.flags(pos).isNumber(); k++ {
						pos++
					}
					s.emit(pos)
					continue
				}
				// ' '?[^\s\p{L}\p{N}]+[\r\n]*
				f2 := f
				if c == ' ' {
					f2 = s.flags(pos + 1)
				}
				if f2&notPunct == 0 && f != 0 {
					if c == ' ' {
						pos++
					}
					for g := s.flags(pos); g != 0 && g&notPunct == 0; g = s.flags(pos) {
						pos++
					}
					if r.punctNewlines {
						for c2 := s.cp(pos); c2 == '\r' || c2 == '\n'; c2 = s.cp(pos) {
							pos++
						}
					}
					s.emit(pos)
					continue
				}
				pos = s.whitespace(pos, true)
			}
		})
	}
}

// matcher reports the length of a match of some pattern at pos (0 = none).
type matcher func(s *segment, pos int) int

// splitMatches emulates std::regex_iterator for a pattern that never matches
// the empty string: leftmost matches are pieces, and so is the text between.
func splitMatches(m matcher) splitter {
	return func(cps []rune, fl []cpFlags, segs []int) []int {
		return forEachSegment(cps, fl, segs, func(s *segment) {
			for pos := s.ini; pos < s.end; {
				if n := m(s, pos); n > 0 {
					s.emit(pos)
					pos += n
					s.emit(pos)
					continue
				}
				pos++
			}
		})
	}
}

// runOf matches one or more code points accepted by in (a regex "[...]+").
func runOf(in func(c rune, f cpFlags) bool) matcher {
	return func(s *segment, pos int) int {
		n := 0
		for pos+n < s.end && in(s.cps[pos+n], s.fl[pos+n]) {
			n++
		}
		return n
	}
}

// oneOf matches a single code point accepted by in (a regex "[...]").
func oneOf(in func(c rune, f cpFlags) bool) matcher {
	return func(s *segment, pos int) int {
		if in(s.cps[pos], s.fl[pos]) {
			return 1
		}
		return 0
	}
}

func isNumberCP(_ rune, f cpFlags) bool { return f.isNumber() }
func isNewline(c rune, _ cpFlags) bool  { return c == '\n' }
func notNewline(c rune, _ cpFlags) bool { return c != '\n' }

// punctOr returns the class [\p{P}<extra>].
func punctOr(extra string) func(c rune, f cpFlags) bool {
	return func(c rune, f cpFlags) bool {
		if f&fPunct != 0 {
			return true
		}
		for _, e := range extra {
			if c == e {
				return true
			}
		}
		return false
	}
}

// threeASCIIDigits matches [0-9][0-9][0-9].
func threeASCIIDigits(s *segment, pos int) int {
	if pos+3 > s.end {
		return 0
	}
	for k := 0; k < 3; k++ {
		if c := s.cps[pos+k]; c < '0' || c > '9' {
			return 0
		}
	}
	return 3
}

// newlineRuns is the pattern [^\n]+|[\n]+.
func newlineRuns(s *segment, pos int) int {
	if s.cps[pos] == '\n' {
		return runOf(isNewline)(s, pos)
	}
	return runOf(notNewline)(s, pos)
}

// preset holds what tokenizer.ggml.pre selects in llama.cpp's vocabulary
// loader: the pre-tokenizer expressions and the flags that come with them.
type preset struct {
	split        []splitter
	cleanSpaces  bool // clean_up_tokenization_spaces when detokenizing
	ignoreMerges bool // a word that is itself a token skips the merges
	addBOS       bool // default for tokenizer.ggml.add_bos_token
	noBOS        bool // the model has no BOS token by default
	byteEncode   bool // GPT-2 byte-to-unicode encoding of words
	escapeSpaces bool // spaces become U+2581 before BPE (SPM-style BPE)
	gemma4       bool // Gemma 4 special cases
}

var (
	preGPT2    = []splitter{splitGPT2}
	preLlama3  = []splitter{splitWords(wordRules{contractions: true, maxDigits: 3, punctNewlines: true})}
	preQwen2   = []splitter{splitWords(wordRules{contractions: true, maxDigits: 1, punctNewlines: true})}
	preDigitsG = []splitter{splitMatches(oneOf(isNumberCP)), splitGPT2}
	preDefault = []splitter{
		splitMatches(runOf(punctOr("$+<=>^~|"))),
		splitGPT2,
		splitMatches(runOf(isNumberCP)),
		splitMatches(threeASCIIDigits),
	}
)

// presetFor returns the preset for a BPE vocabulary's tokenizer.ggml.pre, or
// false when Realm does not implement that pre-tokenizer.
func presetFor(pre string) (preset, bool) {
	p := preset{cleanSpaces: true, byteEncode: true}
	switch pre {
	case "", "default":
		p.split = preDefault
	case "llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2", "jina-v5-nano":
		p.split, p.ignoreMerges, p.addBOS = preLlama3, true, true
	case "dbrx", "smaug-bpe":
		p.split = preLlama3
	case "glm4", "chatglm-bpe":
		p.split, p.noBOS = preLlama3, true
	case "falcon":
		p.split = []splitter{splitMatches(runOf(punctOr("$+<=>^~|`"))), splitGPT2, splitMatches(threeASCIIDigits)}
	case "gpt-2", "phi-2", "jina-es", "jina-de", "gigachat", "jina-v2-es", "jina-v2-de", "a.x-4.0", "mellum",
		"modern-bert", "exaone4", "mpt", "olmo", "jais", "jina-v1-en", "jina-v2-code", "roberta-bpe":
		p.split = preGPT2
	case "trillion", "granite-docling":
		p.split, p.cleanSpaces = preGPT2, false
	case "starcoder", "refact", "codeshell", "exaone", "minerva-7b", "mellum2":
		p.split = preDigitsG
	case "smollm", "command-r":
		p.split, p.cleanSpaces = preDigitsG, false
	case "stablelm2", "megrez":
		p.split = preQwen2
	case "qwen2", "deepseek-r1-qwen", "kormo", "f2llmv2", "hunyuan", "solar-open", "grok-2",
		"bailingmoe", "bailingmoe2", "llada-moe":
		p.split, p.cleanSpaces = preQwen2, false
	case "qwen35":
		p.split, p.cleanSpaces = []splitter{splitWords(wordRules{contractions: true, maxDigits: 1, punctNewlines: true, marks: true})}, false
	case "seed-coder":
		p.split, p.cleanSpaces = []splitter{splitWords(wordRules{contractions: true, maxDigits: 1})}, false
	case "ufakzeka":
		p.split, p.cleanSpaces = []splitter{splitWords(wordRules{maxDigits: 1, punctNewlines: true})}, false
	case "laguna":
		p.split, p.cleanSpaces = append([]splitter{splitMatches(newlineRuns)}, preQwen2...), false
	case "gemma4", "granite-embed-multi-311m":
		p.split, p.byteEncode, p.escapeSpaces, p.gemma4 = []splitter{splitMatches(newlineRuns)}, false, true, true
	case "sarvam-moe":
		p.split, p.byteEncode, p.escapeSpaces, p.cleanSpaces = []splitter{splitMatches(newlineRuns)}, false, true, false
	default:
		return preset{}, false
	}
	return p, true
}

// preTokenize cuts text into BPE words with the preset's splitters and
// encodes each word: GPT-2 byte-to-unicode when byteEncode, else plain UTF-8
// (in both cases bytes that do not decode have become U+FFFD).
func preTokenize(text string, split []splitter, byteEncode bool) []string {
	cps := decodeCodepoints(text, make([]rune, 0, len(text)))
	fl := make([]cpFlags, len(cps))
	for i, c := range cps {
		fl[i] = flagsOf(c)
	}
	segs := []int{len(cps)}
	for _, sp := range split {
		segs = sp(cps, fl, segs)
	}
	words := make([]string, 0, len(segs))
	var raw, enc []byte
	start := 0
	for _, n := range segs {
		raw = raw[:0]
		for _, c := range cps[start : start+n] {
			raw = appendCodepoint(raw, c)
		}
		start += n
		if !byteEncode {
			words = append(words, string(raw))
			continue
		}
		enc = enc[:0]
		for _, b := range raw {
			enc = appendCodepoint(enc, byteToRune[b])
		}
		words = append(words, string(enc))
	}
	return words
}
