/*
 * smoke.c: proves Realm's C ABI from C. Built and run by smoke_test.go
 * against librealm.so with the path of a tiny model as argv[1]; prints
 * "generate: <result JSON>" and "OK" on success, exits non-zero on failure.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "realm.h"

static int failures = 0;

/* expect checks a status, prints and frees the error message. */
static void expect(int got, int want, const char *what, char *err) {
    if (got != want) {
        fprintf(stderr, "FAIL %s: status %d, want %d: %s\n", what, got, want, err ? err : "(no message)");
        failures++;
    }
    if (want != REALM_OK && want < 100 && got == want && err == NULL) {
        fprintf(stderr, "FAIL %s: no error message\n", what);
        failures++;
    }
    realm_string_free(err);
}

/* CALL checks a call with a char **err parameter named err. */
#define CALL(want, what, ...)                      \
    do {                                           \
        char *err = NULL;                          \
        int st = __VA_ARGS__;                      \
        expect(st, want, what, err);               \
    } while (0)

/* CALL0 checks a call without an err parameter (free, cancel). */
#define CALL0(want, what, call)                                                  \
    do {                                                                         \
        int st = (call);                                                         \
        if (st != (want)) {                                                      \
            fprintf(stderr, "FAIL %s: status %d, want %d\n", what, st, (want)); \
            failures++;                                                          \
        }                                                                        \
    } while (0)

/* drain reads a stream to its end; returns the number of chunks. */
static int drain(realm_stream_t s, const char *finish_reason) {
    int n = 0;
    for (;;) {
        char *chunk = NULL, *err = NULL;
        int st = realm_stream_next(s, 10000, &chunk, &err);
        if (st == REALM_STREAM_DONE)
            return n;
        if (st == REALM_STREAM_TIMEOUT)
            continue;
        if (st != REALM_OK) {
            expect(st, REALM_OK, "realm_stream_next", err);
            return n;
        }
        n++;
        if (strstr(chunk, "\"done\":true") && !strstr(chunk, finish_reason)) {
            fprintf(stderr, "FAIL final chunk %s lacks %s\n", chunk, finish_reason);
            failures++;
        }
        realm_string_free(chunk);
    }
}

static void *cancel_later(void *arg) {
    realm_stream_cancel((realm_stream_t)arg);
    return NULL;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: smoke MODEL.gguf\n");
        return 2;
    }
    const char *path = argv[1];
    printf("version %s abi %d\n", realm_version(), realm_abi_version());
    if (realm_abi_version() != REALM_ABI_VERSION) {
        fprintf(stderr, "FAIL abi version\n");
        return 1;
    }

    realm_t r = NULL;
    CALL(REALM_OK, "realm_new", realm_new(NULL, &r, &err));
    int loaded = -1;
    CALL(REALM_OK, "realm_is_loaded", realm_is_loaded(r, &loaded, &err));
    if (loaded != 0) {
        fprintf(stderr, "FAIL loaded = %d before loading\n", loaded);
        failures++;
    }
    char *out = NULL;
    CALL(REALM_ERR_NOT_LOADED, "generate before load", realm_generate(r, "{\"prompt\":\"x\"}", &out, &err));
    CALL(REALM_ERR_NOT_FOUND, "load a missing file", realm_load_model(r, "/no/such/model.gguf", NULL, &err));
    CALL(REALM_ERR_INVALID_MODEL, "load junk bytes", realm_load_model_bytes(r, "junk", 4, NULL, &err));
    CALL(REALM_OK, "realm_load_model", realm_load_model(r, path, NULL, &err));
    CALL(REALM_OK, "realm_is_loaded", realm_is_loaded(r, &loaded, &err));
    if (loaded != 1) {
        fprintf(stderr, "FAIL loaded = %d after loading\n", loaded);
        failures++;
    }

    CALL(REALM_OK, "realm_model_info", realm_model_info(r, &out, &err));
    printf("info: %s\n", out);
    realm_string_free(out);

    CALL(REALM_OK, "realm_tokenize", realm_tokenize(r, "the hall", NULL, &out, &err));
    char *text = NULL;
    CALL(REALM_OK, "realm_detokenize", realm_detokenize(r, out, &text, &err));
    if (strcmp(text, "the hall") != 0) {
        fprintf(stderr, "FAIL detokenize gave %s\n", text);
        failures++;
    }
    realm_string_free(out);
    realm_string_free(text);

    const char *request = "{\"prompt\":\"the hall\",\"temperature\":0,\"max_tokens\":8}";
    CALL(REALM_OK, "realm_generate", realm_generate(r, request, &out, &err));
    printf("generate: %s\n", out);
    realm_string_free(out);

    /* Errors come with a message; out-parameters stay untouched. */
    out = (char *)"untouched";
    {
        char *err = NULL;
        int st = realm_generate(r, "{\"prompt\":\"x\",\"temprature\":0}", &out, &err);
        if (st != REALM_ERR_INVALID_ARGUMENT || err == NULL || !strstr(err, "temprature") ||
            strcmp(out, "untouched") != 0) {
            fprintf(stderr, "FAIL typo: status %d err %s\n", st, err ? err : "NULL");
            failures++;
        }
        realm_string_free(err);
    }
    /* err may be NULL. */
    if (realm_generate(r, "not json", &out, NULL) != REALM_ERR_INVALID_ARGUMENT) {
        fprintf(stderr, "FAIL bad JSON without err\n");
        failures++;
    }
    CALL(REALM_ERR_INVALID_ARGUMENT, "NULL request", realm_generate(r, NULL, &out, &err));
    CALL(REALM_ERR_INVALID_ARGUMENT, "NULL out", realm_generate(r, request, NULL, &err));

    /* Streaming to the end, then cancel from another thread. */
    realm_stream_t s = NULL;
    CALL(REALM_OK, "realm_stream_start", realm_stream_start(r, request, &s, &err));
    int chunks = drain(s, "\"finish_reason\":\"length\"");
    printf("stream: %d chunks\n", chunks);
    if (chunks != 9) {
        fprintf(stderr, "FAIL %d chunks, want 8 tokens + final\n", chunks);
        failures++;
    }
    CALL(REALM_STREAM_DONE, "next after the end", realm_stream_next(s, 0, &out, &err));
    CALL0(REALM_OK, "realm_stream_free", realm_stream_free(s));
    CALL0(REALM_ERR_CLOSED, "realm_stream_free twice", realm_stream_free(s));
    CALL(REALM_ERR_CLOSED, "next on a freed stream", realm_stream_next(s, 0, &out, &err));
    CALL0(REALM_ERR_CLOSED, "cancel a freed stream", realm_stream_cancel(s));

    CALL(REALM_OK, "realm_stream_start (long)", realm_stream_start(r, "{\"prompt\":\"the\",\"temperature\":0}", &s, &err));
    CALL(REALM_OK, "first chunk", realm_stream_next(s, -1, &out, &err));
    realm_string_free(out);
    pthread_t th;
    pthread_create(&th, NULL, cancel_later, s);
    drain(s, "\"finish_reason\":\"cancelled\"");
    pthread_join(th, NULL);
    CALL0(REALM_OK, "realm_stream_free", realm_stream_free(s));

    /* A stream freed while generating. */
    CALL(REALM_OK, "realm_stream_start (abandoned)", realm_stream_start(r, "{\"prompt\":\"the\",\"temperature\":0}", &s, &err));
    CALL0(REALM_OK, "realm_stream_free (abandoned)", realm_stream_free(s));

    /* Registry: one file under two ids, a tenant realm. */
    realm_registry_t g = NULL;
    CALL(REALM_OK, "realm_registry_new", realm_registry_new(NULL, &g, &err));
    CALL(REALM_OK, "registry load a", realm_registry_load_model(g, "a", path, NULL, &err));
    CALL(REALM_OK, "registry load b", realm_registry_load_model(g, "b", path, "{}", &err));
    CALL(REALM_ERR_INVALID_ARGUMENT, "registry duplicate", realm_registry_load_model(g, "a", path, NULL, &err));
    CALL(REALM_OK, "registry replace", realm_registry_load_model(g, "a", path, "{\"replace\":true}", &err));
    CALL(REALM_OK, "realm_registry_models", realm_registry_models(g, &out, &err));
    printf("models: %s\n", out);
    realm_string_free(out);
    CALL(REALM_OK, "realm_registry_generate", realm_registry_generate(g, "a", request, &out, &err));
    printf("registry generate: %s\n", out);
    realm_string_free(out);
    CALL(REALM_ERR_NOT_FOUND, "generate unknown id", realm_registry_generate(g, "zz", request, &out, &err));
    CALL(REALM_OK, "realm_registry_stream_start", realm_registry_stream_start(g, "b", request, &s, &err));
    drain(s, "\"finish_reason\":\"length\"");
    CALL0(REALM_OK, "realm_stream_free", realm_stream_free(s));
    realm_t tenant = NULL;
    CALL(REALM_OK, "realm_registry_realm", realm_registry_realm(g, "b", NULL, &tenant, &err));
    CALL(REALM_OK, "realm_registry_unload", realm_registry_unload(g, "b", &err));
    CALL(REALM_ERR_NOT_FOUND, "unload twice", realm_registry_unload(g, "b", &err));
    CALL0(REALM_OK, "realm_registry_free", realm_registry_free(g));
    CALL0(REALM_ERR_CLOSED, "realm_registry_free twice", realm_registry_free(g));
    CALL(REALM_ERR_CLOSED, "use a freed registry", realm_registry_models(g, &out, &err));
    CALL(REALM_OK, "tenant outlives the registry", realm_generate(tenant, request, &out, &err));
    realm_string_free(out);
    CALL0(REALM_OK, "free tenant", realm_free(tenant));

    /* Wrong kinds, NULL and foreign handles. */
    CALL(REALM_ERR_INVALID_ARGUMENT, "NULL realm", realm_is_loaded(NULL, &loaded, &err));
    CALL0(REALM_ERR_INVALID_ARGUMENT, "NULL stream", realm_stream_free(NULL));
    int local = 0;
    CALL(REALM_ERR_CLOSED, "foreign realm", realm_is_loaded((realm_t)&local, &loaded, &err));
    CALL(REALM_ERR_CLOSED, "foreign stream", realm_stream_next((realm_stream_t)&local, 0, &out, &err));
    CALL0(REALM_ERR_INVALID_ARGUMENT, "realm as stream", realm_stream_cancel((realm_stream_t)r));

    /* Free, free again, use after free. */
    CALL0(REALM_OK, "realm_free", realm_free(r));
    CALL0(REALM_ERR_CLOSED, "realm_free twice", realm_free(r));
    CALL(REALM_ERR_CLOSED, "use a freed realm", realm_generate(r, request, &out, &err));
    realm_string_free(NULL);

    if (failures) {
        fprintf(stderr, "%d failures\n", failures);
        return 1;
    }
    printf("OK\n");
    return 0;
}
