package jinja

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Python str semantics that differ from Go's strings package: Unicode
// whitespace, full case mappings, code point indices.

// upperSpecial and lowerSpecial are the unconditional one-to-many case
// mappings of Unicode's SpecialCasing.txt that Python applies.
var upperSpecial = map[rune]string{
	'ß': "SS", 'ŉ': "ʼN", 'ǰ': "J̌", 'ΐ': "Ϊ́", 'ΰ': "Ϋ́", 'և': "ԵՒ",
	'ẖ': "H̱", 'ẗ': "T̈", 'ẘ': "W̊", 'ẙ': "Y̊", 'ẚ': "Aʾ",
	'ﬀ': "FF", 'ﬁ': "FI", 'ﬂ': "FL", 'ﬃ': "FFI", 'ﬄ': "FFL", 'ﬅ': "ST", 'ﬆ': "ST",
	'ﬓ': "ՄՆ", 'ﬔ': "ՄԵ", 'ﬕ': "ՄԻ", 'ﬖ': "ՎՆ", 'ﬗ': "ՄԽ",
}

var titleSpecial = map[rune]string{
	'ß': "Ss", 'ﬀ': "Ff", 'ﬁ': "Fi", 'ﬂ': "Fl", 'ﬃ': "Ffi", 'ﬄ': "Ffl", 'ﬅ': "St", 'ﬆ': "St",
	'ŉ': "ʼN", 'և': "Եւ",
}

func isCased(r rune) bool { return unicode.IsUpper(r) || unicode.IsLower(r) || unicode.IsTitle(r) }

// pyUpper is Python's str.upper.
func pyUpper(s string) string {
	var b strings.Builder
	for _, r := range s {
		if u, ok := upperSpecial[r]; ok {
			b.WriteString(u)
		} else {
			b.WriteRune(unicode.ToUpper(r))
		}
	}
	return b.String()
}

// pyLower is Python's str.lower, with its final-sigma rule.
func pyLower(s string) string {
	rs := []rune(s)
	var b strings.Builder
	for i := range rs {
		lowerRune(&b, rs, i)
	}
	return b.String()
}

// finalSigma: a capital sigma preceded by a cased letter and not followed
// by one lowers to ς.
func finalSigma(rs []rune, i int) bool {
	j := i - 1
	for j >= 0 && caseIgnorable(rs[j]) {
		j--
	}
	if j < 0 || !isCased(rs[j]) {
		return false
	}
	k := i + 1
	for k < len(rs) && caseIgnorable(rs[k]) {
		k++
	}
	return k >= len(rs) || !isCased(rs[k])
}

func caseIgnorable(r rune) bool {
	return unicode.In(r, unicode.Mn, unicode.Me, unicode.Cf, unicode.Lm, unicode.Sk) || r == '\'' || r == '.' || r == ':' || r == '·'
}

func pyTitleRune(b *strings.Builder, r rune) {
	if t, ok := titleSpecial[r]; ok {
		b.WriteString(t)
	} else {
		b.WriteRune(unicode.ToTitle(r))
	}
}

// pyTitle is Python's str.title: a cased character after an uncased one
// is title-cased, the others lowered.
func pyTitle(s string) string {
	rs := []rune(s)
	var b strings.Builder
	prevCased := false
	for i, r := range rs {
		if prevCased {
			lowerRune(&b, rs, i)
		} else {
			pyTitleRune(&b, r)
		}
		prevCased = isCased(r)
	}
	return b.String()
}

// lowerRune writes the lowercase of rs[i], in context (final sigma).
func lowerRune(b *strings.Builder, rs []rune, i int) {
	switch r := rs[i]; {
	case r == 'İ':
		b.WriteString("i̇")
	case r == 'Σ' && finalSigma(rs, i):
		b.WriteRune('ς')
	default:
		b.WriteRune(unicode.ToLower(r))
	}
}

// pyCapitalize is Python's str.capitalize.
func pyCapitalize(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	if n == 0 {
		return s
	}
	var b strings.Builder
	pyTitleRune(&b, r)
	b.WriteString(pyLower(s[n:]))
	return b.String()
}

// pySwapcase is Python's str.swapcase.
func pySwapcase(s string) string {
	rs := []rune(s)
	var b strings.Builder
	for i, r := range rs {
		switch {
		case unicode.IsUpper(r):
			lowerRune(&b, rs, i)
		case unicode.IsLower(r):
			b.WriteString(pyUpper(string(r)))
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// pyStrip is str.strip/lstrip/rstrip: whitespace when chars is nil, else
// the given characters.
func pyStrip(s string, chars any, left, right bool) string {
	cut := isSpace
	if c, ok := chars.(string); ok {
		cut = func(r rune) bool { return strings.ContainsRune(c, r) }
	}
	if left {
		s = strings.TrimLeftFunc(s, cut)
	}
	if right {
		s = strings.TrimRightFunc(s, cut)
	}
	return s
}

// pySplitSpace is str.split() without a separator: runs of whitespace
// separate, at most maxsplit times (negative: no limit).
func pySplitSpace(s string, maxsplit int) []string {
	var out []string
	for {
		s = strings.TrimLeftFunc(s, isSpace)
		if s == "" {
			return out
		}
		if maxsplit >= 0 && len(out) == maxsplit {
			return append(out, s)
		}
		i := strings.IndexFunc(s, isSpace)
		if i < 0 {
			return append(out, s)
		}
		out = append(out, s[:i])
		s = s[i:]
	}
}

// pyRSplitSpace is str.rsplit() without a separator.
func pyRSplitSpace(s string, maxsplit int) []string {
	var rev []string
	for {
		s = strings.TrimRightFunc(s, isSpace)
		if s == "" {
			break
		}
		if maxsplit >= 0 && len(rev) == maxsplit {
			rev = append(rev, s)
			break
		}
		i := strings.LastIndexFunc(s, isSpace)
		if i < 0 {
			rev = append(rev, s)
			break
		}
		_, n := utf8.DecodeRuneInString(s[i:])
		rev = append(rev, s[i+n:])
		s = s[:i]
	}
	out := make([]string, len(rev))
	for i, p := range rev {
		out[len(rev)-1-i] = p
	}
	return out
}

// pyRSplit is str.rsplit(sep, maxsplit).
func pyRSplit(s, sep string, maxsplit int) []string {
	if maxsplit < 0 {
		return strings.Split(s, sep)
	}
	var rev []string
	for len(rev) < maxsplit {
		i := strings.LastIndex(s, sep)
		if i < 0 {
			break
		}
		rev = append(rev, s[i+len(sep):])
		s = s[:i]
	}
	rev = append(rev, s)
	out := make([]string, len(rev))
	for i, p := range rev {
		out[len(rev)-1-i] = p
	}
	return out
}

// isLineBreak reports the characters str.splitlines splits on.
func isLineBreak(r rune) bool {
	switch r {
	case '\n', '\r', '\v', '\f', 0x1c, 0x1d, 0x1e, 0x85, 0x2028, 0x2029:
		return true
	}
	return false
}

// pySplitlines is str.splitlines(keepends).
func pySplitlines(s string, keepends bool) []string {
	var out []string
	for s != "" {
		i := strings.IndexFunc(s, isLineBreak)
		if i < 0 {
			out = append(out, s)
			break
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		end := i + n
		if r == '\r' && strings.HasPrefix(s[end:], "\n") {
			end++
		}
		if keepends {
			out = append(out, s[:end])
		} else {
			out = append(out, s[:i])
		}
		s = s[end:]
	}
	return out
}

// runeIndex converts a byte offset of s to a code point index.
func runeIndex(s string, byteOff int) int { return utf8.RuneCountInString(s[:byteOff]) }

// pyPad pads s to width code points with fill, aligned '<', '>' or '^'
// (centering as str.center does, extra space on the right unless odd).
func pyPad(s string, width int, fill rune, align byte) string {
	n := utf8.RuneCountInString(s)
	if width <= n {
		return s
	}
	pad := width - n
	left := 0
	switch align {
	case '>':
		left = pad
	case '^':
		left = pad / 2
	}
	f := string(fill)
	return strings.Repeat(f, left) + s + strings.Repeat(f, pad-left)
}

// pyCenter is str.center: Python puts the odd extra character on the left
// when the width is odd and the padding odd.
func pyCenter(s string, width int, fill rune) string {
	n := utf8.RuneCountInString(s)
	if width <= n {
		return s
	}
	pad := width - n
	left := pad/2 + (pad & width & 1)
	f := string(fill)
	return strings.Repeat(f, left) + s + strings.Repeat(f, pad-left)
}
