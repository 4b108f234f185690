"""generate() on a list of prompts: one batch underneath, results in order."""

from __future__ import annotations

import asyncio
from typing import Dict, List

import realm

PROMPTS = ["The capital of France is", "One, two, three,", "Water boils at", "The sky is"]


def _alone(r: realm.Realm, prompts: List[str], **sampling: object) -> List[realm.Completion]:
    return [r.generate(p, **sampling) for p in prompts]


def test_batch_matches_alone(smol: realm.Realm) -> None:
    want = _alone(smol, PROMPTS, max_tokens=10, temperature=0)
    got = smol.generate(PROMPTS, max_tokens=10, temperature=0)
    assert [c.tokens for c in got] == [c.tokens for c in want]
    assert [c.text for c in got] == [c.text for c in want]
    assert "Paris" in got[0].text


def test_batch_on_token_sees_each_prompt(tiny: realm.Realm) -> None:
    prompts = ["the hall", "in the", "the"]
    chunks: Dict[int, List[realm.Chunk]] = {i: [] for i in range(len(prompts))}
    got = tiny.generate(
        prompts, max_tokens=8, temperature=0, on_token=lambda c: chunks[c.index].append(c)
    )
    for i, c in enumerate(got):
        assert "".join(ch.text for ch in chunks[i]) == c.text
        assert [ch.token for ch in chunks[i] if ch.token is not None] == c.tokens
        assert chunks[i][-1].finish_reason == c.finish_reason
        assert c.text == tiny.generate(prompts[i], max_tokens=8, temperature=0).text


def test_batch_on_token_false_stops_one_prompt(smol: realm.Realm) -> None:
    prompts = ["The capital of France is", "Count: 1, 2, 3,", "The sky is"]

    def on_token(c: realm.Chunk) -> bool:
        return c.index != 1

    got = smol.generate(prompts, max_tokens=40, temperature=0, on_token=on_token)
    full = smol.generate(prompts, max_tokens=40, temperature=0)
    assert full[1].finish_reason == "length"
    assert got[1].finish_reason == "cancelled" and len(got[1].tokens) < 40
    assert got[1].tokens == full[1].tokens[: len(got[1].tokens)]
    assert [got[0].tokens, got[2].tokens] == [full[0].tokens, full[2].tokens]


def test_batch_edge_cases(tiny: realm.Realm) -> None:
    assert tiny.generate([], max_tokens=2) == []
    one = tiny.generate(["the"], max_tokens=4, temperature=0)
    assert isinstance(one, list) and len(one) == 1
    assert one[0].text == tiny.generate("the", max_tokens=4, temperature=0).text


def test_registry_batch_and_async(tiny_bytes: bytes) -> None:
    prompts = ["the hall", "in", "the", "hall in"]
    with realm.Registry() as reg:
        reg.load_model("tiny", tiny_bytes)
        want = [reg.generate("tiny", p, max_tokens=6, temperature=0).text for p in prompts]
        got = reg.generate("tiny", prompts, max_tokens=6, temperature=0)
        assert [c.text for c in got] == want

        async def main() -> List[realm.Completion]:
            seen: List[int] = []

            async def on_token(c: realm.Chunk) -> None:
                seen.append(c.index)

            out = await reg.agenerate("tiny", prompts, max_tokens=6, temperature=0, on_token=on_token)
            assert sorted(set(seen)) == [0, 1, 2, 3]
            return out

        assert [c.text for c in asyncio.run(main())] == want
