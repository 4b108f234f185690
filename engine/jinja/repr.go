package jinja

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode"
)

// str is Python's str() of a value, which {{ }} prints; Undefined is "".
func str(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case markup:
		return string(x)
	case undefined:
		return ""
	}
	return repr(v)
}

// repr is Python's repr().
func repr(v any) string {
	var b strings.Builder
	writeRepr(&b, v)
	return b.String()
}

func writeRepr(b *strings.Builder, v any) {
	switch x := v.(type) {
	case nil:
		b.WriteString("None")
	case undefined:
		b.WriteString("Undefined")
	case bool:
		if x {
			b.WriteString("True")
		} else {
			b.WriteString("False")
		}
	case int64:
		b.WriteString(strconv.FormatInt(x, 10))
	case float64:
		b.WriteString(formatFloat(x))
	case string:
		b.WriteString(quote(x))
	case markup:
		b.WriteString("Markup(" + quote(string(x)) + ")")
	case []any:
		writeSeq(b, "[", x, "]")
	case tuple:
		if len(x) == 1 {
			b.WriteByte('(')
			writeRepr(b, x[0])
			b.WriteString(",)")
			return
		}
		writeSeq(b, "(", x, ")")
	case *Dict:
		writeDict(b, x)
	case *namespace:
		b.WriteString("<Namespace ")
		writeDict(b, x.attrs)
		b.WriteByte('>')
	case *view:
		b.WriteString(x.text)
	case *iterator:
		b.WriteString("<" + x.typ + " object>")
	case *macro:
		fmt.Fprintf(b, "<Macro '%s'>", x.def.name)
	case *builtin:
		fmt.Fprintf(b, "<built-in function %s>", x.name)
	case *loopContext:
		fmt.Fprintf(b, "<LoopContext %d/%d>", x.index0+1, len(x.items))
	case *cycler:
		b.WriteString("<Cycler>")
	default:
		fmt.Fprintf(b, "%v", v)
	}
}

func writeSeq(b *strings.Builder, open string, items []any, closing string) {
	b.WriteString(open)
	for i, e := range items {
		if i > 0 {
			b.WriteString(", ")
		}
		writeRepr(b, e)
	}
	b.WriteString(closing)
}

func writeDict(b *strings.Builder, d *Dict) {
	b.WriteByte('{')
	for i, k := range d.keys {
		if i > 0 {
			b.WriteString(", ")
		}
		writeRepr(b, k)
		b.WriteString(": ")
		writeRepr(b, d.vals[i])
	}
	b.WriteByte('}')
}

// formatFloat is Python's repr of a float: the shortest digits that read
// back exactly, in fixed notation when the decimal exponent is in [-4, 16),
// else in scientific notation with at least two exponent digits.
func formatFloat(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	case math.IsNaN(f):
		return "nan"
	}
	e := strconv.FormatFloat(f, 'e', -1, 64) // d.ddde±XX
	_, expPart, _ := strings.Cut(e, "e")
	exp, _ := strconv.Atoi(expPart)
	if exp < -4 || exp >= 16 {
		return e
	}
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.ContainsAny(s, ".") {
		s += ".0"
	}
	return s
}

// quote is Python's repr of a string: single quotes unless the string has
// a single quote and no double quote; escapes for backslash, the quote, and
// characters Python does not consider printable.
func quote(s string) string {
	q := '\''
	if strings.ContainsRune(s, '\'') && !strings.ContainsRune(s, '"') {
		q = '"'
	}
	var b strings.Builder
	b.WriteRune(q)
	for _, r := range s {
		switch {
		case r == '\\':
			b.WriteString(`\\`)
		case r == q:
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case isPrintable(r):
			b.WriteRune(r)
		case r < 0x100:
			fmt.Fprintf(&b, `\x%02x`, r)
		case r < 0x10000:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			fmt.Fprintf(&b, `\U%08x`, r)
		}
	}
	b.WriteRune(q)
	return b.String()
}

// isPrintable approximates Python's str.isprintable for one character:
// letters, marks, numbers, punctuation, symbols and the ASCII space.
func isPrintable(r rune) bool {
	return unicode.IsPrint(r)
}
