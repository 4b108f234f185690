package registry

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/realm-ai/realm/engine"
	"github.com/realm-ai/realm/engine/errs"
)

// Request is one generation request: exactly one of Prompt, Prompts or
// Messages, and the sampling parameters.
type Request struct {
	// Prompt is a text prompt (when HasPrompt).
	Prompt    string
	HasPrompt bool
	// Prompts are several text prompts, generated at the same time (one
	// batch in the engine); the result is one engine.Result per prompt, in
	// order, each the one the prompt gets alone.
	Prompts []string
	// Messages is a chat, rendered with the model's chat template.
	Messages []engine.Message
	// Sampling are the sampling parameters (DefaultSamplingParams overlaid
	// with the fields the request sets).
	Sampling engine.SamplingParams
}

// Batch reports whether the request has several prompts (and so several
// results).
func (r *Request) Batch() bool { return r.Prompts != nil }

// wireRequest is the JSON form of a Request.
type wireRequest struct {
	Prompt   *string          `json:"prompt"`
	Prompts  []string         `json:"prompts"`
	Messages []engine.Message `json:"messages"`
	engine.SamplingParams
}

// ParseRequest decodes and validates a JSON request: {"prompt": string} or
// {"prompts": [string, ...]} or {"messages": [{"role", "content"}, ...]},
// plus the snake_case fields of engine.SamplingParams. Fields left out take
// engine.DefaultSamplingParams; null counts as left out. Every failure
// wraps errs.ErrInvalidArgument and names the field.
func ParseRequest(data []byte) (Request, error) {
	w := wireRequest{SamplingParams: engine.DefaultSamplingParams()}
	if len(bytes.TrimSpace(data)) == 0 {
		return Request{}, fmt.Errorf("%w: request: empty JSON", errs.ErrInvalidArgument)
	}
	if err := Decode("request", data, &w); err != nil {
		return Request{}, err
	}
	req := Request{Prompts: w.Prompts, Messages: w.Messages, Sampling: w.SamplingParams}
	n := 0
	if w.Prompt != nil {
		req.Prompt, req.HasPrompt = *w.Prompt, true
		n++
	}
	if w.Prompts != nil {
		n++
		if len(w.Prompts) == 0 {
			return Request{}, fmt.Errorf("%w: request: field \"prompts\" is empty", errs.ErrInvalidArgument)
		}
	}
	if w.Messages != nil {
		n++
		if len(w.Messages) == 0 {
			return Request{}, fmt.Errorf("%w: request: field \"messages\" is empty", errs.ErrInvalidArgument)
		}
		for i, m := range w.Messages {
			if m.Role == "" {
				return Request{}, fmt.Errorf("%w: request: messages[%d] has no \"role\"", errs.ErrInvalidArgument, i)
			}
		}
	}
	if n != 1 {
		return Request{}, fmt.Errorf("%w: request: want exactly one of \"prompt\", \"prompts\" or \"messages\", got %d",
			errs.ErrInvalidArgument, n)
	}
	if err := req.Sampling.Validate(); err != nil {
		return Request{}, fmt.Errorf("request: %w", err)
	}
	return req, nil
}

// Decode decodes the JSON object data into v strictly: unknown fields,
// values of the wrong type and trailing data are errors wrapping
// errs.ErrInvalidArgument that name what (the argument) and the field.
// Empty data (or "null") leaves v unchanged: it stands for "all defaults".
func Decode(what string, data []byte, v any) error {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeError(what, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("%w: %s: trailing data after the JSON value", errs.ErrInvalidArgument, what)
	}
	return nil
}

// decodeError turns an encoding/json error into an ErrInvalidArgument that
// names the field.
func decodeError(what string, err error) error {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr):
		if typeErr.Field == "" {
			return fmt.Errorf("%w: %s: want %s, got %s", errs.ErrInvalidArgument, what, jsonKind(typeErr.Type.Kind().String()), typeErr.Value)
		}
		return fmt.Errorf("%w: %s: field %q: want %s, got %s", errs.ErrInvalidArgument,
			what, jsonField(typeErr.Field), jsonKind(typeErr.Type.String()), typeErr.Value)
	case errors.As(err, &syntaxErr):
		return fmt.Errorf("%w: %s: invalid JSON at offset %d: %v", errs.ErrInvalidArgument, what, syntaxErr.Offset, err)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("%w: %s: truncated JSON", errs.ErrInvalidArgument, what)
	}
	msg := strings.TrimPrefix(err.Error(), "json: ")
	return fmt.Errorf("%w: %s: %s", errs.ErrInvalidArgument, what, msg)
}

// jsonField drops the names of embedded Go structs (capitalised) from the
// dotted field path of a decoding error: "SamplingParams.seed" is "seed".
func jsonField(path string) string {
	parts := strings.Split(path, ".")
	kept := parts[:0]
	for _, p := range parts {
		if p != "" && (p[0] < 'A' || p[0] > 'Z') {
			kept = append(kept, p)
		}
	}
	return strings.Join(kept, ".")
}

// jsonKind describes a Go type the way a JSON user thinks of it.
func jsonKind(goType string) string {
	switch goType {
	case "string":
		return "a string"
	case "bool":
		return "a boolean"
	case "int", "int32", "int64":
		return "an integer"
	case "uint64", "uint32", "uint":
		return "a non-negative integer"
	case "float32", "float64":
		return "a number"
	case "[]string":
		return "an array of strings"
	case "[]int32":
		return "an array of integers"
	case "[]engine.Message":
		return "an array of {\"role\", \"content\"} objects"
	}
	if strings.HasPrefix(goType, "[]") || goType == "slice" {
		return "an array"
	}
	if goType == "struct" || strings.Contains(goType, ".") {
		return "an object"
	}
	return goType
}
