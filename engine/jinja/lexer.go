package jinja

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// tokKind is the kind of a lexer token.
type tokKind uint8

const (
	tEOF        tokKind = iota
	tData               // literal template text
	tVarBegin           // {{
	tVarEnd             // }}
	tBlockBegin         // {%
	tBlockEnd           // %}
	tName
	tString
	tInt
	tFloat
	tOp
)

// token is one lexer token. s holds text, names, operators and decoded
// strings; n and f hold number literals.
type token struct {
	kind tokKind
	s    string
	n    int64
	f    float64
	line int
}

// lexer turns template source into tokens the way jinja2's lexer does with
// trim_blocks and lstrip_blocks on: tags become token runs between begin
// and end tokens, text becomes data tokens with whitespace control applied.
type lexer struct {
	src      string
	pos      int
	newlines []int // offsets of '\n' in src, for line numbers
	toks     []token
	// lineStarting: the previous match ended a line, so text before the
	// next tag starts at the beginning of one (for lstrip_blocks).
	lineStarting bool
	balance      []byte // open brackets inside the current tag
}

// lex tokenizes a template. Like jinja2 it first turns \r\n and \r into \n
// and drops one trailing newline (keep_trailing_newline is off).
func lex(src string) ([]token, error) {
	src = strings.ReplaceAll(src, "\r\n", "\n")
	src = strings.ReplaceAll(src, "\r", "\n")
	src = strings.TrimSuffix(src, "\n")
	l := &lexer{src: src, lineStarting: true}
	for i := 0; i < len(src); i++ {
		if src[i] == '\n' {
			l.newlines = append(l.newlines, i)
		}
	}
	for l.pos < len(src) {
		if err := l.root(); err != nil {
			return nil, err
		}
	}
	l.toks = append(l.toks, token{kind: tEOF, line: l.lineAt(len(src))})
	return l.toks, nil
}

// lineAt returns the 1-based line of a source offset.
func (l *lexer) lineAt(pos int) int { return sort.SearchInts(l.newlines, pos) + 1 }

func (l *lexer) errorf(pos int, format string, args ...any) error {
	return &Error{Line: l.lineAt(pos), Msg: fmt.Sprintf(format, args...)}
}

func (l *lexer) emit(kind tokKind, s string, pos int) {
	l.toks = append(l.toks, token{kind: kind, s: s, line: l.lineAt(pos)})
}

// root lexes text up to and including the next tag.
func (l *lexer) root() error {
	start := indexTagStart(l.src, l.pos)
	if start < 0 {
		l.emit(tData, l.src[l.pos:], l.pos)
		l.pos = len(l.src)
		return nil
	}
	text := l.src[l.pos:start]
	kind := l.src[start+1]
	k := start + 2
	var sign byte
	if k < len(l.src) && (l.src[k] == '-' || l.src[k] == '+') {
		sign = l.src[k]
		k++
	}
	rawEnd := -1
	if kind == '%' {
		rawEnd = matchRawBegin(l.src, k)
	}
	switch {
	case sign == '-':
		text = strings.TrimRightFunc(text, isSpace)
	case sign != '+' && kind != '{':
		text = l.lstrip(text)
	}
	if text != "" {
		l.emit(tData, text, l.pos)
	}
	switch {
	case rawEnd >= 0:
		l.lineStarting = l.src[rawEnd-1] == '\n'
		return l.raw(start, rawEnd)
	case kind == '#':
		return l.comment(start, k)
	case kind == '{':
		l.emit(tVarBegin, "{{", start)
		l.pos = k
		return l.tag(false)
	default:
		l.emit(tBlockBegin, "{%", start)
		l.pos = k
		return l.tag(true)
	}
}

// lstrip applies lstrip_blocks: whitespace between the last line start and
// a block or comment tag is removed.
func (l *lexer) lstrip(text string) string {
	lpos := strings.LastIndexByte(text, '\n') + 1
	if lpos > 0 || l.lineStarting {
		if rest := text[lpos:]; rest != "" && strings.TrimLeftFunc(rest, isSpace) == "" {
			return text[:lpos]
		}
	}
	return text
}

// indexTagStart finds the next {{, {% or {# at or after i.
func indexTagStart(src string, i int) int {
	for {
		j := strings.IndexByte(src[i:], '{')
		if j < 0 || i+j+1 >= len(src) {
			return -1
		}
		j += i
		switch src[j+1] {
		case '{', '%', '#':
			return j
		}
		i = j + 1
	}
}

// matchRawBegin matches `\s*raw\s*(-%}\s*|%})` at k (after "{%" and its
// sign) and returns the offset after it, or -1.
func matchRawBegin(src string, k int) int {
	k = skipSpace(src, k)
	if !strings.HasPrefix(src[k:], "raw") {
		return -1
	}
	k = skipSpace(src, k+3)
	switch {
	case strings.HasPrefix(src[k:], "-%}"):
		return skipSpace(src, k+3)
	case strings.HasPrefix(src[k:], "%}"):
		return k + 2
	}
	return -1
}

// raw emits the body of a {% raw %} block as data.
func (l *lexer) raw(start, bodyStart int) error {
	for p := bodyStart; ; {
		j := strings.Index(l.src[p:], "{%")
		if j < 0 {
			return l.errorf(start, "missing end of raw directive")
		}
		j += p
		k := j + 2
		var sign byte
		if k < len(l.src) && (l.src[k] == '-' || l.src[k] == '+') {
			sign = l.src[k]
			k++
		}
		k = skipSpace(l.src, k)
		if !strings.HasPrefix(l.src[k:], "endraw") {
			p = j + 2
			continue
		}
		end := l.matchBlockEnd(skipSpace(l.src, k+6))
		if end < 0 {
			p = j + 2
			continue
		}
		body := l.src[bodyStart:j]
		switch {
		case sign == '-':
			body = strings.TrimRightFunc(body, isSpace)
		case sign != '+':
			body = l.lstrip(body)
		}
		if body != "" {
			l.emit(tData, body, bodyStart)
		}
		l.pos = end
		l.lineStarting = l.src[end-1] == '\n'
		return nil
	}
}

// matchBlockEnd matches `+%}`, `-%}\s*` or `%}\n?` at k and returns the
// offset after it, or -1.
func (l *lexer) matchBlockEnd(k int) int {
	switch {
	case strings.HasPrefix(l.src[k:], "+%}"):
		return k + 3
	case strings.HasPrefix(l.src[k:], "-%}"):
		return skipSpace(l.src, k+3)
	case strings.HasPrefix(l.src[k:], "%}"):
		k += 2
		if k < len(l.src) && l.src[k] == '\n' {
			k++
		}
		return k
	}
	return -1
}

// comment skips a {# #} comment.
func (l *lexer) comment(start, k int) error {
	j := strings.Index(l.src[k:], "#}")
	if j < 0 {
		return l.errorf(start, "missing end of comment tag")
	}
	j += k
	end := j + 2
	if j-1 >= k && l.src[j-1] == '-' {
		end = skipSpace(l.src, end)
	} else if !(j-1 >= k && l.src[j-1] == '+') && end < len(l.src) && l.src[end] == '\n' {
		end++
	}
	l.pos = end
	l.lineStarting = l.src[end-1] == '\n'
	return nil
}

// tag lexes the inside of {{ }} or {% %} up to and including its end.
func (l *lexer) tag(block bool) error {
	l.balance = l.balance[:0]
	src := l.src
	for {
		if l.pos >= len(src) {
			return l.errorf(l.pos, "unexpected end of template, expected the end of the tag")
		}
		if len(l.balance) == 0 {
			if end := l.matchTagEnd(block); end >= 0 {
				if block {
					l.emit(tBlockEnd, "%}", l.pos)
				} else {
					l.emit(tVarEnd, "}}", l.pos)
				}
				l.pos = end
				l.lineStarting = src[end-1] == '\n'
				return nil
			}
		}
		r, size := utf8.DecodeRuneInString(src[l.pos:])
		switch {
		case isSpace(r):
			l.pos += size
		case isDigit(src[l.pos]):
			if err := l.number(); err != nil {
				return err
			}
		case r == '_' || unicode.IsLetter(r):
			j := l.pos + size
			for j < len(src) {
				r, n := utf8.DecodeRuneInString(src[j:])
				if r != '_' && !unicode.IsLetter(r) && !unicode.IsDigit(r) && !unicode.Is(unicode.Mn, r) {
					break
				}
				j += n
			}
			l.emit(tName, src[l.pos:j], l.pos)
			l.pos = j
		case r == '\'' || r == '"':
			if err := l.stringLit(); err != nil {
				return err
			}
		default:
			if err := l.operator(); err != nil {
				return err
			}
		}
	}
}

// matchTagEnd matches the end of the current tag at l.pos.
func (l *lexer) matchTagEnd(block bool) int {
	if block {
		return l.matchBlockEnd(l.pos)
	}
	switch {
	case strings.HasPrefix(l.src[l.pos:], "-}}"):
		return skipSpace(l.src, l.pos+3)
	case strings.HasPrefix(l.src[l.pos:], "}}"):
		return l.pos + 2
	}
	return -1
}

var operators = []string{
	"**", "//", "==", "!=", ">=", "<=",
	"+", "-", "/", "*", "%", "~", "[", "]", "(", ")", "{", "}", ">", "<", "=", ".", ":", "|", ",", ";",
}

func (l *lexer) operator() error {
	for _, op := range operators {
		if !strings.HasPrefix(l.src[l.pos:], op) {
			continue
		}
		switch op {
		case "(", "[", "{":
			l.balance = append(l.balance, op[0])
		case ")", "]", "}":
			want := map[byte]byte{'(': ')', '[': ']', '{': '}'}
			if len(l.balance) == 0 {
				return l.errorf(l.pos, "unexpected '%s'", op)
			}
			if open := l.balance[len(l.balance)-1]; want[open] != op[0] {
				return l.errorf(l.pos, "unexpected '%s', expected '%c'", op, want[open])
			}
			l.balance = l.balance[:len(l.balance)-1]
		}
		l.emit(tOp, op, l.pos)
		l.pos += len(op)
		return nil
	}
	r, _ := utf8.DecodeRuneInString(l.src[l.pos:])
	return l.errorf(l.pos, "unexpected char %q", r)
}

// number lexes a float or integer literal as jinja2 does (underscores
// between digits; 0b, 0o and 0x prefixes).
func (l *lexer) number() error {
	src, i := l.src, l.pos
	if end := matchFloat(src, i); end > 0 {
		lit := strings.ReplaceAll(src[i:end], "_", "")
		f, err := strconv.ParseFloat(lit, 64)
		if err != nil && f == 0 {
			return l.errorf(i, "bad float literal %q", lit)
		}
		l.toks = append(l.toks, token{kind: tFloat, f: f, line: l.lineAt(i)})
		l.pos = end
		return nil
	}
	end, base := matchInt(src, i)
	lit := strings.ReplaceAll(src[i:end], "_", "")
	if base != 10 {
		lit = lit[2:]
	}
	n, err := strconv.ParseInt(lit, base, 64)
	if err != nil {
		return l.errorf(i, "integer literal %s is too large", src[i:end])
	}
	l.toks = append(l.toks, token{kind: tInt, n: n, line: l.lineAt(i)})
	l.pos = end
	return nil
}

// matchDigits matches (\d+_)*\d+ at i and returns its end, or -1.
func matchDigits(s string, i int) int {
	if i >= len(s) || !isDigit(s[i]) {
		return -1
	}
	for {
		for i < len(s) && isDigit(s[i]) {
			i++
		}
		if i+1 < len(s) && s[i] == '_' && isDigit(s[i+1]) {
			i++
			continue
		}
		return i
	}
}

// matchFloat matches jinja2's float_re at i and returns its end, or -1.
func matchFloat(s string, i int) int {
	if i > 0 && s[i-1] == '.' {
		return -1
	}
	j := matchDigits(s, i)
	if j < 0 {
		return -1
	}
	frac := -1
	if j < len(s) && s[j] == '.' {
		frac = matchDigits(s, j+1)
	}
	// Alternative 1: optional fraction, then an exponent.
	k := j
	if frac > 0 {
		k = frac
	}
	if k < len(s) && (s[k] == 'e' || s[k] == 'E') {
		m := k + 1
		if m < len(s) && (s[m] == '+' || s[m] == '-') {
			m++
		}
		if e := matchDigits(s, m); e > 0 {
			return e
		}
	}
	// Alternative 2: a required fraction.
	return frac
}

// matchInt matches jinja2's integer_re at i (which starts with a digit) and
// returns its end and base.
func matchInt(s string, i int) (int, int) {
	if s[i] == '0' && i+1 < len(s) {
		prefixes := map[byte]int{'b': 2, 'B': 2, 'o': 8, 'O': 8, 'x': 16, 'X': 16}
		if base, ok := prefixes[s[i+1]]; ok {
			j := i + 2
			for {
				k := j
				if k < len(s) && s[k] == '_' {
					k++
				}
				if k < len(s) && isBaseDigit(s[k], base) {
					j = k + 1
					continue
				}
				break
			}
			if j > i+2 {
				return j, base
			}
		}
	}
	j := i + 1
	for {
		k := j
		if k < len(s) && s[k] == '_' {
			k++
		}
		if k < len(s) && isDigit(s[k]) && (s[i] != '0' || s[k] == '0') {
			j = k + 1
			continue
		}
		return j, 10
	}
}

func isBaseDigit(c byte, base int) bool {
	switch base {
	case 2:
		return c == '0' || c == '1'
	case 8:
		return c >= '0' && c <= '7'
	}
	return isDigit(c) || (c|0x20) >= 'a' && (c|0x20) <= 'f'
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// stringLit lexes a quoted string and decodes its escapes as Python's
// unicode-escape codec does.
func (l *lexer) stringLit() error {
	src, i := l.src, l.pos
	q := src[i]
	j := i + 1
	for ; j < len(src) && src[j] != q; j++ {
		if src[j] == '\\' {
			j++
		}
	}
	if j >= len(src) {
		return l.errorf(i, "unexpected char %q", rune(q))
	}
	s, err := unescape(src[i+1 : j])
	if err != nil {
		return l.errorf(i, "%v", err)
	}
	l.toks = append(l.toks, token{kind: tString, s: s, line: l.lineAt(i)})
	l.pos = j + 1
	return nil
}

// unescape decodes backslash escapes like Python's unicode-escape codec.
func unescape(s string) (string, error) {
	if !strings.Contains(s, `\`) {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 >= len(s) {
			b.WriteByte(c)
			continue
		}
		i++
		switch e := s[i]; e {
		case '\n':
		case '\\', '\'', '"':
			b.WriteByte(e)
		case 'a':
			b.WriteByte(7)
		case 'b':
			b.WriteByte(8)
		case 'f':
			b.WriteByte(12)
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case 'v':
			b.WriteByte(11)
		case '0', '1', '2', '3', '4', '5', '6', '7':
			v := 0
			k := i
			for ; k < len(s) && k < i+3 && s[k] >= '0' && s[k] <= '7'; k++ {
				v = v*8 + int(s[k]-'0')
			}
			b.WriteRune(rune(v))
			i = k - 1
		case 'x', 'u', 'U':
			n := map[byte]int{'x': 2, 'u': 4, 'U': 8}[e]
			if i+n >= len(s) {
				return "", fmt.Errorf("truncated \\%cXX escape", e)
			}
			v, err := strconv.ParseUint(s[i+1:i+1+n], 16, 32)
			if err != nil {
				return "", fmt.Errorf("truncated \\%cXX escape", e)
			}
			if v > unicode.MaxRune {
				return "", fmt.Errorf("illegal Unicode character")
			}
			b.WriteRune(rune(v))
			i += n
		case 'N':
			return "", fmt.Errorf("\\N{...} escapes are not supported")
		default:
			b.WriteByte('\\')
			b.WriteByte(e)
		}
	}
	return b.String(), nil
}

// isSpace is Python's str.isspace for one character, which is also what
// the \s of jinja2's lexer patterns matches.
func isSpace(r rune) bool {
	switch {
	case r >= 0x09 && r <= 0x0d, r >= 0x1c && r <= 0x20:
		return true
	case r < 0x85:
		return false
	}
	switch r {
	case 0x85, 0xa0, 0x1680, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000:
		return true
	}
	return r >= 0x2000 && r <= 0x200a
}

// skipSpace returns the offset after the whitespace starting at k.
func skipSpace(s string, k int) int {
	for k < len(s) {
		r, n := utf8.DecodeRuneInString(s[k:])
		if !isSpace(r) {
			break
		}
		k += n
	}
	return k
}
