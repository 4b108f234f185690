"""Ctrl-C, cancellation, threads, interpreter exit and leaks."""

from __future__ import annotations

import gc
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from typing import Callable, Dict, List, Optional

import pytest

import realm

COUNT = "Count from 1 to 1000: 1, 2, 3, 4,"
CAPITAL = "The capital of France is"
LONG = dict(max_tokens=4000, temperature=0)


def _interrupt_during(run: Callable[[Callable[[], None]], None]) -> float:
    """Run ``run(arm)``; ``arm()`` (called once the generation is under way)
    sends SIGINT to this process from another thread 50 ms later. Returns the
    seconds from the signal to the KeyboardInterrupt reaching us."""
    if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        pytest.skip("SIGINT is not handled by Python's default handler here")
    sent: Dict[str, float] = {}
    timer: Optional[threading.Timer] = None

    def fire() -> None:
        sent["at"] = time.monotonic()
        os.kill(os.getpid(), signal.SIGINT)

    def arm() -> None:
        nonlocal timer
        if timer is None:
            timer = threading.Timer(0.05, fire)
            timer.start()

    try:
        run(arm)
    except KeyboardInterrupt:
        caught = time.monotonic()
    else:
        if timer is not None:
            timer.join()
        pytest.fail("the generation finished before the interrupt")
    assert timer is not None
    timer.join()
    return caught - sent["at"]


def _arm_on_token(arm: Callable[[], None], after: int = 3) -> Callable[[realm.Chunk], None]:
    count = [0]

    def on_token(chunk: realm.Chunk) -> None:
        count[0] += 1
        if count[0] == after:
            arm()

    return on_token


def test_ctrl_c_interrupts_generate(smol: realm.Realm) -> None:
    latency = _interrupt_during(
        lambda arm: smol.generate(COUNT, on_token=_arm_on_token(arm), **LONG)
    )
    assert latency < 0.2
    assert "Paris" in smol.generate(CAPITAL, max_tokens=12, temperature=0).text


def test_ctrl_c_interrupts_stream(smol: realm.Realm) -> None:
    def run(arm: Callable[[], None]) -> None:
        for i, _ in enumerate(smol.stream(COUNT, **LONG)):
            if i == 2:
                arm()

    assert _interrupt_during(run) < 0.2
    assert "Paris" in smol.generate(CAPITAL, max_tokens=12, temperature=0).text


def test_ctrl_c_interrupts_chat(smol: realm.Realm) -> None:
    messages = [{"role": "user", "content": "Write a very long story about a dragon."}]
    latency = _interrupt_during(
        lambda arm: smol.chat(messages, on_token=_arm_on_token(arm), **LONG)
    )
    assert latency < 0.2
    assert "Paris" in smol.generate(CAPITAL, max_tokens=12, temperature=0).text


def test_ctrl_c_during_prompt_evaluation(smollm2_path: str) -> None:
    # A long prompt: the interrupt lands while the engine evaluates it.
    long_prompt = " ".join(f"word{i}" for i in range(25))
    with realm.Realm(smollm2_path) as r:

        def run(arm: Callable[[], None]) -> None:
            arm()
            r.generate(long_prompt, **LONG)

        assert _interrupt_during(run) < 0.2


def test_breaking_out_of_a_stream_cancels(smol: realm.Realm) -> None:
    start = time.monotonic()
    baseline = smol.generate(CAPITAL, max_tokens=12, temperature=0)
    baseline_s = time.monotonic() - start
    for i, _ in enumerate(smol.stream(COUNT, **LONG)):
        if i == 3:
            break
    # The dropped stream was cancelled: the realm (which runs one generation
    # at a time) answers about as fast as before, not after 4,000 tokens.
    start = time.monotonic()
    c = smol.generate(CAPITAL, max_tokens=12, temperature=0)
    assert c.tokens == baseline.tokens
    assert time.monotonic() - start < 5 * baseline_s + 5

    stream = smol.stream(COUNT, **LONG)
    next(stream)
    stream.close()
    assert stream.closed and stream.completion is None
    assert list(stream) == []
    assert "Paris" in smol.generate(CAPITAL, max_tokens=12, temperature=0).text


def test_dropping_an_unstarted_stream_frees_it(smol: realm.Realm) -> None:
    for _ in range(5):
        smol.stream(COUNT, **LONG)  # never iterated, dropped at once
    assert "Paris" in smol.generate(CAPITAL, max_tokens=12, temperature=0).text


def test_two_threads_on_two_realms(smollm2_path: str) -> None:
    prompts = [CAPITAL, "The capital of Germany is"]
    with realm.Realm(smollm2_path, threads=1) as a, realm.Realm(smollm2_path, threads=1) as b:
        realms = [a, b]
        expected = [
            r.generate(p, max_tokens=12, temperature=0).text for r, p in zip(realms, prompts)
        ]
        assert "Paris" in expected[0] and "Berlin" in expected[1]
        results: List[List[str]] = [[], []]
        stamps: List[List[float]] = [[], []]
        errors: List[BaseException] = []

        def work(i: int) -> None:
            try:
                for _ in range(2):
                    c = realms[i].generate(
                        prompts[i],
                        max_tokens=12,
                        temperature=0,
                        on_token=lambda _c: stamps[i].append(time.monotonic()),
                    )
                    results[i].append(c.text)
            except BaseException as e:  # pragma: no cover - reported below
                errors.append(e)

        threads = [threading.Thread(target=work, args=(i,)) for i in (0, 1)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert not errors
        assert results == [[expected[0]] * 2, [expected[1]] * 2]
        # The two generations overlapped in time (the GIL is released in C).
        a_first, a_last = stamps[0][0], stamps[0][-1]
        assert any(a_first < t < a_last for t in stamps[1])


def test_interpreter_exit_with_live_objects(smollm2_path: str, tiny_bytes: bytes) -> None:
    code = textwrap.dedent(f"""
        import threading, realm
        r = realm.Realm({smollm2_path!r})
        s = r.stream({COUNT!r}, max_tokens=4000, temperature=0)
        next(s)
        reg = realm.Registry()
        reg.load_model("m", {smollm2_path!r})
        tenant = reg.realm("m")
        started = threading.Event()
        t = threading.Thread(target=tenant.generate, args=({COUNT!r},),
                             kwargs=dict(max_tokens=4000, on_token=lambda c: started.set()),
                             daemon=True)
        t.start()
        assert started.wait(120)  # a daemon thread in the middle of a generation
        never_closed = realm.Realm()
        print("ok", flush=True)
        """)
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline() == "ok\n"
        printed = time.monotonic()
        # Exiting cancels the generations in flight instead of waiting for
        # their 4,000 tokens.
        out, err = proc.communicate(timeout=120)
        assert time.monotonic() - printed < 15
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert out == "" and err == ""


RSS_GROWTH_LIMIT = 32 << 20  # bytes over 1,000 cycles (about 32 KB a cycle)

# Runs in a fresh interpreter: in this process other tests' models (SmolLM2's
# ~100 MB of weights) raise the Go collector's heap target, so garbage they
# leave would be counted as growth here without being a leak of the cycle.
_CYCLES = """
import gc, os, sys
import realm

def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

def cycle():
    with realm.Realm(sys.argv[1]) as r:
        c = r.generate("the city", max_tokens=4, temperature=0)
        assert c.usage.completion_tokens <= 4, c.usage

for _ in range(100):  # warm up: Go heap, allocator pools
    cycle()
gc.collect()
before = rss()
for _ in range(1000):
    cycle()
gc.collect()
print(rss() - before)
"""


@pytest.mark.slow
@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="needs Linux /proc")
def test_thousand_cycles_do_not_leak(tiny_path: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", _CYCLES, tiny_path], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    growth = int(proc.stdout.strip())
    print(f"RSS growth over 1000 create/load/generate/close cycles: {growth / 2**20:.1f} MiB")
    assert growth < RSS_GROWTH_LIMIT
