package jinja

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"unicode/utf16"
)

// jsonOpts are the json.dumps options Hugging Face's tojson passes through.
type jsonOpts struct {
	ensureASCII bool
	indent      *string // nil: no newlines
	itemSep     string
	keySep      string
	sortKeys    bool
}

// fToJSON is transformers' tojson filter:
// json.dumps(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False).
func fToJSON(_ *renderer, x any, args []any, kw *Dict) (any, error) {
	a, err := bindArgs("tojson", args, kw, 0, "ensure_ascii", "indent", "separators", "sort_keys")
	if err != nil {
		return nil, err
	}
	o := jsonOpts{ensureASCII: truthy(orDefault(a[0], false)), sortKeys: truthy(orDefault(a[3], false))}
	if iv := orDefault(a[1], nil); iv != nil {
		var ind string
		if n, ok := asInt(iv); ok {
			if n > 1000 {
				return nil, fmt.Errorf("indent too large")
			}
			ind = strings.Repeat(" ", int(max(n, 0)))
		} else if s, ok := iv.(string); ok {
			ind = s
		} else {
			return nil, fmt.Errorf("indent must be an int or a string, not %s", typeName(iv))
		}
		o.indent = &ind
	}
	o.itemSep, o.keySep = ", ", ": "
	if o.indent != nil {
		o.itemSep = ","
	}
	if sv := orDefault(a[2], nil); sv != nil {
		parts, err := iterate(sv)
		if err != nil || len(parts) != 2 {
			return nil, fmt.Errorf("separators must be a pair of strings")
		}
		item, ok1 := parts[0].(string)
		key, ok2 := parts[1].(string)
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("separators must be a pair of strings")
		}
		o.itemSep, o.keySep = item, key
	}
	var b strings.Builder
	if err := o.write(&b, x, 0); err != nil {
		return nil, err
	}
	return b.String(), nil
}

func (o *jsonOpts) newline(b *strings.Builder, level int) {
	if o.indent != nil {
		b.WriteByte('\n')
		for i := 0; i < level; i++ {
			b.WriteString(*o.indent)
		}
	}
}

func (o *jsonOpts) write(b *strings.Builder, x any, level int) error {
	if b.Len() > maxOutput {
		return fmt.Errorf("output exceeds %d bytes", maxOutput)
	}
	if level > maxDepth {
		return fmt.Errorf("value nests too deeply for tojson")
	}
	switch v := x.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		b.WriteString(strconv.FormatBool(v))
	case int64:
		b.WriteString(strconv.FormatInt(v, 10))
	case float64:
		b.WriteString(jsonFloat(v))
	case string:
		o.writeString(b, v)
	case markup:
		o.writeString(b, string(v))
	case []any:
		return o.writeList(b, v, level)
	case tuple:
		return o.writeList(b, v, level)
	case *Dict:
		return o.writeDict(b, v, level)
	default:
		return fmt.Errorf("Object of type %s is not JSON serializable", typeName(x))
	case undefined:
		return fmt.Errorf("Object of type Undefined is not JSON serializable")
	}
	return nil
}

func jsonFloat(f float64) string {
	switch s := formatFloat(f); s {
	case "inf":
		return "Infinity"
	case "-inf":
		return "-Infinity"
	case "nan":
		return "NaN"
	default:
		return s
	}
}

func (o *jsonOpts) writeList(b *strings.Builder, l []any, level int) error {
	if len(l) == 0 {
		b.WriteString("[]")
		return nil
	}
	b.WriteByte('[')
	for i, e := range l {
		if i > 0 {
			b.WriteString(o.itemSep)
		}
		o.newline(b, level+1)
		if err := o.write(b, e, level+1); err != nil {
			return err
		}
	}
	o.newline(b, level)
	b.WriteByte(']')
	return nil
}

func (o *jsonOpts) writeDict(b *strings.Builder, d *Dict, level int) error {
	if len(d.keys) == 0 {
		b.WriteString("{}")
		return nil
	}
	keys := make([]string, len(d.keys))
	for i, k := range d.keys {
		switch kv := k.(type) {
		case string:
			keys[i] = kv
		case nil, bool, int64, float64:
			keys[i] = strings.Trim(jsonKey(kv), `"`)
		default:
			return fmt.Errorf("keys must be str, int, float, bool or None, not %s", typeName(k))
		}
	}
	order := make([]int, len(keys))
	for i := range order {
		order[i] = i
	}
	if o.sortKeys {
		for _, k := range d.keys {
			if _, ok := k.(string); !ok {
				return fmt.Errorf("'<' not supported between dict keys of different types")
			}
		}
		sort.SliceStable(order, func(i, j int) bool { return keys[order[i]] < keys[order[j]] })
	}
	b.WriteByte('{')
	for n, i := range order {
		if n > 0 {
			b.WriteString(o.itemSep)
		}
		o.newline(b, level+1)
		o.writeString(b, keys[i])
		b.WriteString(o.keySep)
		if err := o.write(b, d.vals[i], level+1); err != nil {
			return err
		}
	}
	o.newline(b, level)
	b.WriteByte('}')
	return nil
}

// jsonKey converts a non-string key as json.dumps does.
func jsonKey(k any) string {
	switch v := k.(type) {
	case nil:
		return "null"
	case bool:
		return strconv.FormatBool(v)
	case int64:
		return strconv.FormatInt(v, 10)
	case float64:
		return jsonFloat(v)
	}
	return ""
}

// writeString escapes like Python's json: always the quote, backslash and
// control characters; with ensure_ascii every non-ASCII character as \uXXXX
// (surrogate pairs beyond the BMP).
func (o *jsonOpts) writeString(b *strings.Builder, s string) {
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
			switch {
			case r < 0x20 || (o.ensureASCII && r > 0x7e && r < 0x10000):
				fmt.Fprintf(b, `\u%04x`, r)
			case o.ensureASCII && r >= 0x10000:
				hi, lo := utf16.EncodeRune(r)
				fmt.Fprintf(b, `\u%04x\u%04x`, hi, lo)
			default:
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
}
