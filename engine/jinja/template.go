// Package jinja renders Jinja2 templates, the language of the chat
// templates model files carry in tokenizer.chat_template.
//
// Output is meant to be byte-identical to Python's jinja2 configured as
// Hugging Face transformers configures it: trim_blocks and lstrip_blocks on,
// the loopcontrols extension, and the globals raise_exception and
// strftime_now plus a tojson filter that keeps non-ASCII text. It covers the
// statements, expressions, filters and tests chat templates use; anything
// else is an error at Parse or Render time naming the line, never a panic.
package jinja

import (
	"errors"
	"fmt"
	"strings"
)

// Template is a parsed template, safe for concurrent Render calls.
type Template struct {
	body []node
}

// Parse parses a template.
func Parse(src string) (t *Template, err error) {
	defer func() {
		if r := recover(); r != nil {
			t, err = nil, fmt.Errorf("jinja: internal error parsing template: %v", r)
		}
	}()
	segs, err := split(src)
	if err != nil {
		return nil, fmt.Errorf("jinja: %w", err)
	}
	p := &parser{segs: segs}
	body, _, err := p.parseBody()
	if err != nil {
		return nil, fmt.Errorf("jinja: %w", err)
	}
	return &Template{body: body}, nil
}

// RaisedError is the error of a template's raise_exception(message) call.
type RaisedError struct{ Message string }

func (e *RaisedError) Error() string { return "template raised: " + e.Message }

// Render renders the template with the given variables (nil, bool, ints,
// floats, string, slices, maps; maps iterate in sorted key order).
func (t *Template) Render(vars map[string]any) (out string, err error) {
	r := &renderer{maxOutput: 16 << 20}
	root := map[string]any{}
	for k, v := range vars {
		root[k] = normalize(v)
	}
	r.scopes = []map[string]any{globals(), root}
	defer func() {
		if p := recover(); p != nil {
			out, err = "", fmt.Errorf("jinja: internal error rendering template: %v", p)
		}
	}()
	var b strings.Builder
	if err := r.exec(t.body, &b); err != nil {
		var ctl loopControl
		if errors.As(err, &ctl) {
			return "", fmt.Errorf("jinja: %s outside a loop", ctl)
		}
		var raised *RaisedError
		if errors.As(err, &raised) {
			return "", err
		}
		return "", fmt.Errorf("jinja: %w", err)
	}
	return b.String(), nil
}
