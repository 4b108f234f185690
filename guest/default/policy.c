/*
 * The default Realm guest: the native sampler chain of engine/sample
 * (top_k -> top_p -> min_p -> temperature -> dist, llama.cpp's order and
 * arithmetic) run inside the sandbox. The host applies the repetition
 * penalty and hands the best candidates; this guest draws among them and
 * gives, for the same seed, the same tokens as the native sampler.
 *
 * Built by guest/build.sh (make guest) into engine/sandbox/default.wasm.
 */
#include "realm.h"
#include "realm_chain.h"

/* Guest error codes (realm_begin / realm_step return them). */
#define ERR_BAD_PARAMS (-2)
#define ERR_BAD_CANDIDATES (-3)
#define ERR_NOT_BEGUN (-4)

static realm_chain chain;
static int begun;
static void *request_block;
static uint32_t request_cap;

REALM_EXPORT("realm_abi_version") int32_t realm_abi_version(void) { return REALM_ABI_VERSION; }

REALM_EXPORT("realm_alloc") int32_t realm_alloc(int32_t kind, int32_t size) {
	if (size < 0) return 0;
	if (kind == REALM_ALLOC_REQUEST) {
		/* The previous request block is dead once a new one is asked for:
		 * reuse it, or grow it in place (it is the last allocation). */
		if ((uint32_t)size <= request_cap) return (int32_t)(uintptr_t)request_block;
		uint32_t want = (uint32_t)size > 2 * request_cap ? (uint32_t)size : 2 * request_cap;
		if (request_block != 0) realm_bump_release(request_block);
		void *p = realm_bump(want);
		if (p == 0 && want > (uint32_t)size) p = realm_bump((uint32_t)size), want = (uint32_t)size;
		if (p == 0) {
			request_block = 0, request_cap = 0;
			return 0;
		}
		request_block = p;
		request_cap = want;
		return (int32_t)(uintptr_t)p;
	}
	return (int32_t)(uintptr_t)realm_bump((uint32_t)size);
}

REALM_EXPORT("realm_begin") int32_t realm_begin(int32_t ptr, int32_t len) {
	const realm_params *p = (const realm_params *)(uintptr_t)ptr;
	if (len < (int32_t)sizeof(realm_params) || p->struct_size < sizeof(realm_params) ||
	    p->struct_size > (uint32_t)len) {
		begun = 0;
		return ERR_BAD_PARAMS;
	}
	realm_chain_begin(&chain, p);
	begun = 1;
	return 0;
}

REALM_EXPORT("realm_step") int32_t realm_step(int32_t ptr, int32_t n) {
	if (!begun) return ERR_NOT_BEGUN;
	if (n < 1 || n > REALM_MAX_CANDIDATES) return ERR_BAD_CANDIDATES;
	return realm_chain_choose(&chain, (const realm_candidate *)(uintptr_t)ptr, n);
}
