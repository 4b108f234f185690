package jinja

// Constant folding, as jinja2's optimizer and compiler do it. It matters
// because compile-time evaluation has slightly different semantics: there
// slicing goes through the sandbox's getitem (what cannot be sliced is
// Undefined), while at render time it is Python's own subscript (an error).
//
// jinja2 replaces every subexpression it can evaluate at compile time by
// its value when that value has a "safe repr" (None, bool, numbers,
// strings, and lists, tuples, dicts of those); and a {{ }} expression it
// can evaluate at compile time is printed from that value, whatever it is.

// folder evaluates constant expressions with a scratch renderer.
type folder struct{ r *renderer }

// foldWork bounds the work of all compile-time evaluation of one template;
// past it, expressions are left for render time.
const foldWork = 100_000_000

// maxFolded bounds the size of a value kept in the tree.
const maxFolded = 1 << 16

func newFolder() *folder {
	r := newRenderer()
	r.folding = true
	r.scopes = []map[string]any{{}}
	r.work = maxWork - foldWork
	return &folder{r: r}
}

// foldNodes folds the expressions of a statement list in place.
func (f *folder) foldNodes(ns []node) {
	for _, n := range ns {
		f.foldNode(n)
	}
}

func (f *folder) foldNode(n node) {
	switch n := n.(type) {
	case *outputNode:
		n.folded = make([]bool, len(n.exprs))
		for i, e := range n.exprs {
			n.exprs[i] = f.fold(e)
			if v, ok := f.asConst(n.exprs[i]); ok {
				if deepSize(v, 0) <= maxFolded {
					n.exprs[i] = &constExpr{v}
				} else {
					n.folded[i] = true // too big to keep: evaluate it the same way at render time
				}
			}
		}
	case *ifNode:
		for i := range n.tests {
			n.tests[i] = f.fold(n.tests[i])
			f.foldNodes(n.bodies[i])
		}
		f.foldNodes(n.els)
	case *forNode:
		n.iter, n.test = f.fold(n.iter), f.fold(n.test)
		f.foldNodes(n.body)
		f.foldNodes(n.els)
	case *setNode:
		n.value = f.fold(n.value)
		f.foldFilters(n.filters)
		f.foldNodes(n.body)
	case *macroNode:
		f.foldMacro(n)
	case *callBlockNode:
		f.foldArgs(&n.call.callArgs)
		n.call.fn = f.fold(n.call.fn)
		f.foldMacro(n.caller)
	case *filterBlockNode:
		f.foldFilters(n.filters)
		f.foldNodes(n.body)
	case *withNode:
		for i := range n.values {
			n.values[i] = f.fold(n.values[i])
		}
		f.foldNodes(n.body)
	case *scopeNode:
		f.foldNodes(n.body)
	}
}

func (f *folder) foldMacro(m *macroNode) {
	for i := range m.defaults {
		m.defaults[i] = f.fold(m.defaults[i])
	}
	f.foldNodes(m.body)
}

func (f *folder) foldFilters(chain []*filterExpr) {
	for _, fe := range chain {
		f.foldArgs(&fe.callArgs)
	}
}

func (f *folder) foldArgs(a *callArgs) {
	for i := range a.args {
		a.args[i] = f.fold(a.args[i])
	}
	for i := range a.kwargs {
		a.kwargs[i].v = f.fold(a.kwargs[i].v)
	}
	a.dynArgs, a.dynKwargs = f.fold(a.dynArgs), f.fold(a.dynKwargs)
}

func (f *folder) foldAll(es []expr) {
	for i := range es {
		es[i] = f.fold(es[i])
	}
}

// fold folds e's subexpressions bottom-up, then e itself when its value
// has a safe repr.
func (f *folder) fold(e expr) expr {
	switch e := e.(type) {
	case nil, *constExpr, *nameExpr:
		return e
	case *getattrExpr:
		e.obj = f.fold(e.obj)
	case *getitemExpr:
		e.obj, e.key = f.fold(e.obj), f.fold(e.key)
	case *sliceExpr:
		e.obj, e.start, e.stop, e.step = f.fold(e.obj), f.fold(e.start), f.fold(e.stop), f.fold(e.step)
	case *callExpr:
		e.fn = f.fold(e.fn)
		f.foldArgs(&e.callArgs)
	case *filterExpr:
		e.x = f.fold(e.x)
		f.foldArgs(&e.callArgs)
	case *testExpr:
		e.x = f.fold(e.x)
		f.foldArgs(&e.callArgs)
	case *notExpr:
		e.x = f.fold(e.x)
	case *negExpr:
		e.x = f.fold(e.x)
	case *posExpr:
		e.x = f.fold(e.x)
	case *andExpr:
		e.a, e.b = f.fold(e.a), f.fold(e.b)
	case *orExpr:
		e.a, e.b = f.fold(e.a), f.fold(e.b)
	case *binExpr:
		e.a, e.b = f.fold(e.a), f.fold(e.b)
	case *concatExpr:
		f.foldAll(e.items)
	case *compareExpr:
		e.first = f.fold(e.first)
		f.foldAll(e.rest)
	case *condExpr:
		e.test, e.a, e.b = f.fold(e.test), f.fold(e.a), f.fold(e.b)
	case *listExpr:
		f.foldAll(e.items)
	case *tupleExpr:
		f.foldAll(e.items)
	case *dictExpr:
		f.foldAll(e.keys)
		f.foldAll(e.vals)
	}
	if v, ok := f.asConst(e); ok && safeRepr(v, 0) && deepSize(v, 0) <= maxFolded {
		return &constExpr{v}
	}
	return e
}

// deepSize approximates the memory a value holds.
func deepSize(v any, depth int) int {
	n := size(v)
	if depth > 100 {
		return n
	}
	var items []any
	switch x := v.(type) {
	case []any:
		items = x
	case tuple:
		items = x
	case *Dict:
		items = x.vals
	}
	for _, e := range items {
		if n > maxFolded {
			break
		}
		n += deepSize(e, depth+1)
	}
	return n
}

// asConst is jinja2's Node.as_const: the value of e if it can be computed
// without variables, calls or context-dependent filters.
func (f *folder) asConst(e expr) (any, bool) {
	switch e := e.(type) {
	case *constExpr:
		return e.v, true
	case *condExpr:
		t, ok := f.asConst(e.test)
		switch {
		case !ok:
			return nil, false
		case truthy(t):
			return f.asConst(e.a)
		case e.b == nil:
			return nil, false
		}
		return f.asConst(e.b)
	case *andExpr:
		a, ok := f.asConst(e.a)
		if !ok || !truthy(a) {
			return a, ok
		}
		return f.asConst(e.b)
	case *orExpr:
		a, ok := f.asConst(e.a)
		if !ok || truthy(a) {
			return a, ok
		}
		return f.asConst(e.b)
	case *filterExpr:
		if e.x == nil || e.fn == nil || contextFilters[e.name] {
			return nil, false
		}
	case *testExpr:
		if e.fn == nil {
			return nil, false
		}
	case *nameExpr, *callExpr, nil:
		return nil, false
	}
	if !f.childrenConst(e) {
		return nil, false
	}
	v, err := f.r.eval(e)
	return v, err == nil
}

// childrenConst reports whether every subexpression of e is constant.
func (f *folder) childrenConst(e expr) bool {
	var kids []expr
	var a *callArgs
	switch e := e.(type) {
	case *getattrExpr:
		kids = []expr{e.obj}
	case *getitemExpr:
		kids = []expr{e.obj, e.key}
	case *sliceExpr:
		kids = []expr{e.obj, e.start, e.stop, e.step}
	case *filterExpr:
		kids, a = []expr{e.x}, &e.callArgs
	case *testExpr:
		kids, a = []expr{e.x}, &e.callArgs
	case *notExpr:
		kids = []expr{e.x}
	case *negExpr:
		kids = []expr{e.x}
	case *posExpr:
		kids = []expr{e.x}
	case *binExpr:
		kids = []expr{e.a, e.b}
	case *concatExpr:
		kids = e.items
	case *compareExpr:
		kids = append([]expr{e.first}, e.rest...)
	case *listExpr:
		kids = e.items
	case *tupleExpr:
		kids = e.items
	case *dictExpr:
		kids = append(append([]expr{}, e.keys...), e.vals...)
	default:
		return false
	}
	if a != nil {
		if a.dynArgs != nil || a.dynKwargs != nil {
			return false
		}
		kids = append(kids, a.args...)
		for _, kw := range a.kwargs {
			kids = append(kids, kw.v)
		}
	}
	for _, k := range kids {
		if k == nil {
			continue
		}
		if _, ok := f.asConst(k); !ok {
			return false
		}
	}
	return true
}

// safeRepr is jinja2's has_safe_repr: values a folded constant may hold.
func safeRepr(v any, depth int) bool {
	if depth > 100 {
		return false
	}
	switch x := v.(type) {
	case nil, bool, int64, float64, string, markup:
		return true
	case *view:
		return x.typ == "range"
	case []any:
		return allSafe(x, depth)
	case tuple:
		return allSafe(x, depth)
	case *Dict:
		return allSafe(x.keys, depth) && allSafe(x.vals, depth)
	}
	return false
}

func allSafe(items []any, depth int) bool {
	for _, e := range items {
		if !safeRepr(e, depth+1) {
			return false
		}
	}
	return true
}
