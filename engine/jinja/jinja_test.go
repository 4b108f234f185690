package jinja

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type goldenCase struct {
	Template     string         `json:"template"`
	Conversation int            `json:"conversation"`
	Vars         map[string]any `json:"vars"`
	Output       *string        `json:"output"`
	Error        *string        `json:"error"`
}

// TestGoldens renders every template over the conversation corpus and
// requires byte equality with Python's jinja2 (scripts/jinja/make_goldens.py).
func TestGoldens(t *testing.T) {
	raw, err := os.ReadFile("testdata/goldens.json")
	require.NoError(t, err)
	var g struct{ Cases []goldenCase }
	require.NoError(t, json.Unmarshal(raw, &g))
	require.GreaterOrEqual(t, len(g.Cases), 200)
	templates := map[string]*Template{}
	seen := map[string]bool{}
	for _, c := range g.Cases {
		tmpl, ok := templates[c.Template]
		if !ok {
			src, err := os.ReadFile(filepath.Join("testdata", "templates", c.Template+".jinja"))
			require.NoError(t, err)
			tmpl, err = Parse(string(src))
			require.NoError(t, err, c.Template)
			templates[c.Template] = tmpl
		}
		seen[c.Template] = true
		got, err := tmpl.Render(c.Vars)
		if c.Error != nil {
			var raised *RaisedError
			require.ErrorAs(t, err, &raised, "%s conversation %d", c.Template, c.Conversation)
			assert.Equal(t, *c.Error, raised.Message)
			continue
		}
		require.NoError(t, err, "%s conversation %d", c.Template, c.Conversation)
		assert.Equal(t, *c.Output, got, "%s conversation %d gen=%v", c.Template, c.Conversation, c.Vars["add_generation_prompt"])
	}
	for _, name := range []string{"smollm2", "gemma3", "llama3", "llama3.1", "qwen2.5", "mistral", "phi3"} {
		assert.True(t, seen[name], name)
	}
}

func render(t *testing.T, src string, vars map[string]any) string {
	t.Helper()
	tmpl, err := Parse(src)
	require.NoError(t, err)
	out, err := tmpl.Render(vars)
	require.NoError(t, err)
	return out
}

func TestExpressions(t *testing.T) {
	cases := map[string]string{
		`{{ 1 + 2 * 3 }}`:                        "7",
		`{{ 7 // 2 }} {{ -7 // 2 }} {{ 7 / 2 }}`: "3 -4 3.5",
		`{{ 2 ** 10 }} {{ 7 % 3 }} {{ -7 % 3 }}`: "1024 1 2",
		`{{ "a" ~ 1 ~ none }}`:                   "a1None",
		`{{ [1, 2, 3][::-1] }}`:                  "[3, 2, 1]",
		`{{ "hello"[1:3] }}`:                     "el",
		`{{ {'a': 1, 'b': [True, None]} }}`:      "{'a': 1, 'b': [True, None]}",
		`{{ 'x' if false else 'y' }}`:            "y",
		`{{ 'x' if false }}`:                     "",
		`{{ 1.0 }} {{ 0.5 + 0.25 }}`:             "1.0 0.75",
		`{{ "it's" }}`:                           "it's",
		`{{ ["it's"] }}`:                         `["it's"]`,
		`{{ 'b' in 'abc' }} {{ 2 not in [1] }}`:  "True True",
		`{{ not 0 and 1 or 2 }}`:                 "1",
		`{{ -1|abs }}`:                           "1",
		`{{ 3 is odd }} {{ 4 is divisibleby 2 }} {{ x is defined }}`: "True True False",
	}
	for src, want := range cases {
		assert.Equal(t, want, render(t, src, nil), src)
	}
}

func TestFiltersAndMethods(t *testing.T) {
	vars := map[string]any{"msgs": []any{
		map[string]any{"role": "user", "content": " Hi "},
		map[string]any{"role": "assistant", "content": "Yo"},
	}}
	cases := map[string]string{
		`{{ msgs|length }}`:                                                 "2",
		`{{ msgs|map(attribute='role')|join(',') }}`:                        "user,assistant",
		`{{ msgs|selectattr('role', 'equalto', 'user')|list|length }}`:      "1",
		`{{ msgs[0].content|trim }}|{{ msgs[0]['content'].strip() }}`:       "Hi|Hi",
		`{{ "a,b,,c".split(",") }}`:                                         "['a', 'b', '', 'c']",
		`{{ " x  y ".split() }}`:                                            "['x', 'y']",
		`{{ "Hello World".lower().startswith("hello") }}`:                   "True",
		`{{ {"k": "é", "n": [1, 2.5]}|tojson }}`:                            `{"k": "é", "n": [1, 2.5]}`,
		`{{ {"a": {"b": 1}}|tojson(indent=2) }}`:                            "{\n  \"a\": {\n    \"b\": 1\n  }\n}",
		`{{ undefined_var|default("d") }}`:                                  "d",
		`{{ "abc"|upper }} {{ "hello world"|title }} {{ "hI"|capitalize }}`: "ABC Hello World Hi",
		`{{ [3, 1, 2]|sort|first }} {{ [3, 1, 2]|max }}`:                    "1 3",
		`{{ "<a>"|e }}`: "&lt;a&gt;",
	}
	for src, want := range cases {
		assert.Equal(t, want, render(t, src, vars), src)
	}
}

func TestStatements(t *testing.T) {
	src := `{% set ns = namespace(n=0) %}{% for i in range(5) if i != 2 %}{% if loop.first %}[{% endif %}{{ i }}{% if i == 3 %}{% break %}{% endif %}{% set ns.n = ns.n + i %}{% set local = 9 %}{% endfor %}]{{ ns.n }}{{ local is defined }}`
	assert.Equal(t, "[013]1False", render(t, src, nil))
	assert.Equal(t, "none", render(t, `{% for x in [] %}{{ x }}{% else %}none{% endfor %}`, nil))
	assert.Equal(t, "a=1 b=2 ", render(t, `{% for k, v in d.items() %}{{ k }}={{ v }} {% endfor %}`, map[string]any{"d": map[string]any{"b": 2, "a": 1}}))
	assert.Equal(t, "<x>!", render(t, `{% macro tag(name, end='!') %}<{{ name }}>{{ end }}{% endmacro %}{{ tag('x') }}`, nil))
	assert.Equal(t, "HI", render(t, `{% filter upper %}hi{% endfilter %}`, nil))
	assert.Equal(t, "{{ raw }}", render(t, `{% raw %}{{ raw }}{% endraw %}`, nil))
	assert.Equal(t, "ab", render(t, `{% set x %}ab{% endset %}{{ x }}`, nil))
}

func TestWhitespaceControl(t *testing.T) {
	// trim_blocks drops the newline after a block tag; lstrip_blocks drops the
	// indentation before it; a trailing newline is dropped.
	src := "<ul>\n  {% for i in [1, 2] %}\n  <li>{{ i }}</li>\n  {% endfor %}\n</ul>\n"
	assert.Equal(t, "<ul>\n  <li>1</li>\n  <li>2</li>\n</ul>", render(t, src, nil))
	assert.Equal(t, "a b", render(t, "a {{- ' ' -}} {{- 'b' }}", nil))
	assert.Equal(t, "ab", render(t, "a\n  {%- if true -%}\n  b{% endif %}", nil))
	assert.Equal(t, "x\n  y", render(t, "x\n  {%+ if true %}y{% endif %}", nil))
	assert.Equal(t, "a", render(t, "{# comment #}\na", nil))
}

func TestErrors(t *testing.T) {
	for _, src := range []string{
		"{% frobnicate %}", "{{ x|nosuchfilter }}", "{% if x %}", "{{ 1 + }}", "{{ 'unterminated }}",
		"{% for %}", "{{ x is nosuchtest }}", "{% endfor %}", "{{ (1, 2 }}",
	} {
		_, err := Parse(src)
		assert.Error(t, err, src)
	}
	tmpl, err := Parse("line1\n{{ raise_exception('boom') }}")
	require.NoError(t, err)
	_, err = tmpl.Render(nil)
	var raised *RaisedError
	require.True(t, errors.As(err, &raised))
	assert.Equal(t, "boom", raised.Message)

	tmpl, err = Parse("a\n{{ x.y.z }}")
	require.NoError(t, err)
	_, err = tmpl.Render(nil)
	require.Error(t, err)
	assert.True(t, strings.Contains(err.Error(), "line 2"), err.Error())
}

func FuzzParse(f *testing.F) {
	for _, name := range []string{"smollm2", "llama3.1", "qwen2.5", "gemma3"} {
		if src, err := os.ReadFile(filepath.Join("testdata", "templates", name+".jinja")); err == nil {
			f.Add(string(src))
		}
	}
	f.Add("{% for x in y %}{{ x|tojson }}{% endfor %}")
	f.Fuzz(func(t *testing.T, src string) {
		tmpl, err := Parse(src)
		if err != nil {
			return
		}
		_, _ = tmpl.Render(map[string]any{"messages": []any{map[string]any{"role": "user", "content": "hi"}}, "add_generation_prompt": true})
	})
}
