package jinja

import (
	"fmt"
	"html"
	"regexp"
	"strings"
	"unicode/utf8"
)

// filterFunc implements a filter: x|name(args, kwargs).
type filterFunc func(r *renderer, x any, args []any, kw *Dict) (any, error)

// filters are jinja2's built-in filters that chat templates use, with
// transformers' tojson.
var filters map[string]filterFunc

func init() {
	filters = map[string]filterFunc{
		"abs":         fAbs,
		"attr":        fAttr,
		"batch":       fBatch,
		"capitalize":  strFilter("capitalize", pyCapitalize),
		"center":      fCenter,
		"count":       fLength,
		"d":           fDefault,
		"default":     fDefault,
		"dictsort":    fDictsort,
		"e":           fEscape,
		"escape":      fEscape,
		"first":       fFirst,
		"float":       fFloat,
		"forceescape": fEscape,
		"format":      fFormat,
		"indent":      fIndent,
		"int":         fInt,
		"items":       fItems,
		"join":        fJoin,
		"last":        fLast,
		"length":      fLength,
		"list":        fList,
		"lower":       strFilter("lower", pyLower),
		"map":         fMap,
		"max":         minMax(1),
		"min":         minMax(-1),
		"reject":      selectFilter(true, false),
		"rejectattr":  selectFilter(true, true),
		"replace":     fReplace,
		"reverse":     fReverse,
		"round":       fRound,
		"safe":        func(_ *renderer, x any, _ []any, _ *Dict) (any, error) { return markup(str(x)), nil },
		"select":      selectFilter(false, false),
		"selectattr":  selectFilter(false, true),
		"slice":       fSlice,
		"sort":        fSort,
		"string":      fString,
		"sum":         fSum,
		"title":       strFilter("title", jinjaTitle),
		"tojson":      fToJSON,
		"trim":        fTrim,
		"truncate":    fTruncate,
		"unique":      fUnique,
		"upper":       strFilter("upper", pyUpper),
		"wordcount":   fWordcount,
	}
}

func (r *renderer) applyFilter(f *filterExpr, x any) (any, error) {
	if f.fn == nil {
		return nil, &Error{Line: f.line, Msg: fmt.Sprintf("no filter named '%s' found", f.name)}
	}
	args, kw, err := r.evalArgs(&f.callArgs)
	if err != nil {
		return nil, err
	}
	if err := r.charge(size(x)); err != nil {
		return nil, err
	}
	if keepsMarkup[f.name] {
		return f.fn(r, x, plainAll(args), plainKwargs(kw))
	}
	_, wasMarkup := x.(markup)
	v, err := f.fn(r, plain(x), plainAll(args), plainKwargs(kw))
	if s, ok := v.(string); ok && wasMarkup && markupResult[f.name] {
		return markup(s), err
	}
	return v, err
}

// keepsMarkup lists the filters that see (and may return) markup as is.
var keepsMarkup = map[string]bool{"default": true, "d": true, "escape": true, "e": true, "forceescape": true, "safe": true, "string": true}

// markupResult lists the filters whose result stays markup when their
// input is, because jinja2 implements them with Markup's own methods.
var markupResult = map[string]bool{"capitalize": true, "lower": true, "upper": true, "trim": true, "center": true, "indent": true, "format": true}

func fString(_ *renderer, x any, _ []any, _ *Dict) (any, error) {
	if m, ok := x.(markup); ok {
		return m, nil
	}
	return str(x), nil
}

// escapeHTML is markupsafe's escape of a plain string.
func escapeHTML(s string) string { return html.EscapeString(s) }

func strFilter(name string, f func(string) string) filterFunc {
	return func(_ *renderer, x any, args []any, kw *Dict) (any, error) {
		if _, err := bindArgs(name, args, kw, 0); err != nil {
			return nil, err
		}
		return f(str(x)), nil
	}
}

// wordBeginning is jinja2's _word_beginning_split_re, ([-\s({\[<]+), with
// Python's Unicode \s.
var wordBeginning = regexp.MustCompile(`[-\t-\r\x1c-\x1f\x{85}\p{Z}({\[<]+`)

// jinjaTitle is jinja2's title filter (not str.title): each piece between
// runs of spaces, dashes and opening brackets gets its first character
// upper-cased and the rest lower-cased.
func jinjaTitle(s string) string {
	var b strings.Builder
	word := func(w string) {
		if w == "" {
			return
		}
		r, n := utf8.DecodeRuneInString(w)
		b.WriteString(pyUpper(string(r)))
		b.WriteString(pyLower(w[n:]))
	}
	last := 0
	for _, m := range wordBeginning.FindAllStringIndex(s, -1) {
		word(s[last:m[0]])
		word(s[m[0]:m[1]])
		last = m[1]
	}
	word(s[last:])
	return b.String()
}

func fLength(_ *renderer, x any, _ []any, _ *Dict) (any, error) {
	n, err := length(x)
	return int64(n), err
}

func fAttr(_ *renderer, x any, args []any, kw *Dict) (any, error) {
	a, err := bindArgs("attr", args, kw, 1, "name")
	if err != nil {
		return nil, err
	}
	name := str(a[0])
	if u, ok := x.(undefined); ok {
		return nil, u.err()
	}
	if m, ok := method(x, name); ok {
		return m, nil
	}
	switch o := x.(type) {
	case *namespace:
		if v, ok := o.attrs.get(name); ok {
			return v, nil
		}
	case *loopContext:
		return o.attr(name), nil
	}
	return undefinedAttr(x, name), nil
}

func fDefault(_ *renderer, x any, args []any, kw *Dict) (any, error) {
	a, err := bindArgs("default", args, kw, 0, "default_value", "boolean")
	if err != nil {
		return nil, err
	}
	def, boolean := orDefault(a[0], ""), truthy(orDefault(a[1], false))
	if _, undef := x.(undefined); undef || (boolean && !truthy(x)) {
		return def, nil
	}
	return x, nil
}

func fEscape(_ *renderer, x any, _ []any, _ *Dict) (any, error) {
	if m, ok := x.(markup); ok {
		return m, nil
	}
	return markup(escapeHTML(str(x))), nil // the same five escapes as markupsafe
}

func fTrim(_ *renderer, x any, args []any, kw *Dict) (any, error) {
	a, err := bindArgs("trim", args, kw, 0, "chars")
	if err != nil {
		return nil, err
	}
	return pyStrip(str(x), orDefault(a[0], nil), true, true), nil
}

func fReplace(_ *renderer, x any, args []any, kw *Dict) (any, error) {
	a, err := bindArgs("replace", args, kw, 2, "old", "new", "count")
	if err != nil {
		return nil, err
	}
	n, err := intArg("replace", a[2], -1)
	if err != nil {
		return nil, err
	}
	return pyReplace(str(x), str(a[0]), str(a[1]), n)
}

func fCenter(_ *renderer, x any, args []any, kw *Dict) (any, error) {
	a, err := bindArgs("center", args, kw, 0, "width")
	if err != nil {
		return nil, err
	}
	w, err := intArg("center", a[0], 80)
	if err != nil || w > maxOutput {
		return nil, sizeErr(err)
	}
	return pyCenter(str(x), int(w), ' '), nil
}

// fIndent is jinja2's indent filter, quirks included: the text gets a
// newline appended before splitting, blank lines are only the empty ones.
func fIndent(_ *renderer, x any, args []any, kw *Dict) (any, error) {
	a, err := bindArgs("indent", args, kw, 0, "width", "first", "blank")
	if err != nil {
		return nil, err
	}
	indent := "    "
	switch w := orDefault(a[0], int64(4)).(type) {
	case string:
		indent = w
	default:
		n, ok := asInt(w)
		if !ok {
			return nil, fmt.Errorf("can't multiply sequence by non-int of type '%s'", typeName(w))
		}
		if n > 1000 {
			return nil, fmt.Errorf("indent width too large")
		}
		indent = strings.Repeat(" ", int(max(n, 0)))
	}
	first, blank := truthy(orDefault(a[1], false)), truthy(orDefault(a[2], false))
	s, ok := x.(string)
	if !ok {
		if u, isU := x.(undefined); isU {
			return nil, u.err()
		}
		return nil, fmt.Errorf("unsupported operand type(s) for +=: '%s' and 'str'", typeName(x))
	}
	lines := pySplitlines(s+"\n", false)
	var b strings.Builder
	for i, line := range lines {
		if i > 0 {
			b.WriteByte('\n')
			if blank || line != "" {
				b.WriteString(indent)
			}
		}
		b.WriteString(line)
		if b.Len() > maxOutput {
			return nil, fmt.Errorf("string exceeds %d bytes", maxOutput)
		}
	}
	if first {
		return indent + b.String(), nil
	}
	return b.String(), nil
}

func fTruncate(_ *renderer, x any, args []any, kw *Dict) (any, error) {
	a, err := bindArgs("truncate", args, kw, 0, "length", "killwords", "end", "leeway")
	if err != nil {
		return nil, err
	}
	n, err := intArg("truncate", a[0], 255)
	if err != nil {
		return nil, err
	}
	leeway, err := intArg("truncate", a[3], 5)
	if err != nil {
		return nil, err
	}
	end := str(orDefault(a[2], "..."))
	endLen := int64(utf8.RuneCountInString(end))
	if n < endLen || leeway < 0 {
		return nil, fmt.Errorf("expected length >= %d and leeway >= 0", endLen)
	}
	if _, isStr := x.(string); !isStr {
		// jinja2 measures and slices the value itself.
		l, err := length(x)
		if err != nil {
			return nil, err
		}
		if int64(l) <= n+leeway {
			return x, nil
		}
		return nil, fmt.Errorf("truncate needs a string, not %s", typeName(x))
	}
	rs := []rune(x.(string))
	if int64(len(rs)) <= n+leeway {
		return string(rs), nil
	}
	head := string(rs[:n-endLen])
	if truthy(orDefault(a[1], false)) {
		return head + end, nil
	}
	if i := strings.LastIndex(head, " "); i >= 0 {
		head = head[:i]
	}
	return head + end, nil
}

var wordRE = regexp.MustCompile(`[\p{L}\p{N}_]+`)

func fWordcount(_ *renderer, x any, _ []any, _ *Dict) (any, error) {
	return int64(len(wordRE.FindAllStringIndex(str(x), -1))), nil
}

func fFormat(_ *renderer, x any, args []any, kw *Dict) (any, error) {
	if len(args) > 0 && kw != nil && kw.Len() > 0 {
		return nil, fmt.Errorf("can't handle positional and keyword arguments at the same time")
	}
	if kw != nil && kw.Len() > 0 {
		return percentFormat(str(x), kw)
	}
	return percentFormat(str(x), tuple(args))
}
