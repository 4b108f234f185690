package jinja

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Python's two string formatting languages: printf-style (str % values,
// the format filter) and str.format.

// fmtSpec is a parsed conversion: flags, width, precision and type.
type fmtSpec struct {
	fill              rune
	align             byte // '<', '>', '^', '=' or 0 for the type's default
	sign              byte // '+', '-', ' ' or 0
	alt, zero         bool
	width, prec       int // -1 when absent
	grouping, typ     byte
	percentConversion bool // printf-style, whose zero flag pads after the sign
}

// percentFormat is Python's format % values.
func percentFormat(format string, values any) (string, error) {
	var args []any
	mapping, isMap := values.(*Dict)
	// Python treats any subscriptable non-tuple as a mapping here: it
	// never complains that its values went unused.
	_, isList := values.([]any)
	_, isView := values.(*view)
	_, isUndef := values.(undefined)
	if t, ok := values.(tuple); ok {
		args = t
	} else {
		args = []any{values}
	}
	used := 0
	next := func() (any, error) {
		if used >= len(args) {
			return nil, fmt.Errorf("not enough arguments for format string")
		}
		used++
		return args[used-1], nil
	}
	var b strings.Builder
	for i := 0; i < len(format); i++ {
		c := format[i]
		if c != '%' {
			b.WriteByte(c)
			continue
		}
		i++
		if i >= len(format) {
			return "", fmt.Errorf("incomplete format")
		}
		var key *string
		if format[i] == '(' {
			end := strings.IndexByte(format[i:], ')')
			if end < 0 {
				return "", fmt.Errorf("incomplete format key")
			}
			k := format[i+1 : i+end]
			key = &k
			i += end + 1
		}
		sp := fmtSpec{fill: ' ', width: -1, prec: -1, percentConversion: true}
	flags:
		for ; i < len(format); i++ {
			switch format[i] {
			case '-':
				sp.align = '<'
			case '+':
				sp.sign = '+'
			case ' ':
				if sp.sign != '+' {
					sp.sign = ' '
				}
			case '#':
				sp.alt = true
			case '0':
				sp.zero = true
			default:
				break flags
			}
		}
		var err error
		if sp.width, i, err = percentNumber(format, i, next); err != nil {
			return "", err
		}
		if i < len(format) && format[i] == '.' {
			if sp.prec, i, err = percentNumber(format, i+1, next); err != nil {
				return "", err
			}
			sp.prec = max(sp.prec, 0)
		}
		for i < len(format) && strings.IndexByte("hlL", format[i]) >= 0 {
			i++
		}
		if i >= len(format) {
			return "", fmt.Errorf("incomplete format")
		}
		sp.typ = format[i]
		if sp.typ == '%' {
			b.WriteByte('%')
			continue
		}
		var v any
		switch {
		case key != nil:
			if !isMap {
				return "", fmt.Errorf("format requires a mapping")
			}
			var ok bool
			if v, ok = mapping.get(*key); !ok {
				return "", fmt.Errorf("KeyError: %s", quote(*key))
			}
		default:
			if v, err = next(); err != nil {
				return "", err
			}
		}
		s, err := formatValue(v, sp)
		if err != nil {
			return "", err
		}
		b.WriteString(s)
		if b.Len() > maxOutput {
			return "", fmt.Errorf("string exceeds %d bytes", maxOutput)
		}
	}
	if used < len(args) && !isMap && !isList && !isView && !isUndef {
		return "", fmt.Errorf("not all arguments converted during string formatting")
	}
	return b.String(), nil
}

// percentNumber reads a width or precision: digits or * (from the args).
func percentNumber(format string, i int, next func() (any, error)) (int, int, error) {
	if i < len(format) && format[i] == '*' {
		v, err := next()
		if err != nil {
			return 0, i, err
		}
		n, ok := asInt(v)
		if !ok {
			return 0, i, fmt.Errorf("* wants int")
		}
		return int(n), i + 1, nil
	}
	j := i
	for j < len(format) && isDigit(format[j]) {
		j++
	}
	if j == i {
		return -1, i, nil
	}
	n, err := strconv.Atoi(format[i:j])
	if err != nil || n > maxOutput {
		return 0, j, fmt.Errorf("width too big")
	}
	return n, j, nil
}

// braceFormat is Python's str.format(*args, **kwargs).
func braceFormat(format string, args []any, kwargs *Dict) (string, error) {
	var b strings.Builder
	auto, manual := 0, false
	for i := 0; i < len(format); i++ {
		c := format[i]
		switch {
		case c == '}' && i+1 < len(format) && format[i+1] == '}':
			b.WriteByte('}')
			i++
			continue
		case c == '}':
			return "", fmt.Errorf("single '}' encountered in format string")
		case c != '{':
			b.WriteByte(c)
			continue
		case i+1 < len(format) && format[i+1] == '{':
			b.WriteByte('{')
			i++
			continue
		}
		end := strings.IndexByte(format[i:], '}')
		if end < 0 {
			return "", fmt.Errorf("single '{' encountered in format string")
		}
		field := format[i+1 : i+end]
		i += end
		if strings.ContainsRune(field, '{') {
			return "", fmt.Errorf("nested replacement fields are not supported")
		}
		field, spec, _ := strings.Cut(field, ":")
		field, conv, hasConv := strings.Cut(field, "!")
		name := field
		rest := ""
		if k := strings.IndexAny(field, ".["); k >= 0 {
			name, rest = field[:k], field[k:]
		}
		var v any
		switch {
		case name == "":
			if manual {
				return "", fmt.Errorf("cannot switch from manual field specification to automatic field numbering")
			}
			if auto >= len(args) {
				return "", fmt.Errorf("Replacement index %d out of range for positional args tuple", auto)
			}
			v = args[auto]
			auto++
		case isAllDigits(name):
			if auto > 0 {
				return "", fmt.Errorf("cannot switch from automatic field numbering to manual field specification")
			}
			manual = true
			n, _ := strconv.Atoi(name)
			if n >= len(args) {
				return "", fmt.Errorf("Replacement index %d out of range for positional args tuple", n)
			}
			v = args[n]
		default:
			var ok bool
			if kwargs != nil {
				v, ok = kwargs.get(name)
			}
			if !ok {
				return "", fmt.Errorf("KeyError: %s", quote(name))
			}
		}
		v, err := formatField(v, rest)
		if err != nil {
			return "", err
		}
		if hasConv {
			switch conv {
			case "r", "a":
				v = repr(v)
			case "s":
				v = str(v)
			default:
				return "", fmt.Errorf("unknown conversion specifier %s", conv)
			}
		}
		sp, err := parseFormatSpec(spec)
		if err != nil {
			return "", err
		}
		s, err := formatValue(v, sp)
		if err != nil {
			return "", err
		}
		b.WriteString(s)
		if b.Len() > maxOutput {
			return "", fmt.Errorf("string exceeds %d bytes", maxOutput)
		}
	}
	return b.String(), nil
}

func isAllDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return s != ""
}

// formatField follows .attr and [key] parts of a replacement field.
func formatField(v any, rest string) (any, error) {
	for rest != "" {
		var err error
		switch rest[0] {
		case '.':
			k := strings.IndexAny(rest[1:], ".[")
			if k < 0 {
				k = len(rest) - 1
			}
			if v, err = getattr(v, rest[1:1+k]); err != nil {
				return nil, err
			}
			rest = rest[1+k:]
		case '[':
			end := strings.IndexByte(rest, ']')
			if end < 0 {
				return nil, fmt.Errorf("missing ']' in format string")
			}
			var key any = rest[1:end]
			if isAllDigits(rest[1:end]) {
				n, _ := strconv.Atoi(rest[1:end])
				key = int64(n)
			}
			if v, err = getitem(v, key); err != nil {
				return nil, err
			}
			rest = rest[end+1:]
		default:
			return nil, fmt.Errorf("only '.' or '[' may follow ']' in format field specifier")
		}
		if u, ok := v.(undefined); ok {
			return nil, u.err()
		}
	}
	return v, nil
}

// parseFormatSpec parses [[fill]align][sign][#][0][width][,_][.precision][type].
func parseFormatSpec(spec string) (fmtSpec, error) {
	sp := fmtSpec{fill: ' ', width: -1, prec: -1}
	rs := []rune(spec)
	i := 0
	isAlign := func(r rune) bool { return r == '<' || r == '>' || r == '^' || r == '=' }
	if len(rs) >= 2 && isAlign(rs[1]) {
		sp.fill, sp.align, i = rs[0], byte(rs[1]), 2
	} else if len(rs) >= 1 && isAlign(rs[0]) {
		sp.align, i = byte(rs[0]), 1
	}
	if i < len(rs) && (rs[i] == '+' || rs[i] == '-' || rs[i] == ' ') {
		sp.sign = byte(rs[i])
		i++
	}
	if i < len(rs) && rs[i] == '#' {
		sp.alt = true
		i++
	}
	if i < len(rs) && rs[i] == '0' {
		sp.zero = true
		i++
	}
	j := i
	for j < len(rs) && rs[j] >= '0' && rs[j] <= '9' {
		j++
	}
	if j > i {
		n, err := strconv.Atoi(string(rs[i:j]))
		if err != nil || n > maxOutput {
			return sp, fmt.Errorf("too many decimal digits in format string")
		}
		sp.width = n
	}
	i = j
	if i < len(rs) && (rs[i] == ',' || rs[i] == '_') {
		sp.grouping = byte(rs[i])
		i++
	}
	if i < len(rs) && rs[i] == '.' {
		j = i + 1
		for j < len(rs) && rs[j] >= '0' && rs[j] <= '9' {
			j++
		}
		if j == i+1 {
			return sp, fmt.Errorf("format specifier missing precision")
		}
		n, err := strconv.Atoi(string(rs[i+1 : j]))
		if err != nil || n > 1000 {
			return sp, fmt.Errorf("precision too big")
		}
		sp.prec = n
		i = j
	}
	if i < len(rs) {
		if i != len(rs)-1 || rs[i] > 0x7f {
			return sp, fmt.Errorf("invalid format specifier")
		}
		sp.typ = byte(rs[i])
	}
	return sp, nil
}

// formatValue formats one value for either language.
func formatValue(v any, sp fmtSpec) (string, error) {
	if sp.percentConversion {
		switch sp.typ {
		case 's':
			return pad(truncate(str(v), sp.prec), sp, '>'), nil
		case 'r', 'a':
			return pad(truncate(repr(v), sp.prec), sp, '>'), nil
		case 'c':
			return formatChar(v, sp)
		}
		if strings.IndexByte("diouxXeEfFgG", sp.typ) < 0 {
			return "", fmt.Errorf("unsupported format character '%c'", sp.typ)
		}
		return formatNumber(v, sp)
	}
	switch x := v.(type) {
	case string:
		if sp.typ != 0 && sp.typ != 's' {
			return "", fmt.Errorf("Unknown format code '%c' for object of type 'str'", sp.typ)
		}
		return pad(truncate(x, sp.prec), sp, '<'), nil
	case int64, float64, bool:
		if _, isBool := x.(bool); isBool && sp.typ == 0 && sp == (fmtSpec{fill: ' ', width: -1, prec: -1}) {
			return str(x), nil
		}
		return formatNumber(v, sp)
	}
	if sp != (fmtSpec{fill: ' ', width: -1, prec: -1}) {
		return "", fmt.Errorf("unsupported format string passed to %s.__format__", typeName(v))
	}
	return str(v), nil
}

func truncate(s string, prec int) string {
	if prec < 0 || utf8.RuneCountInString(s) <= prec {
		return s
	}
	return string([]rune(s)[:prec])
}

func formatChar(v any, sp fmtSpec) (string, error) {
	switch x := v.(type) {
	case string:
		if utf8.RuneCountInString(x) == 1 {
			return pad(x, sp, '>'), nil
		}
	case int64:
		if x >= 0 && x <= 0x10ffff {
			return pad(string(rune(x)), sp, '>'), nil
		}
	}
	return "", fmt.Errorf("%%c requires an int or a unicode character, not %s", typeName(v))
}

// formatNumber formats an int or float with d, o, x, X, b, c, e, f, g, n,
// % or no type.
func formatNumber(v any, sp fmtSpec) (string, error) {
	if u, ok := v.(undefined); ok {
		return "", u.err()
	}
	typ := sp.typ
	i, isInt := asInt(v)
	f, isNum := asFloat(v)
	if !isNum {
		return "", fmt.Errorf("format requires a number, not %s", typeName(v))
	}
	var digits string
	neg := false
	switch typ {
	case 'd', 'i', 'u', 'n', 0:
		if !isInt && (typ != 0) {
			if !sp.percentConversion {
				return "", fmt.Errorf("Unknown format code '%c' for object of type 'float'", typ)
			}
			i, isInt = int64(f), true
			if math.IsInf(f, 0) || math.IsNaN(f) {
				return "", fmt.Errorf("cannot convert float %s to integer", formatFloat(f))
			}
		}
		if isInt {
			neg = i < 0
			digits = strconv.FormatUint(absInt(i), 10)
			digits = group(digits, sp.grouping)
			break
		}
		neg = math.Signbit(f) && !math.IsNaN(f)
		if sp.prec < 0 {
			digits = strings.TrimPrefix(formatFloat(f), "-")
		} else {
			digits = strconv.FormatFloat(math.Abs(f), 'g', max(sp.prec, 1), 64)
		}
	case 'o', 'x', 'X', 'b':
		if !isInt {
			return "", fmt.Errorf("%%%c format: an integer is required, not %s", typ, typeName(v))
		}
		neg = i < 0
		base := map[byte]int{'o': 8, 'x': 16, 'X': 16, 'b': 2}[typ]
		digits = strconv.FormatUint(absInt(i), base)
		if typ == 'X' {
			digits = strings.ToUpper(digits)
		}
		if sp.alt {
			digits = "0" + string(typ) + digits
		}
	case 'e', 'E', 'f', 'F', 'g', 'G', '%':
		neg = math.Signbit(f) && !math.IsNaN(f)
		prec := sp.prec
		if prec < 0 {
			prec = 6
		}
		a := math.Abs(f)
		switch typ {
		case 'e', 'E':
			digits = strconv.FormatFloat(a, 'e', prec, 64)
		case 'f', 'F':
			digits = group(strconv.FormatFloat(a, 'f', prec, 64), sp.grouping)
		case '%':
			digits = strconv.FormatFloat(a*100, 'f', prec, 64) + "%"
		default:
			digits = strconv.FormatFloat(a, 'g', max(prec, 1), 64)
			if sp.alt && !strings.Contains(digits, ".") {
				digits += "."
			}
		}
		switch {
		case math.IsInf(f, 0):
			digits = "inf"
		case math.IsNaN(f):
			digits = "nan"
		}
		if typ == 'E' || typ == 'F' || typ == 'G' {
			digits = strings.ToUpper(digits)
		}
	default:
		return "", fmt.Errorf("Unknown format code '%c' for object of type '%s'", typ, typeName(v))
	}
	sign := ""
	switch {
	case neg:
		sign = "-"
	case sp.sign == '+':
		sign = "+"
	case sp.sign == ' ':
		sign = " "
	}
	if sp.zero && sp.align == 0 || sp.align == '=' {
		fill := sp.fill
		if sp.zero && sp.align == 0 {
			fill = '0'
		}
		n := utf8.RuneCountInString(sign + digits)
		if sp.width > n {
			digits = strings.Repeat(string(fill), sp.width-n) + digits
		}
		return sign + digits, nil
	}
	return pad(sign+digits, sp, '>'), nil
}

func absInt(i int64) uint64 {
	if i < 0 {
		return uint64(-(i + 1)) + 1
	}
	return uint64(i)
}

// group inserts thousands separators into the integer part of digits.
func group(digits string, sep byte) string {
	if sep == 0 {
		return digits
	}
	intPart, frac, hasFrac := strings.Cut(digits, ".")
	var b strings.Builder
	for i, c := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteByte(sep)
		}
		b.WriteRune(c)
	}
	if hasFrac {
		b.WriteByte('.')
		b.WriteString(frac)
	}
	return b.String()
}

// pad applies width and alignment (def when none is given).
func pad(s string, sp fmtSpec, def byte) string {
	if sp.width < 0 {
		return s
	}
	align := sp.align
	if align == 0 || align == '=' {
		align = def
	}
	if align == '^' {
		return pyPad(s, sp.width, sp.fill, '^')
	}
	return pyPad(s, sp.width, sp.fill, align)
}
