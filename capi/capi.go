// Command capi is Realm's C ABI, built as a shared library with
//
//	go build -buildmode=c-shared -o librealm.so ./capi
//
// realm.h (in this directory) declares the ABI and is its single source of
// truth; the preamble below includes it, so the C compiler checks every
// //export signature against the header. The package is thin: it converts
// C arguments to Go, calls package registry (through the Go functions of
// impl.go, which tests call directly), and converts results and errors
// back. Errors map to status codes by their errs sentinel (status.go); no
// panic escapes into C. Handles are go-pointer indexes (handles.go).
//
// Strings returned to C are allocated with malloc (C.CString) and freed by
// realm_string_free. Bytes passed to realm_load_model_bytes are copied into
// Go memory before the call returns; the caller may free them at once.
package main

/*
#include <stdlib.h>
#include "realm.h"

// const-qualified types for the //export signatures, so they match realm.h.
typedef const char realm_cchar_t;
typedef const void realm_cvoid_t;
*/
import "C"

import (
	"fmt"
	"runtime/debug"
	"unsafe"

	"github.com/realm-ai/realm/engine/errs"
	"github.com/realm-ai/realm/registry"
)

// Compile-time checks: the Go status codes equal realm.h's macros (a
// non-zero difference is an out-of-range constant index).
var (
	_ = [1]int{}[statusOK-C.REALM_OK]
	_ = [1]int{}[statusNotLoaded-C.REALM_ERR_NOT_LOADED]
	_ = [1]int{}[statusNotFound-C.REALM_ERR_NOT_FOUND]
	_ = [1]int{}[statusInvalidModel-C.REALM_ERR_INVALID_MODEL]
	_ = [1]int{}[statusUnsupportedModel-C.REALM_ERR_UNSUPPORTED_MODEL]
	_ = [1]int{}[statusInvalidArgument-C.REALM_ERR_INVALID_ARGUMENT]
	_ = [1]int{}[statusSandbox-C.REALM_ERR_SANDBOX]
	_ = [1]int{}[statusCancelled-C.REALM_ERR_CANCELLED]
	_ = [1]int{}[statusClosed-C.REALM_ERR_CLOSED]
	_ = [1]int{}[statusContextLength-C.REALM_ERR_CONTEXT_LENGTH]
	_ = [1]int{}[statusInternal-C.REALM_ERR_INTERNAL]
	_ = [1]int{}[statusMemoryBudget-C.REALM_ERR_MEMORY_BUDGET]
	_ = [1]int{}[statusStreamTimeout-C.REALM_STREAM_TIMEOUT]
	_ = [1]int{}[statusStreamDone-C.REALM_STREAM_DONE]
	_ = [1]int{}[abiVersion-C.REALM_ABI_VERSION]
)

func main() {}

// versionC is realm_version's static string (never freed).
var versionC = C.CString(Version)

// run runs fn (see invoke) and returns its status; for an error status it
// stores the message in *errp (when errp is not NULL).
func run(errp **C.char, fn func() error) C.int {
	status, msg := invoke(fn)
	if msg != "" && errp != nil {
		*errp = C.CString(msg)
	}
	return C.int(status)
}

// optString converts an optional string argument: NULL gives "".
func optString(s *C.realm_cchar_t) string {
	if s == nil {
		return ""
	}
	return C.GoString((*C.char)(unsafe.Pointer(s)))
}

// needString converts a required string argument: NULL is an invalid argument.
func needString(s *C.realm_cchar_t, what string) (string, error) {
	if s == nil {
		return "", fmt.Errorf("%w: %s is NULL", errs.ErrInvalidArgument, what)
	}
	return C.GoString((*C.char)(unsafe.Pointer(s))), nil
}

// needOut checks an out-parameter.
func needOut(p unsafe.Pointer, what string) error {
	if p == nil {
		return fmt.Errorf("%w: out-parameter %s is NULL", errs.ErrInvalidArgument, what)
	}
	return nil
}

// copyBytes copies len bytes at data into Go memory.
func copyBytes(data *C.realm_cvoid_t, n C.size_t) ([]byte, error) {
	if data == nil {
		if n == 0 {
			return []byte{}, nil
		}
		return nil, fmt.Errorf("%w: data is NULL", errs.ErrInvalidArgument)
	}
	if uint64(n) > uint64(1)<<46 {
		return nil, fmt.Errorf("%w: len = %d is not a plausible size", errs.ErrInvalidArgument, uint64(n))
	}
	return append([]byte(nil), unsafe.Slice((*byte)(unsafe.Pointer(data)), int(n))...), nil
}

// runString runs fn like run, for a call whose result is a string: it
// checks the out-parameter out (named name) first and stores fn's result
// in *out as a malloc'ed C string.
func runString(errp **C.char, out **C.char, name string, fn func() (string, error)) C.int {
	return run(errp, func() error {
		if err := needOut(unsafe.Pointer(out), name); err != nil {
			return err
		}
		s, err := fn()
		if err != nil {
			return err
		}
		*out = C.CString(s)
		return nil
	})
}

//export realm_version
func realm_version() *C.realm_cchar_t { return (*C.realm_cchar_t)(unsafe.Pointer(versionC)) }

//export realm_abi_version
func realm_abi_version() C.int { return abiVersion }

//export realm_release_memory
func realm_release_memory() { debug.FreeOSMemory() }

//export realm_string_free
func realm_string_free(s *C.char) {
	if s != nil {
		C.free(unsafe.Pointer(s))
	}
}

// --- realm_t ---

//export realm_new
func realm_new(options_json *C.realm_cchar_t, out *C.realm_t, err **C.char) C.int {
	return run(err, func() error {
		if err := needOut(unsafe.Pointer(out), "out"); err != nil {
			return err
		}
		h, err := realmNew(optString(options_json))
		if err != nil {
			return err
		}
		*out = C.realm_t(h)
		return nil
	})
}

//export realm_free
func realm_free(realm C.realm_t) C.int {
	return run(nil, func() error { return realmFree(unsafe.Pointer(realm)) })
}

//export realm_load_model
func realm_load_model(realm C.realm_t, path *C.realm_cchar_t, options_json *C.realm_cchar_t, err **C.char) C.int {
	return run(err, func() error {
		p, err := needString(path, "path")
		if err != nil {
			return err
		}
		return realmLoadModel(unsafe.Pointer(realm), p, optString(options_json))
	})
}

//export realm_load_model_bytes
func realm_load_model_bytes(realm C.realm_t, data *C.realm_cvoid_t, length C.size_t, options_json *C.realm_cchar_t, err **C.char) C.int {
	return run(err, func() error {
		if _, _, err := lookup[*registry.Realm](unsafe.Pointer(realm), "realm"); err != nil {
			return err // before copying a large buffer for nothing
		}
		b, err := copyBytes(data, length)
		if err != nil {
			return err
		}
		return realmLoadModelBytes(unsafe.Pointer(realm), b, optString(options_json))
	})
}

//export realm_is_loaded
func realm_is_loaded(realm C.realm_t, out *C.int, err **C.char) C.int {
	return run(err, func() error {
		if err := needOut(unsafe.Pointer(out), "out"); err != nil {
			return err
		}
		loaded, err := realmIsLoaded(unsafe.Pointer(realm))
		if err != nil {
			return err
		}
		*out = 0
		if loaded {
			*out = 1
		}
		return nil
	})
}

//export realm_model_info
func realm_model_info(realm C.realm_t, info_json **C.char, err **C.char) C.int {
	return runString(err, info_json, "info_json", func() (string, error) {
		return realmModelInfo(unsafe.Pointer(realm))
	})
}

//export realm_tokenize
func realm_tokenize(realm C.realm_t, text *C.realm_cchar_t, options_json *C.realm_cchar_t, tokens_json **C.char, err **C.char) C.int {
	return runString(err, tokens_json, "tokens_json", func() (string, error) {
		t, err := needString(text, "text")
		if err != nil {
			return "", err
		}
		return realmTokenize(unsafe.Pointer(realm), t, optString(options_json))
	})
}

//export realm_detokenize
func realm_detokenize(realm C.realm_t, tokens_json *C.realm_cchar_t, text **C.char, err **C.char) C.int {
	return runString(err, text, "text", func() (string, error) {
		js, err := needString(tokens_json, "tokens_json")
		if err != nil {
			return "", err
		}
		return realmDetokenize(unsafe.Pointer(realm), js)
	})
}

//export realm_apply_chat_template
func realm_apply_chat_template(realm C.realm_t, messages_json *C.realm_cchar_t, options_json *C.realm_cchar_t, prompt **C.char, err **C.char) C.int {
	return runString(err, prompt, "prompt", func() (string, error) {
		js, err := needString(messages_json, "messages_json")
		if err != nil {
			return "", err
		}
		return realmApplyChatTemplate(unsafe.Pointer(realm), js, optString(options_json))
	})
}

//export realm_generate
func realm_generate(realm C.realm_t, request_json *C.realm_cchar_t, result_json **C.char, err **C.char) C.int {
	return runString(err, result_json, "result_json", func() (string, error) {
		js, err := needString(request_json, "request_json")
		if err != nil {
			return "", err
		}
		return realmGenerate(unsafe.Pointer(realm), js)
	})
}

//export realm_stream_start
func realm_stream_start(realm C.realm_t, request_json *C.realm_cchar_t, out *C.realm_stream_t, err **C.char) C.int {
	return run(err, func() error {
		if err := needOut(unsafe.Pointer(out), "out"); err != nil {
			return err
		}
		js, err := needString(request_json, "request_json")
		if err != nil {
			return err
		}
		h, err := realmStreamStart(unsafe.Pointer(realm), js)
		if err != nil {
			return err
		}
		*out = C.realm_stream_t(h)
		return nil
	})
}

// --- realm_stream_t ---

//export realm_stream_next
func realm_stream_next(stream C.realm_stream_t, timeout_ms C.int, chunk_json **C.char, err **C.char) C.int {
	return runString(err, chunk_json, "chunk_json", func() (string, error) {
		return streamNext(unsafe.Pointer(stream), int(timeout_ms))
	})
}

//export realm_stream_cancel
func realm_stream_cancel(stream C.realm_stream_t) C.int {
	return run(nil, func() error { return streamCancel(unsafe.Pointer(stream)) })
}

//export realm_stream_cancel_prompt
func realm_stream_cancel_prompt(stream C.realm_stream_t, index C.int) C.int {
	return run(nil, func() error { return streamCancelPrompt(unsafe.Pointer(stream), int(index)) })
}

//export realm_stream_free
func realm_stream_free(stream C.realm_stream_t) C.int {
	return run(nil, func() error { return streamFree(unsafe.Pointer(stream)) })
}

// --- realm_registry_t ---

//export realm_registry_new
func realm_registry_new(options_json *C.realm_cchar_t, out *C.realm_registry_t, err **C.char) C.int {
	return run(err, func() error {
		if err := needOut(unsafe.Pointer(out), "out"); err != nil {
			return err
		}
		h, err := registryNew(optString(options_json))
		if err != nil {
			return err
		}
		*out = C.realm_registry_t(h)
		return nil
	})
}

//export realm_registry_free
func realm_registry_free(reg C.realm_registry_t) C.int {
	return run(nil, func() error { return registryFree(unsafe.Pointer(reg)) })
}

//export realm_registry_load_model
func realm_registry_load_model(reg C.realm_registry_t, model_id *C.realm_cchar_t, path *C.realm_cchar_t, options_json *C.realm_cchar_t, err **C.char) C.int {
	return run(err, func() error {
		id, err := needString(model_id, "model_id")
		if err != nil {
			return err
		}
		p, err := needString(path, "path")
		if err != nil {
			return err
		}
		return registryLoadModel(unsafe.Pointer(reg), id, p, optString(options_json))
	})
}

//export realm_registry_load_model_bytes
func realm_registry_load_model_bytes(reg C.realm_registry_t, model_id *C.realm_cchar_t, data *C.realm_cvoid_t, length C.size_t, options_json *C.realm_cchar_t, err **C.char) C.int {
	return run(err, func() error {
		id, err := needString(model_id, "model_id")
		if err != nil {
			return err
		}
		if _, _, err := lookup[*registry.Registry](unsafe.Pointer(reg), "registry"); err != nil {
			return err
		}
		b, err := copyBytes(data, length)
		if err != nil {
			return err
		}
		return registryLoadModelBytes(unsafe.Pointer(reg), id, b, optString(options_json))
	})
}

//export realm_registry_unload
func realm_registry_unload(reg C.realm_registry_t, model_id *C.realm_cchar_t, err **C.char) C.int {
	return run(err, func() error {
		id, err := needString(model_id, "model_id")
		if err != nil {
			return err
		}
		return registryUnload(unsafe.Pointer(reg), id)
	})
}

//export realm_registry_models
func realm_registry_models(reg C.realm_registry_t, models_json **C.char, err **C.char) C.int {
	return runString(err, models_json, "models_json", func() (string, error) {
		return registryModels(unsafe.Pointer(reg))
	})
}

//export realm_registry_generate
func realm_registry_generate(reg C.realm_registry_t, model_id *C.realm_cchar_t, request_json *C.realm_cchar_t, result_json **C.char, err **C.char) C.int {
	return runString(err, result_json, "result_json", func() (string, error) {
		id, err := needString(model_id, "model_id")
		if err != nil {
			return "", err
		}
		js, err := needString(request_json, "request_json")
		if err != nil {
			return "", err
		}
		return registryGenerate(unsafe.Pointer(reg), id, js)
	})
}

//export realm_registry_stream_start
func realm_registry_stream_start(reg C.realm_registry_t, model_id *C.realm_cchar_t, request_json *C.realm_cchar_t, out *C.realm_stream_t, err **C.char) C.int {
	return run(err, func() error {
		if err := needOut(unsafe.Pointer(out), "out"); err != nil {
			return err
		}
		id, err := needString(model_id, "model_id")
		if err != nil {
			return err
		}
		js, err := needString(request_json, "request_json")
		if err != nil {
			return err
		}
		h, err := registryStreamStart(unsafe.Pointer(reg), id, js)
		if err != nil {
			return err
		}
		*out = C.realm_stream_t(h)
		return nil
	})
}

//export realm_registry_realm
func realm_registry_realm(reg C.realm_registry_t, model_id *C.realm_cchar_t, options_json *C.realm_cchar_t, out *C.realm_t, err **C.char) C.int {
	return run(err, func() error {
		if err := needOut(unsafe.Pointer(out), "out"); err != nil {
			return err
		}
		id, err := needString(model_id, "model_id")
		if err != nil {
			return err
		}
		h, err := registryRealm(unsafe.Pointer(reg), id, optString(options_json))
		if err != nil {
			return err
		}
		*out = C.realm_t(h)
		return nil
	})
}
