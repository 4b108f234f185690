package jinja

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// method returns the bound Python method obj.name, if the type has it. The
// sandbox forbids methods that mutate lists and dicts: those come back as
// an unsafe Undefined, which prints as "" and fails when called.
func method(obj any, name string) (any, bool) {
	var fn func(args []any, kw *Dict) (any, error)
	switch o := obj.(type) {
	case string:
		fn = strMethod(o, name)
	case *Dict:
		fn = dictMethod(o, name)
		if fn == nil && hasString([]string{"clear", "pop", "popitem", "setdefault", "update"}, name) {
			return unsafeMethod(obj, name), true
		}
	case []any:
		fn = seqMethod(o, name, true)
		if fn == nil && hasString([]string{"append", "clear", "extend", "insert", "pop", "remove", "reverse", "sort"}, name) {
			return unsafeMethod(obj, name), true
		}
	case tuple:
		fn = seqMethod(o, name, false)
	case *view:
		if o.indexable {
			fn = seqMethod(o.items, name, false)
		}
	case *cycler:
		fn = cyclerMethod(o, name)
		if name == "current" {
			return o.items[o.pos], true
		}
	}
	if fn == nil {
		return nil, false
	}
	return &builtin{name: name, fn: func(_ *renderer, args []any, kw *Dict) (any, error) { return fn(args, kw) }}, true
}

func unsafeMethod(obj any, name string) undefined {
	return undefined{hint: fmt.Sprintf("access to attribute '%s' of '%s' object is unsafe.", name, typeName(obj)), unsafe: true}
}

// absent marks an optional parameter the caller did not pass.
type absent struct{}

// bindArgs binds positional and keyword arguments to parameter names, as a
// Python call does; the first required ones must be given, the others come
// back as absent{} when missing.
func bindArgs(fname string, args []any, kw *Dict, required int, names ...string) ([]any, error) {
	if len(args) > len(names) {
		return nil, fmt.Errorf("%s() takes at most %d arguments (%d given)", fname, len(names), len(args))
	}
	out := make([]any, len(names))
	for i := range out {
		if i < len(args) {
			out[i] = args[i]
		} else {
			out[i] = absent{}
		}
	}
	if kw != nil {
		for i, k := range kw.keys {
			name, _ := k.(string)
			j := indexOf(names, name)
			if j < 0 {
				return nil, fmt.Errorf("%s() got an unexpected keyword argument '%s'", fname, name)
			}
			if _, ok := out[j].(absent); !ok {
				return nil, fmt.Errorf("%s() got multiple values for argument '%s'", fname, name)
			}
			out[j] = kw.vals[i]
		}
	}
	for i := 0; i < required; i++ {
		if _, ok := out[i].(absent); ok {
			return nil, fmt.Errorf("%s() missing required argument '%s'", fname, names[i])
		}
	}
	return out, nil
}

func indexOf(list []string, s string) int {
	for i, x := range list {
		if x == s {
			return i
		}
	}
	return -1
}

// orDefault returns v, or def when v is absent.
func orDefault(v, def any) any {
	if _, ok := v.(absent); ok {
		return def
	}
	return v
}

// intArg converts an optional integer argument.
func intArg(fname string, v any, def int64) (int64, error) {
	v = orDefault(v, def)
	if v == nil {
		return def, nil
	}
	n, ok := asInt(v)
	if !ok {
		return 0, fmt.Errorf("%s(): '%s' object cannot be interpreted as an integer", fname, typeName(v))
	}
	return n, nil
}

// strArg requires a string argument.
func strArg(fname string, v any) (string, error) {
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("%s() argument must be str, not %s", fname, typeName(v))
	}
	return s, nil
}

// sliceBounds resolves the optional start and end arguments of find,
// count, startswith and the like, which slice s as s[start:end] does, to
// byte offsets.
func sliceBounds(s string, start, end any) (int, int, error) {
	n := int64(utf8.RuneCountInString(s))
	var b [2]int64
	for i, v := range []any{start, end} {
		b[i] = []int64{0, n}[i]
		v = orDefault(v, nil)
		if v == nil {
			continue
		}
		x, ok := asInt(v)
		if !ok {
			return 0, 0, fmt.Errorf("slice indices must be integers or None")
		}
		if x < 0 {
			x = max(x+n, 0)
		}
		b[i] = min(x, n)
	}
	lo, hi := b[0], max(b[1], b[0])
	return byteOffset(s, int(lo)), byteOffset(s, int(hi)), nil
}

// byteOffset converts a code point index of s to a byte offset.
func byteOffset(s string, runeIdx int) int {
	for i := range s {
		if runeIdx == 0 {
			return i
		}
		runeIdx--
	}
	return len(s)
}

func toList(parts []string) []any {
	out := make([]any, len(parts))
	for i, p := range parts {
		out[i] = p
	}
	return out
}

func strMethod(s, name string) func([]any, *Dict) (any, error) {
	switch name {
	case "strip", "lstrip", "rstrip":
		return func(args []any, kw *Dict) (any, error) {
			a, err := bindArgs(name, args, kw, 0, "chars")
			if err != nil {
				return nil, err
			}
			chars := orDefault(a[0], nil)
			if chars != nil {
				if _, err := strArg(name, chars); err != nil {
					return nil, err
				}
			}
			return pyStrip(s, chars, name != "rstrip", name != "lstrip"), nil
		}
	case "upper", "lower", "title", "capitalize", "swapcase", "casefold":
		return func(args []any, kw *Dict) (any, error) {
			if _, err := bindArgs(name, args, kw, 0); err != nil {
				return nil, err
			}
			switch name {
			case "upper":
				return pyUpper(s), nil
			case "lower", "casefold":
				return pyLower(s), nil
			case "title":
				return pyTitle(s), nil
			case "capitalize":
				return pyCapitalize(s), nil
			}
			return pySwapcase(s), nil
		}
	case "split", "rsplit":
		return func(args []any, kw *Dict) (any, error) {
			a, err := bindArgs(name, args, kw, 0, "sep", "maxsplit")
			if err != nil {
				return nil, err
			}
			limit, err := intArg(name, a[1], -1)
			if err != nil {
				return nil, err
			}
			sep := orDefault(a[0], nil)
			if sep == nil {
				if name == "split" {
					return toList(pySplitSpace(s, int(limit))), nil
				}
				return toList(pyRSplitSpace(s, int(limit))), nil
			}
			sp, err := strArg(name, sep)
			if err != nil {
				return nil, err
			}
			if sp == "" {
				return nil, fmt.Errorf("empty separator")
			}
			if name == "rsplit" {
				return toList(pyRSplit(s, sp, int(limit))), nil
			}
			n := -1
			if limit >= 0 {
				n = int(limit) + 1
			}
			return toList(strings.SplitN(s, sp, n)), nil
		}
	case "splitlines":
		return func(args []any, kw *Dict) (any, error) {
			a, err := bindArgs(name, args, kw, 0, "keepends")
			if err != nil {
				return nil, err
			}
			return toList(pySplitlines(s, truthy(orDefault(a[0], false)))), nil
		}
	case "startswith", "endswith":
		return func(args []any, kw *Dict) (any, error) {
			a, err := bindArgs(name, args, kw, 1, "prefix", "start", "end")
			if err != nil {
				return nil, err
			}
			lo, hi, err := sliceBounds(s, a[1], a[2])
			if err != nil {
				return nil, err
			}
			sub := s[lo:hi]
			cands := []any{a[0]}
			if t, ok := a[0].(tuple); ok {
				cands = t
			}
			for _, c := range cands {
				p, ok := c.(string)
				if !ok {
					return nil, fmt.Errorf("%s first arg must be str or a tuple of str, not %s", name, typeName(c))
				}
				if (name == "startswith" && strings.HasPrefix(sub, p)) || (name == "endswith" && strings.HasSuffix(sub, p)) {
					return true, nil
				}
			}
			return false, nil
		}
	case "replace":
		return func(args []any, kw *Dict) (any, error) {
			a, err := bindArgs(name, args, kw, 2, "old", "new", "count")
			if err != nil {
				return nil, err
			}
			old, err := strArg(name, a[0])
			if err != nil {
				return nil, err
			}
			repl, err := strArg(name, a[1])
			if err != nil {
				return nil, err
			}
			n, err := intArg(name, a[2], -1)
			if err != nil {
				return nil, err
			}
			return pyReplace(s, old, repl, n)
		}
	case "find", "rfind", "index", "rindex", "count":
		return func(args []any, kw *Dict) (any, error) {
			a, err := bindArgs(name, args, kw, 1, "sub", "start", "end")
			if err != nil {
				return nil, err
			}
			sub, err := strArg(name, a[0])
			if err != nil {
				return nil, err
			}
			lo, hi, err := sliceBounds(s, a[1], a[2])
			if err != nil {
				return nil, err
			}
			hay := s[lo:hi]
			if name == "count" {
				if sub == "" {
					return int64(utf8.RuneCountInString(hay) + 1), nil
				}
				return int64(strings.Count(hay, sub)), nil
			}
			i := strings.Index(hay, sub)
			if name[0] == 'r' {
				i = strings.LastIndex(hay, sub)
			}
			if i < 0 {
				if strings.HasSuffix(name, "index") {
					return nil, fmt.Errorf("substring not found")
				}
				return int64(-1), nil
			}
			return int64(runeIndex(s, lo+i)), nil
		}
	case "join":
		return func(args []any, kw *Dict) (any, error) {
			a, err := bindArgs(name, args, kw, 1, "iterable")
			if err != nil {
				return nil, err
			}
			items, err := iterate(a[0])
			if err != nil {
				return nil, err
			}
			parts := make([]string, len(items))
			for i, it := range items {
				p, ok := it.(string)
				if !ok {
					return nil, fmt.Errorf("sequence item %d: expected str instance, %s found", i, typeName(it))
				}
				parts[i] = p
			}
			return strings.Join(parts, s), nil
		}
	case "format":
		return func(args []any, kw *Dict) (any, error) { return braceFormat(s, args, kw) }
	case "format_map":
		return func(args []any, kw *Dict) (any, error) {
			a, err := bindArgs(name, args, kw, 1, "mapping")
			if err != nil {
				return nil, err
			}
			d, ok := a[0].(*Dict)
			if !ok {
				return nil, fmt.Errorf("format_map() argument must be a mapping, not %s", typeName(a[0]))
			}
			return braceFormat(s, nil, d)
		}
	case "isdigit", "isdecimal", "isnumeric", "isalpha", "isalnum", "isspace", "isupper", "islower", "istitle", "isascii", "isidentifier", "isprintable":
		return func(args []any, kw *Dict) (any, error) {
			if _, err := bindArgs(name, args, kw, 0); err != nil {
				return nil, err
			}
			return strPredicate(s, name), nil
		}
	case "zfill":
		return func(args []any, kw *Dict) (any, error) {
			a, err := bindArgs(name, args, kw, 1, "width")
			if err != nil {
				return nil, err
			}
			w, err := intArg(name, a[0], 0)
			if err != nil || w > maxOutput {
				return nil, sizeErr(err)
			}
			sign := ""
			body := s
			if strings.HasPrefix(s, "-") || strings.HasPrefix(s, "+") {
				sign, body = s[:1], s[1:]
			}
			n := utf8.RuneCountInString(s)
			if int(w) <= n {
				return s, nil
			}
			return sign + strings.Repeat("0", int(w)-n) + body, nil
		}
	case "center", "ljust", "rjust":
		return func(args []any, kw *Dict) (any, error) {
			a, err := bindArgs(name, args, kw, 1, "width", "fillchar")
			if err != nil {
				return nil, err
			}
			w, err := intArg(name, a[0], 0)
			if err != nil || w > maxOutput {
				return nil, sizeErr(err)
			}
			fill := ' '
			if f, ok := orDefault(a[1], " ").(string); ok && utf8.RuneCountInString(f) == 1 {
				fill, _ = utf8.DecodeRuneInString(f)
			} else {
				return nil, fmt.Errorf("the fill character must be exactly one character long")
			}
			switch name {
			case "center":
				return pyCenter(s, int(w), fill), nil
			case "ljust":
				return pyPad(s, int(w), fill, '<'), nil
			}
			return pyPad(s, int(w), fill, '>'), nil
		}
	case "removeprefix", "removesuffix":
		return func(args []any, kw *Dict) (any, error) {
			a, err := bindArgs(name, args, kw, 1, "affix")
			if err != nil {
				return nil, err
			}
			x, err := strArg(name, a[0])
			if err != nil {
				return nil, err
			}
			if name == "removeprefix" {
				return strings.TrimPrefix(s, x), nil
			}
			return strings.TrimSuffix(s, x), nil
		}
	case "partition", "rpartition":
		return func(args []any, kw *Dict) (any, error) {
			a, err := bindArgs(name, args, kw, 1, "sep")
			if err != nil {
				return nil, err
			}
			sep, err := strArg(name, a[0])
			if err != nil {
				return nil, err
			}
			if sep == "" {
				return nil, fmt.Errorf("empty separator")
			}
			i := strings.Index(s, sep)
			if name == "rpartition" {
				i = strings.LastIndex(s, sep)
			}
			if i < 0 {
				if name == "rpartition" {
					return tuple{"", "", s}, nil
				}
				return tuple{s, "", ""}, nil
			}
			return tuple{s[:i], sep, s[i+len(sep):]}, nil
		}
	}
	return nil
}

func sizeErr(err error) error {
	if err != nil {
		return err
	}
	return fmt.Errorf("width exceeds %d", maxOutput)
}

// pyReplace is str.replace(old, new, count).
func pyReplace(s, old, repl string, n int64) (any, error) {
	if n < 0 {
		n = -1
	}
	count := strings.Count(s, old)
	if old == "" {
		count = utf8.RuneCountInString(s) + 1
	}
	if n >= 0 && int64(count) > n {
		count = int(n)
	}
	if len(s)+count*(len(repl)-len(old)) > maxOutput {
		return nil, fmt.Errorf("string exceeds %d bytes", maxOutput)
	}
	return strings.Replace(s, old, repl, int(max(n, -1))), nil
}

func strPredicate(s, name string) bool {
	if s == "" {
		return name == "isascii" || name == "isprintable"
	}
	cased, upper, lower := false, false, false
	prevCased, titleOK := false, true
	for i, r := range s {
		if isCased(r) {
			cased = true
			upper = upper || unicode.IsUpper(r) || unicode.IsTitle(r)
			lower = lower || unicode.IsLower(r)
			if prevCased && (unicode.IsUpper(r) || unicode.IsTitle(r)) {
				titleOK = false
			}
			if !prevCased && unicode.IsLower(r) {
				titleOK = false
			}
		}
		prevCased = isCased(r)
		var ok bool
		switch name {
		case "isdigit", "isdecimal":
			ok = unicode.IsDigit(r)
		case "isnumeric":
			ok = unicode.IsNumber(r)
		case "isalpha":
			ok = unicode.IsLetter(r)
		case "isalnum":
			ok = unicode.IsLetter(r) || unicode.IsNumber(r)
		case "isspace":
			ok = isSpace(r)
		case "isascii":
			ok = r < 0x80
		case "isprintable":
			ok = isPrintable(r)
		case "isidentifier":
			ok = r == '_' || unicode.IsLetter(r) || (i > 0 && (unicode.IsDigit(r) || unicode.Is(unicode.Mn, r)))
		default:
			ok = true
		}
		if !ok {
			return false
		}
	}
	switch name {
	case "isupper":
		return cased && upper && !lower
	case "islower":
		return cased && lower && !upper
	case "istitle":
		return cased && titleOK
	}
	return true
}

func dictMethod(d *Dict, name string) func([]any, *Dict) (any, error) {
	switch name {
	case "items", "keys", "values":
		return func(args []any, kw *Dict) (any, error) {
			if _, err := bindArgs(name, args, kw, 0); err != nil {
				return nil, err
			}
			var items []any
			switch name {
			case "items":
				items = d.items()
			case "keys":
				items = append(items, d.keys...)
			default:
				items = append(items, d.vals...)
			}
			return &view{typ: "dict_" + name, items: items, text: "dict_" + name + "(" + repr(items) + ")"}, nil
		}
	case "get":
		return func(args []any, kw *Dict) (any, error) {
			if kw != nil && kw.Len() > 0 {
				return nil, fmt.Errorf("get() takes no keyword arguments")
			}
			a, err := bindArgs(name, args, nil, 1, "key", "default")
			if err != nil {
				return nil, err
			}
			if _, err := hashOf(a[0]); err != nil {
				return nil, err
			}
			if v, ok := d.get(a[0]); ok {
				return v, nil
			}
			return orDefault(a[1], nil), nil
		}
	case "copy":
		return func(args []any, kw *Dict) (any, error) {
			if _, err := bindArgs(name, args, kw, 0); err != nil {
				return nil, err
			}
			return d.copy(), nil
		}
	}
	return nil
}

func seqMethod(l []any, name string, isList bool) func([]any, *Dict) (any, error) {
	switch name {
	case "count":
		return func(args []any, kw *Dict) (any, error) {
			a, err := bindArgs(name, args, kw, 1, "value")
			if err != nil {
				return nil, err
			}
			n := int64(0)
			for _, x := range l {
				if equal(x, a[0]) {
					n++
				}
			}
			return n, nil
		}
	case "index":
		return func(args []any, kw *Dict) (any, error) {
			a, err := bindArgs(name, args, kw, 1, "value")
			if err != nil {
				return nil, err
			}
			for i, x := range l {
				if equal(x, a[0]) {
					return int64(i), nil
				}
			}
			return nil, fmt.Errorf("%s is not in list", repr(a[0]))
		}
	case "copy":
		if !isList {
			return nil
		}
		return func(args []any, kw *Dict) (any, error) {
			if _, err := bindArgs(name, args, kw, 0); err != nil {
				return nil, err
			}
			return append([]any(nil), l...), nil
		}
	}
	return nil
}

func cyclerMethod(c *cycler, name string) func([]any, *Dict) (any, error) {
	switch name {
	case "next":
		return func([]any, *Dict) (any, error) {
			v := c.items[c.pos]
			c.pos = (c.pos + 1) % len(c.items)
			return v, nil
		}
	case "reset":
		return func([]any, *Dict) (any, error) {
			c.pos = 0
			return nil, nil
		}
	}
	return nil
}
