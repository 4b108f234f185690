package jinja

import (
	"errors"
	"fmt"
	"strings"
)

// renderer holds the state of one Render call.
type renderer struct {
	// scopes is the variable lookup chain, innermost last: the globals,
	// the template's variables, then one map per loop, macro call or
	// with block being executed.
	scopes []map[string]any
	out    *strings.Builder
	line   int // line of the statement being executed, for errors
	work   int // see maxWork
	// folding: evaluating constants at Parse time (see fold.go).
	folding bool
	calls   int // macro call depth
}

func newRenderer() *renderer { return &renderer{out: &strings.Builder{}} }

// Loop control travels up to the enclosing loop as these errors.
var (
	errBreak    = errors.New("break")
	errContinue = errors.New("continue")
)

func (r *renderer) lookup(name string) any {
	for i := len(r.scopes) - 1; i >= 0; i-- {
		if v, ok := r.scopes[i][name]; ok {
			return v
		}
	}
	return undefinedName(name)
}

func (r *renderer) push(scope map[string]any) { r.scopes = append(r.scopes, scope) }
func (r *renderer) pop()                      { r.scopes = r.scopes[:len(r.scopes)-1] }

// set assigns a variable in the innermost scope.
func (r *renderer) set(name string, v any) { r.scopes[len(r.scopes)-1][name] = v }

// charge adds work done and fails once the budget is spent.
func (r *renderer) charge(n int) error {
	if r.work += n; r.work > maxWork {
		return &Error{Line: r.line, Msg: "template does too much work"}
	}
	return nil
}

// size is the cost of producing or scanning a value: its length.
func size(v any) int {
	switch x := v.(type) {
	case string:
		return len(x)
	case markup:
		return len(x)
	case []any:
		return len(x)
	case tuple:
		return len(x)
	case *Dict:
		return len(x.keys)
	case *view:
		return len(x.items)
	case *iterator:
		return len(x.items)
	}
	return 1
}

func (r *renderer) write(s string) error {
	if err := r.charge(len(s)); err != nil {
		return err
	}
	if r.out.Len()+len(s) > maxOutput {
		return fmt.Errorf("output exceeds %d bytes", maxOutput)
	}
	r.out.WriteString(s)
	return nil
}

// capture renders body into a string of its own, in a scope of its own.
func (r *renderer) capture(body []node) (string, error) {
	saved := r.out
	r.out = &strings.Builder{}
	r.push(map[string]any{})
	err := r.exec(body)
	r.pop()
	s := r.out.String()
	r.out = saved
	return s, err
}

// wrap gives an error the line it happened on, unless it has one.
func wrap(line int, err error) error {
	if err == nil || err == errBreak || err == errContinue {
		return err
	}
	var terr *Error
	var raised *RaisedError
	if errors.As(err, &terr) || errors.As(err, &raised) {
		return err
	}
	return &Error{Line: line, Msg: err.Error()}
}

func (r *renderer) exec(nodes []node) error {
	for _, n := range nodes {
		if err := r.charge(stepCost); err != nil {
			return err
		}
		if err := r.execNode(n); err != nil {
			return err
		}
	}
	return nil
}

func (r *renderer) execNode(n node) error {
	switch n := n.(type) {
	case *textNode:
		return r.write(n.s)
	case *outputNode:
		r.line = n.line
		for i, e := range n.exprs {
			r.folding = n.folded != nil && n.folded[i]
			v, err := r.eval(e)
			r.folding = false
			if err != nil {
				return wrap(n.line, err)
			}
			if err := r.write(str(v)); err != nil {
				return wrap(n.line, err)
			}
		}
	case *ifNode:
		r.line = n.line
		for i, test := range n.tests {
			v, err := r.eval(test)
			if err != nil {
				return wrap(n.line, err)
			}
			if truthy(v) {
				return r.exec(n.bodies[i])
			}
		}
		return r.exec(n.els)
	case *forNode:
		r.line = n.line
		return r.execFor(n)
	case *setNode:
		r.line = n.line
		return wrap(n.line, r.execSet(n))
	case *macroNode:
		r.set(n.name, &macro{def: n, scopes: r.closure()})
	case *callBlockNode:
		r.line = n.line
		fn, args, kwargs, err := r.evalCall(n.call)
		if err != nil {
			return wrap(n.line, err)
		}
		_ = kwargs.set("caller", &macro{def: n.caller, scopes: r.closure()})
		v, err := r.call(fn, args, kwargs)
		if err != nil {
			return wrap(n.line, err)
		}
		return wrap(n.line, r.write(str(v)))
	case *filterBlockNode:
		r.line = n.line
		s, err := r.capture(n.body)
		if err != nil {
			return err
		}
		v, err := r.applyChain(n.filters, s)
		if err != nil {
			return wrap(n.line, err)
		}
		return wrap(n.line, r.write(str(v)))
	case *withNode:
		r.line = n.line
		scope := map[string]any{}
		for i, t := range n.targets {
			v, err := r.eval(n.values[i])
			if err != nil {
				return wrap(n.line, err)
			}
			if err := bindTarget(scope, t, v); err != nil {
				return wrap(n.line, err)
			}
		}
		r.push(scope)
		defer r.pop()
		return r.exec(n.body)
	case *scopeNode:
		r.push(map[string]any{})
		defer r.pop()
		return r.exec(n.body)
	case *breakNode:
		return errBreak
	case *continueNode:
		return errContinue
	default:
		return fmt.Errorf("unknown statement %T", n)
	}
	return nil
}

// closure returns the current scope chain for a macro defined here.
func (r *renderer) closure() []map[string]any {
	return append([]map[string]any(nil), r.scopes...)
}

func (r *renderer) execFor(n *forNode) error {
	it, err := r.eval(n.iter)
	if err != nil {
		return wrap(n.line, err)
	}
	items, err := iterate(it)
	if err != nil {
		return wrap(n.line, err)
	}
	if err := r.charge(len(items)); err != nil {
		return err
	}
	scope := map[string]any{}
	r.push(scope)
	completed, err := r.loop(n, scope, items)
	r.pop()
	if err != nil {
		return err
	}
	// Like jinja2, the else block runs when no iteration ran to its end:
	// the sequence was empty, or every iteration hit break or continue.
	if !completed {
		return r.exec(n.els)
	}
	return nil
}

// loop runs a for loop's iterations in scope and reports whether one of
// them ran to its end.
func (r *renderer) loop(n *forNode, scope map[string]any, items []any) (completed bool, err error) {
	if items, err = r.loopFilter(n, scope, items); err != nil {
		return false, err
	}
	loop := &loopContext{items: items}
	for i, item := range items {
		if err := r.charge(stepCost); err != nil {
			return false, err
		}
		clear(scope)
		loop.index0 = i
		scope["loop"] = loop
		if err := bindTarget(scope, n.target, item); err != nil {
			return false, wrap(n.line, err)
		}
		switch err := r.exec(n.body); err {
		case nil:
			completed = true
		case errBreak:
			return completed, nil
		case errContinue:
		default:
			return false, err
		}
	}
	return completed, nil
}

// loopFilter keeps the items that pass a loop's "if" test.
func (r *renderer) loopFilter(n *forNode, scope map[string]any, items []any) ([]any, error) {
	if n.test == nil {
		return items, nil
	}
	var kept []any
	for _, item := range items {
		clear(scope)
		if err := bindTarget(scope, n.target, item); err != nil {
			return nil, wrap(n.line, err)
		}
		v, err := r.eval(n.test)
		if err != nil {
			return nil, wrap(n.line, err)
		}
		if truthy(v) {
			kept = append(kept, item)
		}
	}
	return kept, nil
}

// bindTarget assigns v to a target, unpacking tuples of names.
func bindTarget(scope map[string]any, t *target, v any) error {
	if t.items == nil {
		scope[t.name] = v
		return nil
	}
	parts, err := iterate(v)
	if err != nil {
		return fmt.Errorf("cannot unpack non-iterable %s object", typeName(v))
	}
	if len(parts) > len(t.items) {
		return fmt.Errorf("too many values to unpack (expected %d)", len(t.items))
	}
	if len(parts) < len(t.items) {
		return fmt.Errorf("not enough values to unpack (expected %d, got %d)", len(t.items), len(parts))
	}
	for i, sub := range t.items {
		if err := bindTarget(scope, sub, parts[i]); err != nil {
			return err
		}
	}
	return nil
}

func (r *renderer) execSet(n *setNode) error {
	if n.nsAttr != "" {
		v, err := r.eval(n.value)
		if err != nil {
			return err
		}
		ns, ok := r.lookup(n.target.name).(*namespace)
		if !ok {
			return fmt.Errorf("cannot assign attribute on non-namespace object")
		}
		return ns.attrs.set(n.nsAttr, v)
	}
	var v any
	if n.body != nil {
		s, err := r.capture(n.body)
		if err != nil {
			return err
		}
		if v, err = r.applyChain(n.filters, s); err != nil {
			return err
		}
	} else {
		var err error
		if v, err = r.eval(n.value); err != nil {
			return err
		}
	}
	return bindTarget(r.scopes[len(r.scopes)-1], n.target, v)
}

// applyChain applies a {% filter %} or block-set filter chain to v.
func (r *renderer) applyChain(chain []*filterExpr, v any) (any, error) {
	for _, f := range chain {
		var err error
		if v, err = r.applyFilter(f, v); err != nil {
			return nil, err
		}
	}
	return v, nil
}

// callMacro calls a template macro with jinja2's argument rules.
func (r *renderer) callMacro(m *macro, args []any, kwargs *Dict) (any, error) {
	d := m.def
	if r.calls >= maxCallDepth {
		return nil, fmt.Errorf("macro calls nest deeper than %d", maxCallDepth)
	}
	scope := map[string]any{}
	for i, p := range d.params {
		if i < len(args) {
			scope[p] = args[i]
		}
	}
	if len(args) > len(d.params) && !d.usesVarargs {
		return nil, fmt.Errorf("macro '%s' takes not more than %d argument(s)", d.name, len(d.params))
	}
	extra := NewDict()
	if kwargs != nil {
		for i, k := range kwargs.keys {
			name, _ := k.(string)
			v := kwargs.vals[i]
			switch {
			case hasString(d.params, name):
				if _, dup := scope[name]; dup {
					return nil, fmt.Errorf("macro '%s' got multiple values for argument '%s'", d.name, name)
				}
				scope[name] = v
			case name == "caller" && d.usesCaller:
				scope["caller"] = v
			case d.usesKwargs:
				_ = extra.set(name, v)
			default:
				return nil, fmt.Errorf("macro '%s' takes no keyword argument '%s'", d.name, name)
			}
		}
	}
	if d.usesVarargs {
		rest := tuple{}
		if len(args) > len(d.params) {
			rest = append(rest, args[len(d.params):]...)
		}
		scope["varargs"] = rest
	}
	if d.usesKwargs {
		scope["kwargs"] = extra
	}
	if _, ok := scope["caller"]; d.usesCaller && !ok {
		scope["caller"] = undefined{hint: "no caller defined"}
	}
	saved, savedOut := r.scopes, r.out
	r.scopes = append(append(make([]map[string]any, 0, len(m.scopes)+1), m.scopes...), scope)
	r.out = &strings.Builder{}
	r.calls++
	defer func() {
		r.scopes, r.out = saved, savedOut
		r.calls--
	}()
	firstDefault := len(d.params) - len(d.defaults)
	for i, p := range d.params {
		if _, ok := scope[p]; ok {
			continue
		}
		if i < firstDefault {
			scope[p] = undefined{hint: fmt.Sprintf("parameter '%s' was not provided", p)}
			continue
		}
		v, err := r.eval(d.defaults[i-firstDefault])
		if err != nil {
			return nil, err
		}
		scope[p] = v
	}
	if err := r.exec(d.body); err != nil {
		return nil, err
	}
	return r.out.String(), nil
}

// hasString reports whether list holds s.
func hasString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
