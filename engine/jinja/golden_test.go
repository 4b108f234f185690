package jinja

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// result is what Python's jinja2 produced: an output, or an error (its
// kind "raise" for raise_exception, and whether compiling or rendering
// failed).
type result struct {
	Output    *string `json:"output"`
	Error     *string `json:"error"`
	ErrorKind string  `json:"error_kind"`
	Phase     string  `json:"phase"`
}

// goldens is testdata/goldens.json, written by scripts/jinja/make_goldens.py
// with Python's jinja2 configured as transformers configures it.
type goldens struct {
	Now       string `json:"now"`
	Templates map[string]struct {
		BOS string `json:"bos_token"`
		EOS string `json:"eos_token"`
	} `json:"templates"`
	Conversations []struct {
		Messages []any          `json:"messages"`
		Extra    map[string]any `json:"extra"`
	} `json:"conversations"`
	Cases []struct {
		Template            string `json:"template"`
		Conversation        int    `json:"conversation"`
		AddGenerationPrompt bool   `json:"add_generation_prompt"`
		result
	} `json:"cases"`
	SnippetVars map[string]any `json:"snippet_vars"`
	Snippets    []struct {
		Name   string         `json:"name"`
		Source string         `json:"source"`
		Vars   map[string]any `json:"vars"`
		result
	} `json:"snippets"`
	RandomVars map[string]map[string]any `json:"random_vars"`
	Random     []struct {
		Kind     string         `json:"kind"`
		Source   string         `json:"source"`
		Template string         `json:"template"`
		Vars     map[string]any `json:"vars"`
		result
	} `json:"random"`
}

// loadGoldens reads the goldens, with JSON integers as int64 (as Python
// has them), and pins the strftime_now clock to the goldens' instant.
func loadGoldens(t *testing.T) *goldens {
	t.Helper()
	raw, err := os.ReadFile("testdata/goldens.json")
	require.NoError(t, err)
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var g goldens
	require.NoError(t, dec.Decode(&g))
	at, err := time.ParseInLocation("2006-01-02T15:04:05", g.Now, time.Local)
	require.NoError(t, err)
	saved := now
	now = func() time.Time { return at }
	t.Cleanup(func() { now = saved })
	return &g
}

// vars turns decoded JSON into Render variables: json.Number becomes int64
// or float64, and the maps are copied so one case cannot affect another.
func vars(parts ...map[string]any) map[string]any {
	out := map[string]any{}
	for _, p := range parts {
		for k, v := range p {
			out[k] = numbers(v)
		}
	}
	return out
}

func numbers(v any) any {
	switch x := v.(type) {
	case json.Number:
		if n, err := x.Int64(); err == nil && !strings.ContainsAny(x.String(), ".eE") {
			return n
		}
		f, _ := x.Float64()
		return f
	case map[string]any:
		return vars(x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = numbers(e)
		}
		return out
	}
	return v
}

func readTemplate(t *testing.T, name string) string {
	t.Helper()
	src, err := os.ReadFile(filepath.Join("testdata", "templates", name+".jinja"))
	require.NoError(t, err)
	return string(src)
}

// check requires what Python produced: the same bytes, or an error (at
// Parse when jinja2 failed to compile; raise_exception's message exactly).
func check(t *testing.T, want result, src string, v map[string]any, what ...any) {
	t.Helper()
	msg := fmt.Sprint(what...)
	tmpl, err := Parse(src)
	if want.Phase == "parse" {
		require.Error(t, err, "%s: jinja2: %s: %s", msg, want.ErrorKind, *want.Error)
		var terr *Error
		assert.True(t, errors.As(err, &terr), msg)
		return
	}
	require.NoError(t, err, msg)
	got, err := tmpl.Render(v)
	if want.Error != nil {
		require.Error(t, err, "%s: jinja2: %s: %s; we rendered %q", msg, want.ErrorKind, *want.Error, got)
		if want.ErrorKind == "raise" {
			var raised *RaisedError
			require.True(t, errors.As(err, &raised), msg)
			assert.Equal(t, *want.Error, raised.Message, msg)
		}
		return
	}
	require.NoError(t, err, msg)
	assert.Equal(t, *want.Output, got, msg)
}

// TestGoldenTemplates renders every model template over the conversation
// corpus and requires byte equality with Python's jinja2, or an error where
// it raised one.
func TestGoldenTemplates(t *testing.T) {
	g := loadGoldens(t)
	require.GreaterOrEqual(t, len(g.Conversations), 12)
	require.GreaterOrEqual(t, len(g.Cases), 28*2*len(g.Conversations))
	sources := map[string]string{}
	for _, c := range g.Cases {
		if _, ok := sources[c.Template]; !ok {
			sources[c.Template] = readTemplate(t, c.Template)
		}
		conv, tok := g.Conversations[c.Conversation], g.Templates[c.Template]
		v := vars(map[string]any{
			"messages": conv.Messages, "tools": nil, "documents": nil, "add_generation_prompt": c.AddGenerationPrompt,
			"bos_token": tok.BOS, "eos_token": tok.EOS,
		}, conv.Extra)
		check(t, c.result, sources[c.Template], v, c.Template, " conversation ", c.Conversation, " add_generation_prompt=", c.AddGenerationPrompt)
	}
	for _, name := range []string{"smollm2", "gemma3", "llama3", "llama3.1", "qwen2.5", "mistral", "phi3"} {
		assert.Contains(t, sources, name)
	}
}

// knownGaps are the snippets where this package deliberately differs from
// jinja2: it fails with an error rather than render something else.
var knownGaps = map[string]string{
	"more/int-overflow": "integers are 64-bit, Python's unbounded",
}

// TestGoldenSnippets checks one feature at a time against jinja2.
func TestGoldenSnippets(t *testing.T) {
	g := loadGoldens(t)
	require.GreaterOrEqual(t, len(g.Snippets), 250)
	for _, s := range g.Snippets {
		t.Run(s.Name, func(t *testing.T) {
			v := vars(g.SnippetVars, s.Vars)
			if why, ok := knownGaps[s.Name]; ok {
				tmpl, err := Parse(s.Source)
				if err == nil {
					_, err = tmpl.Render(v)
				}
				require.Error(t, err, why)
				return
			}
			check(t, s.result, s.Source, v, s.Name)
		})
	}
}

// TestGoldenRandom checks random expressions, random nests of statements
// with random whitespace control, and the model templates over random
// conversations (scripts/jinja/random_cases.py) against jinja2.
func TestGoldenRandom(t *testing.T) {
	g := loadGoldens(t)
	require.GreaterOrEqual(t, len(g.Random), 2000)
	sources := map[string]string{}
	kinds := map[string]int{}
	for i, c := range g.Random {
		kinds[c.Kind]++
		if c.Kind == "chat" {
			if _, ok := sources[c.Template]; !ok {
				sources[c.Template] = readTemplate(t, c.Template)
			}
			check(t, c.result, sources[c.Template], vars(c.Vars), "random chat ", i, " ", c.Template)
			continue
		}
		check(t, c.result, c.Source, vars(g.RandomVars[c.Kind]), "random ", c.Kind, " ", i, " ", c.Source)
	}
	for _, k := range []string{"expression", "statement", "chat"} {
		assert.Greater(t, kinds[k], 100, k)
	}
}
