/*
 * realm.h: the Realm guest ABI, version 1, for guests written in C.
 *
 * A Realm guest is a wasm32 module that imports only from module "realm"
 * (the functions declared below) and exports realm_abi_version,
 * realm_alloc, realm_begin, realm_step and its memory. docs/guest-abi.md is
 * the reference; this header mirrors it.
 *
 * Build (see guest/build.sh):
 *   clang --target=wasm32 -nostdlib -ffreestanding -O2 -Iguest/include \
 *         -Wl,--no-entry -o guest.wasm guest.c
 */
#ifndef REALM_H
#define REALM_H

#include <stdint.h>

#define REALM_ABI_VERSION 1

/* Marks a function the guest exports under the given name. */
#define REALM_EXPORT(name) __attribute__((export_name(name), visibility("default")))
#define REALM_IMPORT(name) __attribute__((import_module("realm"), import_name(name)))

/* realm_step's return value that ends generation (finish reason "stop"). */
#define REALM_STOP (-1)

/* realm_alloc kinds. */
#define REALM_ALLOC_CANDIDATES 0 /* once per instance: MaxCandidates * 8 bytes */
#define REALM_ALLOC_REQUEST 1    /* before each request: the request block */

/* The most candidates a step hands over. */
#define REALM_MAX_CANDIDATES 256

/* One candidate token: id and its logit after the repetition penalty. */
typedef struct {
	int32_t id;
	float logit;
} realm_candidate;

/*
 * The request block's header (little-endian, 48 bytes in version 1),
 * followed by n_prompt int32 token ids. Later ABI versions may append
 * fields: read struct_size, never assume it is 48.
 */
typedef struct {
	uint32_t struct_size;  /* bytes of this header: 48 in version 1 */
	int32_t n_vocab;       /* token ids are in [0, n_vocab) */
	float temperature;     /* <= 0: greedy */
	int32_t top_k;         /* 0: off */
	float top_p;           /* 1: off */
	float min_p;           /* 0: off */
	float log_min_p;       /* logf(min_p) as the host computes it; -inf when min_p is 0 */
	float repeat_penalty;  /* already applied by the host to the candidates */
	int32_t repeat_last_n; /* the window it used (-1: all, 0: off) */
	int32_t n_prompt;      /* prompt tokens following this header */
	uint64_t seed;         /* the request's seed */
} realm_params;

_Static_assert(sizeof(realm_params) == 48, "realm_params is 48 bytes");
_Static_assert(sizeof(realm_candidate) == 8, "realm_candidate is 8 bytes");

/*
 * Imports. Pointers are guest addresses; the host checks every range and
 * traps the guest (a sandbox error) when one lies outside its memory.
 */

/* Writes the text bytes of token id (llama_token_to_piece, special=false:
 * control tokens have none) to out if they fit in cap. Returns their
 * length (nothing is written when it exceeds cap), or -1 if id is not a
 * token. */
REALM_IMPORT("token_piece") int32_t realm_token_piece(int32_t id, uint8_t *out, int32_t cap);

/* During realm_step only: writes to out[i] the raw logit (before the
 * repetition penalty) of ids[i] for i < n. Returns n, or -1 (nothing
 * written) outside realm_step or when an id is not a token. */
REALM_IMPORT("logits") int32_t realm_logits(const int32_t *ids, int32_t n, float *out);

/* Writes the Realm's configuration bytes (opaque to the host, set when the
 * Realm was created) to out if they fit in cap. Returns their length. */
REALM_IMPORT("config") int32_t realm_config(uint8_t *out, int32_t cap);

/* Hands the host one debug line (truncated to 1 KiB; at most 64 lines per
 * request are kept). */
REALM_IMPORT("log") void realm_log(const char *msg, int32_t len);

#endif
