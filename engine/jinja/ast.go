package jinja

// Expressions. Each evaluates to a template value.
type expr interface{}

type (
	constExpr struct{ v any }
	nameExpr  struct{ name string }
	// getattrExpr is obj.name; getitemExpr is obj[key].
	getattrExpr struct {
		obj  expr
		name string
	}
	getitemExpr struct{ obj, key expr }
	sliceExpr   struct {
		obj               expr
		start, stop, step expr // nil when omitted
	}
	callExpr struct {
		fn expr
		callArgs
	}
	// filterExpr is x|name(args); x is nil in {% filter %} blocks and
	// {% set x | f %}, where the filtered value is the rendered body.
	filterExpr struct {
		x    expr
		name string
		fn   filterFunc // nil: unknown filter, an error if evaluated
		line int
		callArgs
	}
	testExpr struct {
		x    expr
		name string
		fn   testFunc // nil: unknown test, an error if evaluated
		line int
		callArgs
	}
	notExpr struct{ x expr }
	negExpr struct{ x expr }
	posExpr struct{ x expr }
	andExpr struct{ a, b expr }
	orExpr  struct{ a, b expr }
	binExpr struct {
		op   string // + - * / // % **
		a, b expr
	}
	concatExpr  struct{ items []expr }
	compareExpr struct {
		first expr
		ops   []string // == != < <= > >= in notin
		rest  []expr
	}
	condExpr  struct{ test, a, b expr } // a if test else b; b may be nil
	listExpr  struct{ items []expr }
	tupleExpr struct{ items []expr }
	dictExpr  struct{ keys, vals []expr }
)

// callArgs are the arguments of a call, filter or test.
type callArgs struct {
	args      []expr
	kwargs    []kwarg
	dynArgs   expr // *args
	dynKwargs expr // **kwargs
}

type kwarg struct {
	name string
	v    expr
}

// target is an assignment target: a name, or a tuple of targets to unpack.
type target struct {
	name  string
	items []*target // non-nil for a tuple target
}

// Statements. Each renders into the output.
type node interface{}

type (
	textNode   struct{ s string }
	outputNode struct {
		exprs  []expr
		folded []bool // evaluate with compile-time semantics (see fold.go)
		line   int
	}
	ifNode struct {
		tests  []expr
		bodies [][]node
		els    []node
		line   int
	}
	forNode struct {
		target *target
		iter   expr
		test   expr // the loop's "if" filter, or nil
		body   []node
		els    []node
		line   int
	}
	// setNode is {% set t = v %}, {% set ns.attr = v %} or a block set.
	setNode struct {
		target  *target
		nsAttr  string // set ns.attr: target is the namespace's name
		value   expr
		body    []node // block set
		filters []*filterExpr
		line    int
	}
	macroNode struct {
		name     string
		params   []string
		defaults []expr // for the last len(defaults) params
		body     []node
		line     int
		// Whether the body uses these names, which changes how extra
		// arguments are handled, as in jinja2.
		usesCaller, usesVarargs, usesKwargs bool
	}
	callBlockNode struct {
		caller *macroNode
		call   *callExpr
		line   int
	}
	filterBlockNode struct {
		filters []*filterExpr
		body    []node
		line    int
	}
	withNode struct {
		targets []*target
		values  []expr
		body    []node
		line    int
	}
	// scopeNode renders its body in a scope of its own (HF's
	// {% generation %}).
	scopeNode    struct{ body []node }
	breakNode    struct{ line int }
	continueNode struct{ line int }
)
