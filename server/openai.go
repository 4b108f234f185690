package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/realm-ai/realm/engine"
	"github.com/realm-ai/realm/engine/errs"
	"github.com/realm-ai/realm/registry"
)

// apiError is an error with its HTTP status and the fields of the OpenAI
// error object.
type apiError struct {
	status int
	msg    string
	typ    string // "invalid_request_error", "not_found_error", "server_error", ...
	param  string // the offending parameter, "" for none
	code   string // a machine-readable code, "" for none
}

func (e *apiError) Error() string { return e.msg }

// badParam is a 400 naming the parameter.
func badParam(param, format string, args ...any) *apiError {
	return &apiError{status: 400, msg: fmt.Sprintf(format, args...), typ: "invalid_request_error", param: param}
}

// errorBody is the OpenAI error shape.
type errorBody struct {
	Error errorObject `json:"error"`
}

type errorObject struct {
	Message string  `json:"message"`
	Type    string  `json:"type"`
	Param   *string `json:"param"`
	Code    *string `json:"code"`
}

func (e *apiError) body() errorBody {
	o := errorObject{Message: e.msg, Type: e.typ}
	if e.param != "" {
		o.Param = &e.param
	}
	if e.code != "" {
		o.Code = &e.code
	}
	return errorBody{o}
}

// toAPIError maps an error of the registry or the engine to the OpenAI
// shape by its errs sentinel.
func toAPIError(err error) *apiError {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae
	}
	msg := err.Error()
	switch {
	case errors.Is(err, errs.ErrContextLength):
		return &apiError{status: 400, msg: msg, typ: "invalid_request_error", param: "messages", code: "context_length_exceeded"}
	case errors.Is(err, errs.ErrInvalidArgument):
		return &apiError{status: 400, msg: msg, typ: "invalid_request_error"}
	case errors.Is(err, errs.ErrNotFound), errors.Is(err, errs.ErrNotLoaded):
		return &apiError{status: 404, msg: msg, typ: "invalid_request_error", param: "model", code: "model_not_found"}
	case errors.Is(err, errs.ErrClosed), errors.Is(err, errs.ErrCancelled):
		return &apiError{status: 503, msg: msg, typ: "server_error", code: "unavailable"}
	case errors.Is(err, errs.ErrMemoryBudget):
		return &apiError{status: 503, msg: msg, typ: "server_error", code: "memory_budget_exceeded"}
	case errors.Is(err, errs.ErrSandbox):
		return &apiError{status: 500, msg: msg, typ: "server_error", code: "sandbox_error"}
	}
	return &apiError{status: 500, msg: msg, typ: "server_error"}
}

// contentPart is one part of a message's content array.
type contentPart struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

// apiMessage is a chat message as OpenAI sends it.
type apiMessage struct {
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"`
	Name    string          `json:"name"`
}

// streamOptions is "stream_options".
type streamOptions struct {
	IncludeUsage bool `json:"include_usage"`
}

// apiRequest holds the fields of both completion endpoints. Fields Realm
// cannot honour are accepted only at their neutral values; fields OpenAI
// does not define are rejected, except the llama.cpp sampling extensions.
type apiRequest struct {
	Model    *string         `json:"model"`
	Messages []apiMessage    `json:"messages"` // chat only
	Prompt   json.RawMessage `json:"prompt"`   // completions only

	MaxTokens           *int               `json:"max_tokens"`
	MaxCompletionTokens *int               `json:"max_completion_tokens"` // chat only
	Temperature         *float64           `json:"temperature"`
	TopP                *float64           `json:"top_p"`
	N                   *int               `json:"n"`
	Stream              *bool              `json:"stream"`
	StreamOptions       *streamOptions     `json:"stream_options"`
	Stop                json.RawMessage    `json:"stop"`
	Seed                *int64             `json:"seed"`
	PresencePenalty     *float64           `json:"presence_penalty"`
	FrequencyPenalty    *float64           `json:"frequency_penalty"`
	LogitBias           map[string]float64 `json:"logit_bias"`
	Logprobs            json.RawMessage    `json:"logprobs"`
	TopLogprobs         *int               `json:"top_logprobs"`
	User                *string            `json:"user"`
	Metadata            map[string]string  `json:"metadata"`
	Store               *bool              `json:"store"`
	ResponseFormat      *struct {
		Type string `json:"type"`
	} `json:"response_format"`
	Tools             json.RawMessage `json:"tools"`
	ToolChoice        json.RawMessage `json:"tool_choice"`
	ParallelToolCalls *bool           `json:"parallel_tool_calls"`
	Echo              *bool           `json:"echo"`    // completions only
	BestOf            *int            `json:"best_of"` // completions only
	Suffix            *string         `json:"suffix"`  // completions only

	// Extensions with llama.cpp's names.
	TopK          *int     `json:"top_k"`
	MinP          *float64 `json:"min_p"`
	RepeatPenalty *float64 `json:"repeat_penalty"`
	RepeatLastN   *int     `json:"repeat_last_n"`
}

// parsed is a checked completion request.
type parsed struct {
	model        string
	stream       bool
	includeUsage bool
	req          registry.Request
}

// isNull reports whether a raw JSON value is absent or null.
func isNull(raw json.RawMessage) bool {
	s := strings.TrimSpace(string(raw))
	return s == "" || s == "null"
}

// parseAPIRequest checks an OpenAI request body (chat: /v1/chat/completions,
// else /v1/completions) and turns it into a registry request.
func parseAPIRequest(body []byte, chat bool) (*parsed, error) {
	var a apiRequest
	if len(strings.TrimSpace(string(body))) == 0 {
		return nil, badParam("", "the request body is empty; want a JSON object")
	}
	if err := registry.Decode("request", body, &a); err != nil {
		return nil, badParam("", "%s", strings.TrimPrefix(err.Error(), errs.ErrInvalidArgument.Error()+": "))
	}
	if a.Model == nil || *a.Model == "" {
		return nil, badParam("model", "you must provide a model parameter")
	}
	p := &parsed{model: *a.Model}
	if a.Stream != nil {
		p.stream = *a.Stream
	}
	if a.StreamOptions != nil {
		if !p.stream {
			return nil, badParam("stream_options", "stream_options is only allowed when stream is true")
		}
		p.includeUsage = a.StreamOptions.IncludeUsage
	}
	if err := a.unsupported(chat); err != nil {
		return nil, err
	}
	w := map[string]any{}
	if chat {
		msgs, err := a.messages()
		if err != nil {
			return nil, err
		}
		w["messages"] = msgs
	} else {
		prompt, err := a.prompt()
		if err != nil {
			return nil, err
		}
		w["prompt"] = prompt
	}
	maxTokens := a.MaxTokens
	if a.MaxCompletionTokens != nil {
		maxTokens = a.MaxCompletionTokens
	}
	if maxTokens != nil {
		if *maxTokens < 1 {
			return nil, badParam("max_tokens", "max_tokens = %d, want >= 1", *maxTokens)
		}
		w["max_tokens"] = *maxTokens
	}
	if a.Temperature != nil {
		if *a.Temperature < 0 || *a.Temperature > 2 {
			return nil, badParam("temperature", "temperature = %g, want a number in [0, 2]", *a.Temperature)
		}
		w["temperature"] = *a.Temperature
	}
	if a.TopP != nil {
		w["top_p"] = *a.TopP
	}
	// Without a seed, OpenAI's sampling is not reproducible: draw one.
	if a.Seed != nil {
		w["seed"] = uint64(*a.Seed)
	} else {
		w["seed"] = rand.Uint64()
	}
	if !isNull(a.Stop) {
		stop, err := stopStrings(a.Stop)
		if err != nil {
			return nil, err
		}
		w["stop"] = stop
	}
	if a.TopK != nil {
		w["top_k"] = *a.TopK
	}
	if a.MinP != nil {
		w["min_p"] = *a.MinP
	}
	if a.RepeatPenalty != nil {
		w["repeat_penalty"] = *a.RepeatPenalty
	}
	if a.RepeatLastN != nil {
		w["repeat_last_n"] = *a.RepeatLastN
	}
	data, err := json.Marshal(w)
	if err != nil {
		return nil, fmt.Errorf("encode request: %w", err)
	}
	req, err := registry.ParseRequest(data)
	if err != nil {
		return nil, badParam("", "%s", strings.TrimPrefix(err.Error(), errs.ErrInvalidArgument.Error()+": "))
	}
	p.req = req
	return p, nil
}

// unsupported rejects the parameters Realm cannot honour (at values other
// than their neutral ones) and those of the other endpoint.
func (a *apiRequest) unsupported(chat bool) error {
	other := func(name string, set bool) error {
		if set {
			return badParam(name, "Unrecognized request argument supplied: %s", name)
		}
		return nil
	}
	var checks []error
	if chat {
		checks = append(checks, other("prompt", !isNull(a.Prompt)), other("echo", a.Echo != nil),
			other("best_of", a.BestOf != nil), other("suffix", a.Suffix != nil))
	} else {
		checks = append(checks, other("messages", a.Messages != nil),
			other("max_completion_tokens", a.MaxCompletionTokens != nil), other("tools", !isNull(a.Tools)),
			other("tool_choice", !isNull(a.ToolChoice)), other("response_format", a.ResponseFormat != nil),
			other("top_logprobs", a.TopLogprobs != nil), other("parallel_tool_calls", a.ParallelToolCalls != nil))
	}
	for _, err := range checks {
		if err != nil {
			return err
		}
	}
	switch {
	case a.N != nil && *a.N != 1:
		return badParam("n", "n = %d is not supported: Realm returns one choice per request", *a.N)
	case a.BestOf != nil && *a.BestOf != 1:
		return badParam("best_of", "best_of = %d is not supported", *a.BestOf)
	case a.PresencePenalty != nil && *a.PresencePenalty != 0:
		return badParam("presence_penalty", "presence_penalty is not supported (use repeat_penalty)")
	case a.FrequencyPenalty != nil && *a.FrequencyPenalty != 0:
		return badParam("frequency_penalty", "frequency_penalty is not supported (use repeat_penalty)")
	case len(a.LogitBias) > 0:
		return badParam("logit_bias", "logit_bias is not supported")
	case !isNull(a.Logprobs) && strings.TrimSpace(string(a.Logprobs)) != "false" && strings.TrimSpace(string(a.Logprobs)) != "0":
		return badParam("logprobs", "logprobs are not supported")
	case a.TopLogprobs != nil && *a.TopLogprobs != 0:
		return badParam("top_logprobs", "top_logprobs are not supported")
	case a.ResponseFormat != nil && a.ResponseFormat.Type != "text":
		return badParam("response_format", "response_format %q is not supported (only \"text\")", a.ResponseFormat.Type)
	case !isNull(a.Tools) && strings.TrimSpace(string(a.Tools)) != "[]":
		return badParam("tools", "tools are not supported")
	case !isNull(a.ToolChoice) && strings.TrimSpace(string(a.ToolChoice)) != `"none"`:
		return badParam("tool_choice", "tool_choice is not supported")
	case a.Echo != nil && *a.Echo:
		return badParam("echo", "echo is not supported")
	case a.Suffix != nil && *a.Suffix != "":
		return badParam("suffix", "suffix is not supported")
	}
	return nil
}

// messages converts the chat messages: content is a string, null, or an
// array of text parts; the "developer" role is the "system" role.
func (a *apiRequest) messages() ([]engine.Message, error) {
	if len(a.Messages) == 0 {
		return nil, badParam("messages", "messages must be a non-empty array")
	}
	out := make([]engine.Message, len(a.Messages))
	for i, m := range a.Messages {
		param := fmt.Sprintf("messages[%d]", i)
		role := m.Role
		switch role {
		case "system", "user", "assistant", "tool":
		case "developer":
			role = "system"
		case "":
			return nil, badParam(param+".role", "%s has no role", param)
		default:
			return nil, badParam(param+".role", "%s: unknown role %q", param, role)
		}
		var text string
		switch {
		case isNull(m.Content):
		case strings.HasPrefix(strings.TrimSpace(string(m.Content)), "["):
			var parts []contentPart
			if err := json.Unmarshal(m.Content, &parts); err != nil {
				return nil, badParam(param+".content", "%s.content: want a string or an array of text parts", param)
			}
			var b strings.Builder
			for j, part := range parts {
				if part.Type != "text" {
					return nil, badParam(param+".content", "%s.content[%d]: content of type %q is not supported (only \"text\")", param, j, part.Type)
				}
				b.WriteString(part.Text)
			}
			text = b.String()
		default:
			if err := json.Unmarshal(m.Content, &text); err != nil {
				return nil, badParam(param+".content", "%s.content: want a string or an array of text parts", param)
			}
		}
		out[i] = engine.Message{Role: role, Content: text}
	}
	return out, nil
}

// prompt returns the completion prompt: a string, or an array of one string.
func (a *apiRequest) prompt() (string, error) {
	if isNull(a.Prompt) {
		return "", badParam("prompt", "you must provide a prompt")
	}
	var s string
	if err := json.Unmarshal(a.Prompt, &s); err == nil {
		return s, nil
	}
	var list []string
	if err := json.Unmarshal(a.Prompt, &list); err != nil {
		return "", badParam("prompt", "prompt must be a string or an array of one string (token arrays are not supported)")
	}
	if len(list) != 1 {
		return "", badParam("prompt", "prompt has %d strings; Realm takes one prompt per request", len(list))
	}
	return list[0], nil
}

// stopStrings decodes "stop": a string or an array of at most 4 strings.
func stopStrings(raw json.RawMessage) ([]string, error) {
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return []string{s}, nil
	}
	var list []string
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, badParam("stop", "stop must be a string or an array of strings")
	}
	if len(list) > 4 {
		return nil, badParam("stop", "stop has %d strings, want at most 4", len(list))
	}
	return list, nil
}

// usage is the OpenAI "usage" object.
type usage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
}

func usageOf(r *engine.Result) *usage {
	return &usage{r.PromptTokens, r.CompletionTokens, r.PromptTokens + r.CompletionTokens}
}

// chatMessage is a message or a delta of a chat choice.
type chatMessage struct {
	Role    string  `json:"role,omitempty"`
	Content *string `json:"content,omitempty"`
}

// choice is one choice of a response or a chunk (chat or text).
type choice struct {
	Index        int          `json:"index"`
	Message      *chatMessage `json:"message,omitempty"` // chat completion
	Delta        *chatMessage `json:"delta,omitempty"`   // chat chunk
	Text         *string      `json:"text,omitempty"`    // text completion and chunk
	Logprobs     any          `json:"logprobs"`
	FinishReason *string      `json:"finish_reason"`
}

// response is a completion, a chat completion, or one of their chunks.
type response struct {
	ID      string   `json:"id"`
	Object  string   `json:"object"`
	Created int64    `json:"created"`
	Model   string   `json:"model"`
	Choices []choice `json:"choices"`
	// Usage is set on whole responses, and on the chunks of a stream that
	// asked for it (null but on the last).
	Usage     *usage `json:"usage,omitempty"`
	nullUsage bool
}

// MarshalJSON writes "usage": null on the chunks of a stream with
// include_usage, as OpenAI does.
func (r response) MarshalJSON() ([]byte, error) {
	type plain response
	if r.nullUsage && r.Usage == nil {
		return json.Marshal(struct {
			plain
			Usage *usage `json:"usage"`
		}{plain: plain(r)})
	}
	return json.Marshal(plain(r))
}

// finishReason maps an engine finish reason to OpenAI's.
func finishReason(r string) *string {
	if r != engine.FinishLength {
		r = "stop"
	}
	return &r
}
