// Package jinja renders Jinja2 templates, the language of the chat
// templates model files carry in tokenizer.chat_template.
//
// Output is byte-identical to Python's jinja2 configured as Hugging Face
// transformers configures it for apply_chat_template: an
// ImmutableSandboxedEnvironment with trim_blocks and lstrip_blocks, the
// loopcontrols extension ({% break %}, {% continue %}), transformers'
// {% generation %} tag, the globals raise_exception and strftime_now, and a
// tojson filter that is json.dumps with ensure_ascii=False.
//
// It covers the statements (if, for, set, macro, call, filter, with, raw),
// expressions, filters, tests and Python str/dict/list methods that chat
// templates use. Anything else is an *Error at Parse or Render time naming
// the line, never a panic.
//
// Values passed to Render are nil, bool, integers, floats, strings, slices
// and string-keyed maps (nested freely). Maps iterate in sorted key order;
// pass a *Dict to keep an order of your own.
package jinja

import (
	"errors"
	"fmt"
	"time"
)

// Error is a template error: a syntax error from Parse, or a failure while
// rendering (an undefined value used, a type error, an unknown filter).
type Error struct {
	Line int // 1-based line of the template, 0 when unknown
	Msg  string
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("jinja: line %d: %s", e.Line, e.Msg)
	}
	return "jinja: " + e.Msg
}

// RaisedError is the error of a template's raise_exception(message) call.
type RaisedError struct {
	Message string // the template's message, exactly
	Line    int
}

func (e *RaisedError) Error() string {
	return fmt.Sprintf("jinja: line %d: template raised: %s", e.Line, e.Message)
}

// Template is a parsed template. It is immutable and safe for concurrent
// Render calls.
type Template struct {
	body []node
}

// Parse parses a template.
func Parse(src string) (t *Template, err error) {
	defer func() {
		if r := recover(); r != nil {
			t, err = nil, &Error{Msg: fmt.Sprintf("internal error parsing template: %v", r)}
		}
	}()
	toks, err := lex(src)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks}
	body, err := p.subparse()
	if err != nil {
		return nil, err
	}
	if err := (&checker{}).nodes(body); err != nil {
		return nil, err
	}
	newFolder().foldNodes(body)
	return &Template{body: body}, nil
}

// now is the clock strftime_now reads; tests pin it.
var now = time.Now

// Limits that keep a hostile template from exhausting memory or time.
const (
	maxOutput    = 16 << 20 // bytes of output, and of any one string
	maxCallDepth = 100      // nested macro calls
	// maxWork bounds the work of one Render: a statement or loop
	// iteration costs stepCost, producing or scanning a string or
	// collection costs its length.
	maxWork  = 1_000_000_000
	stepCost = 200
)

// Render renders the template with the given variables.
func (t *Template) Render(vars map[string]any) (out string, err error) {
	r := newRenderer()
	root := map[string]any{}
	for k, v := range vars {
		n, err := normalize(v, 0)
		if err != nil {
			return "", &Error{Msg: fmt.Sprintf("variable %q: %v", k, err)}
		}
		root[k] = n
	}
	r.scopes = []map[string]any{globalScope, root}
	defer func() {
		if p := recover(); p != nil {
			out, err = "", &Error{Line: r.line, Msg: fmt.Sprintf("internal error rendering template: %v", p)}
		}
	}()
	if err := r.exec(t.body); err != nil {
		var raised *RaisedError
		var terr *Error
		switch {
		case errors.As(err, &raised):
			return "", raised
		case errors.As(err, &terr):
			return "", terr
		}
		return "", &Error{Line: r.line, Msg: err.Error()}
	}
	return r.out.String(), nil
}
