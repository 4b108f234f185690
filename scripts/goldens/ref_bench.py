#!/usr/bin/env python3
"""Measure llama.cpp's speed on the golden models, to compare Realm against.

    /work/ref/venv/bin/python scripts/goldens/ref_bench.py MODEL.gguf [MODEL.gguf ...] 2>/dev/null

For each model and 1 and 2 threads: prompt evaluation of 128 tokens as one
batch, then 64 greedy tokens decoded one per llama_decode (argmax in numpy,
no sampler). Each measurement is repeated and the fastest run is kept (the
machine may be shared); times are wall-clock around llama_decode. llama.cpp
runs with its defaults (weight repacking on, flash attention off, f16 KV
cache), i.e. as fast as a user would see it. On a busy machine the 2-thread
numbers collapse (OpenMP barriers wait for descheduled threads): look at
loadavg_before/after. Prints one JSON document on stdout.
"""
import json
import os
import sys
import time

import numpy as np
import llama_cpp
from llama_cpp import Llama

PROMPT_TOKENS = 128
DECODE_TOKENS = 64
REPEATS = 3
TEXT = ("The history of timekeeping is long and varied. Early civilizations used the sun, the stars and "
        "the flow of water to measure the passing hours. Mechanical clocks appeared in Europe in the "
        "thirteenth century, driven by weights and regulated by a verge escapement. ") * 8


def bench(path, threads):
    llm = Llama(model_path=path, n_ctx=2048, n_batch=512, n_ubatch=512, n_threads=threads,
                n_threads_batch=threads, logits_all=False, flash_attn=False,
                verbose=True)  # verbose=False segfaults in llama_decode (llama-cpp-python 0.3.36)
    n_vocab = llm.n_vocab()
    prompt = llm.tokenize(TEXT.encode(), add_bos=True, special=False)[:PROMPT_TOKENS]
    assert len(prompt) == PROMPT_TOKENS

    def last():
        ptr = llama_cpp.llama_get_logits_ith(llm.ctx, -1)
        return np.ctypeslib.as_array(ptr, shape=(n_vocab,))

    best_pp, best_tg = float("inf"), float("inf")
    llm.reset()
    llm.eval(prompt[:8])  # warm-up: page in the weights, allocate buffers
    for _ in range(REPEATS):
        llm.reset()
        t0 = time.perf_counter()
        llm.eval(prompt)
        best_pp = min(best_pp, time.perf_counter() - t0)
        tg = 0.0
        tok = int(np.argmax(last()))
        for _ in range(DECODE_TOKENS):
            t0 = time.perf_counter()
            llm.eval([tok])
            tg += time.perf_counter() - t0
            tok = int(np.argmax(last()))
        best_tg = min(best_tg, tg)
    del llm
    return {
        "threads": threads,
        "prompt_tokens": PROMPT_TOKENS,
        "prompt_ms": round(best_pp * 1e3, 1),
        "prompt_tokens_per_s": round(PROMPT_TOKENS / best_pp, 1),
        "decode_tokens": DECODE_TOKENS,
        "decode_ms": round(best_tg * 1e3, 1),
        "decode_tokens_per_s": round(DECODE_TOKENS / best_tg, 1),
    }


def main():
    out = {
        "llama_cpp_python": llama_cpp.__version__,
        "llama_version": llama_cpp.llama_version().decode(),
        "system_info": llama_cpp.llama_print_system_info().decode().strip(),
        "loadavg_before": os.getloadavg(),
        "models": [],
    }
    for path in sys.argv[1:]:
        out["models"].append({"model": os.path.basename(path),
                              "runs": [bench(path, t) for t in (1, 2)]})
    out["loadavg_after"] = os.getloadavg()
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
