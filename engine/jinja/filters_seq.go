package jinja

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Filters over sequences: first, last, list, reverse, items, join, map,
// select and reject, sort, dictsort, unique, min, max, sum, batch, slice.
func fFirst(_ *renderer, x any, _ []any, _ *Dict) (any, error) {
	if it, ok := x.(*iterator); ok {
		if v, ok := it.next(); ok {
			return v, nil
		}
		return undefined{hint: "No first item, sequence was empty."}, nil
	}
	items, err := iterate(x)
	if err != nil {
		return nil, err
	}
	if len(items) == 0 {
		return undefined{hint: "No first item, sequence was empty."}, nil
	}
	return items[0], nil
}

func fLast(_ *renderer, x any, _ []any, _ *Dict) (any, error) {
	if _, ok := x.(*iterator); ok {
		return nil, fmt.Errorf("'%s' object is not reversible", typeName(x))
	}
	items, err := iterate(x)
	if err != nil {
		return nil, err
	}
	if len(items) == 0 {
		return undefined{hint: "No last item, sequence was empty."}, nil
	}
	return items[len(items)-1], nil
}

func fList(_ *renderer, x any, _ []any, _ *Dict) (any, error) {
	items, err := iterate(x)
	return append([]any{}, items...), err
}

func fReverse(_ *renderer, x any, _ []any, _ *Dict) (any, error) {
	if s, ok := x.(string); ok {
		rs := []rune(s)
		for i, j := 0, len(rs)-1; i < j; i, j = i+1, j-1 {
			rs[i], rs[j] = rs[j], rs[i]
		}
		return string(rs), nil
	}
	_, oneShot := x.(*iterator)
	items, err := iterate(x)
	if err != nil {
		return nil, fmt.Errorf("argument must be iterable")
	}
	out := make([]any, len(items))
	for i, it := range items {
		out[len(items)-1-i] = it
	}
	if oneShot {
		return out, nil // Python reverses a list of the items
	}
	return &iterator{typ: "reversed", items: out}, nil
}

func fItems(_ *renderer, x any, _ []any, _ *Dict) (any, error) {
	switch d := x.(type) {
	case undefined:
		return newGenerator(nil), nil
	case *Dict:
		return newGenerator(d.items()), nil
	}
	return nil, fmt.Errorf("can only get item pairs from a mapping")
}

func fJoin(r *renderer, x any, args []any, kw *Dict) (any, error) {
	a, err := bindArgs("join", args, kw, 0, "d", "attribute")
	if err != nil {
		return nil, err
	}
	items, err := iterate(x)
	if err != nil {
		return nil, err
	}
	if attr := orDefault(a[1], nil); attr != nil {
		if items, err = mapAttr(items, attr, nil); err != nil {
			return nil, err
		}
	}
	sep := str(orDefault(a[0], ""))
	var b strings.Builder
	for i, it := range items {
		if i > 0 {
			b.WriteString(sep)
		}
		b.WriteString(str(it))
		if b.Len() > maxOutput {
			return nil, fmt.Errorf("string exceeds %d bytes", maxOutput)
		}
	}
	return b.String(), nil
}

// attrGetter follows a dotted attribute path ("a.b", "items.0") with
// getitem, as jinja2's make_attrgetter does; an Undefined step becomes def
// when def is not nil.
func attrGetter(attr, def any) func(any) (any, error) {
	parts := []any{attr}
	if s, ok := attr.(string); ok {
		parts = nil
		for _, p := range strings.Split(s, ".") {
			if isAllDigits(p) {
				n, _ := strconv.ParseInt(p, 10, 64)
				parts = append(parts, n)
			} else {
				parts = append(parts, p)
			}
		}
	}
	return func(item any) (any, error) {
		for _, p := range parts {
			var err error
			if item, err = getitem(item, p); err != nil {
				return nil, err
			}
			if _, undef := item.(undefined); undef && def != nil {
				item = def
			}
		}
		return item, nil
	}
}

// mapAttr replaces each item by its attribute.
func mapAttr(items []any, attr, def any) ([]any, error) {
	get := attrGetter(attr, def)
	out := make([]any, len(items))
	for i, it := range items {
		v, err := get(it)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

func fMap(r *renderer, x any, args []any, kw *Dict) (any, error) {
	if !truthy(x) {
		return newGenerator(nil), nil // jinja2 does not look at a false value at all
	}
	items, err := iterate(x)
	if err != nil {
		return nil, err
	}
	if len(args) == 0 && kw != nil {
		if attr, ok := kw.get("attribute"); ok {
			def, _ := kw.get("default")
			for _, k := range kw.keys {
				if k != "attribute" && k != "default" {
					return nil, fmt.Errorf("unexpected keyword argument %s", repr(k))
				}
			}
			out, err := mapAttr(items, attr, def)
			return newGenerator(out), err
		}
	}
	if len(args) == 0 {
		return nil, fmt.Errorf("map requires a filter argument")
	}
	name := str(args[0])
	f, ok := filters[name]
	if !ok {
		return nil, fmt.Errorf("no filter named '%s'", name)
	}
	out := make([]any, len(items))
	for i, it := range items {
		if out[i], err = f(r, it, args[1:], kw); err != nil {
			return nil, err
		}
	}
	return newGenerator(out), nil
}

func selectFilter(reject, byAttr bool) filterFunc {
	return func(r *renderer, x any, args []any, kw *Dict) (any, error) {
		if !truthy(x) {
			return newGenerator(nil), nil // jinja2 does not look at a false value at all
		}
		items, err := iterate(x)
		if err != nil {
			return nil, err
		}
		get := func(v any) (any, error) { return v, nil }
		if byAttr {
			if len(args) == 0 {
				return nil, fmt.Errorf("missing parameter for attribute name")
			}
			get, args = attrGetter(args[0], nil), args[1:]
		}
		var test testFunc
		if len(args) > 0 {
			name := str(args[0])
			if test = tests[name]; test == nil {
				return nil, fmt.Errorf("no test named '%s'", name)
			}
			args = args[1:]
		}
		var out []any
		for _, it := range items {
			v, err := get(it)
			if err != nil {
				return nil, err
			}
			ok := truthy(v)
			if test != nil {
				if ok, err = test(r, v, args, kw); err != nil {
					return nil, err
				}
			}
			if ok != reject {
				out = append(out, it)
			}
		}
		return newGenerator(out), nil
	}
}

// sortKey is an item's sort key: an attribute, lowered when
// case-insensitive.
func sortKey(attr any, caseSensitive bool) func(any) (any, error) {
	get := func(v any) (any, error) { return v, nil }
	if attr != nil {
		get = attrGetter(attr, nil)
	}
	return func(v any) (any, error) {
		k, err := get(v)
		if s, ok := k.(string); ok && !caseSensitive {
			return pyLower(s), err
		}
		return k, err
	}
}

// multiKey is the sort filter's key: a list of the comma-separated
// attributes (or of the item itself), lowered when case-insensitive.
// Comparing lists compares equal elements without ordering them, so equal
// Undefined keys do not fail.
func multiKey(attr any, caseSensitive bool) func(any) (any, error) {
	var getters []func(any) (any, error)
	if s, ok := attr.(string); ok {
		for _, part := range strings.Split(s, ",") {
			getters = append(getters, attrGetter(part, nil))
		}
	} else if attr != nil {
		getters = append(getters, attrGetter(attr, nil))
	} else {
		getters = append(getters, func(v any) (any, error) { return v, nil })
	}
	return func(v any) (any, error) {
		key := make([]any, len(getters))
		for i, get := range getters {
			k, err := get(v)
			if err != nil {
				return nil, err
			}
			if s, ok := k.(string); ok && !caseSensitive {
				k = pyLower(s)
			}
			key[i] = k
		}
		return key, nil
	}
}

// sortItems is Python's sorted(items, key=key, reverse=reverse).
func sortItems(items []any, key func(any) (any, error), reverse bool) ([]any, error) {
	keys := make([]any, len(items))
	for i, it := range items {
		k, err := key(it)
		if err != nil {
			return nil, err
		}
		keys[i] = k
	}
	idx := make([]int, len(items))
	for i := range idx {
		idx[i] = i
	}
	var cmpErr error
	sort.SliceStable(idx, func(i, j int) bool {
		a, b := keys[idx[i]], keys[idx[j]]
		if reverse {
			a, b = b, a
		}
		c, err := compare(a, b, "<")
		if err != nil && cmpErr == nil {
			cmpErr = err
		}
		return c < 0
	})
	if cmpErr != nil {
		return nil, cmpErr
	}
	out := make([]any, len(items))
	for i, k := range idx {
		out[i] = items[k]
	}
	return out, nil
}

func fSort(_ *renderer, x any, args []any, kw *Dict) (any, error) {
	a, err := bindArgs("sort", args, kw, 0, "reverse", "case_sensitive", "attribute")
	if err != nil {
		return nil, err
	}
	items, err := iterate(x)
	if err != nil {
		return nil, err
	}
	return sortItems(items, multiKey(orDefault(a[2], nil), truthy(orDefault(a[1], false))), truthy(orDefault(a[0], false)))
}

func fDictsort(_ *renderer, x any, args []any, kw *Dict) (any, error) {
	a, err := bindArgs("dictsort", args, kw, 0, "case_sensitive", "by", "reverse")
	if err != nil {
		return nil, err
	}
	d, ok := x.(*Dict)
	if !ok {
		if u, isU := x.(undefined); isU {
			return nil, u.err()
		}
		return nil, fmt.Errorf("'%s' object has no attribute 'items'", typeName(x))
	}
	pos := int64(0)
	switch orDefault(a[1], "key") {
	case "key":
	case "value":
		pos = 1
	default:
		return nil, fmt.Errorf("you can only sort by either \"key\" or \"value\"")
	}
	key := sortKey(pos, truthy(orDefault(a[0], false)))
	return sortItems(d.items(), key, truthy(orDefault(a[2], false)))
}

func fUnique(_ *renderer, x any, args []any, kw *Dict) (any, error) {
	a, err := bindArgs("unique", args, kw, 0, "case_sensitive", "attribute")
	if err != nil {
		return nil, err
	}
	items, err := iterate(x)
	if err != nil {
		return nil, err
	}
	key := sortKey(orDefault(a[1], nil), truthy(orDefault(a[0], false)))
	seen := map[hashKey]bool{}
	out := []any{}
	for _, it := range items {
		k, err := key(it)
		if err != nil {
			return nil, err
		}
		h, err := hashOf(k)
		if err != nil {
			return nil, err
		}
		if !seen[h] {
			seen[h] = true
			out = append(out, it)
		}
	}
	return newGenerator(out), nil
}

func minMax(sign int) filterFunc {
	name := map[int]string{1: "max", -1: "min"}[sign]
	return func(_ *renderer, x any, args []any, kw *Dict) (any, error) {
		a, err := bindArgs(name, args, kw, 0, "case_sensitive", "attribute")
		if err != nil {
			return nil, err
		}
		items, err := iterate(x)
		if err != nil {
			return nil, err
		}
		if len(items) == 0 {
			return undefined{hint: "No aggregated item, sequence was empty."}, nil
		}
		key := sortKey(orDefault(a[1], nil), truthy(orDefault(a[0], false)))
		best := items[0]
		bestKey, err := key(best)
		if err != nil {
			return nil, err
		}
		for _, it := range items[1:] {
			k, err := key(it)
			if err != nil {
				return nil, err
			}
			c, err := compare(k, bestKey, map[int]string{1: ">", -1: "<"}[sign])
			if err != nil {
				return nil, err
			}
			if c*sign > 0 {
				best, bestKey = it, k
			}
		}
		return best, nil
	}
}

func fSum(_ *renderer, x any, args []any, kw *Dict) (any, error) {
	a, err := bindArgs("sum", args, kw, 0, "attribute", "start")
	if err != nil {
		return nil, err
	}
	items, err := iterate(x)
	if err != nil {
		return nil, err
	}
	if attr := orDefault(a[0], nil); attr != nil {
		if items, err = mapAttr(items, attr, nil); err != nil {
			return nil, err
		}
	}
	total := orDefault(a[1], int64(0))
	if _, ok := total.(string); ok {
		return nil, fmt.Errorf("sum() can't sum strings [use ''.join(seq) instead]")
	}
	for _, it := range items {
		if total, err = binop("+", total, it); err != nil {
			return nil, err
		}
	}
	return total, nil
}

func fBatch(_ *renderer, x any, args []any, kw *Dict) (any, error) {
	a, err := bindArgs("batch", args, kw, 1, "linecount", "fill_with")
	if err != nil {
		return nil, err
	}
	n, err := intArg("batch", a[0], 0)
	if err != nil {
		return nil, err
	}
	if n <= 0 {
		return nil, fmt.Errorf("batch size must be positive")
	}
	items, err := iterate(x)
	if err != nil {
		return nil, err
	}
	fill := orDefault(a[1], nil)
	var out []any
	for i := 0; i < len(items); i += int(n) {
		row := append([]any{}, items[i:min(i+int(n), len(items))]...)
		for fill != nil && int64(len(row)) < n {
			row = append(row, fill)
		}
		out = append(out, row)
	}
	return newGenerator(out), nil
}

func fSlice(_ *renderer, x any, args []any, kw *Dict) (any, error) {
	a, err := bindArgs("slice", args, kw, 1, "slices", "fill_with")
	if err != nil {
		return nil, err
	}
	slices, err := intArg("slice", a[0], 0)
	if err != nil {
		return nil, err
	}
	if slices <= 0 || slices > 1<<20 {
		return nil, fmt.Errorf("slice count must be positive")
	}
	items, err := iterate(x)
	if err != nil {
		return nil, err
	}
	fill := orDefault(a[1], nil)
	n := int64(len(items))
	per, extra := n/slices, n%slices
	var out []any
	offset := int64(0)
	for i := int64(0); i < slices; i++ {
		start := offset + i*per
		if i < extra {
			offset++
		}
		end := offset + (i+1)*per
		part := append([]any{}, items[start:end]...)
		if fill != nil && i >= extra {
			part = append(part, fill)
		}
		out = append(out, part)
	}
	return newGenerator(out), nil
}
