package jinja

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// Dict is an insertion-ordered mapping, as Python's dict is. Maps passed to
// Render are converted to Dicts with their keys sorted, since Go maps have
// no order.
type Dict struct {
	keys []string
	m    map[string]any
	// namespace marks a namespace() object, the one mapping whose attributes
	// templates may assign.
	namespace bool
}

// NewDict returns an empty Dict.
func NewDict() *Dict { return &Dict{m: map[string]any{}} }

// Set adds or replaces a key, keeping the first insertion's position.
func (d *Dict) Set(k string, v any) {
	if _, ok := d.m[k]; !ok {
		d.keys = append(d.keys, k)
	}
	d.m[k] = v
}

// Get returns a key's value.
func (d *Dict) Get(k string) (any, bool) { v, ok := d.m[k]; return v, ok }

// Keys returns the keys in insertion order.
func (d *Dict) Keys() []string { return d.keys }

// undefined is a missing variable, attribute or key. It renders as "" and is
// false, like jinja2's default Undefined.
type undefined struct{ name string }

// macro is a template-defined callable.
type macro struct {
	def    *macroNode
	caller *renderer
}

// builtin is a Go function exposed to templates.
type builtin func(r *renderer, args []any, kwargs map[string]any) (any, error)

// loopInfo is the `loop` variable of a for loop.
type loopInfo struct {
	index0, length int
	items          []any
}

func (l *loopInfo) attr(name string) any {
	switch name {
	case "index":
		return int64(l.index0 + 1)
	case "index0":
		return int64(l.index0)
	case "revindex":
		return int64(l.length - l.index0)
	case "revindex0":
		return int64(l.length - l.index0 - 1)
	case "first":
		return l.index0 == 0
	case "last":
		return l.index0 == l.length-1
	case "length":
		return int64(l.length)
	case "previtem":
		if l.index0 > 0 {
			return l.items[l.index0-1]
		}
	case "nextitem":
		if l.index0+1 < l.length {
			return l.items[l.index0+1]
		}
	case "cycle":
		return builtin(func(_ *renderer, args []any, _ map[string]any) (any, error) {
			if len(args) == 0 {
				return nil, fmt.Errorf("loop.cycle needs arguments")
			}
			return args[l.index0%len(args)], nil
		})
	}
	return undefined{"loop." + name}
}

// normalize converts Go values from callers into template values: ints to
// int64, float32 to float64, maps to Dicts, slices to []any.
func normalize(v any) any {
	switch x := v.(type) {
	case nil, bool, int64, float64, string, *Dict, []any:
		if l, ok := x.([]any); ok {
			out := make([]any, len(l))
			for i, e := range l {
				out[i] = normalize(e)
			}
			return out
		}
		return x
	case int:
		return int64(x)
	case int32:
		return int64(x)
	case uint32:
		return int64(x)
	case float32:
		return float64(x)
	case []string:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = e
		}
		return out
	case []map[string]any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = normalize(e)
		}
		return out
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		d := NewDict()
		for _, k := range keys {
			d.Set(k, normalize(x[k]))
		}
		return d
	case map[string]string:
		m := make(map[string]any, len(x))
		for k, s := range x {
			m[k] = s
		}
		return normalize(m)
	}
	return v
}

// truthy is Python's bool().
func truthy(v any) bool {
	switch x := v.(type) {
	case nil, undefined:
		return false
	case bool:
		return x
	case int64:
		return x != 0
	case float64:
		return x != 0
	case string:
		return x != ""
	case []any:
		return len(x) > 0
	case *Dict:
		return len(x.keys) > 0
	}
	return true
}

// str is Python's str() of a value, as {{ }} prints it.
func str(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case undefined:
		return ""
	}
	return repr(v)
}

// repr is Python's repr().
func repr(v any) string {
	switch x := v.(type) {
	case nil:
		return "None"
	case undefined:
		return ""
	case bool:
		if x {
			return "True"
		}
		return "False"
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return formatFloat(x)
	case string:
		return pyQuote(x)
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = repr(e)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case *Dict:
		if x.namespace {
			return "<Namespace>"
		}
		parts := make([]string, len(x.keys))
		for i, k := range x.keys {
			parts[i] = pyQuote(k) + ": " + repr(x.m[k])
		}
		return "{" + strings.Join(parts, ", ") + "}"
	case *loopInfo:
		return "<LoopContext>"
	case *macro, builtin:
		return "<function>"
	}
	return fmt.Sprint(v)
}

// formatFloat prints a float as Python's repr does.
func formatFloat(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	case math.IsNaN(f):
		return "nan"
	}
	if abs := math.Abs(f); abs != 0 && (abs < 1e-4 || abs >= 1e16) {
		return strconv.FormatFloat(f, 'e', -1, 64) // Python: 1e-05, 1e+16
	}
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.ContainsAny(s, ".") {
		s += ".0"
	}
	return s
}

// pyQuote quotes a string as Python's repr does.
func pyQuote(s string) string {
	q := byte('\'')
	if strings.Contains(s, "'") && !strings.Contains(s, "\"") {
		q = '"'
	}
	var b strings.Builder
	b.WriteByte(q)
	for _, r := range s {
		switch {
		case r == '\\':
			b.WriteString(`\\`)
		case r == rune(q):
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte(q)
	return b.String()
}

// typeName names a value's Python type for error messages.
func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "NoneType"
	case undefined:
		return "Undefined"
	case bool:
		return "bool"
	case int64:
		return "int"
	case float64:
		return "float"
	case string:
		return "str"
	case []any:
		return "list"
	case *Dict:
		return "dict"
	}
	return fmt.Sprintf("%T", v)
}
