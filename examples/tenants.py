"""One model, many tenants, answering in parallel threads.

    python examples/tenants.py [MODEL.gguf]

A Registry loads the model once; each tenant is a Realm with its own KV cache
and sampler that shares the weights. Calls on different realms run in
parallel (the library releases the GIL).
"""

import sys
import threading

import realm
from realm.__main__ import default_model_path

model = sys.argv[1] if len(sys.argv) > 1 else default_model_path()
questions = {
    "alice": "What is the capital of France?",
    "bob": "What is the capital of Germany?",
    "carol": "What is the capital of Italy?",
}

with realm.Registry() as registry:
    registry.load_model("smol", model)
    tenants = {name: registry.realm("smol") for name in questions}
    answers = {}

    def ask(name: str) -> None:
        messages = [
            {"role": "system", "content": "You are a helpful assistant."},
            {"role": "user", "content": questions[name]},
        ]
        answers[name] = tenants[name].chat(messages, max_tokens=32, temperature=0).text

    threads = [threading.Thread(target=ask, args=(name,)) for name in questions]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for name, answer in answers.items():
        print(f"{name}: {answer}")
    print(registry.models()["smol"])
    for tenant in tenants.values():
        tenant.close()
