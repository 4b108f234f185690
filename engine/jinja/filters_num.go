package jinja

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
)

// Number filters: abs, int, float, round.
func fAbs(_ *renderer, x any, _ []any, _ *Dict) (any, error) {
	switch v := x.(type) {
	case int64:
		if v < 0 {
			return -v, nil
		}
		return v, nil
	case bool:
		n, _ := asInt(v)
		return n, nil
	case float64:
		return math.Abs(v), nil
	}
	return nil, operandError("abs()", x)
}

func fInt(_ *renderer, x any, args []any, kw *Dict) (any, error) {
	a, err := bindArgs("int", args, kw, 0, "default", "base")
	if err != nil {
		return nil, err
	}
	def := orDefault(a[0], int64(0))
	base, err := intArg("int", a[1], 10)
	if err != nil {
		return nil, err
	}
	switch v := x.(type) {
	case undefined:
		return nil, v.err()
	case int64:
		return v, nil
	case bool:
		n, _ := asInt(v)
		return n, nil
	case float64:
		return floatToInt(v, def)
	case string:
		if n, ok := pyParseInt(v, int(base)); ok {
			return n, nil
		}
		if f, ok := pyParseFloat(v); ok {
			return floatToInt(f, def)
		}
	}
	return def, nil
}

func floatToInt(f float64, def any) (any, error) {
	switch {
	case math.IsNaN(f):
		return def, nil
	case math.IsInf(f, 0):
		return nil, fmt.Errorf("cannot convert float infinity to integer")
	case math.Abs(f) >= 1<<63:
		return nil, fmt.Errorf("integer %s is too large", formatFloat(f))
	}
	return int64(f), nil
}

func fFloat(_ *renderer, x any, args []any, kw *Dict) (any, error) {
	a, err := bindArgs("float", args, kw, 0, "default")
	if err != nil {
		return nil, err
	}
	switch v := x.(type) {
	case undefined:
		return nil, v.err()
	case string:
		if f, ok := pyParseFloat(v); ok {
			return f, nil
		}
	default:
		if f, ok := asFloat(v); ok {
			return f, nil
		}
	}
	return orDefault(a[0], 0.0), nil
}

// pyParseInt is Python's int(s, base) for strings.
func pyParseInt(s string, base int) (int64, bool) {
	s = strings.TrimFunc(s, isSpace)
	sign := ""
	if strings.HasPrefix(s, "+") || strings.HasPrefix(s, "-") {
		sign, s = s[:1], s[1:]
	}
	if len(s) > 2 && s[0] == '0' {
		p := map[byte]int{'x': 16, 'o': 8, 'b': 2}[s[1]|0x20]
		if p != 0 && (base == p || base == 0) {
			base, s = p, strings.TrimPrefix(s[2:], "_")
		}
	}
	if base == 0 {
		base = 10
	}
	if s == "" || s[0] == '_' || s[len(s)-1] == '_' || strings.Contains(s, "__") || base < 2 || base > 36 {
		return 0, false
	}
	n, err := strconv.ParseInt(sign+strings.ReplaceAll(s, "_", ""), base, 64)
	return n, err == nil
}

var pyFloatRE = regexp.MustCompile(`^[+-]?((\d(_?\d)*)?\.?\d(_?\d)*([eE][+-]?\d(_?\d)*)?|\d(_?\d)*\.([eE][+-]?\d(_?\d)*)?|(?i:inf|infinity|nan))$`)

// pyParseFloat is Python's float(s) for strings.
func pyParseFloat(s string) (float64, bool) {
	s = strings.TrimFunc(s, isSpace)
	if !pyFloatRE.MatchString(s) {
		return 0, false
	}
	f, err := strconv.ParseFloat(strings.ReplaceAll(s, "_", ""), 64)
	if err != nil && !math.IsInf(f, 0) {
		return 0, false
	}
	return f, true
}

func fRound(_ *renderer, x any, args []any, kw *Dict) (any, error) {
	a, err := bindArgs("round", args, kw, 0, "precision", "method")
	if err != nil {
		return nil, err
	}
	prec, err := intArg("round", a[0], 0)
	if err != nil {
		return nil, err
	}
	if prec > 300 || prec < -300 {
		return nil, fmt.Errorf("precision out of range")
	}
	method := orDefault(a[1], "common")
	if method != "common" && method != "ceil" && method != "floor" {
		return nil, fmt.Errorf("method must be common, ceil or floor")
	}
	if u, ok := x.(undefined); ok {
		return nil, u.err()
	}
	f, ok := asFloat(x)
	if !ok {
		return nil, fmt.Errorf("type %s doesn't define __round__ method", typeName(x))
	}
	p := math.Pow(10, float64(prec))
	if method == "ceil" || method == "floor" {
		// Python's math.ceil and math.floor return ints: no -0.
		c := math.Floor(f * p)
		if method == "ceil" {
			c = math.Ceil(f * p)
		}
		if c == 0 {
			c = 0
		}
		return c / p, nil
	}
	q := math.Pow(10, float64(-prec)) // rounding to a multiple of q when prec < 0
	if n, isInt := asInt(x); isInt {
		if prec >= 0 {
			return n, nil
		}
		return int64(math.RoundToEven(float64(n)/q) * q), nil
	}
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return f, nil
	}
	if prec >= 0 {
		// Python rounds the exact binary value, half to even; so does
		// strconv's fixed formatting.
		r, _ := strconv.ParseFloat(strconv.FormatFloat(f, 'f', int(prec), 64), 64)
		return r, nil
	}
	return math.RoundToEven(f/q) * q, nil
}
