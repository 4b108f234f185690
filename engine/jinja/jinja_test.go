package jinja

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func render(t *testing.T, src string, vars map[string]any) string {
	t.Helper()
	tmpl, err := Parse(src)
	require.NoError(t, err)
	out, err := tmpl.Render(vars)
	require.NoError(t, err)
	return out
}

// renderErr parses and renders src and returns the error, which must be a
// *Error or a *RaisedError.
func renderErr(t *testing.T, src string, vars map[string]any) error {
	t.Helper()
	tmpl, err := Parse(src)
	if err == nil {
		_, err = tmpl.Render(vars)
	}
	require.Error(t, err, src)
	var terr *Error
	var raised *RaisedError
	require.True(t, errors.As(err, &terr) || errors.As(err, &raised), "%T %v", err, err)
	return err
}

func TestChatTemplateVariables(t *testing.T) {
	// The variables the engine passes, as Go values.
	src := `{{ bos_token }}{% for m in messages %}<{{ m.role }}>{{ m['content'] | trim }}{% if not loop.last %}|{% endif %}{% endfor %}{% if add_generation_prompt %}<assistant>{% endif %}`
	vars := map[string]any{
		"messages": []map[string]any{
			{"role": "system", "content": " sys "},
			{"role": "user", "content": "héllo"},
		},
		"add_generation_prompt": true,
		"bos_token":             "<s>",
		"eos_token":             "</s>",
		"tools":                 nil,
	}
	assert.Equal(t, "<s><system>sys|<user>héllo<assistant>", render(t, src, vars))
}

func TestGoValues(t *testing.T) {
	vars := map[string]any{
		"i": 3, "u": uint8(4), "f": float32(0.5), "ss": []string{"a", "b"}, "ms": map[string]string{"k": "v"},
		"nested": map[string]any{"z": []any{1, map[string]any{"y": true}}, "a": nil},
		"ints":   []int{1, 2},
	}
	out := render(t, `{{ i + u }} {{ f }} {{ ss|join }} {{ ms }} {{ nested }} {{ ints|sum }}`, vars)
	assert.Equal(t, "7 0.5 ab {'k': 'v'} {'a': None, 'z': [1, {'y': True}]} 3", out)

	_, err := mustParse(t, "{{ x }}").Render(map[string]any{"x": struct{}{}})
	var terr *Error
	require.ErrorAs(t, err, &terr)
	assert.Contains(t, terr.Msg, `variable "x"`)
}

func mustParse(t *testing.T, src string) *Template {
	t.Helper()
	tmpl, err := Parse(src)
	require.NoError(t, err)
	return tmpl
}

func TestDictKeepsOrder(t *testing.T) {
	d := NewDict()
	d.Set("role", "user")
	d.Set("content", "hi")
	d.Set("role", "assistant") // replaced in place
	assert.Equal(t, 2, d.Len())
	v, ok := d.Get("role")
	assert.True(t, ok)
	assert.Equal(t, "assistant", v)
	_, ok = d.Get("missing")
	assert.False(t, ok)
	out := render(t, `{{ m|tojson }} {% for k in m %}{{ k }},{% endfor %}`, map[string]any{"m": d})
	assert.Equal(t, `{"role": "assistant", "content": "hi"} role,content,`, out)
	// A plain map iterates sorted.
	out = render(t, `{{ m|tojson }}`, map[string]any{"m": map[string]any{"role": "user", "content": "hi"}})
	assert.Equal(t, `{"content": "hi", "role": "user"}`, out)
}

func TestErrorsNameTheLine(t *testing.T) {
	cases := map[string]int{
		"a\n{% frobnicate %}":        2,
		"a\nb\n{{ x|nosuchfilter }}": 3,
		"{% if x %}\n\nno end":       3,
		"a\n{{ 1 + }}":               2,
		"a\n\n{{ 'unterminated }}":   3,
		"{% for %}":                  1,
		"a\n{{ x is nosuchtest }}":   2,
		"a\n{% endfor %}":            2,
		"a\n{{ (1, 2 }}":             2,
		"a\n{# unclosed comment":     2,
		"{% raw %}\nno end":          1,
		"a\n{% for x in y %}{% break %}{% endfor %}{% continue %}": 2,
	}
	for src, line := range cases {
		_, err := Parse(src)
		var terr *Error
		require.ErrorAs(t, err, &terr, src)
		assert.Equal(t, line, terr.Line, "%q: %v", src, err)
		assert.Contains(t, err.Error(), "line ", src)
	}

	err := renderErr(t, "line1\nline2\n{{ x.y }}", nil)
	var terr *Error
	require.ErrorAs(t, err, &terr)
	assert.Equal(t, 3, terr.Line)
	assert.Equal(t, "jinja: line 3: 'x' is undefined", err.Error())

	err = renderErr(t, "{% for m in messages %}\n{% if m.role == 'bad' %}\n{{ raise_exception('Bad role: ' ~ m.role) }}{% endif %}{% endfor %}",
		map[string]any{"messages": []any{map[string]any{"role": "bad"}}})
	var raised *RaisedError
	require.ErrorAs(t, err, &raised)
	assert.Equal(t, "Bad role: bad", raised.Message)
	assert.Equal(t, 3, raised.Line)
	assert.Equal(t, "jinja: line 3: template raised: Bad role: bad", err.Error())
}

func TestUnknownFilterInsideIfFailsOnlyWhenUsed(t *testing.T) {
	tmpl := mustParse(t, "{% if use %}{{ x|nosuch }}{% endif %}ok")
	out, err := tmpl.Render(map[string]any{"use": false})
	require.NoError(t, err)
	assert.Equal(t, "ok", out)
	_, err = tmpl.Render(map[string]any{"use": true})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "no filter named 'nosuch'")
}

func TestLimits(t *testing.T) {
	for name, src := range map[string]string{
		"steps":     "{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}",
		"recursion": "{% macro m() %}{{ m() }}{% endmacro %}{{ m() }}",
		"output":    "{% for a in range(100000) %}{{ 'x' * 1000 }}{% endfor %}",
		"repeat":    "{{ 'x' * 100000000 }}",
		"list":      "{{ [0] * 100000000 }}",
		"concat":    "{% set ns = namespace(s='xxxxxxxxxxxxxxxx') %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}",
		"range":     "{{ range(1000000)|length }}",
		"pow":       "{{ 3 ** 1000000000000 }}",
		"width":     "{{ '{:>1000000000}'.format('x') }}",
		"indent":    "{{ 'a\nb'|indent(1000000000) }}",
		"center":    "{{ 'a'|center(1000000000) }}",
	} {
		start := time.Now()
		err := renderErr(t, src, nil)
		assert.Less(t, time.Since(start), 10*time.Second, name)
		t.Logf("%s: %v", name, err)
	}
}

func TestBigConstants(t *testing.T) {
	// Folded at Parse time or not, big constants render and cost no more
	// than they should.
	start := time.Now()
	out := render(t, "{% for i in range(3) %}{{ 'x' * 5000000 }}{% endfor %}{{ 2**40 * [] }}{{ (2**40 * '')|length }}", nil)
	assert.Len(t, out, 3*5000000+len("[]0"))
	assert.Less(t, time.Since(start), 5*time.Second)
}

func TestConcurrentRender(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("testdata", "templates", "llama3.1.jinja"))
	require.NoError(t, err)
	tmpl := mustParse(t, string(src))
	vars := map[string]any{
		"messages":              []any{map[string]any{"role": "user", "content": "hi"}},
		"add_generation_prompt": true,
		"bos_token":             "<|begin_of_text|>",
		"date_string":           "01 Jan 2025",
	}
	want, err := tmpl.Render(vars)
	require.NoError(t, err)
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 20; j++ {
				got, err := tmpl.Render(vars)
				assert.NoError(t, err)
				assert.Equal(t, want, got)
			}
		}()
	}
	wg.Wait()
}

func TestStrftimeNow(t *testing.T) {
	saved := now
	defer func() { now = saved }()
	now = func() time.Time { return time.Date(2024, 7, 26, 14, 3, 9, 0, time.UTC) }
	out := render(t, `{{ strftime_now("%d %b %Y") }}|{{ strftime_now("%A %-d %B, %I:%M:%S %p %j %y %e %%") }}`, nil)
	assert.Equal(t, "26 Jul 2024|Friday 26 July, 02:03:09 PM 208 24 26 %", out)
}

func TestPythonFloatRepr(t *testing.T) {
	for f, want := range map[float64]string{
		1: "1.0", 0.1: "0.1", 1e16: "1e+16", 1e15: "1000000000000000.0", 1.5e-5: "1.5e-05",
		0.0001: "0.0001", -2.5: "-2.5", 123456789012345678: "1.2345678901234568e+17", 1e-7: "1e-07",
	} {
		assert.Equal(t, want, formatFloat(f), "%v", f)
	}
}

func TestPythonStringHelpers(t *testing.T) {
	assert.Equal(t, []string{"a", "b  c  "}, pySplitSpace("  a  b  c  ", 1))
	assert.Equal(t, []string{"  a  b", "c"}, pyRSplitSpace("  a  b  c  ", 1))
	assert.Equal(t, []string{"a,b", "c"}, pyRSplit("a,b,c", ",", 1))
	assert.Equal(t, []string{"a", "b", "", "c"}, pySplitlines("a\r\nb\u2028\vc", false))
	assert.Equal(t, "STRASSE", pyUpper("straße"))
	assert.Equal(t, "όσος", pyLower("ΌΣΟΣ"))
	assert.Equal(t, "It'S A 1St Try", pyTitle("it's a 1st try"))
	assert.Equal(t, "It's A-B (C)", jinjaTitle("it's a-b (c)"))
	assert.Equal(t, `'a\'b"c'`, quote(`a'b"c`))
	assert.Equal(t, `'\x00\u200b😀'`, quote("\x00\u200b😀"))
}

func TestNoPanics(t *testing.T) {
	// Inputs that once were or could be trouble: each renders or errors.
	for _, src := range []string{
		"", "{", "{{", "{%", "{#", "}}", "%}", "{{}}", "{%%}", "{{ }}", "{% %}", "{{ ( }}", "{{ ) }}",
		"{{ [ }}", "{{ ] }}", "{{ { }}", "{{ {1} }}", "{{ a. }}", "{{ a[ }}", "{{ a[] }}", "{{ a[::] }}",
		"{{ 'a' 'b }}", "{{ \"\\ }}", "{{ 1e }}", "{{ 0x }}", "{{ 99999999999999999999 }}", "{{ 1.e5 }}",
		"{% for %}{% endfor %}", "{% for x in %}", "{% for x y %}", "{% set %}", "{% set = 1 %}", "{% set x.y %}",
		"{% macro %}", "{% macro m( %}", "{% macro m(a=1, b) %}{% endmacro %}", "{% call %}", "{% call x %}{% endcall %}",
		"{% if %}{% endif %}", "{% elif %}", "{% else %}", "{% endif %}", "{% filter %}", "{% with %}", "{% raw %}",
		"{{ x is }}", "{{ x | }}", "{{ x|f( }}", "{{ f(a=1, 2) }}", "{{ f(*) }}", "{{ f(**) }}", "{{ -}}", "{{- }}",
		"{{ range(1, 2, 0) }}", "{{ (1, 2)[5] }}", "{{ 'abc'[10:20:-1] }}", "{{ [1][-10] }}", "{{ {}['x'] }}",
		"{{ l|batch(0)|list }}", "{{ l|slice(0)|list }}", "{{ 1|round(-400) }}", "{{ '%(' % {} }}", "{{ '%*d' % ('x', 1) }}",
		"{{ '{' .format() }}", "{{ '{0.x[}'.format(1) }}", "{{ '{:' .format(1) }}", "{{ '{!z}'.format(1) }}",
		"{{ 'a'.center(5, 'xy') }}", "{{ 'x'|int(base=99) }}", "{{ 'x'|indent(none) }}", "{{ namespace(1) }}",
		"{{ dict(1) }}", "{{ dict([[1]]) }}", "{{ cycler() }}", "{{ loop.cycle() }}", "{% for x in l %}{{ loop.cycle() }}{% endfor %}",
		"{{ '\xff\xfe' }}\xff", "{{ x }}\x00{{ y }}", "{% set a, (b, c) = 1, (2, 3) %}{{ a }}{{ b }}{{ c }}",
		"{% for a, (b, c) in [[1, [2, 3]]] %}{{ a }}{{ b }}{{ c }}{% endfor %}", "{{ -'a' }}", "{{ not }}",
		"{{ 1 < 2 < }}", "{{ a if }}", "{{ a if b else }}", "{{ [1, 2][1:2:3:4] }}", "{{ x[1, 2:3] }}",
	} {
		tmpl, err := Parse(src)
		if err != nil {
			var terr *Error
			assert.True(t, errors.As(err, &terr), "%q: %T", src, err)
			continue
		}
		_, err = tmpl.Render(map[string]any{"l": []any{1, 2, 3}})
		if err != nil {
			assert.False(t, strings.Contains(err.Error(), "internal error"), "%q: %v", src, err)
		}
	}
}

func FuzzParse(f *testing.F) {
	entries, _ := os.ReadDir(filepath.Join("testdata", "templates"))
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".jinja") {
			src, err := os.ReadFile(filepath.Join("testdata", "templates", e.Name()))
			if err == nil {
				f.Add(string(src))
			}
		}
	}
	for _, s := range []string{
		"{% for x in y if x %}{{ x|tojson(indent=2) }}{% else %}-{% endfor %}",
		"{% set ns = namespace(a=[]) %}{% set ns.a = ns.a + [1] %}{{ ns.a[::-1] }}",
		"{% macro m(a, b=2) %}{{ caller(a) }}{% endmacro %}{% call(x) m(1) %}{{ x }}{% endcall %}",
		"{{ '%s' % (1,) }}{{ '{}'.format(2) }}{{ 'a b'.split()|map('upper')|join }}",
		"  {%- raw -%} {{ }} {%+ endraw %}\n{#- c -#}",
	} {
		f.Add(s)
	}
	vars := map[string]any{
		"messages": []any{
			map[string]any{"role": "system", "content": "sys"},
			map[string]any{"role": "user", "content": "hi"},
			map[string]any{"role": "assistant", "content": "yo", "tool_calls": []any{map[string]any{"function": map[string]any{"name": "f", "arguments": map[string]any{"a": 1}}}}},
		},
		"add_generation_prompt": true, "bos_token": "<s>", "eos_token": "</s>", "tools": nil,
	}
	f.Fuzz(func(t *testing.T, src string) {
		tmpl, err := Parse(src)
		if err != nil {
			var terr *Error
			if !errors.As(err, &terr) || strings.Contains(err.Error(), "internal error") {
				t.Fatalf("Parse(%q): %v", src, err)
			}
			return
		}
		_, err = tmpl.Render(vars)
		if err != nil && strings.Contains(err.Error(), "internal error") {
			t.Fatalf("Render(%q): %v", src, err)
		}
	})
}

func BenchmarkRenderLlama31(b *testing.B) {
	src, err := os.ReadFile(filepath.Join("testdata", "templates", "llama3.1.jinja"))
	require.NoError(b, err)
	tmpl, err := Parse(string(src))
	require.NoError(b, err)
	var msgs []any
	for i := 0; i < 10; i++ {
		msgs = append(msgs, map[string]any{"role": "user", "content": "Question?"}, map[string]any{"role": "assistant", "content": "Answer."})
	}
	vars := map[string]any{"messages": msgs, "add_generation_prompt": true, "bos_token": "<|begin_of_text|>", "date_string": "01 Jan 2025"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tmpl.Render(vars); err != nil {
			b.Fatal(err)
		}
	}
}
