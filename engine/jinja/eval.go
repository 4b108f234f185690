package jinja

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// eval evaluates an expression, charging the work its result took.
func (r *renderer) eval(e expr) (any, error) {
	v, err := r.eval1(e)
	if err == nil {
		err = r.charge(size(v))
	}
	return v, err
}

func (r *renderer) eval1(e expr) (any, error) {
	switch e := e.(type) {
	case *constExpr:
		return e.v, nil
	case *nameExpr:
		return r.lookup(e.name), nil
	case *getattrExpr:
		obj, err := r.eval(e.obj)
		if err != nil {
			return nil, err
		}
		v, err := getattr(plain(obj), e.name)
		if _, ok := obj.(markup); ok && markupMethods[e.name] {
			v = markupMethod(v)
		}
		return v, err
	case *getitemExpr:
		obj, err := r.eval(e.obj)
		if err != nil {
			return nil, err
		}
		key, err := r.eval(e.key)
		if err != nil {
			return nil, err
		}
		if _, isStr := plain(obj).(string); isStr {
			if err := r.charge(size(obj)); err != nil {
				return nil, err
			}
		}
		v, err := getitem(plain(obj), plain(key))
		if s, ok := v.(string); ok {
			if _, isMarkup := obj.(markup); isMarkup {
				if _, isIndex := asIndex(key); isIndex {
					return markup(s), err // Markup's characters are Markup
				}
			}
		}
		return v, err
	case *sliceExpr:
		return r.evalSlice(e)
	case *callExpr:
		fn, args, kwargs, err := r.evalCall(e)
		if err != nil {
			return nil, err
		}
		return r.call(fn, args, kwargs)
	case *filterExpr:
		x, err := r.eval(e.x)
		if err != nil {
			return nil, err
		}
		return r.applyFilter(e, x)
	case *testExpr:
		return r.applyTest(e)
	case *notExpr:
		x, err := r.eval(e.x)
		if err != nil {
			return nil, err
		}
		return !truthy(x), nil
	case *negExpr:
		x, err := r.eval(e.x)
		if err != nil {
			return nil, err
		}
		return negate(x)
	case *posExpr:
		x, err := r.eval(e.x)
		if err != nil {
			return nil, err
		}
		if n, ok := asInt(x); ok {
			return n, nil
		}
		if f, ok := x.(float64); ok {
			return f, nil
		}
		return nil, operandError("unary +", x)
	case *andExpr:
		a, err := r.eval(e.a)
		if err != nil || !truthy(a) {
			return a, err
		}
		return r.eval(e.b)
	case *orExpr:
		a, err := r.eval(e.a)
		if err != nil || truthy(a) {
			return a, err
		}
		return r.eval(e.b)
	case *binExpr:
		a, err := r.eval(e.a)
		if err != nil {
			return nil, err
		}
		b, err := r.eval(e.b)
		if err != nil {
			return nil, err
		}
		return binop(e.op, a, b)
	case *concatExpr:
		var b strings.Builder
		for _, item := range e.items {
			v, err := r.eval(item)
			if err != nil {
				return nil, err
			}
			b.WriteString(str(v))
			if b.Len() > maxOutput {
				return nil, fmt.Errorf("string exceeds %d bytes", maxOutput)
			}
		}
		return b.String(), nil
	case *compareExpr:
		return r.evalCompare(e)
	case *condExpr:
		c, err := r.eval(e.test)
		if err != nil {
			return nil, err
		}
		if truthy(c) {
			return r.eval(e.a)
		}
		if e.b == nil {
			return undefined{hint: "the inline if-expression evaluated to false and no else section was defined"}, nil
		}
		return r.eval(e.b)
	case *listExpr:
		return r.evalList(e.items)
	case *tupleExpr:
		l, err := r.evalList(e.items)
		return tuple(l), err
	case *dictExpr:
		d := NewDict()
		for i := range e.keys {
			k, err := r.eval(e.keys[i])
			if err != nil {
				return nil, err
			}
			v, err := r.eval(e.vals[i])
			if err != nil {
				return nil, err
			}
			if err := d.set(k, v); err != nil {
				return nil, err
			}
		}
		return d, nil
	}
	return nil, fmt.Errorf("unknown expression %T", e)
}

func (r *renderer) evalList(es []expr) ([]any, error) {
	out := make([]any, len(es))
	for i, e := range es {
		v, err := r.eval(e)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

// markupMethods are the str methods whose results Markup keeps as markup.
var markupMethods = map[string]bool{
	"capitalize": true, "title": true, "lower": true, "upper": true, "casefold": true, "swapcase": true,
	"strip": true, "lstrip": true, "rstrip": true, "center": true, "ljust": true, "rjust": true, "zfill": true,
	"removeprefix": true, "removesuffix": true, "format": true, "format_map": true,
	"split": true, "rsplit": true, "splitlines": true, "partition": true, "rpartition": true,
}

// markupMethod wraps a bound str method so its string result is markup.
func markupMethod(m any) any {
	b, ok := m.(*builtin)
	if !ok {
		return m
	}
	return &builtin{name: b.name, fn: func(r *renderer, args []any, kw *Dict) (any, error) {
		v, err := b.fn(r, args, kw)
		switch x := v.(type) {
		case string:
			return markup(x), err
		case []any:
			for i, e := range x {
				if s, ok := e.(string); ok {
					x[i] = markup(s)
				}
			}
		case tuple:
			for i, e := range x {
				if s, ok := e.(string); ok {
					x[i] = markup(s)
				}
			}
		}
		return v, err
	}}
}

// plainKwargs turns markup keyword argument values into plain strings.
func plainKwargs(kw *Dict) *Dict {
	if kw != nil {
		plainAll(kw.vals)
	}
	return kw
}

// evalArgs evaluates call arguments, spreading *args and **kwargs.
func (r *renderer) evalArgs(a *callArgs) ([]any, *Dict, error) {
	args, err := r.evalList(a.args)
	if err != nil {
		return nil, nil, err
	}
	kwargs := NewDict()
	for _, kw := range a.kwargs {
		v, err := r.eval(kw.v)
		if err != nil {
			return nil, nil, err
		}
		_ = kwargs.set(kw.name, v)
	}
	if a.dynArgs != nil {
		v, err := r.eval(a.dynArgs)
		if err != nil {
			return nil, nil, err
		}
		more, err := iterate(v)
		if err != nil {
			return nil, nil, err
		}
		args = append(args, more...)
	}
	if a.dynKwargs != nil {
		v, err := r.eval(a.dynKwargs)
		if err != nil {
			return nil, nil, err
		}
		d, ok := v.(*Dict)
		if !ok {
			return nil, nil, fmt.Errorf("argument after ** must be a mapping, not %s", typeName(v))
		}
		for i, k := range d.keys {
			_ = kwargs.set(k, d.vals[i])
		}
	}
	return args, kwargs, nil
}

func (r *renderer) evalCall(e *callExpr) (fn any, args []any, kwargs *Dict, err error) {
	if fn, err = r.eval(e.fn); err != nil {
		return nil, nil, nil, err
	}
	args, kwargs, err = r.evalArgs(&e.callArgs)
	return fn, args, kwargs, err
}

// call calls a builtin or a macro.
func (r *renderer) call(fn any, args []any, kwargs *Dict) (any, error) {
	switch f := fn.(type) {
	case *builtin:
		return f.fn(r, plainAll(args), plainKwargs(kwargs))
	case *macro:
		return r.callMacro(f, args, kwargs)
	case undefined:
		return nil, f.err()
	}
	return nil, fmt.Errorf("'%s' object is not callable", typeName(fn))
}

func (r *renderer) evalCompare(e *compareExpr) (any, error) {
	a, err := r.eval(e.first)
	if err != nil {
		return nil, err
	}
	for i, op := range e.ops {
		b, err := r.eval(e.rest[i])
		if err != nil {
			return nil, err
		}
		if err := r.charge(size(a) + size(b)); err != nil {
			return nil, err
		}
		ok, err := compareOp(op, a, b)
		if err != nil || !ok {
			return false, err
		}
		a = b
	}
	return true, nil
}

func compareOp(op string, a, b any) (bool, error) {
	a, b = plain(a), plain(b)
	switch op {
	case "==":
		return equal(a, b), nil
	case "!=":
		return !equal(a, b), nil
	case "in":
		return pyContains(b, a)
	case "notin":
		ok, err := pyContains(b, a)
		return !ok, err
	}
	c, err := compare(a, b, op)
	if err != nil {
		return false, err
	}
	switch op {
	case "<":
		return c < 0, nil
	case "<=":
		return c <= 0, nil
	case ">":
		return c > 0, nil
	}
	return c >= 0, nil
}

// iterate lists the items Python's iter() yields: list and tuple elements,
// string characters, dict keys. Undefined iterates as empty.
func iterate(v any) ([]any, error) {
	switch x := plain(v).(type) {
	case []any:
		return x, nil
	case tuple:
		return x, nil
	case string:
		if len(x) > maxOutput {
			return nil, fmt.Errorf("string too long to iterate")
		}
		out := make([]any, 0, utf8.RuneCountInString(x))
		for _, c := range x {
			out = append(out, string(c))
		}
		return out, nil
	case *Dict:
		return append([]any(nil), x.keys...), nil
	case *view:
		return x.items, nil
	case *iterator:
		rest := x.items[x.pos:]
		x.pos = len(x.items)
		return rest, nil
	case undefined:
		return nil, nil
	}
	return nil, fmt.Errorf("'%s' object is not iterable", typeName(v))
}

// length is Python's len().
func length(v any) (int, error) {
	switch x := plain(v).(type) {
	case string:
		return utf8.RuneCountInString(x), nil
	case []any:
		return len(x), nil
	case tuple:
		return len(x), nil
	case *Dict:
		return len(x.keys), nil
	case *view:
		return len(x.items), nil
	case undefined:
		return 0, nil
	}
	return 0, fmt.Errorf("object of type '%s' has no len()", typeName(v))
}

// getattr is obj.name under jinja2's sandbox: a Python attribute (a
// method) first, then an item, else Undefined.
func getattr(obj any, name string) (any, error) {
	if u, ok := obj.(undefined); ok {
		return nil, u.err()
	}
	if strings.HasPrefix(name, "__") && strings.HasSuffix(name, "__") {
		return undefined{hint: fmt.Sprintf("access to attribute '%s' of '%s' object is unsafe.", name, typeName(obj)), unsafe: true}, nil
	}
	if m, ok := method(obj, name); ok {
		return m, nil
	}
	switch o := obj.(type) {
	case *Dict:
		if v, ok := o.get(name); ok {
			return v, nil
		}
	case *namespace:
		if v, ok := o.attrs.get(name); ok {
			return v, nil
		}
	case *loopContext:
		return o.attr(name), nil
	case int64, bool, float64:
		if v, ok := numberAttr(o, name); ok {
			return v, nil
		}
	}
	return undefinedAttr(obj, name), nil
}

// numberAttr is the data attributes of Python's int and float.
func numberAttr(x any, name string) (any, bool) {
	f, isFloat := x.(float64)
	n, _ := asInt(x)
	switch {
	case name == "real" && isFloat:
		return f, true
	case name == "imag" && isFloat:
		return 0.0, true
	case name == "real" || name == "numerator":
		return n, !isFloat
	case name == "imag":
		return int64(0), true
	case name == "denominator":
		return int64(1), !isFloat
	}
	return nil, false
}

// getitem is obj[key] under jinja2's sandbox: the item first, then for a
// string key an attribute, else Undefined.
func getitem(obj, key any) (any, error) {
	switch o := obj.(type) {
	case undefined:
		return nil, o.err()
	case *Dict:
		if v, ok := o.get(key); ok {
			return v, nil
		}
	case []any:
		if v, ok := index(o, key); ok {
			return v, nil
		}
	case tuple:
		if v, ok := index(o, key); ok {
			return v, nil
		}
	case *view:
		if v, ok := index(o.items, key); ok && o.indexable {
			return v, nil
		}
	case string:
		if i, ok := asIndex(key); ok {
			rs := []rune(o)
			if i < 0 {
				i += int64(len(rs))
			}
			if i >= 0 && i < int64(len(rs)) {
				return string(rs[i]), nil
			}
		}
	}
	if name, ok := key.(string); ok {
		if _, isDict := obj.(*Dict); !isDict {
			return getattr(obj, name)
		}
		if m, ok := method(obj, name); ok {
			return m, nil
		}
	}
	return undefinedAttr(obj, key), nil
}

func index(l []any, key any) (any, bool) {
	i, ok := asIndex(key)
	if !ok {
		return nil, false
	}
	if i < 0 {
		i += int64(len(l))
	}
	if i < 0 || i >= int64(len(l)) {
		return nil, false
	}
	return l[i], true
}

// asIndex converts an int or bool to an index, as Python's __index__.
func asIndex(v any) (int64, bool) {
	switch x := v.(type) {
	case int64:
		return x, true
	case bool:
		if x {
			return 1, true
		}
		return 0, true
	}
	return 0, false
}

func (r *renderer) evalSlice(e *sliceExpr) (any, error) {
	obj, err := r.eval(e.obj)
	if err != nil {
		return nil, err
	}
	if m, ok := obj.(markup); ok {
		v, err := r.sliceValue(string(m), e)
		if s, ok := v.(string); ok {
			return markup(s), err // Markup slices are Markup
		}
		return v, err
	}
	return r.sliceValue(obj, e)
}

func (r *renderer) sliceValue(obj any, e *sliceExpr) (any, error) {
	if u, ok := obj.(undefined); ok {
		return nil, u.err()
	}
	v, err := r.slice(obj, e)
	if err != nil && r.folding {
		return undefined{hint: err.Error()}, nil
	}
	return v, err
}

func (r *renderer) slice(obj any, e *sliceExpr) (any, error) {
	var bounds [3]*int64
	valid := true
	for i, x := range []expr{e.start, e.stop, e.step} {
		if x == nil {
			continue
		}
		v, err := r.eval(x)
		if err != nil {
			return nil, err
		}
		if v == nil {
			continue
		}
		n, ok := asIndex(v)
		if !ok {
			valid = false // Python's TypeError, which jinja2 turns into Undefined
			continue
		}
		bounds[i] = &n
	}
	if u, ok := obj.(undefined); ok {
		return nil, u.err()
	}
	// jinja2 slices with Python's own subscript, not the sandbox's
	// getitem: what cannot be sliced is an error, not Undefined.
	var items []any
	s, isStr := obj.(string)
	switch o := obj.(type) {
	case string:
		for _, c := range o {
			items = append(items, string(c))
		}
	case []any:
		items = o
	case tuple:
		items = o
	case *view:
		if o.typ == "range" {
			return sliceRangeView(o, bounds, valid)
		}
		return nil, fmt.Errorf("'%s' object is not subscriptable", typeName(obj))
	case *Dict:
		return nil, fmt.Errorf("unhashable type: 'slice'")
	default:
		return nil, fmt.Errorf("'%s' object is not subscriptable", typeName(obj))
	}
	if !valid {
		return nil, fmt.Errorf("slice indices must be integers or None or have an __index__ method")
	}
	idx, err := sliceIndices(len(items), bounds[0], bounds[1], bounds[2])
	if err != nil {
		return nil, err
	}
	if isStr {
		var b strings.Builder
		b.Grow(len(s))
		for _, i := range idx {
			b.WriteString(items[i].(string))
		}
		return b.String(), nil
	}
	out := make([]any, len(idx))
	for k, i := range idx {
		out[k] = items[i]
	}
	if _, ok := obj.(tuple); ok {
		return tuple(out), nil
	}
	return out, nil
}

// sliceIndices returns the indices Python's slice(start, stop, step)
// selects from a sequence of n items.
func sliceIndices(n int, start, stop, step *int64) ([]int, error) {
	a, b, st, err := sliceRange(n, start, stop, step)
	if err != nil {
		return nil, err
	}
	var out []int
	for i := a; (st > 0 && i < b) || (st < 0 && i > b); i += st {
		out = append(out, int(i))
	}
	return out, nil
}

// sliceRange is Python's slice.indices(n): the first index, the bound and
// the step.
func sliceRange(n int, start, stop, step *int64) (a, b, st int64, err error) {
	st = 1
	if step != nil {
		st = *step
	}
	if st == 0 {
		return 0, 0, 0, fmt.Errorf("slice step cannot be zero")
	}
	ln := int64(n)
	adjust := func(p *int64, def, lo, hi int64) int64 {
		if p == nil {
			return def
		}
		v := *p
		if v < 0 {
			v += ln
		}
		return min(max(v, lo), hi)
	}
	if st > 0 {
		return adjust(start, 0, 0, ln), adjust(stop, ln, 0, ln), st, nil
	}
	return adjust(start, ln-1, -1, ln-1), adjust(stop, -1, -1, ln-1), st, nil
}

// contextFilters are the filters jinja2 never evaluates at compile time.
var contextFilters = map[string]bool{"map": true, "select": true, "reject": true, "selectattr": true, "rejectattr": true}

// sliceRangeView slices a range into a range.
func sliceRangeView(r *view, bounds [3]*int64, valid bool) (any, error) {
	if !valid {
		return nil, fmt.Errorf("slice indices must be integers or None or have an __index__ method")
	}
	a, b, st, err := sliceRange(len(r.items), bounds[0], bounds[1], bounds[2])
	if err != nil {
		return nil, err
	}
	return newRange(r.start+a*r.step, r.start+b*r.step, r.step*st)
}

// loopContext is the loop variable of a for loop.
type loopContext struct {
	items   []any
	index0  int
	changed []any // last arguments of loop.changed, nil before the first call
	seen    bool
}

func (l *loopContext) attr(name string) any {
	n := len(l.items)
	switch name {
	case "index":
		return int64(l.index0 + 1)
	case "index0":
		return int64(l.index0)
	case "revindex":
		return int64(n - l.index0)
	case "revindex0":
		return int64(n - l.index0 - 1)
	case "first":
		return l.index0 == 0
	case "last":
		return l.index0 == n-1
	case "length":
		return int64(n)
	case "depth":
		return int64(1)
	case "depth0":
		return int64(0)
	case "previtem":
		if l.index0 > 0 {
			return l.items[l.index0-1]
		}
		return undefined{hint: "there is no previous item"}
	case "nextitem":
		if l.index0+1 < n {
			return l.items[l.index0+1]
		}
		return undefined{hint: "there is no next item"}
	case "cycle":
		return &builtin{name: "cycle", fn: func(_ *renderer, args []any, _ *Dict) (any, error) {
			if len(args) == 0 {
				return nil, fmt.Errorf("no items for cycling given")
			}
			return args[l.index0%len(args)], nil
		}}
	case "changed":
		return &builtin{name: "changed", fn: func(_ *renderer, args []any, _ *Dict) (any, error) {
			if l.seen && equal(tuple(l.changed), tuple(args)) {
				return false, nil
			}
			l.seen, l.changed = true, args
			return true, nil
		}}
	}
	return undefined{hint: fmt.Sprintf("'LoopContext object' has no attribute '%s'", name)}
}
