/*
 * realm_chain.h: the native sampler chain of engine/sample, in C, for
 * guests: llama.cpp's top_k -> top_p -> min_p -> temperature -> dist over
 * the host's candidates, with the same float arithmetic step for step, so
 * a guest using it draws the same tokens as the native sampler for the
 * same seed. Header-only: include it in one translation unit.
 *
 * Keep in step with engine/sample/chain.go, mt19937.go and exp32.go; the
 * tests in engine/sandbox compare the two over many random lists.
 */
#ifndef REALM_CHAIN_H
#define REALM_CHAIN_H

#include "realm.h"

/* ---- exp: engine/sample.Exp32, the same float64 operations in order ---- */

static inline float realm_exp32(float x) {
	if (x != x) return x;
	if (x > 89.0f) return __builtin_inff();
	if (x < -104.0f) return 0.0f;
	const double log2e = 0x1.71547652b82fep+0;
	const double ln2hi = 0x1.62e42feep-1;
	const double ln2lo = 0x1.a39ef35793c76p-33;
	double d = (double)x;
	double k = __builtin_floor(d * log2e + 0.5);
	double r = (d - k * ln2hi) - k * ln2lo;
	double p = 0x1.6124613a86d09p-33;
	p = 0x1.1eed8eff8d898p-29 + p * r;
	p = 0x1.ae64567f544e4p-26 + p * r;
	p = 0x1.27e4fb7789f5cp-22 + p * r;
	p = 0x1.71de3a556c734p-19 + p * r;
	p = 0x1.a01a01a01a01ap-16 + p * r;
	p = 0x1.a01a01a01a01ap-13 + p * r;
	p = 0x1.6c16c16c16c17p-10 + p * r;
	p = 0x1.1111111111111p-07 + p * r;
	p = 0x1.5555555555555p-05 + p * r;
	p = 0x1.5555555555555p-03 + p * r;
	p = 0x1p-01 + p * r;
	p = 1.0 + p * r;
	p = 1.0 + p * r;
	union {
		uint64_t u;
		double d;
	} scale;
	scale.u = (uint64_t)((int64_t)k + 1023) << 52;
	return (float)(p * scale.d);
}

/* ---- std::mt19937 and libstdc++'s generate_canonical<double, 53> ---- */

#define REALM_MT_N 624
#define REALM_MT_M 397

typedef struct {
	uint32_t state[REALM_MT_N];
	int32_t index;
} realm_mt19937;

static inline void realm_mt_seed(realm_mt19937 *g, uint32_t s) {
	g->state[0] = s;
	for (int i = 1; i < REALM_MT_N; i++) {
		uint32_t prev = g->state[i - 1];
		g->state[i] = 1812433253u * (prev ^ (prev >> 30)) + (uint32_t)i;
	}
	g->index = REALM_MT_N;
}

static inline uint32_t realm_mt_next(realm_mt19937 *g) {
	if (g->index >= REALM_MT_N) {
		for (int i = 0; i < REALM_MT_N; i++) {
			uint32_t y = (g->state[i] & 0x80000000u) | (g->state[(i + 1) % REALM_MT_N] & 0x7fffffffu);
			uint32_t next = g->state[(i + REALM_MT_M) % REALM_MT_N] ^ (y >> 1);
			if (y & 1) next ^= 0x9908b0dfu;
			g->state[i] = next;
		}
		g->index = 0;
	}
	uint32_t y = g->state[g->index++];
	y ^= y >> 11;
	y ^= (y << 7) & 0x9d2c5680u;
	y ^= (y << 15) & 0xefc60000u;
	y ^= y >> 18;
	return y;
}

static inline double realm_mt_double(realm_mt19937 *g) {
	const double two32 = 4294967296.0;
	double sum = (double)realm_mt_next(g);
	sum += (double)realm_mt_next(g) * two32;
	double r = sum / (two32 * two32);
	if (r >= 1.0) r = 0x1.fffffffffffffp-1;
	return r;
}

/* ---- the chain ---- */

typedef struct {
	int32_t top_k;
	float top_p, min_p, log_min_p, temperature;
	realm_mt19937 rng;
	realm_candidate buf[REALM_MAX_CANDIDATES];
	float probs[REALM_MAX_CANDIDATES];
} realm_chain;

/* Starts a request: copies the knobs and seeds the generator with the
 * 64-bit seed folded to 32 bits (low ^ high), like engine/sample. */
static inline void realm_chain_begin(realm_chain *c, const realm_params *p) {
	c->top_k = p->top_k;
	c->top_p = p->top_p;
	c->min_p = p->min_p;
	c->log_min_p = p->log_min_p;
	c->temperature = p->temperature;
	realm_mt_seed(&c->rng, (uint32_t)p->seed ^ (uint32_t)(p->seed >> 32));
}

/* Chooses among cands[0..n) (best first, 1 <= n <= REALM_MAX_CANDIDATES)
 * and returns the chosen id. */
static inline int32_t realm_chain_choose(realm_chain *c, const realm_candidate *cands, int32_t n) {
	realm_candidate *cur = c->buf;
	for (int32_t i = 0; i < n; i++) cur[i] = cands[i];

	/* top_k: the list is sorted, so keeping the best k is a prefix. */
	if (c->top_k > 0 && c->top_k < n) n = c->top_k;

	/* top_p: smallest prefix whose softmax mass reaches p. */
	if (c->top_p < 1.0f) {
		float maxl = cur[0].logit, sum = 0.0f;
		for (int32_t i = 0; i < n; i++) {
			float p = realm_exp32(cur[i].logit - maxl);
			c->probs[i] = p;
			sum += p;
		}
		for (int32_t i = 0; i < n; i++) c->probs[i] /= sum;
		float cum = 0.0f;
		for (int32_t i = 0; i < n; i++) {
			cum += c->probs[i];
			if (cum >= c->top_p) {
				n = i + 1;
				break;
			}
		}
	}

	/* min_p: keep logits >= max + log(min_p). */
	if (c->min_p > 0.0f) {
		float min_logit = cur[0].logit + c->log_min_p;
		int32_t keep = 1;
		while (keep < n && cur[keep].logit >= min_logit) keep++;
		n = keep;
	}

	if (c->temperature <= 0.0f || n == 1) return cur[0].id;
	for (int32_t i = 0; i < n; i++) cur[i].logit /= c->temperature;

	/* dist: float32 weights summed in double, one uniform double. */
	float maxl = cur[0].logit;
	double total = 0.0;
	for (int32_t i = 0; i < n; i++) {
		float w = realm_exp32(cur[i].logit - maxl);
		c->probs[i] = w;
		total += (double)w;
	}
	double target = total * realm_mt_double(&c->rng);
	double run = 0.0;
	for (int32_t i = 0; i < n; i++) {
		run += (double)c->probs[i];
		if (run >= target) return cur[i].id;
	}
	return cur[n - 1].id;
}

/* ---- a bump allocator over the memory after the module's data ---- */

extern unsigned char __heap_base;
static uint32_t realm_heap_top;

/* Returns size bytes aligned to 8, growing memory as needed, or 0 when the
 * memory cap is reached. Memory is never freed. */
static inline void *realm_bump(uint32_t size) {
	if (realm_heap_top == 0) realm_heap_top = ((uint32_t)(uintptr_t)&__heap_base + 7u) & ~7u;
	uint64_t start = realm_heap_top;
	uint64_t end = start + (((uint64_t)size + 7u) & ~(uint64_t)7u);
	uint64_t have = (uint64_t)__builtin_wasm_memory_size(0) * 65536u;
	if (end > have) {
		uint64_t pages = (end - have + 65535u) / 65536u;
		if (end > 0xffffffffu || __builtin_wasm_memory_grow(0, (uintptr_t)pages) == (uintptr_t)-1) return 0;
	}
	realm_heap_top = (uint32_t)end;
	return (void *)(uintptr_t)start;
}

/* Frees p, the most recent realm_bump block, and everything after it. */
static inline void realm_bump_release(void *p) { realm_heap_top = (uint32_t)(uintptr_t)p; }

#endif
