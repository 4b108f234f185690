package jinja

import (
	"fmt"
	"math"
	"reflect"
	"sort"
)

// Template values mirror Python's: nil (None), bool, int64, float64,
// string, []any (list), tuple, *Dict (dict), plus the template-only kinds
// below. Callers' Go values are converted by normalize.

// tuple is a Python tuple: a list that prints with parentheses.
type tuple []any

// markup is markupsafe's Markup, what the safe and escape filters return:
// a string that escapes the plain strings it is combined with by + and %.
// Everywhere else it acts as a plain string (see plain).
type markup string

// plain turns a markup string into a plain one.
func plain(v any) any {
	if m, ok := v.(markup); ok {
		return string(m)
	}
	return v
}

func plainAll(vs []any) []any {
	for i, v := range vs {
		vs[i] = plain(v)
	}
	return vs
}

// Dict is an insertion-ordered mapping, as Python's dict is. Maps passed to
// Render become Dicts with sorted keys, since Go maps have no order; pass a
// *Dict to keep an order of your own.
type Dict struct {
	keys  []any
	vals  []any
	index map[hashKey]int
}

// NewDict returns an empty Dict.
func NewDict() *Dict { return &Dict{index: map[hashKey]int{}} }

// Set adds or replaces a key; a new key goes last, a replaced one keeps its
// place. value is converted like a variable passed to Render; one that
// cannot be (a struct, a channel) is stored as an undefined value.
func (d *Dict) Set(key string, value any) {
	v, err := normalize(value, 0)
	if err != nil {
		v = undefined{hint: err.Error()}
	}
	_ = d.set(key, v)
}

// Get returns the value of a key.
func (d *Dict) Get(key string) (any, bool) { return d.get(key) }

// Len returns the number of keys.
func (d *Dict) Len() int { return len(d.keys) }

func (d *Dict) set(k, v any) error {
	h, err := hashOf(k)
	if err != nil {
		return err
	}
	if i, ok := d.index[h]; ok {
		d.vals[i] = v
		return nil
	}
	d.index[h] = len(d.keys)
	d.keys = append(d.keys, k)
	d.vals = append(d.vals, v)
	return nil
}

func (d *Dict) get(k any) (any, bool) {
	h, err := hashOf(k)
	if err != nil {
		return nil, false
	}
	i, ok := d.index[h]
	if !ok {
		return nil, false
	}
	return d.vals[i], true
}

func (d *Dict) copy() *Dict {
	c := NewDict()
	for i, k := range d.keys {
		_ = c.set(k, d.vals[i])
	}
	return c
}

// items returns the (key, value) pairs as tuples.
func (d *Dict) items() []any {
	out := make([]any, len(d.keys))
	for i, k := range d.keys {
		out[i] = tuple{k, d.vals[i]}
	}
	return out
}

// hashKey identifies a dict key the way Python's hash and == do: 1, 1.0 and
// True are the same key.
type hashKey struct {
	kind byte
	s    string
	n    int64
	f    float64
}

func hashOf(k any) (hashKey, error) {
	switch x := k.(type) {
	case nil:
		return hashKey{kind: 'N'}, nil
	case string:
		return hashKey{kind: 's', s: x}, nil
	case markup:
		return hashKey{kind: 's', s: string(x)}, nil
	case bool:
		if x {
			return hashKey{kind: 'i', n: 1}, nil
		}
		return hashKey{kind: 'i'}, nil
	case int64:
		return hashKey{kind: 'i', n: x}, nil
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<62 {
			return hashKey{kind: 'i', n: int64(x)}, nil
		}
		return hashKey{kind: 'f', f: x}, nil
	case undefined:
		return hashKey{kind: 'U'}, nil // all Undefineds hash and compare equal
	case *view:
		if x.typ != "range" {
			return hashKey{}, fmt.Errorf("unhashable type: '%s'", x.typ)
		}
		return hashKey{kind: 'r', s: x.text}, nil
	case *iterator, *namespace, *macro, *builtin, *cycler, *loopContext:
		return hashKey{kind: 'p', s: fmt.Sprintf("%p", x)}, nil
	case tuple:
		parts := ""
		for _, e := range x {
			h, err := hashOf(e)
			if err != nil {
				return hashKey{}, err
			}
			parts += fmt.Sprintf("%c%q%d%v|", h.kind, h.s, h.n, h.f)
		}
		return hashKey{kind: 't', s: parts}, nil
	}
	return hashKey{}, fmt.Errorf("unhashable type: '%s'", typeName(k))
}

// undefined is a missing variable, attribute or item, like jinja2's default
// Undefined: it prints as "", is false, iterates as empty, and fails when
// used any further (attribute, item, call, arithmetic).
type undefined struct {
	hint   string // why it is undefined, for the error of a later use
	unsafe bool   // a sandbox-forbidden attribute rather than a missing one
}

func (u undefined) err() error {
	if u.hint == "" {
		return fmt.Errorf("value is undefined")
	}
	return fmt.Errorf("%s", u.hint)
}

// undefinedName is the Undefined of a missing variable.
func undefinedName(name string) undefined {
	return undefined{hint: fmt.Sprintf("'%s' is undefined", name)}
}

// undefinedAttr is the Undefined of a missing attribute or item.
func undefinedAttr(obj, key any) undefined {
	if s, ok := key.(string); ok {
		return undefined{hint: fmt.Sprintf("'%s object' has no attribute '%s'", typeName(obj), s)}
	}
	return undefined{hint: fmt.Sprintf("'%s object' has no element %s", typeName(obj), repr(key))}
}

// namespace is the object namespace() returns, the one object whose
// attributes templates may assign.
type namespace struct{ attrs *Dict }

// macro is a template-defined callable: a {% macro %} or the caller of a
// {% call %} block. It closes over the scopes where it was defined.
type macro struct {
	def    *macroNode
	scopes []map[string]any
}

// builtin is a Go function exposed to templates (globals and methods).
type builtin struct {
	name string
	fn   func(r *renderer, args []any, kwargs *Dict) (any, error)
}

// view is a re-iterable sequence that is not a list: what dict.keys(),
// .values() and .items() return (not subscriptable) and range()
// (subscriptable). It prints as Python prints it and is not JSON.
type view struct {
	typ       string // Python type name: dict_keys, dict_values, dict_items, range
	items     []any
	text      string // repr
	indexable bool
	// start and step of a range, for slicing it.
	start, step int64
}

// iterator is a one-shot iterator: what jinja2's map, select, unique and
// similar filters return (generators) and reverse (a reverse iterator).
// Iterating consumes it; it is always true, has no length, and is not JSON.
type iterator struct {
	typ   string
	items []any
	pos   int
}

func newGenerator(items []any) *iterator { return &iterator{typ: "generator", items: items} }

// next returns the next item, consuming it.
func (it *iterator) next() (any, bool) {
	if it.pos >= len(it.items) {
		return nil, false
	}
	it.pos++
	return it.items[it.pos-1], true
}

// cycler is the object cycler() returns.
type cycler struct {
	items []any
	pos   int
}

// typeName names a value's Python type for messages.
func typeName(v any) string {
	switch x := v.(type) {
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
	case markup:
		return "Markup"
	case []any:
		return "list"
	case tuple:
		return "tuple"
	case *Dict:
		return "dict"
	case *namespace:
		return "Namespace"
	case *macro:
		return "Macro"
	case *builtin:
		return "builtin_function_or_method"
	case *loopContext:
		return "LoopContext"
	case *view:
		return x.typ
	case *iterator:
		return x.typ
	case *cycler:
		return "Cycler"
	}
	return fmt.Sprintf("%T", v)
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
	case markup:
		return x != ""
	case []any:
		return len(x) > 0
	case tuple:
		return len(x) > 0
	case *Dict:
		return len(x.keys) > 0
	case *view:
		return len(x.items) > 0
	}
	return true
}

// maxDepth bounds the nesting of values converted from Go.
const maxDepth = 1000

// normalize converts a Go value from a caller into a template value.
func normalize(v any, depth int) (any, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("variables nest deeper than %d levels", maxDepth)
	}
	switch x := v.(type) {
	case nil, bool, int64, float64, string, *Dict:
		return x, nil
	case int:
		return int64(x), nil
	case int8:
		return int64(x), nil
	case int16:
		return int64(x), nil
	case int32:
		return int64(x), nil
	case uint8:
		return int64(x), nil
	case uint16:
		return int64(x), nil
	case uint32:
		return int64(x), nil
	case float32:
		return float64(x), nil
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			n, err := normalize(e, depth+1)
			if err != nil {
				return nil, err
			}
			out[i] = n
		}
		return out, nil
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		d := NewDict()
		for _, k := range keys {
			n, err := normalize(x[k], depth+1)
			if err != nil {
				return nil, err
			}
			_ = d.set(k, n)
		}
		return d, nil
	}
	return normalizeReflect(v, depth)
}

// normalizeReflect converts other slices, arrays, string-keyed maps, uints
// and pointers to them.
func normalizeReflect(v any, depth int) (any, error) {
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Uint, reflect.Uint64, reflect.Uintptr:
		u := rv.Uint()
		if u > math.MaxInt64 {
			return nil, fmt.Errorf("integer %d is too large", u)
		}
		return int64(u), nil
	case reflect.Int, reflect.Int64:
		return rv.Int(), nil
	case reflect.String:
		return rv.String(), nil
	case reflect.Bool:
		return rv.Bool(), nil
	case reflect.Float32, reflect.Float64:
		return rv.Float(), nil
	case reflect.Slice, reflect.Array:
		if rv.Kind() == reflect.Slice && rv.IsNil() {
			return nil, nil
		}
		out := make([]any, rv.Len())
		for i := range out {
			n, err := normalize(rv.Index(i).Interface(), depth+1)
			if err != nil {
				return nil, err
			}
			out[i] = n
		}
		return out, nil
	case reflect.Map:
		if rv.Type().Key().Kind() != reflect.String {
			return nil, fmt.Errorf("map keys must be strings, not %s", rv.Type().Key())
		}
		if rv.IsNil() {
			return nil, nil
		}
		m := make(map[string]any, rv.Len())
		it := rv.MapRange()
		for it.Next() {
			m[it.Key().String()] = it.Value().Interface()
		}
		return normalize(m, depth)
	case reflect.Pointer, reflect.Interface:
		if rv.IsNil() {
			return nil, nil
		}
		return normalize(rv.Elem().Interface(), depth+1)
	}
	return nil, fmt.Errorf("unsupported value of type %T", v)
}
