"""Scale: many idle realms on one model, many realms generating at once."""

from __future__ import annotations

import threading
from typing import Dict, List

import pytest

import realm
from memstat import HAVE_PROC, settled_rss

#: Resident memory that 1,000 idle realms on one model may add (issue 7's
#: target). Measured on SmolLM2-135M: 30-90 MiB for 1,000 realms never
#: used (a realm's KV cache and scratch memory are allocated on first use;
#: its sandbox instance's memory is mostly untouched), 600-680 MiB once
#: each has run one short request (the cache's first 16-position block,
#: 368 KiB, and its last logits, 192 KiB).
IDLE_REALMS_BUDGET = 1 << 30


@pytest.mark.skipif(not HAVE_PROC, reason="needs Linux /proc")
def test_thousand_idle_realms_fit_in_a_gigabyte(smollm2_path: str) -> None:
    with realm.Registry() as reg:
        reg.load_model("smol", smollm2_path)
        with reg.realm("smol") as warm:  # map and touch the weights first
            want = warm.generate("The capital of France is", max_tokens=3, temperature=0)
        before = settled_rss(smollm2_path)
        realms = [reg.realm("smol") for _ in range(1000)]
        try:
            grown = settled_rss(smollm2_path) - before
            print(f"\n1000 idle realms: +{grown / 2**20:.1f} MiB RSS ({grown // 1000} bytes a realm)")
            assert reg.models()["smol"].realms == 1000
            assert grown < IDLE_REALMS_BUDGET
            # They all work: use a few, spread out.
            for r in realms[::250]:
                got = r.generate("The capital of France is", max_tokens=3, temperature=0)
                assert got.tokens == want.tokens
        finally:
            for r in realms:
                r.close()
        assert reg.models()["smol"].realms == 0


@pytest.mark.skipif(not HAVE_PROC, reason="needs Linux /proc")
def test_realms_used_once_stay_small(smollm2_path: str) -> None:
    n = 100  # each may keep at most 1/1000 of IDLE_REALMS_BUDGET
    with realm.Registry() as reg:
        reg.load_model("smol", smollm2_path)
        with reg.realm("smol") as warm:
            warm.generate("Hi", max_tokens=2, temperature=0)
        before = settled_rss(smollm2_path)
        realms = [reg.realm("smol") for _ in range(n)]
        try:
            for r in realms:
                r.generate("Hi", max_tokens=2, temperature=0)
            grown = settled_rss(smollm2_path) - before
            print(f"\n{n} realms after one request each: +{grown / 2**20:.1f} MiB RSS")
            assert grown < n * (IDLE_REALMS_BUDGET // 1000)
        finally:
            for r in realms:
                r.close()


def test_64_realms_generate_at_once(smollm2_path: str) -> None:
    prompts = ["The capital of France is", "One, two, three,", "Water boils at", "The sky is"]
    with realm.Registry(context_length=128) as reg:
        reg.load_model("smol", smollm2_path)
        want: Dict[str, List[int]] = {
            p: reg.generate("smol", p, max_tokens=4, temperature=0).tokens for p in prompts
        }
        realms = [reg.realm("smol") for _ in range(64)]
        got: List[List[int]] = [[] for _ in realms]
        failures: List[BaseException] = []
        barrier = threading.Barrier(len(realms))

        def run(i: int) -> None:
            try:
                barrier.wait(timeout=30)
                got[i] = realms[i].generate(prompts[i % 4], max_tokens=4, temperature=0).tokens
            except BaseException as e:  # reported below
                failures.append(e)

        threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(64)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
            assert not t.is_alive(), "a generation hung"
        for r in realms:
            r.close()
        assert not failures, failures[:3]
        for i, tokens in enumerate(got):
            assert tokens == want[prompts[i % 4]], f"realm {i}"
