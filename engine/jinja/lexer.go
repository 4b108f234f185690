package jinja

import (
	"fmt"
	"strings"
)

// segment is one piece of a template after whitespace control: literal
// text, an output tag {{ }}, or a statement tag {% %}.
type segment struct {
	kind segKind
	text string // literal text, or the tag's inner source
	line int    // 1-based line of the tag or text start
}

type segKind int

const (
	segText segKind = iota
	segOutput
	segStmt
)

// split cuts src into segments, applying jinja2's whitespace rules as
// Hugging Face configures them: trim_blocks (drop the first newline after a
// statement or comment tag), lstrip_blocks (drop spaces and tabs before a
// statement or comment tag that starts a line), the - and + modifiers, and
// keep_trailing_newline=False (a single trailing newline is dropped).
// {% raw %} blocks are passed through as text.
func split(src string) ([]segment, error) {
	var segs []segment
	line := 1
	i := 0
	var text strings.Builder
	textLine := 1
	// trimNext: the previous tag asked to strip leading whitespace of the
	// following text (-), or trim_blocks wants its first newline removed.
	stripAllNext, trimNewlineNext := false, false
	flushText := func() {
		if text.Len() > 0 {
			segs = append(segs, segment{kind: segText, text: text.String(), line: textLine})
			text.Reset()
		}
	}
	for i < len(src) {
		j := indexTagStart(src, i)
		chunk := src[i:]
		if j >= 0 {
			chunk = src[i:j]
		}
		if stripAllNext {
			chunk = strings.TrimLeft(chunk, " \t\r\n")
		} else if trimNewlineNext {
			if strings.HasPrefix(chunk, "\r\n") {
				chunk = chunk[2:]
			} else if strings.HasPrefix(chunk, "\n") {
				chunk = chunk[1:]
			}
		}
		stripAllNext, trimNewlineNext = false, false
		if j < 0 {
			if text.Len() == 0 {
				textLine = line
			}
			text.WriteString(chunk)
			line += strings.Count(src[i:], "\n")
			break
		}
		open := src[j : j+2]
		k := j + 2
		modL := byte(0)
		if k < len(src) && (src[k] == '-' || src[k] == '+') {
			modL = src[k]
			k++
		}
		// Whitespace control on the text before the tag.
		switch {
		case modL == '-':
			chunk = strings.TrimRight(chunk, " \t\r\n")
		case modL != '+' && open != "{{":
			chunk = lstripLine(chunk, src, j)
		}
		if text.Len() == 0 {
			textLine = line
		}
		text.WriteString(chunk)
		line += strings.Count(src[i:j], "\n")
		tagLine := line
		closeTok := map[string]string{"{{": "}}", "{%": "%}", "{#": "#}"}[open]
		end := indexClose(src, k, closeTok)
		if end < 0 {
			return nil, fmt.Errorf("line %d: unclosed %s tag", tagLine, open)
		}
		inner := src[k:end]
		modR := byte(0)
		if strings.HasSuffix(inner, "-") || strings.HasSuffix(inner, "+") {
			modR = inner[len(inner)-1]
			inner = inner[:len(inner)-1]
		}
		line += strings.Count(src[j:end+2], "\n")
		i = end + 2
		stripAllNext = modR == '-'
		trimNewlineNext = modR != '+' && open != "{{"
		switch open {
		case "{#":
			continue
		case "{{":
			flushText()
			segs = append(segs, segment{kind: segOutput, text: inner, line: tagLine})
		case "{%":
			if strings.TrimSpace(inner) == "raw" {
				body, rest, endStripL, endStripR, ok := rawBody(src, i)
				if !ok {
					return nil, fmt.Errorf("line %d: {%% raw %%} without {%% endraw %%}", tagLine)
				}
				if stripAllNext {
					body = strings.TrimLeft(body, " \t\r\n")
				} else if trimNewlineNext {
					body = strings.TrimPrefix(body, "\n")
				}
				if endStripL {
					body = strings.TrimRight(body, " \t\r\n")
				}
				text.WriteString(body)
				line += strings.Count(src[i:rest], "\n")
				i = rest
				stripAllNext = endStripR
				trimNewlineNext = !endStripR
				continue
			}
			flushText()
			segs = append(segs, segment{kind: segStmt, text: inner, line: tagLine})
		}
	}
	flushText()
	// keep_trailing_newline=False.
	if n := len(segs); n > 0 && segs[n-1].kind == segText {
		t := segs[n-1].text
		if strings.HasSuffix(t, "\r\n") {
			segs[n-1].text = t[:len(t)-2]
		} else if strings.HasSuffix(t, "\n") {
			segs[n-1].text = t[:len(t)-1]
		}
	}
	return segs, nil
}

// lstripLine removes the spaces and tabs ending chunk when, in the source,
// they run from the start of a line up to the tag at tagPos (lstrip_blocks).
func lstripLine(chunk, src string, tagPos int) string {
	k := len(chunk)
	for k > 0 && (chunk[k-1] == ' ' || chunk[k-1] == '\t') {
		k--
	}
	runStart := tagPos - (len(chunk) - k)
	if runStart == 0 || src[runStart-1] == '\n' {
		return chunk[:k]
	}
	return chunk
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

// indexClose finds the closing delimiter of a tag starting at k, skipping
// string literals inside expressions.
func indexClose(src string, k int, closeTok string) int {
	if closeTok == "#}" {
		j := strings.Index(src[k:], "#}")
		if j < 0 {
			return -1
		}
		return k + j
	}
	var quote byte
	depth := 0
	for p := k; p+1 < len(src); p++ {
		c := src[p]
		if quote != 0 {
			if c == '\\' {
				p++
			} else if c == quote {
				quote = 0
			}
			continue
		}
		if c == '\'' || c == '"' {
			quote = c
			continue
		}
		// Like jinja2, a delimiter inside open brackets does not close the tag.
		if depth == 0 && src[p:p+2] == closeTok {
			return p
		}
		switch c {
		case '(', '[', '{':
			depth++
		case ')', ']', '}':
			if depth > 0 {
				depth--
			}
		}
	}
	return -1
}

// rawBody returns the text up to {% endraw %} starting at i, the position
// after the endraw tag, and the endraw tag's whitespace modifiers.
func rawBody(src string, i int) (body string, rest int, stripL, stripR bool, ok bool) {
	for p := i; ; {
		j := strings.Index(src[p:], "{%")
		if j < 0 {
			return "", 0, false, false, false
		}
		j += p
		k := j + 2
		l := false
		if k < len(src) && (src[k] == '-' || src[k] == '+') {
			l = src[k] == '-'
			k++
		}
		end := strings.Index(src[k:], "%}")
		if end < 0 {
			return "", 0, false, false, false
		}
		inner := src[k : k+end]
		r := false
		if strings.HasSuffix(inner, "-") {
			r = true
			inner = inner[:len(inner)-1]
		}
		if strings.TrimSpace(inner) == "endraw" {
			return src[i:j], k + end + 2, l, r, true
		}
		p = j + 2
	}
}
