package jinja

import (
	"fmt"
	"math"
	"strings"
)

// Python's arithmetic, comparison and membership on template values.

func operandError(op string, x any) error {
	if u, ok := x.(undefined); ok {
		return u.err()
	}
	return fmt.Errorf("bad operand type for %s: '%s'", op, typeName(x))
}

func negate(x any) (any, error) {
	if n, ok := asInt(x); ok {
		return -n, nil
	}
	if f, ok := x.(float64); ok {
		return -f, nil
	}
	return nil, operandError("unary -", x)
}

// asInt accepts ints and bools (Python's bool is an int).
func asInt(v any) (int64, bool) { return asIndex(v) }

// asFloat accepts floats, ints and bools.
func asFloat(v any) (float64, bool) {
	if f, ok := v.(float64); ok {
		return f, true
	}
	if n, ok := asInt(v); ok {
		return float64(n), true
	}
	return 0, false
}

func binopError(op string, a, b any) error {
	for _, x := range []any{a, b} {
		if u, ok := x.(undefined); ok {
			return u.err()
		}
	}
	if op == "+" {
		if _, ok := a.(string); ok {
			return fmt.Errorf("can only concatenate str (not \"%s\") to str", typeName(b))
		}
		if _, ok := a.([]any); ok {
			return fmt.Errorf("can only concatenate list (not \"%s\") to list", typeName(b))
		}
	}
	return fmt.Errorf("unsupported operand type(s) for %s: '%s' and '%s'", op, typeName(a), typeName(b))
}

// binop is Python's a op b for + - * / // % **.
func binop(op string, a, b any) (any, error) {
	if v, ok, err := markupOp(op, a, b); ok {
		return v, err
	}
	a, b = plain(a), plain(b)
	switch op {
	case "+":
		switch x := a.(type) {
		case string:
			if y, ok := b.(string); ok {
				if len(x)+len(y) > maxOutput {
					return nil, fmt.Errorf("string exceeds %d bytes", maxOutput)
				}
				return x + y, nil
			}
		case []any:
			if y, ok := b.([]any); ok {
				return append(append(make([]any, 0, len(x)+len(y)), x...), y...), nil
			}
		case tuple:
			if y, ok := b.(tuple); ok {
				return append(append(make(tuple, 0, len(x)+len(y)), x...), y...), nil
			}
		}
	case "*":
		if v, ok, err := repeat(a, b); ok {
			return v, err
		}
		if v, ok, err := repeat(b, a); ok {
			return v, err
		}
	case "%":
		if s, ok := a.(string); ok {
			return percentFormat(s, b)
		}
	}
	ai, aInt := asInt(a)
	bi, bInt := asInt(b)
	if aInt && bInt {
		return intOp(op, ai, bi)
	}
	af, aNum := asFloat(a)
	bf, bNum := asFloat(b)
	if !aNum || !bNum {
		return nil, binopError(op, a, b)
	}
	return floatOp(op, af, bf)
}

// markupOp is Markup's +, * and %: the plain strings combined with a
// markup string are escaped first, and the result is markup.
func markupOp(op string, a, b any) (any, bool, error) {
	ma, aIs := a.(markup)
	mb, bIs := b.(markup)
	if !aIs && !bIs {
		return nil, false, nil
	}
	switch op {
	case "+":
		sa, okA := a.(string)
		sb, okB := b.(string)
		switch {
		case aIs && bIs:
			return markup(ma + mb), true, nil
		case aIs && okB:
			return markup(string(ma) + escapeHTML(sb)), true, nil
		case bIs && okA:
			return markup(escapeHTML(sa) + string(mb)), true, nil
		}
	case "*":
		v, err := binop("*", plain(a), plain(b))
		if s, ok := v.(string); ok {
			return markup(s), true, err
		}
		return v, true, err
	case "%":
		if !aIs {
			return nil, false, nil
		}
		args := b
		switch x := b.(type) {
		case string:
			args = escapeHTML(x)
		case tuple:
			esc := make(tuple, len(x))
			for i, e := range x {
				if s, ok := e.(string); ok {
					e = escapeHTML(s)
				}
				esc[i] = plain(e)
			}
			args = esc
		}
		s, err := percentFormat(string(ma), plain(args))
		return markup(s), true, err
	}
	return nil, false, nil
}

// repeat is seq * n for strings, lists and tuples.
func repeat(seq, count any) (any, bool, error) {
	n, ok := asInt(count)
	if !ok {
		return nil, false, nil
	}
	n = max(n, 0)
	if size(seq) == 0 {
		n = 0
	}
	switch s := seq.(type) {
	case string:
		if n > 0 && int64(len(s)) > maxOutput/n {
			return nil, true, fmt.Errorf("string exceeds %d bytes", maxOutput)
		}
		return strings.Repeat(s, int(n)), true, nil
	case []any, tuple:
		items, _ := iterate(s)
		if n > 0 && int64(len(items)) > (1<<20)/n {
			return nil, true, fmt.Errorf("sequence too long")
		}
		out := make([]any, 0, int(n)*len(items))
		for i := int64(0); i < n; i++ {
			out = append(out, items...)
		}
		if _, isTuple := s.(tuple); isTuple {
			return tuple(out), true, nil
		}
		return out, true, nil
	}
	return nil, false, nil
}

// errOverflow: Python's integers are unbounded, these are 64-bit.
var errOverflow = fmt.Errorf("integer overflow (Python integers beyond 64 bits are not supported)")

func intOp(op string, a, b int64) (any, error) {
	switch op {
	case "+":
		if s := a + b; (s > a) == (b > 0) {
			return s, nil
		}
		return nil, errOverflow
	case "-":
		if d := a - b; (d < a) == (b > 0) {
			return d, nil
		}
		return nil, errOverflow
	case "*":
		if a != 0 && ((a*b)/a != b || (a == -1 && b == math.MinInt64) || (b == -1 && a == math.MinInt64)) {
			return nil, errOverflow
		}
		return a * b, nil
	case "/":
		if b == 0 {
			return nil, fmt.Errorf("division by zero")
		}
		return float64(a) / float64(b), nil
	case "//":
		if b == 0 {
			return nil, fmt.Errorf("integer division or modulo by zero")
		}
		q := a / b
		if a%b != 0 && (a < 0) != (b < 0) {
			q--
		}
		return q, nil
	case "%":
		if b == 0 {
			return nil, fmt.Errorf("integer modulo by zero")
		}
		m := a % b
		if m != 0 && (m < 0) != (b < 0) {
			m += b
		}
		return m, nil
	case "**":
		if b < 0 {
			if a == 0 {
				return nil, fmt.Errorf("0.0 cannot be raised to a negative power")
			}
			return math.Pow(float64(a), float64(b)), nil
		}
		var res any = int64(1)
		var err error
		for base := any(a); b > 0; b >>= 1 {
			if b&1 == 1 {
				if res, err = intOp("*", res.(int64), base.(int64)); err != nil {
					return nil, err
				}
			}
			if b > 1 {
				if base, err = intOp("*", base.(int64), base.(int64)); err != nil {
					return nil, err
				}
			}
		}
		return res, nil
	}
	return nil, fmt.Errorf("unknown operator %s", op)
}

func floatOp(op string, a, b float64) (any, error) {
	switch op {
	case "+":
		return a + b, nil
	case "-":
		return a - b, nil
	case "*":
		return a * b, nil
	case "/":
		if b == 0 {
			return nil, fmt.Errorf("float division by zero")
		}
		return a / b, nil
	case "//":
		if b == 0 {
			return nil, fmt.Errorf("float floor division by zero")
		}
		div, _ := pyDivmod(a, b)
		return div, nil
	case "%":
		if b == 0 {
			return nil, fmt.Errorf("float modulo")
		}
		_, mod := pyDivmod(a, b)
		return mod, nil
	case "**":
		if a == 0 && b < 0 {
			return nil, fmt.Errorf("0.0 cannot be raised to a negative power")
		}
		if a < 0 && b != math.Trunc(b) {
			return nil, fmt.Errorf("complex results are not supported")
		}
		return math.Pow(a, b), nil
	}
	return nil, fmt.Errorf("unknown operator %s", op)
}

// pyDivmod is CPython's float divmod: a floor quotient and a modulo with
// the sign of b.
func pyDivmod(a, b float64) (float64, float64) {
	mod := math.Mod(a, b)
	div := (a - mod) / b
	if mod != 0 {
		if (b < 0) != (mod < 0) {
			mod += b
			div--
		}
	} else {
		mod = math.Copysign(0, b)
	}
	if div == 0 {
		return math.Copysign(0, a/b), mod
	}
	floor := math.Floor(div)
	if div-floor > 0.5 {
		floor++
	}
	return floor, mod
}

// equal is Python's ==.
func equal(a, b any) bool {
	a, b = plain(a), plain(b)
	if af, ok := asFloat(a); ok {
		bf, ok := asFloat(b)
		return ok && af == bf
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
		return ok && equalSeq(x, y)
	case tuple:
		y, ok := b.(tuple)
		return ok && equalSeq(x, y)
	case *view:
		y, ok := b.(*view)
		switch {
		case !ok || x.typ != y.typ || len(x.items) != len(y.items):
			return false
		case x.typ == "range":
			return equalSeq(x.items, y.items)
		case x.typ == "dict_values":
			return x == y
		}
		for _, e := range x.items { // keys and items views compare as sets
			found := false
			for _, f := range y.items {
				if equal(e, f) {
					found = true
					break
				}
			}
			if !found {
				return false
			}
		}
		return true
	case *Dict:
		y, ok := b.(*Dict)
		if !ok || len(x.keys) != len(y.keys) {
			return false
		}
		for i, k := range x.keys {
			yv, ok := y.get(k)
			if !ok || !equal(x.vals[i], yv) {
				return false
			}
		}
		return true
	}
	return a == b
}

func equalSeq(x, y []any) bool {
	if len(x) != len(y) {
		return false
	}
	for i := range x {
		if !equal(x[i], y[i]) {
			return false
		}
	}
	return true
}

// compare orders two values as Python's < does: numbers, strings (by code
// point), and lists or tuples element by element.
func compare(a, b any, op string) (int, error) {
	a, b = plain(a), plain(b)
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
	switch x := a.(type) {
	case string:
		if y, ok := b.(string); ok {
			return strings.Compare(x, y), nil
		}
	case []any:
		if y, ok := b.([]any); ok {
			return compareSeq(x, y, op)
		}
	case tuple:
		if y, ok := b.(tuple); ok {
			return compareSeq(x, y, op)
		}
	}
	for _, v := range []any{a, b} {
		if u, ok := v.(undefined); ok {
			return 0, u.err()
		}
	}
	return 0, fmt.Errorf("'%s' not supported between instances of '%s' and '%s'", op, typeName(a), typeName(b))
}

func compareSeq(x, y []any, op string) (int, error) {
	for i := 0; i < len(x) && i < len(y); i++ {
		if equal(x[i], y[i]) {
			continue
		}
		return compare(x[i], y[i], op)
	}
	switch {
	case len(x) < len(y):
		return -1, nil
	case len(x) > len(y):
		return 1, nil
	}
	return 0, nil
}

// pyContains is Python's item in container.
func pyContains(container, item any) (bool, error) {
	container, item = plain(container), plain(item)
	switch c := container.(type) {
	case string:
		s, ok := item.(string)
		if !ok {
			return false, fmt.Errorf("'in <string>' requires string as left operand, not %s", typeName(item))
		}
		return strings.Contains(c, s), nil
	case *Dict:
		if _, err := hashOf(item); err != nil {
			return false, err
		}
		_, ok := c.get(item)
		return ok, nil
	case undefined:
		return false, nil
	case *iterator:
		for {
			e, ok := c.next()
			if !ok {
				return false, nil
			}
			if equal(e, item) {
				return true, nil
			}
		}
	}
	items, err := iterate(container)
	if err != nil {
		return false, fmt.Errorf("argument of type '%s' is not iterable", typeName(container))
	}
	for _, e := range items {
		if equal(e, item) {
			return true, nil
		}
	}
	return false, nil
}
