package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"time"
	"unsafe"

	"github.com/realm-ai/realm/engine"
	"github.com/realm-ai/realm/engine/errs"
	"github.com/realm-ai/realm/registry"
)

// The functions here hold the logic of the exported C functions, in Go
// terms (strings, byte slices, handles as unsafe.Pointer), so Go tests can
// call them: test files of a cgo package cannot use cgo themselves. Each
// returns its result as a Go value or an error wrapping an errs sentinel;
// the wrappers in capi.go convert arguments and results and map errors to
// status codes.

// Version is the library's version, reported by realm_version.
var Version = "0.1.0"

// abiVersion is the ABI version implemented (REALM_ABI_VERSION).
const abiVersion = 1

// encode returns v as compact JSON, without HTML escaping (chat templates
// are full of '<' and '>').
func encode(v any) (string, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "", fmt.Errorf("encode result: %w", err)
	}
	return string(bytes.TrimRight(b.Bytes(), "\n")), nil
}

// options decodes {"threads", "context_length"}.
func options(what, js string) (registry.Options, error) {
	var o registry.Options
	if err := registry.Decode(what, []byte(js), &o); err != nil {
		return o, err
	}
	return o, o.Validate()
}

// usageJSON is the "usage" object of results.
type usageJSON struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
}

// timingsJSON is the "timings" object of results.
type timingsJSON struct {
	PromptMs     float64 `json:"prompt_ms"`
	DecodeMs     float64 `json:"decode_ms"`
	CachedTokens int     `json:"cached_tokens"`
}

// resultJSON is a result of realm_generate.
type resultJSON struct {
	Text         string      `json:"text"`
	Tokens       []int32     `json:"tokens"`
	FinishReason string      `json:"finish_reason"`
	Usage        usageJSON   `json:"usage"`
	Timings      timingsJSON `json:"timings"`
}

func usageOf(r *engine.Result) usageJSON {
	return usageJSON{r.PromptTokens, r.CompletionTokens, r.PromptTokens + r.CompletionTokens}
}

func timingsOf(r *engine.Result) timingsJSON {
	return timingsJSON{r.PromptMs, r.DecodeMs, r.CachedTokens}
}

func newResultJSON(r *engine.Result) resultJSON {
	tokens := r.Tokens
	if tokens == nil {
		tokens = []int32{}
	}
	return resultJSON{r.Text, tokens, r.FinishReason, usageOf(r), timingsOf(r)}
}

// encodeResults encodes the results of a request: one object, or an
// array for a batch.
func encodeResults(req registry.Request, res []*engine.Result) (string, error) {
	out := make([]resultJSON, len(res))
	for i, r := range res {
		out[i] = newResultJSON(r)
	}
	if req.Batch() {
		return encode(out)
	}
	if len(out) != 1 {
		return "", fmt.Errorf("generate: %d results for one prompt", len(out))
	}
	return encode(out[0])
}

// chunkJSON is a chunk of realm_stream_next.
type chunkJSON struct {
	Text         string       `json:"text"`
	Token        *int32       `json:"token,omitempty"`
	Done         bool         `json:"done"`
	FinishReason string       `json:"finish_reason,omitempty"`
	Usage        *usageJSON   `json:"usage,omitempty"`
	Timings      *timingsJSON `json:"timings,omitempty"`
	Index        int          `json:"index,omitempty"` // the prompt of a batch stream
}

func encodeChunk(c registry.Chunk) (string, error) {
	if !c.Done {
		id := c.Token
		return encode(chunkJSON{Text: c.Text, Token: &id, Index: c.Index})
	}
	u, t := usageOf(c.Result), timingsOf(c.Result)
	return encode(chunkJSON{Text: c.Text, Done: true, FinishReason: c.Result.FinishReason, Usage: &u, Timings: &t, Index: c.Index})
}

// --- realm_t ---

// guestJSON are the options that choose a realm's sandbox guest.
type guestJSON struct {
	// GuestWasm is the guest module, base64 (standard alphabet, padded);
	// absent: the default guest.
	GuestWasm []byte `json:"guest_wasm"`
	// GuestConfig is handed to the guest verbatim (its "config" import).
	GuestConfig *string `json:"guest_config"`
}

func (g guestJSON) guest() registry.Guest {
	out := registry.Guest{Wasm: g.GuestWasm}
	if g.GuestConfig != nil {
		out.Config = []byte(*g.GuestConfig)
	}
	return out
}

func realmNew(optionsJSON string) (unsafe.Pointer, error) {
	var o struct {
		registry.Options
		guestJSON
	}
	if err := registry.Decode("options", []byte(optionsJSON), &o); err != nil {
		return nil, err
	}
	r, err := registry.NewWithGuest(o.Options, o.guest())
	if err != nil {
		return nil, err
	}
	return newHandle(r), nil
}

func realmFree(h unsafe.Pointer) error {
	r, err := release[*registry.Realm](h, "realm")
	if err != nil {
		return err
	}
	return r.Close()
}

func realmLoadModel(h unsafe.Pointer, path, optionsJSON string) error {
	r, _, err := lookup[*registry.Realm](h, "realm")
	if err != nil {
		return err
	}
	o, err := options("options", optionsJSON)
	if err != nil {
		return err
	}
	return r.LoadFile(path, o)
}

// realmLoadModelBytes loads data, which it owns (the wrapper copies the
// caller's bytes into Go memory).
func realmLoadModelBytes(h unsafe.Pointer, data []byte, optionsJSON string) error {
	r, _, err := lookup[*registry.Realm](h, "realm")
	if err != nil {
		return err
	}
	o, err := options("options", optionsJSON)
	if err != nil {
		return err
	}
	return r.LoadBytes("<bytes>", data, o)
}

func realmIsLoaded(h unsafe.Pointer) (bool, error) {
	r, _, err := lookup[*registry.Realm](h, "realm")
	if err != nil {
		return false, err
	}
	return r.IsLoaded()
}

func realmModelInfo(h unsafe.Pointer) (string, error) {
	r, _, err := lookup[*registry.Realm](h, "realm")
	if err != nil {
		return "", err
	}
	info, err := r.Info()
	if err != nil {
		return "", err
	}
	return encode(info)
}

func realmTokenize(h unsafe.Pointer, text, optionsJSON string) (string, error) {
	r, _, err := lookup[*registry.Realm](h, "realm")
	if err != nil {
		return "", err
	}
	o := struct {
		AddSpecial   bool `json:"add_special"`
		ParseSpecial bool `json:"parse_special"`
	}{AddSpecial: true}
	if err := registry.Decode("options", []byte(optionsJSON), &o); err != nil {
		return "", err
	}
	ids, err := r.Tokenize(text, o.AddSpecial, o.ParseSpecial)
	if err != nil {
		return "", err
	}
	if ids == nil {
		ids = []int32{}
	}
	return encode(ids)
}

func realmDetokenize(h unsafe.Pointer, tokensJSON string) (string, error) {
	r, _, err := lookup[*registry.Realm](h, "realm")
	if err != nil {
		return "", err
	}
	var ids []int32
	if err := registry.Decode("tokens", []byte(tokensJSON), &ids); err != nil {
		return "", err
	}
	if ids == nil {
		return "", fmt.Errorf("%w: tokens: want a JSON array of token ids", errs.ErrInvalidArgument)
	}
	return r.Detokenize(ids)
}

func realmApplyChatTemplate(h unsafe.Pointer, messagesJSON, optionsJSON string) (string, error) {
	r, _, err := lookup[*registry.Realm](h, "realm")
	if err != nil {
		return "", err
	}
	var msgs []engine.Message
	if err := registry.Decode("messages", []byte(messagesJSON), &msgs); err != nil {
		return "", err
	}
	if msgs == nil {
		return "", fmt.Errorf("%w: messages: want a JSON array of {\"role\", \"content\"} objects", errs.ErrInvalidArgument)
	}
	o := struct {
		AddGenerationPrompt bool `json:"add_generation_prompt"`
	}{AddGenerationPrompt: true}
	if err := registry.Decode("options", []byte(optionsJSON), &o); err != nil {
		return "", err
	}
	return r.ApplyChatTemplate(msgs, o.AddGenerationPrompt)
}

func realmGenerate(h unsafe.Pointer, requestJSON string) (string, error) {
	r, _, err := lookup[*registry.Realm](h, "realm")
	if err != nil {
		return "", err
	}
	req, err := registry.ParseRequest([]byte(requestJSON))
	if err != nil {
		return "", err
	}
	res, err := r.Generate(context.Background(), req)
	if err != nil {
		return "", err
	}
	return encodeResults(req, res)
}

func realmStreamStart(h unsafe.Pointer, requestJSON string) (unsafe.Pointer, error) {
	r, _, err := lookup[*registry.Realm](h, "realm")
	if err != nil {
		return nil, err
	}
	req, err := registry.ParseRequest([]byte(requestJSON))
	if err != nil {
		return nil, err
	}
	s, err := r.Stream(context.Background(), req)
	if err != nil {
		return nil, err
	}
	return newHandle(s), nil
}

// --- realm_stream_t ---

// streamNext waits for the next chunk: timeoutMs < 0 waits forever. The
// end and a timeout come back as registry.ErrDone and registry.ErrTimeout.
func streamNext(h unsafe.Pointer, timeoutMs int) (string, error) {
	s, _, err := lookup[*registry.Stream](h, "stream")
	if err != nil {
		return "", err
	}
	timeout := time.Duration(-1)
	if timeoutMs >= 0 {
		timeout = time.Duration(timeoutMs) * time.Millisecond
	}
	c, err := s.Next(timeout)
	if err != nil {
		return "", err
	}
	return encodeChunk(c)
}

func streamCancel(h unsafe.Pointer) error {
	s, _, err := lookup[*registry.Stream](h, "stream")
	if err != nil {
		return err
	}
	s.Cancel()
	return nil
}

func streamCancelPrompt(h unsafe.Pointer, index int) error {
	s, _, err := lookup[*registry.Stream](h, "stream")
	if err != nil {
		return err
	}
	return s.CancelPrompt(index)
}

func streamFree(h unsafe.Pointer) error {
	s, err := release[*registry.Stream](h, "stream")
	if err != nil {
		return err
	}
	return s.Close()
}

// --- realm_registry_t ---

func registryNew(optionsJSON string) (unsafe.Pointer, error) {
	var o registry.RegistryOptions // {"threads", "context_length", "memory_budget"}
	if err := registry.Decode("options", []byte(optionsJSON), &o); err != nil {
		return nil, err
	}
	g, err := registry.NewRegistryWith(o)
	if err != nil {
		return nil, err
	}
	return newHandle(g), nil
}

func registryFree(h unsafe.Pointer) error {
	g, err := release[*registry.Registry](h, "registry")
	if err != nil {
		return err
	}
	return g.Close()
}

func registryLoadOptions(js string) (registry.LoadOptions, error) {
	var o registry.LoadOptions
	err := registry.Decode("options", []byte(js), &o)
	return o, err
}

func registryLoadModel(h unsafe.Pointer, id, path, optionsJSON string) error {
	g, _, err := lookup[*registry.Registry](h, "registry")
	if err != nil {
		return err
	}
	o, err := registryLoadOptions(optionsJSON)
	if err != nil {
		return err
	}
	return g.LoadFile(id, path, o)
}

func registryLoadModelBytes(h unsafe.Pointer, id string, data []byte, optionsJSON string) error {
	g, _, err := lookup[*registry.Registry](h, "registry")
	if err != nil {
		return err
	}
	o, err := registryLoadOptions(optionsJSON)
	if err != nil {
		return err
	}
	return g.LoadBytes(id, data, o)
}

func registryUnload(h unsafe.Pointer, id string) error {
	g, _, err := lookup[*registry.Registry](h, "registry")
	if err != nil {
		return err
	}
	return g.Unload(id)
}

func registryModels(h unsafe.Pointer) (string, error) {
	g, _, err := lookup[*registry.Registry](h, "registry")
	if err != nil {
		return "", err
	}
	ms, err := g.Models()
	if err != nil {
		return "", err
	}
	if ms == nil {
		ms = []registry.Model{}
	}
	return encode(ms)
}

func registryGenerate(h unsafe.Pointer, id, requestJSON string) (string, error) {
	g, _, err := lookup[*registry.Registry](h, "registry")
	if err != nil {
		return "", err
	}
	req, err := registry.ParseRequest([]byte(requestJSON))
	if err != nil {
		return "", err
	}
	res, err := g.Generate(context.Background(), id, req)
	if err != nil {
		return "", err
	}
	return encodeResults(req, res)
}

func registryStreamStart(h unsafe.Pointer, id, requestJSON string) (unsafe.Pointer, error) {
	g, _, err := lookup[*registry.Registry](h, "registry")
	if err != nil {
		return nil, err
	}
	req, err := registry.ParseRequest([]byte(requestJSON))
	if err != nil {
		return nil, err
	}
	s, err := g.Stream(context.Background(), id, req)
	if err != nil {
		return nil, err
	}
	return newHandle(s), nil
}

func registryRealm(h unsafe.Pointer, id, optionsJSON string) (unsafe.Pointer, error) {
	g, _, err := lookup[*registry.Registry](h, "registry")
	if err != nil {
		return nil, err
	}
	var o guestJSON
	if err := registry.Decode("options", []byte(optionsJSON), &o); err != nil {
		return nil, err
	}
	r, err := g.Realm(id, o.guest())
	if err != nil {
		return nil, err
	}
	return newHandle(r), nil
}
