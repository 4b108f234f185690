package jinja

import (
	"fmt"
	"math"
	"strings"
)

// renderer holds the state of one Render call.
type renderer struct {
	scopes    []map[string]any
	depth     int
	maxOutput int
}

// loopControl carries break and continue out of a loop body.
type loopControl string

func (c loopControl) Error() string { return string(c) }

func (r *renderer) lookup(name string) any {
	for i := len(r.scopes) - 1; i >= 0; i-- {
		if v, ok := r.scopes[i][name]; ok {
			return v
		}
	}
	return undefined{name}
}

func (r *renderer) push(m map[string]any) { r.scopes = append(r.scopes, m) }
func (r *renderer) pop()                  { r.scopes = r.scopes[:len(r.scopes)-1] }

func (r *renderer) exec(nodes []node, b *strings.Builder) error {
	for _, n := range nodes {
		if b.Len() > r.maxOutput {
			return fmt.Errorf("output exceeds %d bytes", r.maxOutput)
		}
		switch n := n.(type) {
		case *textNode:
			b.WriteString(n.s)
		case *outputNode:
			v, err := r.eval(n.e)
			if err != nil {
				return fmt.Errorf("line %d: %w", n.line, err)
			}
			b.WriteString(str(v))
		case *ifNode:
			done := false
			for i, c := range n.conds {
				v, err := r.eval(c)
				if err != nil {
					return err
				}
				if truthy(v) {
					if err := r.exec(n.bodies[i], b); err != nil {
						return err
					}
					done = true
					break
				}
			}
			if !done && n.els != nil {
				if err := r.exec(n.els, b); err != nil {
					return err
				}
			}
		case *forNode:
			if err := r.execFor(n, b); err != nil {
				return err
			}
		case *setNode:
			if err := r.execSet(n); err != nil {
				return err
			}
		case *macroNode:
			r.scopes[len(r.scopes)-1][n.name] = &macro{def: n, caller: r}
		case *callBlockNode:
			body := n.body
			caller := builtin(func(r *renderer, _ []any, _ map[string]any) (any, error) {
				var sb strings.Builder
				r.push(map[string]any{})
				defer r.pop()
				err := r.exec(body, &sb)
				return sb.String(), err
			})
			r.push(map[string]any{"caller": caller})
			v, err := r.eval(n.call)
			r.pop()
			if err != nil {
				return err
			}
			b.WriteString(str(v))
		case *filterBlockNode:
			var sb strings.Builder
			if err := r.exec(n.body, &sb); err != nil {
				return err
			}
			var v any = sb.String()
			for _, f := range n.filters {
				var err error
				if v, err = r.applyFilter(f, v); err != nil {
					return err
				}
			}
			b.WriteString(str(v))
		case *breakNode:
			return loopControl("break")
		case *continueNode:
			return loopControl("continue")
		default:
			return fmt.Errorf("unknown node %T", n)
		}
	}
	return nil
}

func (r *renderer) execFor(n *forNode, b *strings.Builder) error {
	it, err := r.eval(n.iter)
	if err != nil {
		return fmt.Errorf("line %d: %w", n.line, err)
	}
	items, err := iterate(it)
	if err != nil {
		return fmt.Errorf("line %d: %w", n.line, err)
	}
	scope := map[string]any{}
	r.push(scope)
	defer r.pop()
	bind := func(item any) error {
		if len(n.targets) == 1 {
			scope[n.targets[0]] = item
			return nil
		}
		parts, err := iterate(item)
		if err != nil || len(parts) != len(n.targets) {
			return fmt.Errorf("line %d: cannot unpack %s into %d names", n.line, typeName(item), len(n.targets))
		}
		for i, t := range n.targets {
			scope[t] = parts[i]
		}
		return nil
	}
	if n.filter != nil {
		var kept []any
		for _, item := range items {
			if err := bind(item); err != nil {
				return err
			}
			v, err := r.eval(n.filter)
			if err != nil {
				return err
			}
			if truthy(v) {
				kept = append(kept, item)
			}
		}
		items = kept
	}
	if len(items) == 0 {
		if n.els != nil {
			return r.exec(n.els, b)
		}
		return nil
	}
	loop := &loopInfo{length: len(items), items: items}
	for i, item := range items {
		for k := range scope {
			delete(scope, k)
		}
		loop.index0 = i
		scope["loop"] = loop
		if err := bind(item); err != nil {
			return err
		}
		if err := r.exec(n.body, b); err != nil {
			if c, ok := err.(loopControl); ok {
				if c == "break" {
					break
				}
				continue
			}
			return err
		}
	}
	return nil
}

func (r *renderer) execSet(n *setNode) error {
	var v any
	if n.body != nil {
		var sb strings.Builder
		if err := r.exec(n.body, &sb); err != nil {
			return err
		}
		v = sb.String()
	} else {
		var err error
		if v, err = r.eval(n.value); err != nil {
			return err
		}
	}
	scope := r.scopes[len(r.scopes)-1]
	if n.attr != "" {
		ns, ok := r.lookup(n.targets[0]).(*Dict)
		if !ok || !ns.namespace {
			return fmt.Errorf("cannot assign attribute on non-namespace object %s", n.targets[0])
		}
		ns.Set(n.attr, v)
		return nil
	}
	if len(n.targets) == 1 {
		scope[n.targets[0]] = v
		return nil
	}
	parts, err := iterate(v)
	if err != nil || len(parts) != len(n.targets) {
		return fmt.Errorf("cannot unpack %s into %d names", typeName(v), len(n.targets))
	}
	for i, t := range n.targets {
		scope[t] = parts[i]
	}
	return nil
}

// iterate lists the items of an iterable: list elements, string
// characters, dict keys; undefined iterates as empty.
func iterate(v any) ([]any, error) {
	switch x := v.(type) {
	case []any:
		return x, nil
	case string:
		out := make([]any, 0, len(x))
		for _, c := range x {
			out = append(out, string(c))
		}
		return out, nil
	case *Dict:
		out := make([]any, len(x.keys))
		for i, k := range x.keys {
			out[i] = k
		}
		return out, nil
	case undefined:
		return nil, nil
	}
	return nil, fmt.Errorf("'%s' object is not iterable", typeName(v))
}

func (r *renderer) eval(e expr) (any, error) {
	switch e := e.(type) {
	case *literal:
		return e.v, nil
	case *nameExpr:
		return r.lookup(e.name), nil
	case *attrExpr:
		obj, err := r.eval(e.obj)
		if err != nil {
			return nil, err
		}
		return getAttr(obj, e.name)
	case *itemExpr:
		obj, err := r.eval(e.obj)
		if err != nil {
			return nil, err
		}
		key, err := r.eval(e.key)
		if err != nil {
			return nil, err
		}
		return getItem(obj, key)
	case *sliceExpr:
		return r.evalSlice(e)
	case *callExpr:
		return r.evalCall(e)
	case *filterExpr:
		x, err := r.eval(e.x)
		if err != nil {
			return nil, err
		}
		return r.applyFilter(e, x)
	case *testExpr:
		x, err := r.eval(e.x)
		if err != nil {
			return nil, err
		}
		args, err := r.evalList(e.args)
		if err != nil {
			return nil, err
		}
		ok, err := tests[e.name](x, args)
		if err != nil {
			return nil, err
		}
		return ok != e.negate, nil
	case *unaryExpr:
		x, err := r.eval(e.x)
		if err != nil {
			return nil, err
		}
		if e.op == "not" {
			return !truthy(x), nil
		}
		switch n := x.(type) {
		case int64:
			return -n, nil
		case float64:
			return -n, nil
		case bool:
			if n {
				return int64(-1), nil
			}
			return int64(0), nil
		}
		return nil, fmt.Errorf("bad operand type for unary -: '%s'", typeName(x))
	case *binaryExpr:
		return r.evalBinary(e)
	case *condExpr:
		c, err := r.eval(e.cond)
		if err != nil {
			return nil, err
		}
		if truthy(c) {
			return r.eval(e.a)
		}
		if e.b == nil {
			return undefined{"conditional"}, nil
		}
		return r.eval(e.b)
	case *listExpr:
		return r.evalList(e.items)
	case *tupleExpr:
		return r.evalList(e.items)
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
			ks, ok := k.(string)
			if !ok {
				ks = repr(k)
			}
			d.Set(ks, v)
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

func (r *renderer) evalBinary(e *binaryExpr) (any, error) {
	a, err := r.eval(e.a)
	if err != nil {
		return nil, err
	}
	switch e.op {
	case "and":
		if !truthy(a) {
			return a, nil
		}
		return r.eval(e.b)
	case "or":
		if truthy(a) {
			return a, nil
		}
		return r.eval(e.b)
	}
	b, err := r.eval(e.b)
	if err != nil {
		return nil, err
	}
	switch e.op {
	case "~":
		return str(a) + str(b), nil
	case "==":
		return equal(a, b), nil
	case "!=":
		return !equal(a, b), nil
	case "<", "<=", ">", ">=":
		c, err := compare(a, b)
		if err != nil {
			return nil, err
		}
		switch e.op {
		case "<":
			return c < 0, nil
		case "<=":
			return c <= 0, nil
		case ">":
			return c > 0, nil
		}
		return c >= 0, nil
	case "in", "not in":
		ok, err := contains(b, a)
		if err != nil {
			return nil, err
		}
		return ok == (e.op == "in"), nil
	}
	return arith(e.op, a, b)
}

func arith(op string, a, b any) (any, error) {
	if op == "+" {
		switch x := a.(type) {
		case string:
			if y, ok := b.(string); ok {
				return x + y, nil
			}
		case []any:
			if y, ok := b.([]any); ok {
				return append(append([]any{}, x...), y...), nil
			}
		}
	}
	if op == "*" {
		if s, ok := a.(string); ok {
			if n, ok := b.(int64); ok {
				return strings.Repeat(s, int(max(n, 0))), nil
			}
		}
	}
	ai, aInt := asInt(a)
	bi, bInt := asInt(b)
	if aInt && bInt && op != "/" {
		switch op {
		case "+":
			return ai + bi, nil
		case "-":
			return ai - bi, nil
		case "*":
			return ai * bi, nil
		case "//":
			if bi == 0 {
				return nil, fmt.Errorf("integer division by zero")
			}
			q := ai / bi
			if (ai%bi != 0) && ((ai < 0) != (bi < 0)) {
				q--
			}
			return q, nil
		case "%":
			if bi == 0 {
				return nil, fmt.Errorf("integer modulo by zero")
			}
			m := ai % bi
			if m != 0 && ((m < 0) != (bi < 0)) {
				m += bi
			}
			return m, nil
		case "**":
			if bi >= 0 {
				res := int64(1)
				for i := int64(0); i < bi; i++ {
					res *= ai
				}
				return res, nil
			}
		}
	}
	af, aNum := asFloat(a)
	bf, bNum := asFloat(b)
	if !aNum || !bNum {
		return nil, fmt.Errorf("unsupported operand types for %s: '%s' and '%s'", op, typeName(a), typeName(b))
	}
	switch op {
	case "+":
		return af + bf, nil
	case "-":
		return af - bf, nil
	case "*":
		return af * bf, nil
	case "/":
		if bf == 0 {
			return nil, fmt.Errorf("division by zero")
		}
		return af / bf, nil
	case "//":
		if bf == 0 {
			return nil, fmt.Errorf("float floor division by zero")
		}
		return math.Floor(af / bf), nil
	case "%":
		if bf == 0 {
			return nil, fmt.Errorf("float modulo")
		}
		m := math.Mod(af, bf)
		if m != 0 && ((m < 0) != (bf < 0)) {
			m += bf
		}
		return m, nil
	case "**":
		return math.Pow(af, bf), nil
	}
	return nil, fmt.Errorf("unknown operator %s", op)
}

func asInt(v any) (int64, bool) {
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

func asFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case int64:
		return float64(x), true
	case bool:
		if x {
			return 1, true
		}
		return 0, true
	}
	return 0, false
}

func equal(a, b any) bool {
	if af, ok := asFloat(a); ok {
		if bf, ok := asFloat(b); ok {
			return af == bf
		}
		return false
	}
	switch x := a.(type) {
	case nil:
		return b == nil
	case undefined:
		_, ok := b.(undefined)
		return ok
	case string:
		y, ok := b.(string)
		return ok && x == y
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !equal(x[i], y[i]) {
				return false
			}
		}
		return true
	case *Dict:
		y, ok := b.(*Dict)
		if !ok || len(x.keys) != len(y.keys) {
			return false
		}
		for _, k := range x.keys {
			yv, ok := y.m[k]
			if !ok || !equal(x.m[k], yv) {
				return false
			}
		}
		return true
	}
	return false
}

func compare(a, b any) (int, error) {
	if af, ok := asFloat(a); ok {
		if bf, ok := asFloat(b); ok {
			switch {
			case af < bf:
				return -1, nil
			case af > bf:
				return 1, nil
			}
			return 0, nil
		}
	}
	if as, ok := a.(string); ok {
		if bs, ok := b.(string); ok {
			return strings.Compare(as, bs), nil
		}
	}
	return 0, fmt.Errorf("'<' not supported between instances of '%s' and '%s'", typeName(a), typeName(b))
}

func contains(container, item any) (bool, error) {
	switch c := container.(type) {
	case string:
		s, ok := item.(string)
		if !ok {
			return false, fmt.Errorf("'in <string>' requires string as left operand, not %s", typeName(item))
		}
		return strings.Contains(c, s), nil
	case []any:
		for _, e := range c {
			if equal(e, item) {
				return true, nil
			}
		}
		return false, nil
	case *Dict:
		s, ok := item.(string)
		if !ok {
			return false, nil
		}
		_, has := c.m[s]
		return has, nil
	case undefined:
		return false, nil
	}
	return false, fmt.Errorf("argument of type '%s' is not iterable", typeName(container))
}

func (r *renderer) evalSlice(e *sliceExpr) (any, error) {
	obj, err := r.eval(e.obj)
	if err != nil {
		return nil, err
	}
	bound := func(x expr) (*int64, error) {
		if x == nil {
			return nil, nil
		}
		v, err := r.eval(x)
		if err != nil {
			return nil, err
		}
		if v == nil {
			return nil, nil
		}
		n, ok := asInt(v)
		if !ok {
			return nil, fmt.Errorf("slice indices must be integers")
		}
		return &n, nil
	}
	start, err := bound(e.start)
	if err != nil {
		return nil, err
	}
	stop, err := bound(e.stop)
	if err != nil {
		return nil, err
	}
	step, err := bound(e.step)
	if err != nil {
		return nil, err
	}
	var items []any
	s, isStr := obj.(string)
	if isStr {
		for _, c := range s {
			items = append(items, string(c))
		}
	} else if l, ok := obj.([]any); ok {
		items = l
	} else {
		return nil, fmt.Errorf("'%s' object is not subscriptable", typeName(obj))
	}
	idx, err := sliceIndices(len(items), start, stop, step)
	if err != nil {
		return nil, err
	}
	if isStr {
		var b strings.Builder
		for _, i := range idx {
			b.WriteString(items[i].(string))
		}
		return b.String(), nil
	}
	out := make([]any, len(idx))
	for k, i := range idx {
		out[k] = items[i]
	}
	return out, nil
}

// sliceIndices implements Python's slice semantics.
func sliceIndices(n int, start, stop, step *int64) ([]int, error) {
	st := int64(1)
	if step != nil {
		st = *step
	}
	if st == 0 {
		return nil, fmt.Errorf("slice step cannot be zero")
	}
	ln := int64(n)
	clamp := func(p *int64, def int64, lo, hi int64) int64 {
		if p == nil {
			return def
		}
		v := *p
		if v < 0 {
			v += ln
		}
		return min(max(v, lo), hi)
	}
	var out []int
	if st > 0 {
		a, b := clamp(start, 0, 0, ln), clamp(stop, ln, 0, ln)
		for i := a; i < b; i += st {
			out = append(out, int(i))
		}
	} else {
		a, b := clamp(start, ln-1, -1, ln-1), clamp(stop, -1, -1, ln-1)
		if stop != nil && *stop+ln < 0 {
			b = -1
		}
		for i := a; i > b; i += st {
			out = append(out, int(i))
		}
	}
	return out, nil
}

func getItem(obj, key any) (any, error) {
	switch o := obj.(type) {
	case *Dict:
		if k, ok := key.(string); ok {
			if v, ok := o.m[k]; ok {
				return v, nil
			}
		}
		return undefined{repr(key)}, nil
	case []any:
		i, ok := asInt(key)
		if !ok {
			return nil, fmt.Errorf("list indices must be integers, not %s", typeName(key))
		}
		if i < 0 {
			i += int64(len(o))
		}
		if i < 0 || i >= int64(len(o)) {
			return undefined{"index"}, nil
		}
		return o[i], nil
	case string:
		i, ok := asInt(key)
		if !ok {
			return nil, fmt.Errorf("string indices must be integers")
		}
		rs := []rune(o)
		if i < 0 {
			i += int64(len(rs))
		}
		if i < 0 || i >= int64(len(rs)) {
			return undefined{"index"}, nil
		}
		return string(rs[i]), nil
	case *loopInfo:
		if k, ok := key.(string); ok {
			return o.attr(k), nil
		}
	case undefined:
		return nil, fmt.Errorf("'%s' is undefined", o.name)
	case nil:
		return nil, fmt.Errorf("'None' has no attribute %s", repr(key))
	}
	if k, ok := key.(string); ok {
		return getAttr(obj, k)
	}
	return undefined{repr(key)}, nil
}

func getAttr(obj any, name string) (any, error) {
	switch o := obj.(type) {
	case *Dict:
		if v, ok := o.m[name]; ok {
			return v, nil
		}
		if m := dictMethod(o, name); m != nil {
			return m, nil
		}
		return undefined{name}, nil
	case *loopInfo:
		return o.attr(name), nil
	case string:
		if m := stringMethod(o, name); m != nil {
			return m, nil
		}
	case []any:
		if m := listMethod(o, name); m != nil {
			return m, nil
		}
	case undefined:
		return nil, fmt.Errorf("'%s' is undefined", o.name)
	case nil:
		return nil, fmt.Errorf("'None' has no attribute '%s'", name)
	}
	return undefined{name}, nil
}

func (r *renderer) evalCall(e *callExpr) (any, error) {
	fn, err := r.eval(e.fn)
	if err != nil {
		return nil, err
	}
	args, err := r.evalList(e.args)
	if err != nil {
		return nil, err
	}
	kwargs := map[string]any{}
	for _, kw := range e.kwargs {
		v, err := r.eval(kw.v)
		if err != nil {
			return nil, err
		}
		kwargs[kw.name] = v
	}
	switch f := fn.(type) {
	case builtin:
		return f(r, args, kwargs)
	case *macro:
		return r.callMacro(f, args, kwargs)
	case undefined:
		return nil, fmt.Errorf("'%s' is undefined", f.name)
	}
	return nil, fmt.Errorf("'%s' object is not callable", typeName(fn))
}

func (r *renderer) callMacro(m *macro, args []any, kwargs map[string]any) (any, error) {
	if r.depth > 64 {
		return nil, fmt.Errorf("macro recursion too deep")
	}
	d := m.def
	if len(args) > len(d.params) {
		return nil, fmt.Errorf("macro %s takes %d arguments, %d given", d.name, len(d.params), len(args))
	}
	scope := map[string]any{}
	firstDefault := len(d.params) - len(d.defaults)
	for i, p := range d.params {
		switch {
		case i < len(args):
			scope[p] = args[i]
		default:
			if v, ok := kwargs[p]; ok {
				scope[p] = v
			} else if i >= firstDefault {
				v, err := r.eval(d.defaults[i-firstDefault])
				if err != nil {
					return nil, err
				}
				scope[p] = v
			} else {
				scope[p] = undefined{p}
			}
		}
	}
	if c := r.lookup("caller"); c != nil {
		if _, isUndef := c.(undefined); !isUndef {
			scope["caller"] = c
		}
	}
	// Macros see the template's globals and top level, not the caller's loop variables.
	saved := r.scopes
	r.scopes = append(append([]map[string]any{}, saved[:2]...), scope)
	r.depth++
	var b strings.Builder
	err := r.exec(d.body, &b)
	r.depth--
	r.scopes = saved
	if err != nil {
		return nil, err
	}
	return b.String(), nil
}
