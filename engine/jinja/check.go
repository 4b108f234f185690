package jinja

import "fmt"

// checker validates a parsed template as jinja2's compiler does: unknown
// filters and tests are errors at Parse time unless they sit inside an if
// statement or an inline if (jinja2's "soft" frames), where they only fail
// when evaluated; break and continue must be inside a loop.
type checker struct {
	soft  bool
	loops int
}

func (c *checker) nodes(ns []node) error {
	for _, n := range ns {
		if err := c.node(n); err != nil {
			return err
		}
	}
	return nil
}

func (c *checker) node(n node) error {
	switch n := n.(type) {
	case *outputNode:
		return c.exprs(n.exprs...)
	case *ifNode:
		saved := c.soft
		c.soft = true
		defer func() { c.soft = saved }()
		for i := range n.tests {
			if err := c.exprs(n.tests[i]); err != nil {
				return err
			}
			if err := c.nodes(n.bodies[i]); err != nil {
				return err
			}
		}
		return c.nodes(n.els)
	case *forNode:
		if err := c.exprs(n.iter); err != nil {
			return err
		}
		if err := c.nodes(n.els); err != nil {
			return err
		}
		inner := &checker{loops: c.loops + 1}
		if err := inner.exprs(n.test); err != nil {
			return err
		}
		return inner.nodes(n.body)
	case *setNode:
		if err := c.exprs(n.value); err != nil {
			return err
		}
		inner := &checker{loops: c.loops}
		for _, f := range n.filters {
			if err := inner.exprs(f); err != nil {
				return err
			}
		}
		return inner.nodes(n.body)
	case *macroNode:
		return c.macro(n)
	case *callBlockNode:
		if err := c.exprs(n.call); err != nil {
			return err
		}
		return c.macro(n.caller)
	case *filterBlockNode:
		for _, f := range n.filters {
			if err := c.exprs(f); err != nil {
				return err
			}
		}
		return c.nodes(n.body)
	case *withNode:
		if err := c.exprs(n.values...); err != nil {
			return err
		}
		return (&checker{loops: c.loops}).nodes(n.body)
	case *scopeNode:
		// transformers compiles {% generation %} to a call block, whose
		// body is a function of its own.
		return (&checker{}).nodes(n.body)
	case *breakNode:
		if c.loops == 0 {
			return &Error{Line: n.line, Msg: "'break' outside loop"}
		}
	case *continueNode:
		if c.loops == 0 {
			return &Error{Line: n.line, Msg: "'continue' not properly in loop"}
		}
	}
	return nil
}

func (c *checker) macro(m *macroNode) error {
	inner := &checker{}
	if err := inner.exprs(m.defaults...); err != nil {
		return err
	}
	return inner.nodes(m.body)
}

func (c *checker) exprs(es ...expr) error {
	for _, e := range es {
		if err := c.expr(e); err != nil {
			return err
		}
	}
	return nil
}

func (c *checker) args(a *callArgs) error {
	if err := c.exprs(a.args...); err != nil {
		return err
	}
	for _, kw := range a.kwargs {
		if err := c.expr(kw.v); err != nil {
			return err
		}
	}
	return c.exprs(a.dynArgs, a.dynKwargs)
}

func (c *checker) expr(e expr) error {
	switch e := e.(type) {
	case nil, *constExpr, *nameExpr:
		return nil
	case *getattrExpr:
		return c.expr(e.obj)
	case *getitemExpr:
		return c.exprs(e.obj, e.key)
	case *sliceExpr:
		return c.exprs(e.obj, e.start, e.stop, e.step)
	case *callExpr:
		if err := c.expr(e.fn); err != nil {
			return err
		}
		return c.args(&e.callArgs)
	case *filterExpr:
		if e.fn == nil && !c.soft {
			return &Error{Line: e.line, Msg: fmt.Sprintf("no filter named '%s'", e.name)}
		}
		if err := c.expr(e.x); err != nil {
			return err
		}
		return c.args(&e.callArgs)
	case *testExpr:
		if e.fn == nil && !c.soft {
			return &Error{Line: e.line, Msg: fmt.Sprintf("no test named '%s'", e.name)}
		}
		if err := c.expr(e.x); err != nil {
			return err
		}
		return c.args(&e.callArgs)
	case *notExpr:
		return c.expr(e.x)
	case *negExpr:
		return c.expr(e.x)
	case *posExpr:
		return c.expr(e.x)
	case *andExpr:
		return c.exprs(e.a, e.b)
	case *orExpr:
		return c.exprs(e.a, e.b)
	case *binExpr:
		return c.exprs(e.a, e.b)
	case *concatExpr:
		return c.exprs(e.items...)
	case *compareExpr:
		if err := c.expr(e.first); err != nil {
			return err
		}
		return c.exprs(e.rest...)
	case *condExpr:
		saved := c.soft
		c.soft = true
		defer func() { c.soft = saved }()
		return c.exprs(e.test, e.a, e.b)
	case *listExpr:
		return c.exprs(e.items...)
	case *tupleExpr:
		return c.exprs(e.items...)
	case *dictExpr:
		if err := c.exprs(e.keys...); err != nil {
			return err
		}
		return c.exprs(e.vals...)
	}
	return fmt.Errorf("unknown expression %T", e)
}

// usesNames reports whether a macro body refers to caller, varargs and
// kwargs, which jinja2 uses to decide what extra arguments a macro accepts.
func usesNames(body []node) (caller, varargs, kwargs bool) {
	var visitExpr func(e expr)
	var visitNodes func(ns []node)
	visitArgs := func(a *callArgs) {
		for _, x := range a.args {
			visitExpr(x)
		}
		for _, kw := range a.kwargs {
			visitExpr(kw.v)
		}
		visitExpr(a.dynArgs)
		visitExpr(a.dynKwargs)
	}
	visitExpr = func(e expr) {
		switch e := e.(type) {
		case *nameExpr:
			switch e.name {
			case "caller":
				caller = true
			case "varargs":
				varargs = true
			case "kwargs":
				kwargs = true
			}
		case *getattrExpr:
			visitExpr(e.obj)
		case *getitemExpr:
			visitExpr(e.obj)
			visitExpr(e.key)
		case *sliceExpr:
			for _, x := range []expr{e.obj, e.start, e.stop, e.step} {
				visitExpr(x)
			}
		case *callExpr:
			visitExpr(e.fn)
			visitArgs(&e.callArgs)
		case *filterExpr:
			visitExpr(e.x)
			visitArgs(&e.callArgs)
		case *testExpr:
			visitExpr(e.x)
			visitArgs(&e.callArgs)
		case *notExpr:
			visitExpr(e.x)
		case *negExpr:
			visitExpr(e.x)
		case *posExpr:
			visitExpr(e.x)
		case *andExpr:
			visitExpr(e.a)
			visitExpr(e.b)
		case *orExpr:
			visitExpr(e.a)
			visitExpr(e.b)
		case *binExpr:
			visitExpr(e.a)
			visitExpr(e.b)
		case *concatExpr:
			for _, x := range e.items {
				visitExpr(x)
			}
		case *compareExpr:
			visitExpr(e.first)
			for _, x := range e.rest {
				visitExpr(x)
			}
		case *condExpr:
			visitExpr(e.test)
			visitExpr(e.a)
			visitExpr(e.b)
		case *listExpr:
			for _, x := range e.items {
				visitExpr(x)
			}
		case *tupleExpr:
			for _, x := range e.items {
				visitExpr(x)
			}
		case *dictExpr:
			for i := range e.keys {
				visitExpr(e.keys[i])
				visitExpr(e.vals[i])
			}
		}
	}
	visitNodes = func(ns []node) {
		for _, n := range ns {
			switch n := n.(type) {
			case *outputNode:
				for _, x := range n.exprs {
					visitExpr(x)
				}
			case *ifNode:
				for i := range n.tests {
					visitExpr(n.tests[i])
					visitNodes(n.bodies[i])
				}
				visitNodes(n.els)
			case *forNode:
				visitExpr(n.iter)
				visitExpr(n.test)
				visitNodes(n.body)
				visitNodes(n.els)
			case *setNode:
				visitExpr(n.value)
				visitNodes(n.body)
			case *callBlockNode:
				visitExpr(n.call)
			case *filterBlockNode:
				visitNodes(n.body)
			case *withNode:
				for _, x := range n.values {
					visitExpr(x)
				}
				visitNodes(n.body)
			case *scopeNode:
				visitNodes(n.body)
			}
		}
	}
	visitNodes(body)
	return caller, varargs, kwargs
}
