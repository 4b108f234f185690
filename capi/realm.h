/*
 * realm.h — the C ABI of Realm, local LLM inference with per-tenant
 * WebAssembly sandboxes. This header is the single source of truth for the
 * ABI: the Go library (capi/, built with -buildmode=c-shared) implements it,
 * and the Python package's cffi definitions are read from the block between
 * the CDEF markers below (a test fails when the two disagree).
 *
 * Conventions
 * - Handles are opaque. realm_t, realm_registry_t and realm_stream_t are
 *   created by *_new / *_start and released by *_free. A NULL, freed or foreign
 *   handle gives REALM_ERR_CLOSED (or REALM_ERR_INVALID_ARGUMENT for NULL, or
 *   for a handle of another kind), never a crash. The library does not hand
 *   out a freed handle's value again for the next 4096 frees, so a stale
 *   handle reliably gives REALM_ERR_CLOSED rather than reaching a new object.
 * - Every call returns a status (REALM_OK = 0). On failure, if err is not
 *   NULL, *err receives a UTF-8 message the caller frees with
 *   realm_string_free. Out-parameters are only written on REALM_OK.
 * - Strings are UTF-8 and NUL-terminated. Structured arguments and results
 *   are JSON (schemas in docs/c-api.md). Every string the library returns is
 *   freed by the caller with realm_string_free. An options_json argument may
 *   be NULL (all defaults); unknown JSON fields, wrong types and values out of
 *   range are REALM_ERR_INVALID_ARGUMENT with a message naming the field.
 * - Streaming is pull-based: realm_stream_next blocks for at most
 *   timeout_ms for the next chunk. realm_stream_cancel and realm_stream_free
 *   are always safe, from any thread, at any time. A stream buffers its
 *   chunks: the generation never waits for the reader.
 * - Calls on different handles run in parallel; calls on one realm_t are
 *   serialised by the library (a stream holds its realm until its generation
 *   ends; a call on the realm meanwhile waits).
 */
#ifndef REALM_H
#define REALM_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* BEGIN CDEF */

/* Status codes. */
#define REALM_OK 0
#define REALM_ERR_NOT_LOADED 1        /* the realm has no model loaded */
#define REALM_ERR_NOT_FOUND 2         /* a file or model id does not exist */
#define REALM_ERR_INVALID_MODEL 3     /* a malformed or corrupt model file */
#define REALM_ERR_UNSUPPORTED_MODEL 4 /* a valid file Realm cannot run */
#define REALM_ERR_INVALID_ARGUMENT 5  /* a bad argument or JSON field */
#define REALM_ERR_SANDBOX 6           /* the tenant's WebAssembly guest failed */
#define REALM_ERR_CANCELLED 7         /* the request was cancelled */
#define REALM_ERR_CLOSED 8            /* the handle was freed or closed */
#define REALM_ERR_CONTEXT_LENGTH 9    /* the prompt does not fit the context */
#define REALM_ERR_INTERNAL 10         /* a bug in Realm; the message says where */
#define REALM_ERR_MEMORY_BUDGET 11    /* a load would exceed the registry's memory budget */
/* Not errors: results of realm_stream_next. */
#define REALM_STREAM_TIMEOUT 100      /* no chunk within timeout_ms; call again */
#define REALM_STREAM_DONE 101         /* the stream has ended; no chunk */

/* The version of this ABI; bumped on any incompatible change. */
#define REALM_ABI_VERSION 1

typedef struct realm_handle *realm_t;
typedef struct realm_registry_handle *realm_registry_t;
typedef struct realm_stream_handle *realm_stream_t;

/* The library's version string (static; do not free). */
const char *realm_version(void);
/* The ABI version the library implements (compare with REALM_ABI_VERSION). */
int realm_abi_version(void);
/* Frees a string returned by the library. NULL is allowed. */
void realm_string_free(char *s);
/* Collects the library's garbage and returns free memory to the operating
 * system (what a model unload does by itself). Safe at any time from any
 * thread; useful before measuring resident memory. */
void realm_release_memory(void);

/* --- Realm: one tenant with at most one model loaded ------------------ */

/*
 * options_json: {"threads": int, "context_length": int, "guest_wasm": string,
 * "guest_config": string} or NULL. threads and context_length are the defaults
 * of the models the realm loads. Every token the realm generates is chosen by
 * its own instance of a WebAssembly guest (docs/guest-abi.md): the default
 * guest (same tokens as the native sampler), or the module in "guest_wasm"
 * (base64); "guest_config" is handed to the guest verbatim. An invalid module
 * is REALM_ERR_SANDBOX; a guest failing during a request fails that request
 * with REALM_ERR_SANDBOX and the realm carries on.
 */
int realm_new(const char *options_json, realm_t *out, char **err);
/* Frees the realm: its generations in flight end within a token with
 * finish_reason "cancelled" (its stream handles stay valid until
 * realm_stream_free) and its model is released. Freeing twice gives
 * REALM_ERR_CLOSED. */
int realm_free(realm_t realm);
/* Loads a GGUF file, replacing any model loaded before (which stays if loading
 * fails). options_json as realm_new (overriding the realm's), or NULL. A file
 * already loaded (same path, inode, size, mtime and options) by any realm or
 * registry is shared, not mapped again. */
int realm_load_model(realm_t realm, const char *path, const char *options_json, char **err);
/* Loads a GGUF model from memory. The library copies the bytes before it
 * returns: the caller may free data at once. */
int realm_load_model_bytes(realm_t realm, const void *data, size_t len, const char *options_json, char **err);
/* *out = 1 when a model is loaded, else 0. */
int realm_is_loaded(realm_t realm, int *out, char **err);
/* *info_json: {"architecture", "name", "n_params", "n_vocab", "n_ctx_train", "n_ctx", "n_embd", "n_layer", "n_head", "n_head_kv", "file_type", "file_size", "has_chat_template", "bos_token_id", "eos_token_id", "threads"}; more fields may be added. */
int realm_model_info(realm_t realm, char **info_json, char **err);
/* options_json: {"add_special": bool = true, "parse_special": bool = false}. *tokens_json: [int, ...]. */
int realm_tokenize(realm_t realm, const char *text, const char *options_json, char **tokens_json, char **err);
/* tokens_json: [int, ...]. *text: the decoded UTF-8 text. */
int realm_detokenize(realm_t realm, const char *tokens_json, char **text, char **err);
/* messages_json: [{"role", "content"}, ...]; options_json: {"add_generation_prompt": bool = true}. */
int realm_apply_chat_template(realm_t realm, const char *messages_json, const char *options_json, char **prompt, char **err);
/*
 * request_json: exactly one of "prompt" (string), "prompts" ([string, ...]) or
 * "messages" ([{"role", "content"}, ...]), plus sampling fields
 * "max_tokens", "temperature", "top_k", "top_p", "min_p", "repeat_penalty",
 * "repeat_last_n", "seed", "stop" ([string, ...]).
 * Sampling fields left out (or null) take llama.cpp's defaults. Prompts are
 * tokenized with add_special and parse_special; messages are rendered with
 * the model's chat template (with the generation prompt) first.
 * *result_json: {"text", "tokens", "finish_reason", "usage": {"prompt_tokens",
 * "completion_tokens", "total_tokens"}, "timings": {"prompt_ms", "decode_ms",
 * "cached_tokens"}}; for "prompts", a JSON array of such objects in the
 * order of the prompts (generated at the same time, batched in the engine;
 * each result is the one the prompt gets alone).
 */
int realm_generate(realm_t realm, const char *request_json, char **result_json, char **err);
/* Starts a generation (request_json as realm_generate). The request is
 * checked and its prompts tokenized before this returns, so bad requests, a
 * missing model and a too long prompt fail here. With "prompts" the prompts
 * are generated at the same time: their chunks interleave, each with an
 * "index" (the prompt's position; left out for 0), and each prompt ends with
 * a final chunk of its own; REALM_STREAM_DONE follows the last of them. */
int realm_stream_start(realm_t realm, const char *request_json, realm_stream_t *out, char **err);

/* --- Streams -------------------------------------------------------- */

/*
 * Waits at most timeout_ms (< 0: forever) for the next chunk:
 * REALM_OK with *chunk_json = {"text": delta, "token": id, "done": false}
 * (one per generated token; "text" may be "" while text that may begin a
 * stop string or an incomplete UTF-8 character is held back), the last chunk
 * being {"text", "done": true, "finish_reason", "usage", "timings"} whose
 * "text" is what was still held back; REALM_STREAM_TIMEOUT (no chunk yet),
 * REALM_STREAM_DONE (after the last chunk), or an error status, once, if the
 * generation failed (then REALM_STREAM_DONE).
 */
int realm_stream_next(realm_stream_t stream, int timeout_ms, char **chunk_json, char **err);
/* Asks the generation to stop; the stream then ends with finish_reason "cancelled". */
int realm_stream_cancel(realm_stream_t stream);
/* Asks prompt index of a "prompts" stream (0 for a single prompt) to stop:
 * it ends with finish_reason "cancelled", the other prompts go on.
 * REALM_ERR_INVALID_ARGUMENT for an index out of range. */
int realm_stream_cancel_prompt(realm_stream_t stream, int index);
/* Cancels if needed, waits (at most 10 s) for the generation to stop, and
 * frees the stream. Freeing twice gives REALM_ERR_CLOSED. */
int realm_stream_free(realm_stream_t stream);

/* --- Registry: named models shared by many realms ----------------------- */

/* options_json: {"threads": int, "context_length": int, "memory_budget": int}
 * or NULL. memory_budget (bytes, 0 = none) bounds the model files the
 * registry's ids hold (a file under several ids counts once): a load past it
 * first unloads the least recently used models no realm or request uses, and
 * fails with REALM_ERR_MEMORY_BUDGET (unloading nothing) if that cannot make
 * room. */
int realm_registry_new(const char *options_json, realm_registry_t *out, char **err);
/* Frees the registry: unloads every model. Realms it created stay valid until
 * freed; its generations in flight finish. */
int realm_registry_free(realm_registry_t registry);
/* options_json: {"replace": bool = false, "context_length": int, "threads": int};
 * a duplicate or empty id without replace is REALM_ERR_INVALID_ARGUMENT. One
 * file loaded under several ids (or by realms) with the same threads is mapped
 * once, whatever their context lengths (the context length is per session). */
int realm_registry_load_model(realm_registry_t registry, const char *model_id, const char *path, const char *options_json, char **err);
int realm_registry_load_model_bytes(realm_registry_t registry, const char *model_id, const void *data, size_t len, const char *options_json, char **err);
/* Removes the id at once (REALM_ERR_NOT_FOUND if unknown), also while realms
 * from realm_registry_realm use it: unloading is deferred, not refused. The
 * id is free for a new load immediately; the weights are freed when the last
 * realm using them is freed. Generations in flight finish. */
int realm_registry_unload(realm_registry_t registry, const char *model_id, char **err);
/* *models_json: [{"id", "info": {...as realm_model_info}, "realms": int}, ...]
 * sorted by id; "realms" counts the live realms from realm_registry_realm. */
int realm_registry_models(realm_registry_t registry, char **models_json, char **err);
/* Generation by id (request and result as realm_generate / realm_stream_start)
 * runs on a small pool of registry-owned sessions per model: concurrent
 * requests run in parallel; sequential ones reuse a session's KV cache. */
int realm_registry_generate(realm_registry_t registry, const char *model_id, const char *request_json, char **result_json, char **err);
int realm_registry_stream_start(realm_registry_t registry, const char *model_id, const char *request_json, realm_stream_t *out, char **err);
/* A new realm sharing model_id's weights, with its own state (session and guest
 * instance). options_json: {"guest_wasm": string, "guest_config": string} as
 * realm_new, or NULL for the default guest. */
int realm_registry_realm(realm_registry_t registry, const char *model_id, const char *options_json, realm_t *out, char **err);

/* --- Server: the OpenAI-compatible HTTP server (docs/deploy.md) -------- */

typedef struct realm_server_handle *realm_server_t;

/*
 * Loads the models into a new registry, listens and serves in the background
 * (POST /v1/chat/completions, POST /v1/completions, GET /v1/models, /health,
 * /metrics). options_json: {"models": [{"id", "path"}, ...] (required),
 * "host": string = "127.0.0.1", "port": int = 0 (0: a free port),
 * "api_keys_file": string (lines "KEY TENANT [GUEST.wasm]"; absent: no
 * authentication), "threads", "context_length", "max_body_bytes": int =
 * 1048576, "shutdown_timeout_ms": int = 10000, "log_requests": bool,
 * "quiet": bool}. Startup messages go to stderr. The library installs no
 * signal handler: the caller decides when to shut down.
 */
int realm_server_start(const char *options_json, realm_server_t *out, char **err);
/* *info_json: {"address": "host:port", "auth": bool, "models": [id, ...]}. */
int realm_server_info(realm_server_t server, char **info_json, char **err);
/* Graceful shutdown: /health answers 503, the listener closes, requests in
 * flight may finish for up to timeout_ms (0: the configured bound), then are
 * cancelled and get at most 5 s more; the models are unloaded. Idempotent. */
int realm_server_shutdown(realm_server_t server, int timeout_ms, char **err);
/* Shuts down at once (cancelling requests in flight) if still serving, and
 * frees the handle. Freeing twice gives REALM_ERR_CLOSED. */
int realm_server_free(realm_server_t server);

/* END CDEF */

#ifdef __cplusplus
}
#endif

#endif /* REALM_H */
