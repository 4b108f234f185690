package jinja

// Expression grammar, as jinja2's parser has it (loosest first):
//
//	condexpr: or ("if" or ("else" condexpr)?)*
//	or, and, not, compare (== != < <= > >= in, not in; chained)
//	math1 (+ -), concat (~), math2 (* / // %), pow (** left-assoc)
//	unary (- +), then primary with postfix (.x [x] (...)) and filters (|f, is t)

func (p *parser) enter() error {
	if p.depth++; p.depth > maxNesting {
		return p.failf(p.cur(), "expression nests too deeply")
	}
	return nil
}

func (p *parser) leave() { p.depth-- }

// parseExpression parses a full expression (with the inline if when
// withCond).
func (p *parser) parseExpression(withCond bool) (expr, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	if !withCond {
		return p.parseOr()
	}
	a, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	for p.skipName("if") {
		test, err := p.parseOr()
		if err != nil {
			return nil, err
		}
		var b expr
		if p.skipName("else") {
			if b, err = p.parseExpression(true); err != nil {
				return nil, err
			}
		}
		a = &condExpr{test: test, a: a, b: b}
	}
	return a, nil
}

// parseTuple parses expressions separated by commas; more than one (or a
// trailing comma) makes a tuple. simplified parses primaries only.
func (p *parser) parseTuple(simplified, withCond bool, extraEnd []string, explicitParens bool) (expr, error) {
	var items []expr
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
		var e expr
		var err error
		if simplified {
			e, err = p.parsePrimary()
		} else {
			e, err = p.parseExpression(withCond)
		}
		if err != nil {
			return nil, err
		}
		items = append(items, e)
		if !p.isOp(",") {
			break
		}
		isTuple = true
	}
	if !isTuple {
		if len(items) > 0 {
			return items[0], nil
		}
		if !explicitParens {
			return nil, p.failf(p.cur(), "expected an expression, got %s", describe(p.cur()))
		}
	}
	return &tupleExpr{items: items}, nil
}

func (p *parser) isTupleEnd(extraEnd []string) bool {
	t := p.cur()
	switch {
	case t.kind == tVarEnd, t.kind == tBlockEnd, t.kind == tEOF:
		return true
	case t.kind == tOp && t.s == ")":
		return true
	case t.kind == tName:
		for _, e := range extraEnd {
			if t.s == e {
				return true
			}
		}
	}
	return false
}

func (p *parser) parseOr() (expr, error) {
	a, err := p.parseAnd()
	if err != nil {
		return nil, err
	}
	for p.skipName("or") {
		b, err := p.parseAnd()
		if err != nil {
			return nil, err
		}
		a = &orExpr{a, b}
	}
	return a, nil
}

func (p *parser) parseAnd() (expr, error) {
	a, err := p.parseNot()
	if err != nil {
		return nil, err
	}
	for p.skipName("and") {
		b, err := p.parseNot()
		if err != nil {
			return nil, err
		}
		a = &andExpr{a, b}
	}
	return a, nil
}

func (p *parser) parseNot() (expr, error) {
	if p.isName("not") {
		p.next()
		if err := p.enter(); err != nil {
			return nil, err
		}
		defer p.leave()
		x, err := p.parseNot()
		if err != nil {
			return nil, err
		}
		return &notExpr{x}, nil
	}
	return p.parseCompare()
}

func (p *parser) parseCompare() (expr, error) {
	first, err := p.parseMath1()
	if err != nil {
		return nil, err
	}
	c := &compareExpr{first: first}
	for {
		t := p.cur()
		var op string
		switch {
		case t.kind == tOp && (t.s == "==" || t.s == "!=" || t.s == "<" || t.s == "<=" || t.s == ">" || t.s == ">="):
			op = t.s
			p.next()
		case t.kind == tName && t.s == "in":
			op = "in"
			p.next()
		case t.kind == tName && t.s == "not" && p.look().kind == tName && p.look().s == "in":
			op = "notin"
			p.next()
			p.next()
		default:
			if len(c.ops) == 0 {
				return first, nil
			}
			return c, nil
		}
		b, err := p.parseMath1()
		if err != nil {
			return nil, err
		}
		c.ops = append(c.ops, op)
		c.rest = append(c.rest, b)
	}
}

func (p *parser) parseMath1() (expr, error) {
	a, err := p.parseConcat()
	if err != nil {
		return nil, err
	}
	for p.isOp("+") || p.isOp("-") {
		op := p.next().s
		b, err := p.parseConcat()
		if err != nil {
			return nil, err
		}
		a = &binExpr{op, a, b}
	}
	return a, nil
}

func (p *parser) parseConcat() (expr, error) {
	a, err := p.parseMath2()
	if err != nil {
		return nil, err
	}
	if !p.isOp("~") {
		return a, nil
	}
	items := []expr{a}
	for p.skipOp("~") {
		b, err := p.parseMath2()
		if err != nil {
			return nil, err
		}
		items = append(items, b)
	}
	return &concatExpr{items}, nil
}

func (p *parser) parseMath2() (expr, error) {
	a, err := p.parsePow()
	if err != nil {
		return nil, err
	}
	for p.isOp("*") || p.isOp("/") || p.isOp("//") || p.isOp("%") {
		op := p.next().s
		b, err := p.parsePow()
		if err != nil {
			return nil, err
		}
		a = &binExpr{op, a, b}
	}
	return a, nil
}

func (p *parser) parsePow() (expr, error) {
	a, err := p.parseUnary(true)
	if err != nil {
		return nil, err
	}
	for p.skipOp("**") {
		b, err := p.parseUnary(true)
		if err != nil {
			return nil, err
		}
		a = &binExpr{"**", a, b}
	}
	return a, nil
}

// parseUnary follows jinja2: a sign applies to the operand with its
// postfix, and filters then apply to the signed value (-1|abs is 1).
func (p *parser) parseUnary(withFilters bool) (expr, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	var x expr
	var err error
	switch {
	case p.skipOp("-"):
		if x, err = p.parseUnary(false); err != nil {
			return nil, err
		}
		x = &negExpr{x}
	case p.skipOp("+"):
		if x, err = p.parseUnary(false); err != nil {
			return nil, err
		}
		x = &posExpr{x}
	default:
		if x, err = p.parsePrimary(); err != nil {
			return nil, err
		}
	}
	if x, err = p.parsePostfix(x); err != nil {
		return nil, err
	}
	if withFilters {
		return p.parseFilterExpr(x)
	}
	return x, nil
}

func (p *parser) parsePrimary() (expr, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	t := p.cur()
	switch t.kind {
	case tName:
		p.next()
		switch t.s {
		case "true", "True":
			return &constExpr{true}, nil
		case "false", "False":
			return &constExpr{false}, nil
		case "none", "None":
			return &constExpr{nil}, nil
		}
		return &nameExpr{t.s}, nil
	case tString:
		p.next()
		s := t.s
		for p.cur().kind == tString {
			s += p.next().s
		}
		return &constExpr{s}, nil
	case tInt:
		p.next()
		return &constExpr{t.n}, nil
	case tFloat:
		p.next()
		return &constExpr{t.f}, nil
	case tOp:
		switch t.s {
		case "(":
			p.next()
			e, err := p.parseTuple(false, true, nil, true)
			if err != nil {
				return nil, err
			}
			return e, p.expectOp(")")
		case "[":
			return p.parseList()
		case "{":
			return p.parseDict()
		}
	}
	return nil, p.failf(t, "unexpected %s", describe(t))
}

func (p *parser) parseList() (expr, error) {
	p.next()
	l := &listExpr{}
	for !p.isOp("]") {
		if len(l.items) > 0 {
			if err := p.expectOp(","); err != nil {
				return nil, err
			}
		}
		if p.isOp("]") {
			break
		}
		e, err := p.parseExpression(true)
		if err != nil {
			return nil, err
		}
		l.items = append(l.items, e)
	}
	p.next()
	return l, nil
}

func (p *parser) parseDict() (expr, error) {
	p.next()
	d := &dictExpr{}
	for !p.isOp("}") {
		if len(d.keys) > 0 {
			if err := p.expectOp(","); err != nil {
				return nil, err
			}
		}
		if p.isOp("}") {
			break
		}
		k, err := p.parseExpression(true)
		if err != nil {
			return nil, err
		}
		if err := p.expectOp(":"); err != nil {
			return nil, err
		}
		v, err := p.parseExpression(true)
		if err != nil {
			return nil, err
		}
		d.keys = append(d.keys, k)
		d.vals = append(d.vals, v)
	}
	p.next()
	return d, nil
}

func (p *parser) parsePostfix(x expr) (expr, error) {
	for {
		var err error
		switch {
		case p.isOp(".") || p.isOp("["):
			x, err = p.parseSubscript(x)
		case p.isOp("("):
			x, err = p.parseCall(x)
		default:
			return x, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

func (p *parser) parseFilterExpr(x expr) (expr, error) {
	for {
		var err error
		switch {
		case p.isOp("|"):
			p.next()
			var chain []*filterExpr
			if chain, err = p.parseFilterChain(x); err == nil {
				x = chain[len(chain)-1]
			}
		case p.isName("is"):
			x, err = p.parseTest(x)
		case p.isOp("("):
			x, err = p.parseCall(x)
		default:
			return x, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

func (p *parser) parseSubscript(x expr) (expr, error) {
	t := p.next()
	if t.s == "." {
		a := p.next()
		switch a.kind {
		case tName:
			return &getattrExpr{x, a.s}, nil
		case tInt:
			return &getitemExpr{x, &constExpr{a.n}}, nil
		}
		return nil, p.failf(a, "expected name or number")
	}
	var args []expr
	for !p.isOp("]") {
		if len(args) > 0 {
			if err := p.expectOp(","); err != nil {
				return nil, err
			}
		}
		a, err := p.parseSubscribed()
		if err != nil {
			return nil, err
		}
		args = append(args, a)
	}
	p.next()
	if len(args) == 1 {
		if s, ok := args[0].(*sliceExpr); ok {
			s.obj = x
			return s, nil
		}
		return &getitemExpr{x, args[0]}, nil
	}
	for _, a := range args {
		if _, ok := a.(*sliceExpr); ok {
			return nil, p.failf(t, "slices inside a tuple subscript are not supported")
		}
	}
	return &getitemExpr{x, &tupleExpr{args}}, nil
}

// parseSubscribed parses one subscript: an expression or a slice.
func (p *parser) parseSubscribed() (expr, error) {
	s := &sliceExpr{}
	if p.isOp(":") {
		p.next()
	} else {
		e, err := p.parseExpression(true)
		if err != nil {
			return nil, err
		}
		if !p.isOp(":") {
			return e, nil
		}
		p.next()
		s.start = e
	}
	var err error
	if !p.isOp(":") && !p.isOp("]") && !p.isOp(",") {
		if s.stop, err = p.parseExpression(true); err != nil {
			return nil, err
		}
	}
	if p.skipOp(":") && !p.isOp("]") && !p.isOp(",") {
		if s.step, err = p.parseExpression(true); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func (p *parser) parseCall(fn expr) (expr, error) {
	c := &callExpr{fn: fn}
	return c, p.parseCallArgs(&c.callArgs)
}

// parseCallArgs parses "(args, name=value, *args, **kwargs)".
func (p *parser) parseCallArgs(a *callArgs) error {
	open := p.next()
	bad := func() error { return p.failf(open, "invalid syntax for function call expression") }
	needComma := false
	for !p.isOp(")") {
		if needComma {
			if err := p.expectOp(","); err != nil {
				return err
			}
			if p.isOp(")") {
				break
			}
		}
		switch {
		case p.isOp("*"):
			if a.dynArgs != nil || a.dynKwargs != nil {
				return bad()
			}
			p.next()
			e, err := p.parseExpression(true)
			if err != nil {
				return err
			}
			a.dynArgs = e
		case p.isOp("**"):
			if a.dynKwargs != nil {
				return bad()
			}
			p.next()
			e, err := p.parseExpression(true)
			if err != nil {
				return err
			}
			a.dynKwargs = e
		case p.cur().kind == tName && p.look().kind == tOp && p.look().s == "=":
			if a.dynKwargs != nil {
				return bad()
			}
			name := p.next().s
			p.next()
			e, err := p.parseExpression(true)
			if err != nil {
				return err
			}
			a.kwargs = append(a.kwargs, kwarg{name, e})
		default:
			if a.dynArgs != nil || a.dynKwargs != nil || len(a.kwargs) > 0 {
				return bad()
			}
			e, err := p.parseExpression(true)
			if err != nil {
				return err
			}
			a.args = append(a.args, e)
		}
		needComma = true
	}
	p.next()
	return nil
}

// parseFilterChain parses "name(args)|name(args)..." after the first "|"
// and returns each filter, the last wrapping all the others.
func (p *parser) parseFilterChain(x expr) ([]*filterExpr, error) {
	var chain []*filterExpr
	for {
		t, err := p.expectKind(tName)
		if err != nil {
			return nil, err
		}
		name := t.s
		for p.isOp(".") {
			p.next()
			part, err := p.expectKind(tName)
			if err != nil {
				return nil, err
			}
			name += "." + part.s
		}
		f := &filterExpr{x: x, name: name, fn: filters[name], line: t.line}
		if p.isOp("(") {
			if err := p.parseCallArgs(&f.callArgs); err != nil {
				return nil, err
			}
		}
		chain = append(chain, f)
		x = f
		if !p.isOp("|") {
			return chain, nil
		}
		p.next()
	}
}

func (p *parser) parseTest(x expr) (expr, error) {
	p.next() // is
	negate := p.skipName("not")
	t, err := p.expectKind(tName)
	if err != nil {
		return nil, err
	}
	name := t.s
	for p.isOp(".") {
		p.next()
		part, err := p.expectKind(tName)
		if err != nil {
			return nil, err
		}
		name += "." + part.s
	}
	te := &testExpr{x: x, name: name, fn: tests[name], line: t.line}
	c := p.cur()
	switch {
	case p.isOp("("):
		if err := p.parseCallArgs(&te.callArgs); err != nil {
			return nil, err
		}
	case c.kind == tName || c.kind == tString || c.kind == tInt || c.kind == tFloat || p.isOp("[") || p.isOp("{"):
		if c.kind == tName && (c.s == "else" || c.s == "or" || c.s == "and") {
			break
		}
		if c.kind == tName && c.s == "is" {
			return nil, p.failf(c, "you cannot chain multiple tests with is")
		}
		arg, err := p.parsePrimary()
		if err != nil {
			return nil, err
		}
		if arg, err = p.parsePostfix(arg); err != nil {
			return nil, err
		}
		te.args = []expr{arg}
	}
	if negate {
		return &notExpr{te}, nil
	}
	return te, nil
}
