package jinja

import (
	"fmt"
	"strings"
	"time"
)

// maxRange is the sandbox's limit on range() lengths.
const maxRange = 100_000

// globalScope is the outermost scope of every render. Renders only read
// it, so they share it.
var globalScope = globals()

// globals returns the names every template sees: jinja2's defaults and the
// two transformers adds.
func globals() map[string]any {
	g := map[string]any{}
	add := func(name string, fn func(r *renderer, args []any, kw *Dict) (any, error)) {
		g[name] = &builtin{name: name, fn: fn}
	}
	add("raise_exception", func(r *renderer, args []any, kw *Dict) (any, error) {
		a, err := bindArgs("raise_exception", args, kw, 1, "message")
		if err != nil {
			return nil, err
		}
		return nil, &RaisedError{Message: str(a[0]), Line: r.line}
	})
	add("strftime_now", func(_ *renderer, args []any, kw *Dict) (any, error) {
		a, err := bindArgs("strftime_now", args, kw, 1, "format")
		if err != nil {
			return nil, err
		}
		f, err := strArg("strftime_now", a[0])
		if err != nil {
			return nil, err
		}
		return strftime(now(), f), nil
	})
	add("range", fRange)
	add("dict", func(_ *renderer, args []any, kw *Dict) (any, error) {
		if len(args) > 1 {
			return nil, fmt.Errorf("dict expected at most 1 argument, got %d", len(args))
		}
		d := NewDict()
		if len(args) == 1 {
			if err := updateDict(d, args[0]); err != nil {
				return nil, err
			}
		}
		return d, updateDict(d, kw)
	})
	add("namespace", func(_ *renderer, args []any, kw *Dict) (any, error) {
		if len(args) > 1 {
			return nil, fmt.Errorf("namespace expected at most 1 argument, got %d", len(args))
		}
		ns := &namespace{attrs: NewDict()}
		if len(args) == 1 {
			if err := updateDict(ns.attrs, args[0]); err != nil {
				return nil, err
			}
		}
		return ns, updateDict(ns.attrs, kw)
	})
	add("cycler", func(_ *renderer, args []any, kw *Dict) (any, error) {
		if len(args) == 0 || (kw != nil && kw.Len() > 0) {
			return nil, fmt.Errorf("cycler takes at least one positional argument")
		}
		return &cycler{items: args}, nil
	})
	add("joiner", func(_ *renderer, args []any, kw *Dict) (any, error) {
		a, err := bindArgs("joiner", args, kw, 0, "sep")
		if err != nil {
			return nil, err
		}
		sep, used := str(orDefault(a[0], ", ")), false
		return &builtin{name: "joiner", fn: func(*renderer, []any, *Dict) (any, error) {
			if !used {
				used = true
				return "", nil
			}
			return sep, nil
		}}, nil
	})
	add("lipsum", func(*renderer, []any, *Dict) (any, error) {
		return nil, fmt.Errorf("lipsum() is not supported")
	})
	return g
}

// updateDict is dict.update(src) for a mapping or an iterable of pairs.
func updateDict(d *Dict, src any) error {
	switch s := src.(type) {
	case nil:
		return nil
	case *Dict:
		for i, k := range s.keys {
			_ = d.set(k, s.vals[i])
		}
		return nil
	case *namespace:
		return fmt.Errorf("'Namespace' object is not iterable")
	}
	items, err := iterate(src)
	if err != nil {
		return err
	}
	for i, it := range items {
		pair, err := iterate(it)
		if err != nil || len(pair) != 2 {
			return fmt.Errorf("dictionary update sequence element #%d has the wrong length", i)
		}
		if err := d.set(pair[0], pair[1]); err != nil {
			return err
		}
	}
	return nil
}

func fRange(_ *renderer, args []any, kw *Dict) (any, error) {
	if kw != nil && kw.Len() > 0 {
		return nil, fmt.Errorf("range() takes no keyword arguments")
	}
	ints := make([]int64, len(args))
	for i, a := range args {
		n, ok := asInt(a)
		if !ok {
			return nil, fmt.Errorf("'%s' object cannot be interpreted as an integer", typeName(a))
		}
		ints[i] = n
	}
	var lo, hi, st int64 = 0, 0, 1
	switch len(ints) {
	case 1:
		hi = ints[0]
	case 2:
		lo, hi = ints[0], ints[1]
	case 3:
		lo, hi, st = ints[0], ints[1], ints[2]
	default:
		return nil, fmt.Errorf("range expected 1 to 3 arguments, got %d", len(ints))
	}
	if st == 0 {
		return nil, fmt.Errorf("range() arg 3 must not be zero")
	}
	return newRange(lo, hi, st)
}

// newRange makes range(lo, hi, st), within the sandbox's size limit.
func newRange(lo, hi, st int64) (*view, error) {
	n := int64(0)
	switch {
	case st > 0 && hi > lo:
		n = (hi-lo-1)/st + 1
	case st < 0 && lo > hi:
		n = (lo-hi-1)/-st + 1
	}
	if n > maxRange || n < 0 {
		return nil, fmt.Errorf("range too big, maximum size for range is %d", maxRange)
	}
	out := make([]any, n)
	for i := range out {
		out[i] = lo + int64(i)*st
	}
	text := fmt.Sprintf("range(%d, %d)", lo, hi)
	if st != 1 {
		text = fmt.Sprintf("range(%d, %d, %d)", lo, hi, st)
	}
	return &view{typ: "range", items: out, text: text, indexable: true, start: lo, step: st}, nil
}

// strftime formats t with the C library's directives (glibc flavour,
// including the - flag that drops padding).
func strftime(t time.Time, f string) string {
	var b strings.Builder
	for i := 0; i < len(f); i++ {
		if f[i] != '%' || i+1 == len(f) {
			b.WriteByte(f[i])
			continue
		}
		i++
		noPad := false
		if f[i] == '-' && i+1 < len(f) {
			noPad = true
			i++
		}
		num := func(n, width int) {
			if noPad {
				fmt.Fprintf(&b, "%d", n)
			} else {
				fmt.Fprintf(&b, "%0*d", width, n)
			}
		}
		hour12 := t.Hour() % 12
		if hour12 == 0 {
			hour12 = 12
		}
		switch f[i] {
		case 'd':
			num(t.Day(), 2)
		case 'e':
			if noPad {
				fmt.Fprintf(&b, "%d", t.Day())
			} else {
				fmt.Fprintf(&b, "%2d", t.Day())
			}
		case 'm':
			num(int(t.Month()), 2)
		case 'Y':
			fmt.Fprintf(&b, "%d", t.Year())
		case 'y':
			num(t.Year()%100, 2)
		case 'H':
			num(t.Hour(), 2)
		case 'I':
			num(hour12, 2)
		case 'M':
			num(t.Minute(), 2)
		case 'S':
			num(t.Second(), 2)
		case 'j':
			num(t.YearDay(), 3)
		case 'p':
			b.WriteString(t.Format("PM"))
		case 'b', 'h':
			b.WriteString(t.Format("Jan"))
		case 'B':
			b.WriteString(t.Format("January"))
		case 'a':
			b.WriteString(t.Format("Mon"))
		case 'A':
			b.WriteString(t.Format("Monday"))
		case 'w':
			fmt.Fprintf(&b, "%d", int(t.Weekday()))
		case 'u':
			fmt.Fprintf(&b, "%d", (int(t.Weekday())+6)%7+1)
		case 'F':
			b.WriteString(t.Format("2006-01-02"))
		case 'T':
			b.WriteString(t.Format("15:04:05"))
		case 'D':
			b.WriteString(t.Format("01/02/06"))
		case 'R':
			b.WriteString(t.Format("15:04"))
		case 'c':
			b.WriteString(t.Format("Mon Jan _2 15:04:05 2006"))
		case 'x':
			b.WriteString(t.Format("01/02/06"))
		case 'X':
			b.WriteString(t.Format("15:04:05"))
		case 'n':
			b.WriteByte('\n')
		case 't':
			b.WriteByte('\t')
		case 'Z', 'z':
			// Python's datetime.now() is naive: no zone.
		case '%':
			b.WriteByte('%')
		default:
			b.WriteByte('%')
			if noPad {
				b.WriteByte('-')
			}
			b.WriteByte(f[i])
		}
	}
	return b.String()
}
