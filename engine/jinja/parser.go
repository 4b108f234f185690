package jinja

import (
	"fmt"
	"strings"
)

// parser builds statements from segments and expressions from tokens.
type parser struct {
	segs []segment
	pos  int
	// expression state
	toks []token
	tp   int
	line int
}

func (p *parser) errorf(format string, args ...any) error {
	return fmt.Errorf("line %d: %s", p.line, fmt.Sprintf(format, args...))
}

// parseBody parses nodes until a statement whose first word is in stop (or
// the end when stop is empty) and returns that word and the statement's rest.
func (p *parser) parseBody(stop ...string) ([]node, string, error) {
	var out []node
	for p.pos < len(p.segs) {
		s := p.segs[p.pos]
		p.pos++
		p.line = s.line
		switch s.kind {
		case segText:
			out = append(out, &textNode{s.text})
		case segOutput:
			if err := p.startExpr(s.text); err != nil {
				return nil, "", err
			}
			e, err := p.parseExpr()
			if err != nil {
				return nil, "", err
			}
			if err := p.expectEnd(); err != nil {
				return nil, "", err
			}
			out = append(out, &outputNode{e: e, line: s.line})
		case segStmt:
			if err := p.startExpr(s.text); err != nil {
				return nil, "", err
			}
			word := p.peek()
			if word.kind != tokName {
				return nil, "", p.errorf("expected a statement name in {%% %s %%}", strings.TrimSpace(s.text))
			}
			for _, st := range stop {
				if word.s == st {
					p.tp++
					return out, st, nil
				}
			}
			p.tp++
			n, err := p.parseStmt(word.s)
			if err != nil {
				return nil, "", err
			}
			out = append(out, n)
		}
	}
	if len(stop) > 0 {
		return nil, "", p.errorf("unexpected end of template, expected {%% %s %%}", strings.Join(stop, " or "))
	}
	return out, "", nil
}

func (p *parser) parseStmt(word string) (node, error) {
	switch word {
	case "if":
		return p.parseIf()
	case "for":
		return p.parseFor()
	case "set":
		return p.parseSet()
	case "macro":
		return p.parseMacro()
	case "call":
		return p.parseCallBlock()
	case "filter":
		return p.parseFilterBlock()
	case "break", "continue":
		if err := p.expectEnd(); err != nil {
			return nil, err
		}
		if word == "break" {
			return &breakNode{}, nil
		}
		return &continueNode{}, nil
	case "generation":
		// Hugging Face's {% generation %} marks assistant text for training
		// masks; it renders its body unchanged.
		if err := p.expectEnd(); err != nil {
			return nil, err
		}
		body, _, err := p.parseBody("endgeneration")
		if err != nil {
			return nil, err
		}
		return &ifNode{conds: []expr{&literal{true}}, bodies: [][]node{body}}, p.expectEnd()
	}
	return nil, p.errorf("unknown tag %q", word)
}

func (p *parser) parseIf() (node, error) {
	n := &ifNode{}
	cond, err := p.parseExpr()
	if err != nil {
		return nil, err
	}
	if err := p.expectEnd(); err != nil {
		return nil, err
	}
	for {
		body, end, err := p.parseBody("elif", "else", "endif")
		if err != nil {
			return nil, err
		}
		n.conds = append(n.conds, cond)
		n.bodies = append(n.bodies, body)
		switch end {
		case "elif":
			if cond, err = p.parseExpr(); err != nil {
				return nil, err
			}
			if err := p.expectEnd(); err != nil {
				return nil, err
			}
			continue
		case "else":
			if err := p.expectEnd(); err != nil {
				return nil, err
			}
			if n.els, _, err = p.parseBody("endif"); err != nil {
				return nil, err
			}
		}
		return n, p.expectEnd()
	}
}

func (p *parser) parseFor() (node, error) {
	n := &forNode{line: p.line}
	for {
		t := p.next()
		if t.kind != tokName {
			return nil, p.errorf("expected a loop variable name")
		}
		n.targets = append(n.targets, t.s)
		if !p.acceptOp(",") {
			break
		}
	}
	if !p.acceptName("in") {
		return nil, p.errorf("expected 'in' in for loop")
	}
	var err error
	// The iterable stops before a trailing "if" filter.
	if n.iter, err = p.parseOr(); err != nil {
		return nil, err
	}
	if p.acceptName("if") {
		if n.filter, err = p.parseOr(); err != nil {
			return nil, err
		}
	}
	if p.acceptName("recursive") {
		return nil, p.errorf("recursive for loops are not supported")
	}
	if err := p.expectEnd(); err != nil {
		return nil, err
	}
	body, end, err := p.parseBody("else", "endfor")
	if err != nil {
		return nil, err
	}
	n.body = body
	if end == "else" {
		if err := p.expectEnd(); err != nil {
			return nil, err
		}
		if n.els, _, err = p.parseBody("endfor"); err != nil {
			return nil, err
		}
	}
	return n, p.expectEnd()
}

func (p *parser) parseSet() (node, error) {
	n := &setNode{}
	t := p.next()
	if t.kind != tokName {
		return nil, p.errorf("expected a name after set")
	}
	n.targets = []string{t.s}
	if p.acceptOp(".") {
		a := p.next()
		if a.kind != tokName {
			return nil, p.errorf("expected an attribute name")
		}
		n.attr = a.s
	} else {
		for p.acceptOp(",") {
			t := p.next()
			if t.kind != tokName {
				return nil, p.errorf("expected a name in set")
			}
			n.targets = append(n.targets, t.s)
		}
	}
	if p.acceptOp("=") {
		v, err := p.parseTuple()
		if err != nil {
			return nil, err
		}
		n.value = v
		return n, p.expectEnd()
	}
	if err := p.expectEnd(); err != nil {
		return nil, err
	}
	body, _, err := p.parseBody("endset")
	if err != nil {
		return nil, err
	}
	n.body = body
	return n, p.expectEnd()
}

func (p *parser) parseMacro() (node, error) {
	t := p.next()
	if t.kind != tokName {
		return nil, p.errorf("expected a macro name")
	}
	n := &macroNode{name: t.s}
	if !p.acceptOp("(") {
		return nil, p.errorf("expected ( after macro name")
	}
	for !p.acceptOp(")") {
		a := p.next()
		if a.kind != tokName {
			return nil, p.errorf("expected a parameter name")
		}
		n.params = append(n.params, a.s)
		if p.acceptOp("=") {
			d, err := p.parseExpr()
			if err != nil {
				return nil, err
			}
			n.defaults = append(n.defaults, d)
		} else if len(n.defaults) > 0 {
			return nil, p.errorf("non-default parameter follows default parameter")
		}
		if !p.acceptOp(",") {
			if !p.acceptOp(")") {
				return nil, p.errorf("expected , or ) in macro parameters")
			}
			break
		}
	}
	if err := p.expectEnd(); err != nil {
		return nil, err
	}
	body, _, err := p.parseBody("endmacro")
	if err != nil {
		return nil, err
	}
	n.body = body
	return n, p.expectEnd()
}

func (p *parser) parseCallBlock() (node, error) {
	e, err := p.parseExpr()
	if err != nil {
		return nil, err
	}
	c, ok := e.(*callExpr)
	if !ok {
		return nil, p.errorf("expected a macro call after call")
	}
	if err := p.expectEnd(); err != nil {
		return nil, err
	}
	body, _, err := p.parseBody("endcall")
	if err != nil {
		return nil, err
	}
	return &callBlockNode{call: c, body: body}, p.expectEnd()
}

func (p *parser) parseFilterBlock() (node, error) {
	n := &filterBlockNode{}
	for {
		f, err := p.parseFilterCall(nil)
		if err != nil {
			return nil, err
		}
		n.filters = append(n.filters, f)
		if !p.acceptOp("|") {
			break
		}
	}
	if err := p.expectEnd(); err != nil {
		return nil, err
	}
	body, _, err := p.parseBody("endfilter")
	if err != nil {
		return nil, err
	}
	n.body = body
	return n, p.expectEnd()
}

// --- expressions ---------------------------------------------------------

func (p *parser) startExpr(src string) error {
	toks, err := tokenize(src)
	if err != nil {
		return p.errorf("%v", err)
	}
	p.toks, p.tp = toks, 0
	return nil
}

func (p *parser) peek() token { return p.toks[p.tp] }

func (p *parser) next() token {
	t := p.toks[p.tp]
	if t.kind != tokEOF {
		p.tp++
	}
	return t
}

func (p *parser) acceptOp(op string) bool {
	if t := p.peek(); t.kind == tokOp && t.s == op {
		p.tp++
		return true
	}
	return false
}

func (p *parser) acceptName(n string) bool {
	if t := p.peek(); t.kind == tokName && t.s == n {
		p.tp++
		return true
	}
	return false
}

func (p *parser) expectEnd() error {
	if t := p.peek(); t.kind != tokEOF {
		return p.errorf("unexpected %s", describe(t))
	}
	return nil
}

func describe(t token) string {
	switch t.kind {
	case tokName, tokOp:
		return fmt.Sprintf("%q", t.s)
	case tokString:
		return "string literal"
	case tokEOF:
		return "end of tag"
	}
	return "number"
}

// parseTuple parses an expression or a bare tuple (a, b).
func (p *parser) parseTuple() (expr, error) {
	e, err := p.parseExpr()
	if err != nil {
		return nil, err
	}
	if t := p.peek(); !(t.kind == tokOp && t.s == ",") {
		return e, nil
	}
	items := []expr{e}
	for p.acceptOp(",") {
		if t := p.peek(); t.kind == tokEOF {
			break
		}
		e, err := p.parseExpr()
		if err != nil {
			return nil, err
		}
		items = append(items, e)
	}
	return &tupleExpr{items}, nil
}

func (p *parser) parseExpr() (expr, error) {
	a, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	for p.acceptName("if") {
		cond, err := p.parseOr()
		if err != nil {
			return nil, err
		}
		var b expr
		if p.acceptName("else") {
			if b, err = p.parseExpr(); err != nil {
				return nil, err
			}
		}
		a = &condExpr{cond: cond, a: a, b: b}
	}
	return a, nil
}

func (p *parser) parseOr() (expr, error) {
	a, err := p.parseAnd()
	if err != nil {
		return nil, err
	}
	for p.acceptName("or") {
		b, err := p.parseAnd()
		if err != nil {
			return nil, err
		}
		a = &binaryExpr{"or", a, b}
	}
	return a, nil
}

func (p *parser) parseAnd() (expr, error) {
	a, err := p.parseNot()
	if err != nil {
		return nil, err
	}
	for p.acceptName("and") {
		b, err := p.parseNot()
		if err != nil {
			return nil, err
		}
		a = &binaryExpr{"and", a, b}
	}
	return a, nil
}

func (p *parser) parseNot() (expr, error) {
	if p.acceptName("not") {
		x, err := p.parseNot()
		if err != nil {
			return nil, err
		}
		return &unaryExpr{"not", x}, nil
	}
	return p.parseCompare()
}

func (p *parser) parseCompare() (expr, error) {
	a, err := p.parseMath1()
	if err != nil {
		return nil, err
	}
	for {
		t := p.peek()
		var op string
		switch {
		case t.kind == tokOp && (t.s == "==" || t.s == "!=" || t.s == "<" || t.s == "<=" || t.s == ">" || t.s == ">="):
			op = t.s
			p.tp++
		case t.kind == tokName && t.s == "in":
			op = "in"
			p.tp++
		case t.kind == tokName && t.s == "not" && p.toks[p.tp+1].kind == tokName && p.toks[p.tp+1].s == "in":
			op = "not in"
			p.tp += 2
		default:
			return a, nil
		}
		b, err := p.parseMath1()
		if err != nil {
			return nil, err
		}
		a = &binaryExpr{op, a, b}
	}
}

func (p *parser) parseMath1() (expr, error) {
	a, err := p.parseConcat()
	if err != nil {
		return nil, err
	}
	for {
		t := p.peek()
		if t.kind != tokOp || (t.s != "+" && t.s != "-") {
			return a, nil
		}
		p.tp++
		b, err := p.parseConcat()
		if err != nil {
			return nil, err
		}
		a = &binaryExpr{t.s, a, b}
	}
}

func (p *parser) parseConcat() (expr, error) {
	a, err := p.parseMath2()
	if err != nil {
		return nil, err
	}
	for p.acceptOp("~") {
		b, err := p.parseMath2()
		if err != nil {
			return nil, err
		}
		a = &binaryExpr{"~", a, b}
	}
	return a, nil
}

func (p *parser) parseMath2() (expr, error) {
	a, err := p.parsePow()
	if err != nil {
		return nil, err
	}
	for {
		t := p.peek()
		if t.kind != tokOp || (t.s != "*" && t.s != "/" && t.s != "//" && t.s != "%") {
			return a, nil
		}
		p.tp++
		b, err := p.parsePow()
		if err != nil {
			return nil, err
		}
		a = &binaryExpr{t.s, a, b}
	}
}

func (p *parser) parsePow() (expr, error) {
	a, err := p.parseUnary()
	if err != nil {
		return nil, err
	}
	for p.acceptOp("**") {
		b, err := p.parseUnary()
		if err != nil {
			return nil, err
		}
		a = &binaryExpr{"**", a, b}
	}
	return a, nil
}

// parseUnary follows jinja2: a sign applies to the operand before its
// postfix and filters are parsed, and filters then apply to the signed value.
func (p *parser) parseUnary() (expr, error) { return p.parseUnaryF(true) }

func (p *parser) parseUnaryF(withFilters bool) (expr, error) {
	var x expr
	var err error
	switch {
	case p.acceptOp("-"):
		if x, err = p.parseUnaryF(false); err != nil {
			return nil, err
		}
		x = &unaryExpr{"-", x}
	case p.acceptOp("+"):
		if x, err = p.parseUnaryF(false); err != nil {
			return nil, err
		}
	default:
		if x, err = p.parsePrimary(); err != nil {
			return nil, err
		}
	}
	if x, err = p.parsePostfix(x); err != nil {
		return nil, err
	}
	if withFilters {
		return p.parseFilters(x)
	}
	return x, nil
}

func (p *parser) parsePrimary() (expr, error) {
	t := p.next()
	switch t.kind {
	case tokName:
		switch t.s {
		case "true", "True":
			return &literal{true}, nil
		case "false", "False":
			return &literal{false}, nil
		case "none", "None":
			return &literal{nil}, nil
		}
		return &nameExpr{t.s}, nil
	case tokString:
		s := t.s
		// Adjacent string literals concatenate.
		for p.peek().kind == tokString {
			s += p.next().s
		}
		return &literal{s}, nil
	case tokInt:
		return &literal{t.i}, nil
	case tokFloat:
		return &literal{t.f}, nil
	case tokOp:
		switch t.s {
		case "(":
			if p.acceptOp(")") {
				return &tupleExpr{}, nil
			}
			e, err := p.parseExpr()
			if err != nil {
				return nil, err
			}
			if p.acceptOp(",") {
				items := []expr{e}
				for !p.acceptOp(")") {
					e, err := p.parseExpr()
					if err != nil {
						return nil, err
					}
					items = append(items, e)
					if !p.acceptOp(",") {
						if !p.acceptOp(")") {
							return nil, p.errorf("expected ) after tuple")
						}
						break
					}
				}
				return &tupleExpr{items}, nil
			}
			if !p.acceptOp(")") {
				return nil, p.errorf("expected )")
			}
			return e, nil
		case "[":
			l := &listExpr{}
			for !p.acceptOp("]") {
				e, err := p.parseExpr()
				if err != nil {
					return nil, err
				}
				l.items = append(l.items, e)
				if !p.acceptOp(",") {
					if !p.acceptOp("]") {
						return nil, p.errorf("expected ] after list")
					}
					break
				}
			}
			return l, nil
		case "{":
			d := &dictExpr{}
			for !p.acceptOp("}") {
				k, err := p.parseExpr()
				if err != nil {
					return nil, err
				}
				if !p.acceptOp(":") {
					return nil, p.errorf("expected : in dict literal")
				}
				v, err := p.parseExpr()
				if err != nil {
					return nil, err
				}
				d.keys = append(d.keys, k)
				d.vals = append(d.vals, v)
				if !p.acceptOp(",") {
					if !p.acceptOp("}") {
						return nil, p.errorf("expected } after dict")
					}
					break
				}
			}
			return d, nil
		}
	}
	return nil, p.errorf("unexpected %s", describe(t))
}

func (p *parser) parsePostfix(x expr) (expr, error) {
	for {
		switch {
		case p.acceptOp("."):
			t := p.next()
			switch t.kind {
			case tokName:
				x = &attrExpr{x, t.s}
			case tokInt:
				x = &itemExpr{x, &literal{t.i}}
			default:
				return nil, p.errorf("expected an attribute name after .")
			}
		case p.acceptOp("["):
			var parts [3]expr
			n := 0
			isSlice := false
			for {
				if t := p.peek(); !(t.kind == tokOp && (t.s == ":" || t.s == "]")) {
					e, err := p.parseExpr()
					if err != nil {
						return nil, err
					}
					parts[n] = e
				}
				if p.acceptOp(":") {
					isSlice = true
					n++
					if n > 2 {
						return nil, p.errorf("too many : in slice")
					}
					continue
				}
				if !p.acceptOp("]") {
					return nil, p.errorf("expected ]")
				}
				break
			}
			if isSlice {
				x = &sliceExpr{x, parts[0], parts[1], parts[2]}
			} else {
				if parts[0] == nil {
					return nil, p.errorf("empty subscript")
				}
				x = &itemExpr{x, parts[0]}
			}
		case p.acceptOp("("):
			c := &callExpr{fn: x}
			if err := p.parseArgs(&c.args, &c.kwargs); err != nil {
				return nil, err
			}
			x = c
		default:
			return x, nil
		}
	}
}

// parseArgs parses call arguments after "(" up to and including ")".
func (p *parser) parseArgs(args *[]expr, kwargs *[]kwarg) error {
	for !p.acceptOp(")") {
		if t := p.peek(); t.kind == tokName && p.toks[p.tp+1].kind == tokOp && p.toks[p.tp+1].s == "=" {
			p.tp += 2
			v, err := p.parseExpr()
			if err != nil {
				return err
			}
			*kwargs = append(*kwargs, kwarg{t.s, v})
		} else {
			if len(*kwargs) > 0 {
				return p.errorf("positional argument follows keyword argument")
			}
			v, err := p.parseExpr()
			if err != nil {
				return err
			}
			*args = append(*args, v)
		}
		if !p.acceptOp(",") {
			if !p.acceptOp(")") {
				return p.errorf("expected , or ) in call")
			}
			return nil
		}
	}
	return nil
}

func (p *parser) parseFilters(x expr) (expr, error) {
	for {
		switch {
		case p.acceptOp("|"):
			f, err := p.parseFilterCall(x)
			if err != nil {
				return nil, err
			}
			x = f
		case p.acceptName("is"):
			t := &testExpr{x: x}
			t.negate = p.acceptName("not")
			n := p.next()
			if n.kind != tokName {
				return nil, p.errorf("expected a test name after is")
			}
			t.name = n.s
			if _, ok := tests[t.name]; !ok {
				return nil, p.errorf("unknown test %q", t.name)
			}
			if p.acceptOp("(") {
				var kw []kwarg
				if err := p.parseArgs(&t.args, &kw); err != nil {
					return nil, err
				}
			} else if nt := p.peek(); nt.kind == tokString || nt.kind == tokInt || nt.kind == tokFloat || (nt.kind == tokName && nt.s != "and" && nt.s != "or" && nt.s != "else" && nt.s != "if" && nt.s != "is" && nt.s != "not" && nt.s != "in") {
				a, err := p.parsePrimary()
				if err != nil {
					return nil, err
				}
				if a, err = p.parsePostfix(a); err != nil {
					return nil, err
				}
				t.args = []expr{a}
			}
			x = t
		default:
			return x, nil
		}
	}
}

func (p *parser) parseFilterCall(x expr) (*filterExpr, error) {
	n := p.next()
	if n.kind != tokName {
		return nil, p.errorf("expected a filter name after |")
	}
	name := n.s
	for p.acceptOp(".") { // dotted filter names are not used; reject clearly
		return nil, p.errorf("unknown filter %q", name)
	}
	if _, ok := filters[name]; !ok {
		return nil, p.errorf("unknown filter %q", name)
	}
	f := &filterExpr{x: x, name: name}
	if p.acceptOp("(") {
		if err := p.parseArgs(&f.args, &f.kwargs); err != nil {
			return nil, err
		}
	}
	return f, nil
}
