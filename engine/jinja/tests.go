package jinja

import (
	"fmt"
	"reflect"
)

// testFunc implements a test: x is name(args).
type testFunc func(r *renderer, x any, args []any, kw *Dict) (bool, error)

// tests are jinja2's built-in tests.
var tests map[string]testFunc

func init() {
	eq := cmpTest("==")
	ne := cmpTest("!=")
	lt, le, gt, ge := cmpTest("<"), cmpTest("<="), cmpTest(">"), cmpTest(">=")
	tests = map[string]testFunc{
		"defined":   unary(func(x any) bool { _, u := x.(undefined); return !u }),
		"undefined": unary(func(x any) bool { _, u := x.(undefined); return u }),
		"none":      unary(func(x any) bool { return x == nil }),
		"boolean":   unary(func(x any) bool { _, ok := x.(bool); return ok }),
		"true":      unary(func(x any) bool { b, ok := x.(bool); return ok && b }),
		"false":     unary(func(x any) bool { b, ok := x.(bool); return ok && !b }),
		"integer":   unary(func(x any) bool { _, ok := x.(int64); return ok }),
		"float":     unary(func(x any) bool { _, ok := x.(float64); return ok }),
		"number": unary(func(x any) bool {
			_, ok := asFloat(x)
			return ok
		}),
		"string":  unary(func(x any) bool { _, ok := x.(string); return ok }),
		"mapping": unary(func(x any) bool { _, ok := x.(*Dict); return ok }),
		"sequence": unary(func(x any) bool {
			switch x.(type) {
			case string, []any, tuple, *Dict, undefined:
				return true
			case *view:
				return x.(*view).indexable
			}
			return false
		}),
		"iterable": unary(func(x any) bool {
			switch x.(type) {
			case string, []any, tuple, *Dict, *view, *iterator, undefined:
				return true
			}
			return false
		}),
		"callable": unary(func(x any) bool {
			switch x.(type) {
			case *builtin, *macro, *loopContext, undefined:
				return true
			}
			return false
		}),
		"escaped": unary(func(any) bool { return false }),
		"lower":   unary(func(x any) bool { return strPredicate(str(x), "islower") }),
		"upper":   unary(func(x any) bool { return strPredicate(str(x), "isupper") }),
		"filter": unary(func(x any) bool {
			s, ok := x.(string)
			return ok && filters[s] != nil
		}),
		"test": unary(func(x any) bool {
			s, ok := x.(string)
			return ok && tests[s] != nil
		}),
		"odd":         modTest("odd"),
		"even":        modTest("even"),
		"divisibleby": modTest("divisibleby"),
		"sameas": func(_ *renderer, x any, args []any, kw *Dict) (bool, error) {
			a, err := bindArgs("sameas", args, kw, 1, "other")
			if err != nil {
				return false, err
			}
			return sameAs(x, a[0]), nil
		},
		"in": func(_ *renderer, x any, args []any, kw *Dict) (bool, error) {
			a, err := bindArgs("in", args, kw, 1, "seq")
			if err != nil {
				return false, err
			}
			return pyContains(a[0], x)
		},
		"==": eq, "eq": eq, "equalto": eq,
		"!=": ne, "ne": ne,
		"<": lt, "lt": lt, "lessthan": lt,
		"<=": le, "le": le,
		">": gt, "gt": gt, "greaterthan": gt,
		">=": ge, "ge": ge,
	}
}

func (r *renderer) applyTest(t *testExpr) (any, error) {
	x, err := r.eval(t.x)
	if err != nil {
		return nil, err
	}
	if t.fn == nil {
		return nil, &Error{Line: t.line, Msg: fmt.Sprintf("no test named '%s' found", t.name)}
	}
	args, kw, err := r.evalArgs(&t.callArgs)
	if err != nil {
		return nil, err
	}
	if err := r.charge(size(x)); err != nil {
		return nil, err
	}
	if _, ok := x.(markup); ok && t.name == "escaped" {
		return true, nil
	}
	return t.fn(r, plain(x), plainAll(args), plainKwargs(kw))
}

func unary(f func(any) bool) testFunc {
	return func(_ *renderer, x any, args []any, kw *Dict) (bool, error) {
		if _, err := bindArgs("test", args, kw, 0); err != nil {
			return false, err
		}
		return f(x), nil
	}
}

func cmpTest(op string) testFunc {
	return func(_ *renderer, x any, args []any, kw *Dict) (bool, error) {
		a, err := bindArgs("test", args, kw, 1, "other")
		if err != nil {
			return false, err
		}
		return compareOp(op, x, a[0])
	}
}

// modTest implements odd, even and divisibleby with Python's %.
func modTest(name string) testFunc {
	return func(_ *renderer, x any, args []any, kw *Dict) (bool, error) {
		var a []any
		var err error
		if name == "divisibleby" {
			a, err = bindArgs(name, args, kw, 1, "num")
		} else {
			a, err = bindArgs(name, args, kw, 0)
			a = []any{int64(2)}
		}
		if err != nil {
			return false, err
		}
		m, err := binop("%", x, a[0])
		if err != nil {
			return false, err
		}
		if name == "odd" {
			return equal(m, int64(1)), nil
		}
		return equal(m, int64(0)), nil
	}
}

// sameAs approximates Python's "is": equal scalars of the same type, the
// same container.
func sameAs(a, b any) bool {
	switch x := a.(type) {
	case nil, bool, int64, float64, string:
		return reflect.TypeOf(a) == reflect.TypeOf(b) && equal(a, b)
	case []any:
		y, ok := b.([]any)
		return ok && len(x) == len(y) && (len(x) == 0 || &x[0] == &y[0])
	case tuple:
		y, ok := b.(tuple)
		return ok && len(x) == len(y) && (len(x) == 0 || &x[0] == &y[0])
	case undefined:
		return false
	}
	return a == b
}
