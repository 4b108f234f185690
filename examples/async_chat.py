"""Streaming chat under asyncio, with a deadline.

    python examples/async_chat.py [MODEL.gguf]

achat(stream=True) returns an async iterator; the blocking waits run in a
worker thread, so the event loop stays free. asyncio.wait_for cancels the
generation when the deadline passes.
"""

import asyncio
import sys

import realm
from realm.__main__ import default_model_path


async def main(model: str) -> None:
    with realm.Realm(model) as r:
        messages = [{"role": "user", "content": "Write a short poem about the sea."}]
        stream = await r.achat(messages, stream=True, max_tokens=64, temperature=0)
        async for chunk in stream:
            print(chunk.text, end="", flush=True)
        print()
        try:
            await asyncio.wait_for(r.agenerate("Count: 1, 2, 3,", max_tokens=2000), timeout=0.5)
        except asyncio.TimeoutError:
            print("cancelled after 0.5 s; the realm is free again:")
        print((await r.agenerate("The capital of France is", max_tokens=8, temperature=0)).text)


asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else default_model_path()))
