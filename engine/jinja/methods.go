package jinja

import (
	"fmt"
	"strings"
	"unicode"
)

// fToJSON is Hugging Face's tojson: json.dumps(x, ensure_ascii=False,
// indent=indent, separators=separators, sort_keys=sort_keys).
func fToJSON(_ *renderer, x any, args []any, kwargs map[string]any) (any, error) {
	indent := ""
	hasIndent := false
	iv, ok := kwargs["indent"]
	if !ok && len(args) > 0 {
		iv, ok = args[0], true
	}
	if ok && iv != nil {
		hasIndent = true
		if n, isInt := asInt(iv); isInt {
			indent = strings.Repeat(" ", int(n))
		} else {
			indent = str(iv)
		}
	}
	item, kv := ", ", ": "
	if hasIndent {
		item = ","
	}
	if sep, ok := kwargs["separators"].([]any); ok && len(sep) == 2 {
		item, kv = str(sep[0]), str(sep[1])
	}
	sortKeys := truthy(kwargs["sort_keys"])
	var b strings.Builder
	if err := writeJSON(&b, x, hasIndent, indent, 0, item, kv, sortKeys); err != nil {
		return nil, err
	}
	return b.String(), nil
}

func writeJSON(b *strings.Builder, x any, hasIndent bool, indent string, level int, item, kv string, sortKeys bool) error {
	newline := func(l int) {
		if hasIndent {
			b.WriteByte('\n')
			b.WriteString(strings.Repeat(indent, l))
		}
	}
	switch v := x.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		if v {
			b.WriteString("true")
		} else {
			b.WriteString("false")
		}
	case int64:
		fmt.Fprintf(b, "%d", v)
	case float64:
		s := formatFloat(v)
		switch s {
		case "inf":
			s = "Infinity"
		case "-inf":
			s = "-Infinity"
		case "nan":
			s = "NaN"
		}
		b.WriteString(s)
	case string:
		writeJSONString(b, v)
	case []any:
		if len(v) == 0 {
			b.WriteString("[]")
			return nil
		}
		b.WriteByte('[')
		for i, e := range v {
			if i > 0 {
				b.WriteString(item)
			}
			newline(level + 1)
			if err := writeJSON(b, e, hasIndent, indent, level+1, item, kv, sortKeys); err != nil {
				return err
			}
		}
		newline(level)
		b.WriteByte(']')
	case *Dict:
		if len(v.keys) == 0 {
			b.WriteString("{}")
			return nil
		}
		keys := v.keys
		if sortKeys {
			keys = append([]string{}, keys...)
			sortStrings(keys)
		}
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteString(item)
			}
			newline(level + 1)
			writeJSONString(b, k)
			b.WriteString(kv)
			if err := writeJSON(b, v.m[k], hasIndent, indent, level+1, item, kv, sortKeys); err != nil {
				return err
			}
		}
		newline(level)
		b.WriteByte('}')
	case undefined:
		return fmt.Errorf("Object of type Undefined is not JSON serializable")
	default:
		return fmt.Errorf("Object of type %s is not JSON serializable", typeName(x))
	}
	return nil
}

func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

// writeJSONString escapes like Python's json with ensure_ascii=False.
func writeJSONString(b *strings.Builder, s string) {
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		default:
			if r < 0x20 {
				fmt.Fprintf(b, `\u%04x`, r)
			} else {
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
}

func method(f func(args []any, kwargs map[string]any) (any, error)) builtin {
	return func(_ *renderer, args []any, kwargs map[string]any) (any, error) { return f(args, kwargs) }
}

func dictMethod(d *Dict, name string) any {
	switch name {
	case "items":
		return method(func([]any, map[string]any) (any, error) { return dictItems(d), nil })
	case "keys":
		return method(func([]any, map[string]any) (any, error) { return iterate(d) })
	case "values":
		return method(func([]any, map[string]any) (any, error) {
			out := make([]any, len(d.keys))
			for i, k := range d.keys {
				out[i] = d.m[k]
			}
			return out, nil
		})
	case "get":
		return method(func(args []any, _ map[string]any) (any, error) {
			if len(args) == 0 {
				return nil, fmt.Errorf("get needs a key")
			}
			if k, ok := args[0].(string); ok {
				if v, ok := d.m[k]; ok {
					return v, nil
				}
			}
			if len(args) > 1 {
				return args[1], nil
			}
			return nil, nil
		})
	}
	return nil
}

func listMethod(_ []any, _ string) any { return nil }

// pyStrip is Python's strip family: whitespace, or the given characters.
func pyStrip(s string, args []any, left, right bool) string {
	if len(args) > 0 && args[0] != nil {
		cut := str(args[0])
		if left {
			s = strings.TrimLeft(s, cut)
		}
		if right {
			s = strings.TrimRight(s, cut)
		}
		return s
	}
	if left {
		s = strings.TrimLeftFunc(s, unicode.IsSpace)
	}
	if right {
		s = strings.TrimRightFunc(s, unicode.IsSpace)
	}
	return s
}

func stringMethod(s, name string) any {
	switch name {
	case "strip":
		return method(func(a []any, _ map[string]any) (any, error) { return pyStrip(s, a, true, true), nil })
	case "lstrip":
		return method(func(a []any, _ map[string]any) (any, error) { return pyStrip(s, a, true, false), nil })
	case "rstrip":
		return method(func(a []any, _ map[string]any) (any, error) { return pyStrip(s, a, false, true), nil })
	case "upper":
		return method(func([]any, map[string]any) (any, error) { return strings.ToUpper(s), nil })
	case "lower":
		return method(func([]any, map[string]any) (any, error) { return strings.ToLower(s), nil })
	case "title":
		return method(func([]any, map[string]any) (any, error) { return pyTitle(s), nil })
	case "capitalize":
		return method(func([]any, map[string]any) (any, error) { return pyCapitalize(s), nil })
	case "startswith", "endswith":
		return method(func(a []any, _ map[string]any) (any, error) {
			if len(a) == 0 {
				return nil, fmt.Errorf("%s needs an argument", name)
			}
			cands := []any{a[0]}
			if l, ok := a[0].([]any); ok {
				cands = l
			}
			for _, c := range cands {
				p, ok := c.(string)
				if !ok {
					return nil, fmt.Errorf("%s arg must be str or a tuple of str", name)
				}
				if (name == "startswith" && strings.HasPrefix(s, p)) || (name == "endswith" && strings.HasSuffix(s, p)) {
					return true, nil
				}
			}
			return false, nil
		})
	case "split", "rsplit":
		return method(func(a []any, kw map[string]any) (any, error) {
			limit := -1
			if len(a) > 1 {
				n, _ := asInt(a[1])
				limit = int(n)
			}
			if v, ok := kw["maxsplit"]; ok {
				n, _ := asInt(v)
				limit = int(n)
			}
			var parts []string
			if len(a) == 0 || a[0] == nil {
				parts = strings.Fields(s)
				if limit >= 0 && len(parts) > limit+1 {
					// Re-split keeping the remainder intact.
					rest := s
					parts = nil
					for i := 0; i < limit; i++ {
						rest = strings.TrimLeftFunc(rest, unicode.IsSpace)
						j := strings.IndexFunc(rest, unicode.IsSpace)
						parts = append(parts, rest[:j])
						rest = rest[j:]
					}
					parts = append(parts, strings.TrimLeftFunc(rest, unicode.IsSpace))
				}
			} else {
				sep := str(a[0])
				if sep == "" {
					return nil, fmt.Errorf("empty separator")
				}
				if name == "rsplit" && limit >= 0 {
					all := strings.Split(s, sep)
					if len(all) > limit+1 {
						head := strings.Join(all[:len(all)-limit], sep)
						parts = append([]string{head}, all[len(all)-limit:]...)
					} else {
						parts = all
					}
				} else {
					parts = strings.SplitN(s, sep, limit+boolInt(limit >= 0))
				}
			}
			out := make([]any, len(parts))
			for i, p := range parts {
				out[i] = p
			}
			return out, nil
		})
	case "splitlines":
		return method(func([]any, map[string]any) (any, error) {
			lines := strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n")
			if len(lines) > 0 && lines[len(lines)-1] == "" {
				lines = lines[:len(lines)-1]
			}
			out := make([]any, len(lines))
			for i, l := range lines {
				out[i] = l
			}
			return out, nil
		})
	case "replace":
		return method(func(a []any, _ map[string]any) (any, error) {
			if len(a) < 2 {
				return nil, fmt.Errorf("replace needs two arguments")
			}
			n := -1
			if len(a) > 2 {
				c, _ := asInt(a[2])
				n = int(c)
			}
			return strings.Replace(s, str(a[0]), str(a[1]), n), nil
		})
	case "join":
		return method(func(a []any, _ map[string]any) (any, error) {
			if len(a) != 1 {
				return nil, fmt.Errorf("join needs one argument")
			}
			items, err := iterate(a[0])
			if err != nil {
				return nil, err
			}
			parts := make([]string, len(items))
			for i, it := range items {
				parts[i] = str(it)
			}
			return strings.Join(parts, s), nil
		})
	case "find":
		return method(func(a []any, _ map[string]any) (any, error) {
			if len(a) == 0 {
				return nil, fmt.Errorf("find needs an argument")
			}
			i := strings.Index(s, str(a[0]))
			if i < 0 {
				return int64(-1), nil
			}
			return int64(len([]rune(s[:i]))), nil
		})
	case "count":
		return method(func(a []any, _ map[string]any) (any, error) {
			if len(a) == 0 {
				return nil, fmt.Errorf("count needs an argument")
			}
			return int64(strings.Count(s, str(a[0]))), nil
		})
	case "isdigit", "isalpha", "isspace", "isalnum":
		return method(func([]any, map[string]any) (any, error) {
			if s == "" {
				return false, nil
			}
			for _, r := range s {
				ok := false
				switch name {
				case "isdigit":
					ok = unicode.IsDigit(r)
				case "isalpha":
					ok = unicode.IsLetter(r)
				case "isspace":
					ok = unicode.IsSpace(r)
				case "isalnum":
					ok = unicode.IsLetter(r) || unicode.IsDigit(r)
				}
				if !ok {
					return false, nil
				}
			}
			return true, nil
		})
	}
	return nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
