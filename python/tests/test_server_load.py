"""A bounded load test of ``realm serve``: 32 concurrent streaming clients
(the official ``openai`` client, one thread each) for $REALM_LOAD_SECONDS
seconds (default 30) on the loopback interface, against SmolLM2. It must
see zero errors; it prints requests/s, tokens/s and the p50/p99 time to
first token. Clients stop starting requests at the deadline and their last
requests are short (max_tokens 16), so the test stays within ~45 s."""

from __future__ import annotations

import os
import statistics
import threading
import time
from typing import List

import pytest

openai = pytest.importorskip("openai")

from test_server import start_serve, stop_serve  # noqa: E402

CLIENTS = 32
MAX_TOKENS = 16
PROMPTS = [
    "Write one sentence about the sea.",
    "Name a colour.",
    "What is 2 + 2?",
    "Say hello in French.",
]


def percentile(values: List[float], q: float) -> float:
    """The q-quantile (0..1) of values, nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def test_32_streaming_clients(smollm2_path: str, capsys: pytest.CaptureFixture[str]) -> None:
    seconds = float(os.environ.get("REALM_LOAD_SECONDS", "30"))
    assert 0 < seconds <= 35, "REALM_LOAD_SECONDS must keep the test within ~45 s"
    served = start_serve(["--model", f"smol={smollm2_path}"])
    lock = threading.Lock()
    ttfts: List[float] = []
    errors: List[str] = []
    counts = {"requests": 0, "tokens": 0}
    try:
        client = openai.OpenAI(
            base_url=served.url + "/v1", api_key="load", max_retries=0, timeout=60
        )
        start = time.monotonic()
        deadline = start + seconds

        def worker(n: int) -> None:
            i = 0
            while time.monotonic() < deadline:
                sent = time.monotonic()
                first = None
                usage = None
                try:
                    stream = client.chat.completions.create(
                        model="smol",
                        messages=[{"role": "user", "content": PROMPTS[(n + i) % len(PROMPTS)]}],
                        max_tokens=MAX_TOKENS,
                        stream=True,
                        stream_options={"include_usage": True},
                    )
                    for chunk in stream:
                        if first is None and chunk.choices and chunk.choices[0].delta.content:
                            first = time.monotonic() - sent
                        if chunk.usage is not None:
                            usage = chunk.usage
                except Exception as e:  # noqa: BLE001 - every failure counts
                    with lock:
                        errors.append(f"{type(e).__name__}: {e}")
                    return
                i += 1
                with lock:
                    counts["requests"] += 1
                    if first is not None:
                        ttfts.append(first)
                    if usage is None:
                        errors.append("a stream ended without its usage chunk")
                    else:
                        counts["tokens"] += usage.completion_tokens

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(CLIENTS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=seconds + 30)
        elapsed = time.monotonic() - start
        assert not any(t.is_alive() for t in threads), "a client hung"
    finally:
        assert stop_serve(served) == 0

    assert errors == [], errors[:5]
    assert counts["requests"] >= CLIENTS and ttfts
    with capsys.disabled():
        print(
            f"\nload: {CLIENTS} streaming clients, {elapsed:.1f} s: "
            f"{counts['requests']} requests ({counts['requests'] / elapsed:.1f} req/s), "
            f"{counts['tokens']} tokens ({counts['tokens'] / elapsed:.1f} tok/s), "
            f"TTFT p50 {statistics.median(ttfts) * 1000:.0f} ms, "
            f"p99 {percentile(ttfts, 0.99) * 1000:.0f} ms"
        )
