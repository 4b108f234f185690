package jinja

import (
	"fmt"
	"strings"
)

// parser builds the statement tree from tokens, following jinja2's parser.
type parser struct {
	toks  []token
	p     int
	depth int // expression nesting, bounded to keep recursion shallow
}

// maxNesting bounds how deeply expressions and blocks may nest.
const maxNesting = 200

func (p *parser) cur() token { return p.toks[p.p] }

func (p *parser) look() token {
	if p.p+1 < len(p.toks) {
		return p.toks[p.p+1]
	}
	return p.toks[len(p.toks)-1]
}

func (p *parser) next() token {
	t := p.toks[p.p]
	if t.kind != tEOF {
		p.p++
	}
	return t
}

func (p *parser) isName(name string) bool {
	t := p.cur()
	return t.kind == tName && t.s == name
}

func (p *parser) isOp(op string) bool {
	t := p.cur()
	return t.kind == tOp && t.s == op
}

func (p *parser) skipName(name string) bool {
	if p.isName(name) {
		p.next()
		return true
	}
	return false
}

func (p *parser) skipOp(op string) bool {
	if p.isOp(op) {
		p.next()
		return true
	}
	return false
}

func (p *parser) failf(t token, format string, args ...any) error {
	return &Error{Line: t.line, Msg: fmt.Sprintf(format, args...)}
}

func (p *parser) expectOp(op string) error {
	if !p.skipOp(op) {
		return p.failf(p.cur(), "expected '%s', got %s", op, describe(p.cur()))
	}
	return nil
}

func (p *parser) expectKind(k tokKind) (token, error) {
	t := p.cur()
	if t.kind != k {
		return t, p.failf(t, "expected %s, got %s", kindName(k), describe(t))
	}
	return p.next(), nil
}

func kindName(k tokKind) string {
	switch k {
	case tVarEnd:
		return "end of print statement"
	case tBlockEnd:
		return "end of statement block"
	case tName:
		return "a name"
	}
	return "a token"
}

// describe names a token for error messages, as jinja2 does.
func describe(t token) string {
	switch t.kind {
	case tEOF:
		return "end of template"
	case tVarEnd:
		return "'end of print statement'"
	case tBlockEnd:
		return "'end of statement block'"
	case tName, tOp:
		return "'" + t.s + "'"
	case tString:
		return "string"
	case tInt:
		return "integer"
	case tFloat:
		return "float"
	case tData:
		return "template data"
	}
	return "'begin of tag'"
}

// subparse parses nodes until a {% tag %} whose name is in end (returning
// with that name as the current token) or the end of the template.
func (p *parser) subparse(end ...string) ([]node, error) {
	var body []node
	for {
		t := p.cur()
		switch t.kind {
		case tEOF:
			return body, nil
		case tData:
			p.next()
			body = append(body, &textNode{t.s})
		case tVarBegin:
			p.next()
			e, err := p.parseTuple(false, true, nil, false)
			if err != nil {
				return nil, err
			}
			if _, err := p.expectKind(tVarEnd); err != nil {
				return nil, err
			}
			body = append(body, &outputNode{exprs: []expr{e}, line: t.line})
		case tBlockBegin:
			p.next()
			if c := p.cur(); c.kind == tName {
				for _, e := range end {
					if c.s == e {
						return body, nil
					}
				}
			}
			n, err := p.parseStatement()
			if err != nil {
				return nil, err
			}
			if _, err := p.expectKind(tBlockEnd); err != nil {
				return nil, err
			}
			body = append(body, n)
		default:
			return nil, p.failf(t, "unexpected %s", describe(t))
		}
	}
}

// parseStatements parses the body of a block tag after its arguments, up to
// one of the end tags; dropNeedle consumes that end tag's name.
func (p *parser) parseStatements(dropNeedle bool, end ...string) ([]node, error) {
	if p.depth++; p.depth > maxNesting {
		return nil, p.failf(p.cur(), "blocks nest too deeply")
	}
	defer func() { p.depth-- }()
	p.skipOp(":")
	if _, err := p.expectKind(tBlockEnd); err != nil {
		return nil, err
	}
	body, err := p.subparse(end...)
	if err != nil {
		return nil, err
	}
	if t := p.cur(); t.kind == tEOF {
		return nil, p.failf(t, "unexpected end of template, expected '%s'", strings.Join(end, "' or '"))
	}
	if dropNeedle {
		p.next()
	}
	return body, nil
}

func (p *parser) parseStatement() (node, error) {
	t := p.cur()
	if t.kind != tName {
		return nil, p.failf(t, "tag name expected")
	}
	switch t.s {
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
	case "with":
		return p.parseWith()
	case "print":
		return p.parsePrint()
	case "break", "continue":
		// The loopcontrols extension.
		p.next()
		if t.s == "break" {
			return &breakNode{line: t.line}, nil
		}
		return &continueNode{line: t.line}, nil
	case "generation":
		// Hugging Face's extension marking assistant text for training
		// masks; it renders its body in a scope of its own.
		p.next()
		body, err := p.parseStatements(true, "endgeneration")
		if err != nil {
			return nil, err
		}
		return &scopeNode{body: body}, nil
	case "block", "extends", "include", "import", "from", "autoescape":
		return nil, p.failf(t, "the %q tag is not supported", t.s)
	}
	return nil, p.failf(t, "encountered unknown tag '%s'", t.s)
}

func (p *parser) parseIf() (node, error) {
	n := &ifNode{line: p.next().line}
	for {
		test, err := p.parseTuple(false, false, nil, false)
		if err != nil {
			return nil, err
		}
		body, err := p.parseStatements(false, "elif", "else", "endif")
		if err != nil {
			return nil, err
		}
		n.tests = append(n.tests, test)
		n.bodies = append(n.bodies, body)
		switch p.next().s {
		case "elif":
			continue
		case "else":
			if n.els, err = p.parseStatements(true, "endif"); err != nil {
				return nil, err
			}
			if n.els == nil {
				n.els = []node{}
			}
		}
		return n, nil
	}
}

func (p *parser) parseFor() (node, error) {
	n := &forNode{line: p.next().line}
	var err error
	if n.target, err = p.parseAssignTarget("in"); err != nil {
		return nil, err
	}
	if !p.skipName("in") {
		return nil, p.failf(p.cur(), "expected 'in', got %s", describe(p.cur()))
	}
	if n.iter, err = p.parseTuple(false, false, []string{"recursive"}, false); err != nil {
		return nil, err
	}
	if p.skipName("if") {
		if n.test, err = p.parseExpression(true); err != nil {
			return nil, err
		}
	}
	if p.isName("recursive") {
		return nil, p.failf(p.cur(), "recursive for loops are not supported")
	}
	if n.body, err = p.parseStatements(false, "endfor", "else"); err != nil {
		return nil, err
	}
	if p.next().s == "else" {
		if n.els, err = p.parseStatements(true, "endfor"); err != nil {
			return nil, err
		}
	}
	return n, nil
}

// parseAssignTarget parses a name or a tuple of names (parenthesised or
// not) for for, set and with.
func (p *parser) parseAssignTarget(extraEnd ...string) (*target, error) {
	var items []*target
	isTuple := false
	for {
		if len(items) > 0 {
			if err := p.expectOp(","); err != nil {
				return nil, err
			}
		}
		if p.isTupleEnd(extraEnd) {
			break
		}
		t, err := p.parseTargetPrimary()
		if err != nil {
			return nil, err
		}
		items = append(items, t)
		if !p.isOp(",") {
			break
		}
		isTuple = true
	}
	if !isTuple {
		if len(items) == 0 {
			return nil, p.failf(p.cur(), "expected an assignment target, got %s", describe(p.cur()))
		}
		return items[0], nil
	}
	return &target{items: items}, nil
}

func (p *parser) parseTargetPrimary() (*target, error) {
	t := p.next()
	switch {
	case t.kind == tName:
		switch t.s {
		case "true", "false", "none", "True", "False", "None":
			return nil, p.failf(t, "can't assign to constant %q", t.s)
		}
		return &target{name: t.s}, nil
	case t.kind == tOp && t.s == "(":
		inner, err := p.parseAssignTarget()
		if err != nil {
			return nil, err
		}
		return inner, p.expectOp(")")
	}
	return nil, p.failf(t, "can't assign to %s", describe(t))
}

func (p *parser) parseSet() (node, error) {
	n := &setNode{line: p.next().line}
	if p.cur().kind == tName && p.look().kind == tOp && p.look().s == "." {
		ns := p.next()
		p.next()
		attr, err := p.expectKind(tName)
		if err != nil {
			return nil, err
		}
		n.target, n.nsAttr = &target{name: ns.s}, attr.s
		if err := p.expectOp("="); err != nil {
			return nil, err
		}
		n.value, err = p.parseTuple(false, true, nil, false)
		return n, err
	}
	var err error
	if n.target, err = p.parseAssignTarget(); err != nil {
		return nil, err
	}
	if p.skipOp("=") {
		n.value, err = p.parseTuple(false, true, nil, false)
		return n, err
	}
	if p.isOp("|") {
		p.next()
		if n.filters, err = p.parseFilterChain(nil); err != nil {
			return nil, err
		}
	}
	n.body, err = p.parseStatements(true, "endset")
	if n.body == nil {
		n.body = []node{}
	}
	return n, err
}

func (p *parser) parseMacro() (node, error) {
	line := p.next().line
	name, err := p.expectKind(tName)
	if err != nil {
		return nil, err
	}
	m := &macroNode{name: name.s, line: line}
	if err := p.parseSignature(m); err != nil {
		return nil, err
	}
	if m.body, err = p.parseStatements(true, "endmacro"); err != nil {
		return nil, err
	}
	m.usesCaller, m.usesVarargs, m.usesKwargs = usesNames(m.body)
	return m, nil
}

// parseSignature parses a macro's parameter list.
func (p *parser) parseSignature(m *macroNode) error {
	if err := p.expectOp("("); err != nil {
		return err
	}
	for !p.isOp(")") {
		if len(m.params) > 0 {
			if err := p.expectOp(","); err != nil {
				return err
			}
		}
		name, err := p.expectKind(tName)
		if err != nil {
			return err
		}
		if p.skipOp("=") {
			d, err := p.parseExpression(true)
			if err != nil {
				return err
			}
			m.defaults = append(m.defaults, d)
		} else if len(m.defaults) > 0 {
			return p.failf(name, "non-default argument follows default argument")
		}
		m.params = append(m.params, name.s)
	}
	p.next()
	return nil
}

func (p *parser) parseCallBlock() (node, error) {
	line := p.next().line
	caller := &macroNode{name: "caller", line: line}
	if p.isOp("(") {
		if err := p.parseSignature(caller); err != nil {
			return nil, err
		}
	}
	e, err := p.parseExpression(true)
	if err != nil {
		return nil, err
	}
	call, ok := e.(*callExpr)
	if !ok {
		return nil, &Error{Line: line, Msg: "expected call"}
	}
	if caller.body, err = p.parseStatements(true, "endcall"); err != nil {
		return nil, err
	}
	caller.usesCaller, caller.usesVarargs, caller.usesKwargs = usesNames(caller.body)
	return &callBlockNode{caller: caller, call: call, line: line}, nil
}

func (p *parser) parseFilterBlock() (node, error) {
	n := &filterBlockNode{line: p.next().line}
	var err error
	if n.filters, err = p.parseFilterChain(nil); err != nil {
		return nil, err
	}
	n.body, err = p.parseStatements(true, "endfilter")
	return n, err
}

func (p *parser) parseWith() (node, error) {
	n := &withNode{line: p.next().line}
	for p.cur().kind != tBlockEnd {
		if len(n.targets) > 0 {
			if err := p.expectOp(","); err != nil {
				return nil, err
			}
		}
		t, err := p.parseAssignTarget()
		if err != nil {
			return nil, err
		}
		if err := p.expectOp("="); err != nil {
			return nil, err
		}
		v, err := p.parseExpression(true)
		if err != nil {
			return nil, err
		}
		n.targets = append(n.targets, t)
		n.values = append(n.values, v)
	}
	var err error
	n.body, err = p.parseStatements(true, "endwith")
	return n, err
}

func (p *parser) parsePrint() (node, error) {
	n := &outputNode{line: p.next().line}
	for p.cur().kind != tBlockEnd {
		if len(n.exprs) > 0 {
			if err := p.expectOp(","); err != nil {
				return nil, err
			}
		}
		e, err := p.parseExpression(true)
		if err != nil {
			return nil, err
		}
		n.exprs = append(n.exprs, e)
	}
	return n, nil
}
