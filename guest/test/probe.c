/*
 * A test-only module exposing the pieces of realm_chain.h, so that
 * engine/sandbox's tests can compare them bit for bit with engine/sample:
 * realm_exp32 over a sweep of float32 inputs and the Mersenne Twister.
 * Not a Realm guest (it has none of the ABI's exports).
 */
#include "realm_chain.h"

#define BATCH 65536
static float batch[BATCH];
static realm_mt19937 rng;

REALM_EXPORT("probe_batch") float *probe_batch(void) { return batch; }

/* Replaces batch[0..n) by realm_exp32 of each. */
REALM_EXPORT("probe_exp32") void probe_exp32(int32_t n) {
	for (int32_t i = 0; i < n && i < BATCH; i++) batch[i] = realm_exp32(batch[i]);
}

REALM_EXPORT("probe_mt_seed") void probe_mt_seed(uint32_t s) { realm_mt_seed(&rng, s); }
REALM_EXPORT("probe_mt_next") uint32_t probe_mt_next(void) { return realm_mt_next(&rng); }
REALM_EXPORT("probe_mt_double") double probe_mt_double(void) { return realm_mt_double(&rng); }
