"""The asyncio twins: agenerate, astream, achat."""

from __future__ import annotations

import asyncio
import time
from typing import List

import realm

CAPITAL = "The capital of France is"
# SmolLM2's built-in default system prompt makes it answer "L'Étoile, ..."
# (llama.cpp does the same, see engine/testdata/goldens); a plain one gives Paris.
HELLO = [
    {"role": "system", "content": "You are a helpful assistant."},
    {"role": "user", "content": "What is the capital of France?"},
]


def test_agenerate_matches_generate(smol: realm.Realm) -> None:
    expected = smol.generate(CAPITAL, max_tokens=10, temperature=0)

    async def main() -> None:
        c = await smol.agenerate(CAPITAL, max_tokens=10, temperature=0)
        assert c.text == expected.text and c.tokens == expected.tokens
        many = await smol.agenerate([CAPITAL, CAPITAL], max_tokens=10, temperature=0)
        assert [m.text for m in many] == [expected.text] * 2

    asyncio.run(main())


def test_agenerate_does_not_block_the_loop(smol: realm.Realm) -> None:
    async def main() -> None:
        ticks: List[float] = []

        async def ticker() -> None:
            while True:
                ticks.append(time.monotonic())
                await asyncio.sleep(0.01)

        task = asyncio.create_task(ticker())
        start = time.monotonic()
        await smol.agenerate(CAPITAL, max_tokens=24, temperature=0)
        elapsed = time.monotonic() - start
        task.cancel()
        # The ticker kept running while the model generated.
        assert len(ticks) >= max(2, int(elapsed / 0.01) // 4)

    asyncio.run(main())


def test_astream_and_achat(smol: realm.Realm) -> None:
    expected = smol.chat(HELLO, max_tokens=16, temperature=0)

    async def main() -> None:
        texts = [c.text async for c in smol.astream(CAPITAL, max_tokens=8, temperature=0)]
        assert "".join(texts) == smol.generate(CAPITAL, max_tokens=8, temperature=0).text
        c = await smol.achat(HELLO, max_tokens=16, temperature=0)
        assert c.text == expected.text and c.chat
        stream = await smol.achat(HELLO, stream=True, max_tokens=16, temperature=0)
        chunks = [ch async for ch in stream]
        assert chunks[-1].done
        assert "".join(ch.text for ch in chunks) == expected.text
        assert stream.completion is not None and stream.completion.text == expected.text

    asyncio.run(main())


def test_async_on_token_coroutine_and_cancel(smol: realm.Realm) -> None:
    async def main() -> None:
        seen: List[str] = []

        async def on_token(chunk: realm.Chunk) -> bool:
            seen.append(chunk.text)
            return len(seen) < 3

        c = await smol.agenerate(
            "Count: 1, 2, 3,", max_tokens=300, temperature=0, on_token=on_token
        )
        assert c.finish_reason == "cancelled" and len(c.tokens) < 10

    asyncio.run(main())


def test_cancelling_the_task_stops_generation(smol: realm.Realm) -> None:
    async def main() -> None:
        task = asyncio.create_task(
            smol.agenerate("Count: 1, 2, 3,", max_tokens=2000, temperature=0)
        )
        await asyncio.sleep(0.3)
        start = time.monotonic()
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            pass
        assert time.monotonic() - start < 1.0
        # The realm is free again right away.
        c = await smol.agenerate(CAPITAL, max_tokens=8, temperature=0)
        assert "Paris" in c.text

    asyncio.run(main())


def test_registry_async(smollm2_path: str) -> None:
    async def main() -> None:
        with realm.Registry() as reg:
            reg.load_model("smol", smollm2_path)
            c = await reg.agenerate("smol", CAPITAL, max_tokens=12, temperature=0)
            assert "Paris" in c.text
            texts = [
                ch.text async for ch in reg.astream("smol", CAPITAL, max_tokens=12, temperature=0)
            ]
            assert "".join(texts) == c.text
            chat = await reg.achat("smol", HELLO, max_tokens=16, temperature=0)
            assert chat.chat

    asyncio.run(main())
