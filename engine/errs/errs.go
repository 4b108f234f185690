// Package errs defines the kinds of failure the engine reports. Every error
// the engine returns wraps exactly one of these sentinels (test with
// errors.Is), so the layers above (registry, C ABI, Python) can map a failure
// to one status code and one exception class without parsing messages.
package errs

import "errors"

var (
	// ErrInvalidModel means a model file or buffer is malformed: bad magic,
	// truncated data, counts or offsets that do not fit, wrong value types.
	ErrInvalidModel = errors.New("invalid model")
	// ErrUnsupportedModel means a well-formed model uses something Realm does
	// not implement: an unknown architecture, tensor type or tokenizer.
	ErrUnsupportedModel = errors.New("unsupported model")
	// ErrInvalidArgument means a caller passed a value out of range or of the
	// wrong shape (top_p=2, a negative max_tokens, an empty model id).
	ErrInvalidArgument = errors.New("invalid argument")
	// ErrContextLength means a prompt (plus what must be generated) does not
	// fit the sequence's context window.
	ErrContextLength = errors.New("context length exceeded")
	// ErrCancelled means the caller cancelled the request.
	ErrCancelled = errors.New("cancelled")
	// ErrSandbox means a tenant's WebAssembly guest failed: a trap, a
	// deadline, a memory cap, a bad return value or a bad module.
	ErrSandbox = errors.New("sandbox fault")
	// ErrClosed means the object was used after Close.
	ErrClosed = errors.New("closed")
	// ErrNotLoaded means an operation needs a model and none is loaded.
	ErrNotLoaded = errors.New("model not loaded")
	// ErrNotFound means a named thing (a model id, a file) does not exist.
	ErrNotFound = errors.New("not found")
	// ErrMemoryBudget means loading a model would exceed a registry's
	// memory budget and no unused model could be unloaded to make room.
	ErrMemoryBudget = errors.New("memory budget exceeded")
)
