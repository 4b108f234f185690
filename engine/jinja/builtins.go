package jinja

import (
	"fmt"
	"html"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// globals are the names every template sees, as Hugging Face sets them up.
func globals() map[string]any {
	return map[string]any{
		"raise_exception": builtin(func(_ *renderer, args []any, _ map[string]any) (any, error) {
			msg := ""
			if len(args) > 0 {
				msg = str(args[0])
			}
			return nil, &RaisedError{Message: msg}
		}),
		"strftime_now": builtin(func(_ *renderer, args []any, _ map[string]any) (any, error) {
			if len(args) != 1 {
				return nil, fmt.Errorf("strftime_now takes one format")
			}
			return strftime(time.Now(), str(args[0])), nil
		}),
		"namespace": builtin(func(_ *renderer, args []any, kwargs map[string]any) (any, error) {
			d := NewDict()
			d.namespace = true
			if len(args) == 1 {
				if src, ok := args[0].(*Dict); ok {
					for _, k := range src.keys {
						d.Set(k, src.m[k])
					}
				}
			}
			for _, k := range sortedKeys(kwargs) {
				d.Set(k, kwargs[k])
			}
			return d, nil
		}),
		"range": builtin(func(_ *renderer, args []any, _ map[string]any) (any, error) {
			var lo, hi, st int64 = 0, 0, 1
			ints := make([]int64, len(args))
			for i, a := range args {
				n, ok := asInt(a)
				if !ok {
					return nil, fmt.Errorf("range() arguments must be integers")
				}
				ints[i] = n
			}
			switch len(ints) {
			case 1:
				hi = ints[0]
			case 2:
				lo, hi = ints[0], ints[1]
			case 3:
				lo, hi, st = ints[0], ints[1], ints[2]
			default:
				return nil, fmt.Errorf("range() takes 1 to 3 arguments")
			}
			if st == 0 {
				return nil, fmt.Errorf("range() step must not be zero")
			}
			var out []any
			for i := lo; (st > 0 && i < hi) || (st < 0 && i > hi); i += st {
				if len(out) > 1<<20 {
					return nil, fmt.Errorf("range() too large")
				}
				out = append(out, i)
			}
			return out, nil
		}),
		"dict": builtin(func(_ *renderer, _ []any, kwargs map[string]any) (any, error) {
			d := NewDict()
			for _, k := range sortedKeys(kwargs) {
				d.Set(k, kwargs[k])
			}
			return d, nil
		}),
	}
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// strftime formats t with the C directives chat templates use.
func strftime(t time.Time, f string) string {
	var b strings.Builder
	for i := 0; i < len(f); i++ {
		if f[i] != '%' || i+1 == len(f) {
			b.WriteByte(f[i])
			continue
		}
		i++
		switch f[i] {
		case 'd':
			fmt.Fprintf(&b, "%02d", t.Day())
		case 'm':
			fmt.Fprintf(&b, "%02d", int(t.Month()))
		case 'Y':
			fmt.Fprintf(&b, "%d", t.Year())
		case 'y':
			fmt.Fprintf(&b, "%02d", t.Year()%100)
		case 'H':
			fmt.Fprintf(&b, "%02d", t.Hour())
		case 'M':
			fmt.Fprintf(&b, "%02d", t.Minute())
		case 'S':
			fmt.Fprintf(&b, "%02d", t.Second())
		case 'b':
			b.WriteString(t.Format("Jan"))
		case 'B':
			b.WriteString(t.Format("January"))
		case 'a':
			b.WriteString(t.Format("Mon"))
		case 'A':
			b.WriteString(t.Format("Monday"))
		case 'j':
			fmt.Fprintf(&b, "%03d", t.YearDay())
		case '%':
			b.WriteByte('%')
		default:
			b.WriteByte('%')
			b.WriteByte(f[i])
		}
	}
	return b.String()
}

type filterFunc func(r *renderer, x any, args []any, kwargs map[string]any) (any, error)

var filters map[string]filterFunc

func init() {
	filters = map[string]filterFunc{
		"trim": func(_ *renderer, x any, args []any, _ map[string]any) (any, error) {
			if len(args) > 0 {
				return strings.Trim(str(x), str(args[0])), nil
			}
			return strings.TrimFunc(str(x), unicode.IsSpace), nil
		},
		"length": fLength, "count": fLength,
		"lower":      strFilter(strings.ToLower),
		"upper":      strFilter(strings.ToUpper),
		"title":      strFilter(pyTitle),
		"capitalize": strFilter(pyCapitalize),
		"string":     func(_ *renderer, x any, _ []any, _ map[string]any) (any, error) { return str(x), nil },
		"safe":       func(_ *renderer, x any, _ []any, _ map[string]any) (any, error) { return x, nil },
		"escape":     fEscape, "e": fEscape,
		"default": fDefault, "d": fDefault,
		"join": func(r *renderer, x any, args []any, kwargs map[string]any) (any, error) {
			items, err := iterate(x)
			if err != nil {
				return nil, err
			}
			sep := ""
			if len(args) > 0 {
				sep = str(args[0])
			}
			attr, hasAttr := kwargs["attribute"]
			if len(args) > 1 {
				attr, hasAttr = args[1], true
			}
			parts := make([]string, len(items))
			for i, it := range items {
				if hasAttr {
					v, err := getItem(it, attr)
					if err != nil {
						return nil, err
					}
					it = v
				}
				parts[i] = str(it)
			}
			return strings.Join(parts, sep), nil
		},
		"first": func(_ *renderer, x any, _ []any, _ map[string]any) (any, error) {
			items, err := iterate(x)
			if err != nil || len(items) == 0 {
				return undefined{"first"}, err
			}
			return items[0], nil
		},
		"last": func(_ *renderer, x any, _ []any, _ map[string]any) (any, error) {
			items, err := iterate(x)
			if err != nil || len(items) == 0 {
				return undefined{"last"}, err
			}
			return items[len(items)-1], nil
		},
		"list": func(_ *renderer, x any, _ []any, _ map[string]any) (any, error) {
			items, err := iterate(x)
			return append([]any{}, items...), err
		},
		"reverse": func(_ *renderer, x any, _ []any, _ map[string]any) (any, error) {
			if s, ok := x.(string); ok {
				rs := []rune(s)
				for i, j := 0, len(rs)-1; i < j; i, j = i+1, j-1 {
					rs[i], rs[j] = rs[j], rs[i]
				}
				return string(rs), nil
			}
			items, err := iterate(x)
			out := make([]any, len(items))
			for i, it := range items {
				out[len(items)-1-i] = it
			}
			return out, err
		},
		"unique": func(_ *renderer, x any, _ []any, _ map[string]any) (any, error) {
			items, err := iterate(x)
			var out []any
			for _, it := range items {
				dup := false
				for _, o := range out {
					if equal(o, it) {
						dup = true
						break
					}
				}
				if !dup {
					out = append(out, it)
				}
			}
			return out, err
		},
		"map":        fMap,
		"select":     selectFilter(false, false),
		"reject":     selectFilter(true, false),
		"selectattr": selectFilter(false, true),
		"rejectattr": selectFilter(true, true),
		"tojson":     fToJSON,
		"int": func(_ *renderer, x any, args []any, _ map[string]any) (any, error) {
			switch v := x.(type) {
			case int64:
				return v, nil
			case float64:
				return int64(v), nil
			case bool:
				n, _ := asInt(v)
				return n, nil
			case string:
				if n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil {
					return n, nil
				}
				if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
					return int64(f), nil
				}
			}
			if len(args) > 0 {
				return args[0], nil
			}
			return int64(0), nil
		},
		"float": func(_ *renderer, x any, args []any, _ map[string]any) (any, error) {
			if f, ok := asFloat(x); ok {
				return f, nil
			}
			if s, ok := x.(string); ok {
				if f, err := strconv.ParseFloat(strings.TrimSpace(s), 64); err == nil {
					return f, nil
				}
			}
			if len(args) > 0 {
				return args[0], nil
			}
			return 0.0, nil
		},
		"abs": func(_ *renderer, x any, _ []any, _ map[string]any) (any, error) {
			switch v := x.(type) {
			case int64:
				if v < 0 {
					return -v, nil
				}
				return v, nil
			case float64:
				return math.Abs(v), nil
			}
			return nil, fmt.Errorf("bad operand type for abs(): '%s'", typeName(x))
		},
		"round": func(_ *renderer, x any, args []any, kwargs map[string]any) (any, error) {
			f, ok := asFloat(x)
			if !ok {
				return nil, fmt.Errorf("round needs a number")
			}
			prec := int64(0)
			if len(args) > 0 {
				prec, _ = asInt(args[0])
			}
			method := "common"
			if len(args) > 1 {
				method = str(args[1])
			}
			if m, ok := kwargs["method"]; ok {
				method = str(m)
			}
			p := math.Pow(10, float64(prec))
			switch method {
			case "ceil":
				return math.Ceil(f*p) / p, nil
			case "floor":
				return math.Floor(f*p) / p, nil
			}
			return math.Round(f*p) / p, nil
		},
		"replace": func(_ *renderer, x any, args []any, _ map[string]any) (any, error) {
			if len(args) < 2 {
				return nil, fmt.Errorf("replace needs two arguments")
			}
			n := -1
			if len(args) > 2 {
				c, _ := asInt(args[2])
				n = int(c)
			}
			return strings.Replace(str(x), str(args[0]), str(args[1]), n), nil
		},
		"indent": func(_ *renderer, x any, args []any, kwargs map[string]any) (any, error) {
			width := "    "
			if len(args) > 0 {
				if n, ok := asInt(args[0]); ok {
					width = strings.Repeat(" ", int(n))
				} else {
					width = str(args[0])
				}
			}
			first, blank := false, false
			if len(args) > 1 {
				first = truthy(args[1])
			}
			if len(args) > 2 {
				blank = truthy(args[2])
			}
			if v, ok := kwargs["first"]; ok {
				first = truthy(v)
			}
			if v, ok := kwargs["blank"]; ok {
				blank = truthy(v)
			}
			lines := strings.Split(str(x), "\n")
			for i := range lines {
				if (i > 0 || first) && (blank || strings.TrimSpace(lines[i]) != "") {
					lines[i] = width + lines[i]
				}
			}
			return strings.Join(lines, "\n"), nil
		},
		"items": func(_ *renderer, x any, _ []any, _ map[string]any) (any, error) {
			d, ok := x.(*Dict)
			if !ok {
				return nil, fmt.Errorf("items filter needs a mapping")
			}
			return dictItems(d), nil
		},
		"dictsort": func(_ *renderer, x any, _ []any, _ map[string]any) (any, error) {
			d, ok := x.(*Dict)
			if !ok {
				return nil, fmt.Errorf("dictsort needs a mapping")
			}
			items := dictItems(d)
			sort.SliceStable(items, func(i, j int) bool {
				return strings.ToLower(items[i].([]any)[0].(string)) < strings.ToLower(items[j].([]any)[0].(string))
			})
			return items, nil
		},
		"sort": func(_ *renderer, x any, args []any, kwargs map[string]any) (any, error) {
			items, err := iterate(x)
			if err != nil {
				return nil, err
			}
			out := append([]any{}, items...)
			rev := len(args) > 0 && truthy(args[0])
			if v, ok := kwargs["reverse"]; ok {
				rev = truthy(v)
			}
			attr, hasAttr := kwargs["attribute"]
			key := func(v any) any {
				if hasAttr {
					k, _ := getItem(v, attr)
					v = k
				}
				if s, ok := v.(string); ok {
					return strings.ToLower(s)
				}
				return v
			}
			var cmpErr error
			sort.SliceStable(out, func(i, j int) bool {
				c, err := compare(key(out[i]), key(out[j]))
				if err != nil {
					cmpErr = err
				}
				if rev {
					return c > 0
				}
				return c < 0
			})
			return out, cmpErr
		},
		"sum": func(_ *renderer, x any, _ []any, kwargs map[string]any) (any, error) {
			items, err := iterate(x)
			if err != nil {
				return nil, err
			}
			var total any = int64(0)
			for _, it := range items {
				if a, ok := kwargs["attribute"]; ok {
					it, _ = getItem(it, a)
				}
				if total, err = arith("+", total, it); err != nil {
					return nil, err
				}
			}
			return total, nil
		},
		"min": minMax(-1),
		"max": minMax(1),
		"wordcount": func(_ *renderer, x any, _ []any, _ map[string]any) (any, error) {
			return int64(len(strings.Fields(str(x)))), nil
		},
		"batch": func(_ *renderer, x any, args []any, _ map[string]any) (any, error) {
			items, err := iterate(x)
			if err != nil || len(args) == 0 {
				return nil, fmt.Errorf("batch needs a size")
			}
			n, _ := asInt(args[0])
			if n <= 0 {
				return nil, fmt.Errorf("batch size must be positive")
			}
			var out []any
			for i := 0; i < len(items); i += int(n) {
				out = append(out, append([]any{}, items[i:min(i+int(n), len(items))]...))
			}
			return out, nil
		},
	}
}

func strFilter(f func(string) string) filterFunc {
	return func(_ *renderer, x any, _ []any, _ map[string]any) (any, error) { return f(str(x)), nil }
}

func fLength(_ *renderer, x any, _ []any, _ map[string]any) (any, error) {
	switch v := x.(type) {
	case string:
		return int64(len([]rune(v))), nil
	case []any:
		return int64(len(v)), nil
	case *Dict:
		return int64(len(v.keys)), nil
	case undefined:
		return int64(0), nil
	}
	return nil, fmt.Errorf("object of type '%s' has no len()", typeName(x))
}

func fEscape(_ *renderer, x any, _ []any, _ map[string]any) (any, error) {
	return html.EscapeString(str(x)), nil
}

func fDefault(_ *renderer, x any, args []any, kwargs map[string]any) (any, error) {
	var def any = ""
	if len(args) > 0 {
		def = args[0]
	}
	boolean := len(args) > 1 && truthy(args[1])
	if v, ok := kwargs["boolean"]; ok {
		boolean = truthy(v)
	}
	if _, undef := x.(undefined); undef || (boolean && !truthy(x)) {
		return def, nil
	}
	return x, nil
}

func fMap(r *renderer, x any, args []any, kwargs map[string]any) (any, error) {
	items, err := iterate(x)
	if err != nil {
		return nil, err
	}
	out := make([]any, len(items))
	if attr, ok := kwargs["attribute"]; ok {
		for i, it := range items {
			v, err := getItem(it, attr)
			if err != nil {
				return nil, err
			}
			if _, undef := v.(undefined); undef {
				if d, ok := kwargs["default"]; ok {
					v = d
				}
			}
			out[i] = v
		}
		return out, nil
	}
	if len(args) == 0 {
		return nil, fmt.Errorf("map needs a filter name or attribute=")
	}
	name := str(args[0])
	f, ok := filters[name]
	if !ok {
		return nil, fmt.Errorf("no filter named %q", name)
	}
	for i, it := range items {
		v, err := f(r, it, args[1:], nil)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

func selectFilter(reject, byAttr bool) filterFunc {
	return func(_ *renderer, x any, args []any, _ map[string]any) (any, error) {
		items, err := iterate(x)
		if err != nil {
			return nil, err
		}
		var attr any
		if byAttr {
			if len(args) == 0 {
				return nil, fmt.Errorf("selectattr needs an attribute")
			}
			attr, args = args[0], args[1:]
		}
		testName := "truthy"
		if len(args) > 0 {
			testName, args = str(args[0]), args[1:]
		}
		var out []any
		for _, it := range items {
			v := it
			if byAttr {
				if v, err = getItem(it, attr); err != nil {
					return nil, err
				}
			}
			var ok bool
			if testName == "truthy" {
				ok = truthy(v)
			} else {
				t, found := tests[testName]
				if !found {
					return nil, fmt.Errorf("no test named %q", testName)
				}
				if ok, err = t(v, args); err != nil {
					return nil, err
				}
			}
			if ok != reject {
				out = append(out, it)
			}
		}
		return out, nil
	}
}

func minMax(sign int) filterFunc {
	return func(_ *renderer, x any, _ []any, _ map[string]any) (any, error) {
		items, err := iterate(x)
		if err != nil || len(items) == 0 {
			return undefined{"min/max"}, err
		}
		best := items[0]
		for _, it := range items[1:] {
			c, err := compare(it, best)
			if err != nil {
				return nil, err
			}
			if c*sign > 0 {
				best = it
			}
		}
		return best, nil
	}
}

func dictItems(d *Dict) []any {
	out := make([]any, len(d.keys))
	for i, k := range d.keys {
		out[i] = []any{k, d.m[k]}
	}
	return out
}

// pyTitle is Python's str.title().
func pyTitle(s string) string {
	var b strings.Builder
	prevCased := false
	for _, r := range s {
		if unicode.IsLetter(r) {
			if prevCased {
				b.WriteRune(unicode.ToLower(r))
			} else {
				b.WriteRune(unicode.ToTitle(r))
			}
			prevCased = true
		} else {
			b.WriteRune(r)
			prevCased = false
		}
	}
	return b.String()
}

// pyCapitalize is Python's str.capitalize().
func pyCapitalize(s string) string {
	rs := []rune(strings.ToLower(s))
	if len(rs) > 0 {
		rs[0] = unicode.ToTitle(rs[0])
	}
	return string(rs)
}

type testFunc func(x any, args []any) (bool, error)

var tests = map[string]testFunc{
	"defined":   func(x any, _ []any) (bool, error) { _, u := x.(undefined); return !u, nil },
	"undefined": func(x any, _ []any) (bool, error) { _, u := x.(undefined); return u, nil },
	"none":      func(x any, _ []any) (bool, error) { return x == nil, nil },
	"string":    func(x any, _ []any) (bool, error) { _, ok := x.(string); return ok, nil },
	"mapping":   func(x any, _ []any) (bool, error) { _, ok := x.(*Dict); return ok, nil },
	"number": func(x any, _ []any) (bool, error) {
		switch x.(type) {
		case int64, float64:
			return true, nil
		}
		return false, nil
	},
	"integer": func(x any, _ []any) (bool, error) { _, ok := x.(int64); return ok, nil },
	"float":   func(x any, _ []any) (bool, error) { _, ok := x.(float64); return ok, nil },
	"boolean": func(x any, _ []any) (bool, error) { _, ok := x.(bool); return ok, nil },
	"true":    func(x any, _ []any) (bool, error) { b, ok := x.(bool); return ok && b, nil },
	"false":   func(x any, _ []any) (bool, error) { b, ok := x.(bool); return ok && !b, nil },
	"sequence": func(x any, _ []any) (bool, error) {
		switch x.(type) {
		case string, []any, *Dict:
			return true, nil
		}
		return false, nil
	},
	"iterable": func(x any, _ []any) (bool, error) {
		switch x.(type) {
		case string, []any, *Dict:
			return true, nil
		}
		return false, nil
	},
	"callable": func(x any, _ []any) (bool, error) {
		switch x.(type) {
		case builtin, *macro:
			return true, nil
		}
		return false, nil
	},
	"even": func(x any, _ []any) (bool, error) { n, ok := asInt(x); return ok && n%2 == 0, nil },
	"odd":  func(x any, _ []any) (bool, error) { n, ok := asInt(x); return ok && n%2 != 0, nil },
	"divisibleby": func(x any, args []any) (bool, error) {
		n, ok1 := asInt(x)
		if len(args) != 1 {
			return false, fmt.Errorf("divisibleby needs one argument")
		}
		d, ok2 := asInt(args[0])
		return ok1 && ok2 && d != 0 && n%d == 0, nil
	},
	"equalto": testEq, "eq": testEq, "==": testEq, "sameas": testEq,
	"ne": func(x any, args []any) (bool, error) { ok, err := testEq(x, args); return !ok, err },
	"lt": testCmp(func(c int) bool { return c < 0 }),
	"le": testCmp(func(c int) bool { return c <= 0 }),
	"gt": testCmp(func(c int) bool { return c > 0 }),
	"ge": testCmp(func(c int) bool { return c >= 0 }),
	"in": func(x any, args []any) (bool, error) {
		if len(args) != 1 {
			return false, fmt.Errorf("in test needs one argument")
		}
		return contains(args[0], x)
	},
	"lower": func(x any, _ []any) (bool, error) { s, ok := x.(string); return ok && strings.ToLower(s) == s, nil },
	"upper": func(x any, _ []any) (bool, error) { s, ok := x.(string); return ok && strings.ToUpper(s) == s, nil },
}

func testEq(x any, args []any) (bool, error) {
	if len(args) != 1 {
		return false, fmt.Errorf("equalto needs one argument")
	}
	return equal(x, args[0]), nil
}

func testCmp(ok func(int) bool) testFunc {
	return func(x any, args []any) (bool, error) {
		if len(args) != 1 {
			return false, fmt.Errorf("comparison test needs one argument")
		}
		c, err := compare(x, args[0])
		return err == nil && ok(c), err
	}
}

func (r *renderer) applyFilter(f *filterExpr, x any) (any, error) {
	args, err := r.evalList(f.args)
	if err != nil {
		return nil, err
	}
	kwargs := map[string]any{}
	for _, kw := range f.kwargs {
		v, err := r.eval(kw.v)
		if err != nil {
			return nil, err
		}
		kwargs[kw.name] = v
	}
	return filters[f.name](r, x, args, kwargs)
}
