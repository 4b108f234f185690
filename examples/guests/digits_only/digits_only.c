/*
 * digits_only: a worked example of a custom Realm guest.
 *
 * It constrains what the model may say, in one of two modes chosen by the
 * Realm's configuration bytes (the "config" import):
 *
 *   ""  or "digits"       Only tokens made entirely of ASCII digits may be
 *                         generated. The guest reads the raw logits of all
 *                         such tokens (the "logits" import), so a digit is
 *                         found even when none is among the host's
 *                         candidates, and samples among them with the
 *                         request's parameters and seed. Once at least one
 *                         digit is out, it stops as soon as the model's own
 *                         favourite token is not a digit token: the answer
 *                         is a number, and then the end.
 *
 *   "ban\nword\nword..."  Tokens whose text, leading spaces dropped, is one
 *                         of the words (ASCII case-insensitive) are never
 *                         generated; everything else samples as usual. If
 *                         every candidate is banned, generation stops.
 *
 * It learns the vocabulary once, on its first request, through the
 * "token_piece" import, and keeps a bitmap of the tokens it allows or bans.
 * Sampling reuses realm_chain.h, the same chain as the default guest.
 *
 * Build:  guest/build.sh digits_only.wasm examples/guests/digits_only/digits_only.c
 * Use:    python: registry.realm("smol", guest=open("digits_only.wasm","rb").read())
 *         Go:     mod, _ := host.Compile(wasm); inst, _ := mod.Instantiate(ctx, vocab, []byte("digits"))
 */
#include "realm.h"
#include "realm_chain.h"

#define ERR_BAD_PARAMS (-2)
#define ERR_NO_MEMORY (-3)
#define ERR_BAD_CANDIDATES (-4)
#define ERR_CONFIG (-5)

#define MAX_ALLOWED 4096 /* digit tokens considered (the first ones found) */
#define MAX_WORDS 64
#define MAX_WORD 48
#define MAX_PIECE 64

enum { MODE_DIGITS, MODE_BAN };

static int mode;
static int ready;         /* the vocabulary was scanned */
static int32_t n_vocab;
static uint8_t *marked;   /* bitmap over the vocabulary: digit token, or banned token */
static int32_t allowed[MAX_ALLOWED];
static int32_t n_allowed;
static char words[MAX_WORDS][MAX_WORD + 1];
static int n_words;

static realm_chain chain;
static int begun;
static int32_t produced; /* tokens chosen in this request */
static realm_candidate list[REALM_MAX_CANDIDATES];
static float raw[MAX_ALLOWED];
static void *request_block;
static uint32_t request_cap;

static void say(const char *s) {
	int32_t n = 0;
	while (s[n]) n++;
	realm_log(s, n);
}

static int is_marked(int32_t id) { return id >= 0 && id < n_vocab && (marked[id >> 3] >> (id & 7)) & 1; }
static void mark(int32_t id) { marked[id >> 3] |= (uint8_t)(1u << (id & 7)); }
static char lower(char c) { return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c; }

static int same(const uint8_t *a, const char *b, int32_t n) {
	for (int32_t i = 0; i < n; i++)
		if (a[i] != (uint8_t)b[i]) return 0;
	return 1;
}

/* Reads the configuration: the mode and the banned words. */
static int read_config(void) {
	static uint8_t cfg[MAX_WORDS * (MAX_WORD + 1) + 8];
	int32_t n = realm_config(cfg, (int32_t)sizeof cfg);
	if (n > (int32_t)sizeof cfg) {
		say("digits_only: configuration too long");
		return ERR_CONFIG;
	}
	if (n == 0 || (n == 6 && same(cfg, "digits", 6))) {
		mode = MODE_DIGITS;
		return 0;
	}
	if (n < 3 || !same(cfg, "ban", 3) || (n > 3 && cfg[3] != '\n')) {
		say("digits_only: configuration must be empty, \"digits\" or \"ban\\n<words>\"");
		return ERR_CONFIG;
	}
	mode = MODE_BAN;
	int len = 0;
	for (int32_t i = 4; i <= n; i++) {
		char c = i < n ? (char)cfg[i] : '\n';
		if (c == '\n') {
			if (len > 0 && n_words < MAX_WORDS) words[n_words++][len] = 0;
			len = 0;
		} else if (len < MAX_WORD && n_words < MAX_WORDS) {
			words[n_words][len++] = lower(c);
		}
	}
	return 0;
}

static int all_digits(const uint8_t *s, int32_t n) {
	if (n <= 0) return 0;
	for (int32_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9') return 0;
	return 1;
}

static int is_banned_text(const uint8_t *s, int32_t n) {
	while (n > 0 && *s == ' ') s++, n--;
	if (n <= 0 || n > MAX_WORD) return 0;
	for (int w = 0; w < n_words; w++) {
		int32_t i = 0;
		while (i < n && words[w][i] && lower((char)s[i]) == words[w][i]) i++;
		if (i == n && words[w][i] == 0) return 1;
	}
	return 0;
}

/* Scans the vocabulary once and fills the bitmap. */
static int scan(int32_t vocab) {
	int err = read_config();
	if (err) return err;
	n_vocab = vocab;
	marked = realm_bump(((uint32_t)vocab + 7) / 8);
	if (marked == 0) return ERR_NO_MEMORY;
	for (int32_t i = 0; i < (vocab + 7) / 8; i++) marked[i] = 0;
	uint8_t piece[MAX_PIECE];
	for (int32_t id = 0; id < vocab; id++) {
		int32_t n = realm_token_piece(id, piece, MAX_PIECE);
		if (n > MAX_PIECE) continue;
		if (mode == MODE_DIGITS && all_digits(piece, n)) {
			mark(id);
			if (n_allowed < MAX_ALLOWED) allowed[n_allowed++] = id;
		} else if (mode == MODE_BAN && is_banned_text(piece, n)) {
			mark(id);
		}
	}
	if (mode == MODE_DIGITS && n_allowed == 0) say("digits_only: the vocabulary has no digit tokens");
	ready = 1;
	return 0;
}

REALM_EXPORT("realm_abi_version") int32_t realm_abi_version(void) { return REALM_ABI_VERSION; }

REALM_EXPORT("realm_alloc") int32_t realm_alloc(int32_t kind, int32_t size) {
	if (size < 0) return 0;
	if (kind == REALM_ALLOC_REQUEST) {
		if ((uint32_t)size <= request_cap) return (int32_t)(uintptr_t)request_block;
		void *p = realm_bump((uint32_t)size);
		if (p == 0) return 0;
		request_block = p;
		request_cap = (uint32_t)size;
		return (int32_t)(uintptr_t)p;
	}
	return (int32_t)(uintptr_t)realm_bump((uint32_t)size);
}

REALM_EXPORT("realm_begin") int32_t realm_begin(int32_t ptr, int32_t len) {
	const realm_params *p = (const realm_params *)(uintptr_t)ptr;
	begun = 0;
	if (len < (int32_t)sizeof(realm_params) || p->struct_size < sizeof(realm_params) || p->n_vocab <= 0)
		return ERR_BAD_PARAMS;
	if (!ready) {
		int err = scan(p->n_vocab);
		if (err) return err;
	}
	realm_chain_begin(&chain, p);
	produced = 0;
	begun = 1;
	return 0;
}

/* Inserts (id, logit) into list[0..n), kept sorted best first (higher
 * logit, then lower id), capped at REALM_MAX_CANDIDATES. */
static int32_t insert(int32_t n, int32_t id, float logit) {
	if (logit != logit) logit = -__builtin_inff();
	int32_t i = n < REALM_MAX_CANDIDATES ? n : REALM_MAX_CANDIDATES - 1;
	if (n == REALM_MAX_CANDIDATES) {
		realm_candidate last = list[n - 1];
		if (!(logit > last.logit || (logit == last.logit && id < last.id))) return n;
	} else {
		n++;
	}
	while (i > 0 && (list[i - 1].logit < logit || (list[i - 1].logit == logit && list[i - 1].id > id))) {
		list[i] = list[i - 1];
		i--;
	}
	list[i].id = id;
	list[i].logit = logit;
	return n;
}

static int32_t step_digits(const realm_candidate *cands) {
	if (n_allowed == 0) return REALM_STOP;
	/* After the first digit, stop when the model would rather say something else. */
	if (produced > 0 && !is_marked(cands[0].id)) return REALM_STOP;
	if (realm_logits(allowed, n_allowed, raw) != n_allowed) return REALM_STOP;
	int32_t n = 0;
	for (int32_t i = 0; i < n_allowed; i++) n = insert(n, allowed[i], raw[i]);
	return realm_chain_choose(&chain, list, n);
}

static int32_t step_ban(const realm_candidate *cands, int32_t n) {
	int32_t kept = 0;
	for (int32_t i = 0; i < n; i++)
		if (!is_marked(cands[i].id)) list[kept++] = cands[i];
	if (kept == 0) return REALM_STOP;
	return realm_chain_choose(&chain, list, kept);
}

REALM_EXPORT("realm_step") int32_t realm_step(int32_t ptr, int32_t n) {
	if (!begun || n < 1 || n > REALM_MAX_CANDIDATES) return ERR_BAD_CANDIDATES;
	const realm_candidate *cands = (const realm_candidate *)(uintptr_t)ptr;
	int32_t id = mode == MODE_DIGITS ? step_digits(cands) : step_ban(cands, n);
	if (id >= 0) produced++;
	return id;
}
