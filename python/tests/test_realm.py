"""The Realm API against SmolLM2-135M-Instruct and the tiny model."""

from __future__ import annotations

import json
from typing import List

import pytest

import realm
from conftest import REPO

CAPITAL = "The capital of France is"
# SmolLM2's built-in default system prompt makes it answer "L'Étoile, ..."
# (llama.cpp does the same, see engine/testdata/goldens); a plain one gives Paris.
HELLO = [
    {"role": "system", "content": "You are a helpful assistant."},
    {"role": "user", "content": "What is the capital of France?"},
]


def test_load_model_returns_info(smol: realm.Realm, smollm2_path: str) -> None:
    info = smol.model_info()
    assert isinstance(info, realm.ModelInfo)
    assert info.architecture == "llama"
    assert info.n_vocab == 49152
    assert info.n_layer == 30
    assert info.n_embd == 576
    assert info.has_chat_template
    assert info.n_ctx > 0 and info.n_ctx_train == 8192
    assert 100_000_000 < info.n_params < 200_000_000
    assert info["n_vocab"] == 49152
    text = repr(info)
    assert "llama" in text and "params" in text
    assert smol.is_loaded


def test_generate_greedy_is_deterministic(smol: realm.Realm) -> None:
    a = smol.generate(CAPITAL, max_tokens=12, temperature=0)
    b = smol.generate(CAPITAL, max_tokens=12, temperature=0)
    assert isinstance(a, realm.Completion)
    assert a.text == b.text and a.tokens == b.tokens
    assert "Paris" in a.text
    assert a.finish_reason in ("stop", "length")
    assert a.usage.completion_tokens == len(a.tokens) <= 12
    assert a.usage.prompt_tokens == len(smol.tokenize(CAPITAL))
    assert a.usage.total_tokens == a.usage.prompt_tokens + a.usage.completion_tokens
    assert smol.detokenize(a.tokens) == a.text
    assert a.timings.decode_ms > 0 and a.timings.tokens_per_second > 0
    assert "Completion(text=" in repr(a) and "tok/s" in repr(a)


def test_max_tokens_gives_length(smol: realm.Realm) -> None:
    c = smol.generate("1, 2, 3, 4,", max_tokens=3, temperature=0)
    assert c.finish_reason == "length"
    assert len(c.tokens) == 3


def test_seed_reproduces_a_sampled_run(smol: realm.Realm) -> None:
    kw = dict(max_tokens=12, temperature=0.9, top_k=40, top_p=0.95, seed=1234)
    a = smol.generate("Once upon a time", **kw)
    b = smol.generate("Once upon a time", **kw)
    assert a.tokens == b.tokens


def test_stop_string_ends_generation(smol: realm.Realm) -> None:
    full = smol.generate("1, 2, 3, 4,", max_tokens=16, temperature=0)
    assert " 6" in full.text
    c = smol.generate("1, 2, 3, 4,", max_tokens=16, temperature=0, stop=" 6")
    assert c.finish_reason == "stop"
    assert " 6" not in c.text
    assert full.text.startswith(c.text)


def test_generate_list_of_prompts(smol: realm.Realm) -> None:
    prompts = [CAPITAL, "The capital of Germany is"]
    results = smol.generate(prompts, max_tokens=8, temperature=0)
    assert isinstance(results, list) and len(results) == 2
    for prompt, result in zip(prompts, results):
        assert result.text == smol.generate(prompt, max_tokens=8, temperature=0).text
    assert "Berlin" in results[1].text


def test_on_token_sees_every_chunk(smol: realm.Realm) -> None:
    chunks: List[realm.Chunk] = []
    c = smol.generate(CAPITAL, max_tokens=8, temperature=0, on_token=chunks.append)
    assert chunks[-1].done and chunks[-1].finish_reason == c.finish_reason
    assert "".join(ch.text for ch in chunks) == c.text
    assert [ch.token for ch in chunks if ch.token is not None] == c.tokens


def test_on_token_returning_false_cancels(smol: realm.Realm) -> None:
    seen = []

    def stop_after_two(chunk: realm.Chunk) -> bool:
        seen.append(chunk)
        return len(seen) < 2

    c = smol.generate("Count: 1, 2, 3,", max_tokens=200, temperature=0, on_token=stop_after_two)
    assert c.finish_reason == "cancelled"
    assert len(c.tokens) < 10


def test_on_token_exception_propagates_and_realm_recovers(smol: realm.Realm) -> None:
    def boom(chunk: realm.Chunk) -> None:
        raise RuntimeError("stop here")

    with pytest.raises(RuntimeError, match="stop here"):
        smol.generate(CAPITAL, max_tokens=50, temperature=0, on_token=boom)
    assert "Paris" in smol.generate(CAPITAL, max_tokens=12, temperature=0).text


def test_stream_matches_generate(smol: realm.Realm) -> None:
    expected = smol.generate(CAPITAL, max_tokens=10, temperature=0)
    stream = smol.stream(CAPITAL, max_tokens=10, temperature=0)
    assert isinstance(stream, realm.Stream)
    chunks = list(stream)
    assert "".join(c.text for c in chunks) == expected.text
    last = chunks[-1]
    assert last.done and last.usage is not None and last.timings is not None
    assert all(not c.done for c in chunks[:-1])
    assert stream.completion is not None and stream.completion.tokens == expected.tokens
    assert stream.closed
    assert list(stream) == []


def test_stream_cancel_ends_with_cancelled(smol: realm.Realm) -> None:
    stream = smol.stream("Count: 1, 2, 3,", max_tokens=500, temperature=0)
    first = next(stream)
    assert not first.done
    stream.cancel()
    rest = list(stream)
    assert rest[-1].finish_reason == "cancelled"
    assert stream.completion is not None and len(stream.completion.tokens) < 50


def test_chat_openai_shape(smol: realm.Realm) -> None:
    c = smol.chat(HELLO, max_tokens=24, temperature=0)
    assert c.chat and "Paris" in c.text
    o = c.to_openai()
    assert o["object"] == "chat.completion"
    assert o["id"].startswith("chatcmpl-")
    assert o["choices"][0]["message"] == {"role": "assistant", "content": c.text}
    assert o["choices"][0]["finish_reason"] == c.finish_reason
    assert o["usage"]["total_tokens"] == c.usage.total_tokens
    assert c.to_dict() == o
    assert c["choices"][0]["message"]["content"] == c.text
    json.dumps(o)


def test_chat_matches_llama_cpp(smol: realm.Realm) -> None:
    golden_path = REPO / "engine" / "testdata" / "goldens" / "smollm2-135m-instruct-q4_1.json"
    if not golden_path.exists():
        pytest.skip("not a source checkout (llama.cpp goldens absent)")
    golden = json.loads(golden_path.read_text(encoding="utf-8"))["chat"]
    assert smol.apply_chat_template(golden["messages"]) == golden["prompt"]
    assert smol.tokenize(golden["prompt"], parse_special=True) == golden["ids"]
    c = smol.chat(golden["messages"], max_tokens=12, temperature=0)
    assert c.usage.prompt_tokens == len(golden["ids"])
    assert c.tokens == golden["generated"][:12]


def test_chat_equals_generate_on_template(smol: realm.Realm) -> None:
    prompt = smol.apply_chat_template(HELLO)
    assert "<|im_start|>user" in prompt and prompt.rstrip().endswith("assistant")
    plain = smol.apply_chat_template(HELLO, add_generation_prompt=False)
    assert plain.rstrip().endswith("<|im_end|>") and prompt.startswith(plain)
    chat = smol.chat(HELLO, max_tokens=16, temperature=0)
    # The template already holds the BOS the model wants (none for SmolLM2).
    gen = smol.generate(prompt, max_tokens=16, temperature=0)
    assert chat.text == gen.text


def test_chat_stream_openai_chunks(smol: realm.Realm) -> None:
    chunks = list(smol.chat(HELLO, stream=True, max_tokens=16, temperature=0))
    shaped = [c.to_openai() for c in chunks]
    assert all(s["object"] == "chat.completion.chunk" for s in shaped)
    assert len({s["id"] for s in shaped}) == 1
    assert shaped[0]["choices"][0]["delta"]["role"] == "assistant"
    assert shaped[-1]["choices"][0]["finish_reason"] in ("stop", "length")
    assert "usage" in shaped[-1]
    text = "".join(s["choices"][0]["delta"].get("content", "") for s in shaped)
    assert text == smol.chat(HELLO, max_tokens=16, temperature=0).text


def test_generate_openai_shape(smol: realm.Realm) -> None:
    o = smol.generate(CAPITAL, max_tokens=4, temperature=0).to_openai()
    assert o["object"] == "text_completion"
    assert "text" in o["choices"][0]


def test_tokenize_detokenize(smol: realm.Realm) -> None:
    ids = smol.tokenize("Hello world")
    assert ids == [19556, 905]
    assert smol.detokenize(ids) == "Hello world"
    special = smol.tokenize("<|im_start|>", parse_special=True)
    assert special == [1]
    assert smol.tokenize("<|im_start|>") != special
    assert (
        smol.tokenize("héllo ✓ 你好")
        and smol.detokenize(smol.tokenize("héllo ✓ 你好")) == "héllo ✓ 你好"
    )


def test_unknown_keyword_is_a_type_error(smol: realm.Realm) -> None:
    with pytest.raises(TypeError, match="temprature"):
        smol.generate(CAPITAL, temprature=0)


def test_repr_and_context_manager(tiny_bytes: bytes) -> None:
    r = realm.Realm()
    assert "no model" in repr(r)
    assert not r.is_loaded
    with r:
        r.load_model(tiny_bytes)
        assert r.is_loaded
        assert "tiny-llama" in repr(r)
    assert r.closed and "closed" in repr(r)
    r.close()  # idempotent


def test_tiny_model_from_bytes_and_path(tiny_bytes: bytes, tiny_path: str) -> None:
    with realm.Realm(tiny_bytes) as a, realm.Realm(tiny_path) as b:
        assert a.model_info().architecture == "llama"
        assert a.model_info().n_vocab == b.model_info().n_vocab
        ca = a.generate("the city", max_tokens=8, temperature=0)
        cb = b.generate("the city", max_tokens=8, temperature=0)
        assert ca.tokens == cb.tokens
        assert a.chat([{"role": "user", "content": "hi"}], max_tokens=4).usage.prompt_tokens > 3


def test_load_replaces_model(tiny_bytes: bytes, smollm2_path: str) -> None:
    with realm.Realm(tiny_bytes) as r:
        assert r.model_info().n_vocab < 1000
        info = r.load_model(smollm2_path, context_length=256)
        assert info.n_vocab == 49152 and info.n_ctx == 256
        assert r.model_info().n_vocab == 49152


def test_threads_and_context_options(smollm2_path: str) -> None:
    with realm.Realm(threads=1, context_length=128) as r:
        r.load_model(smollm2_path)
        assert r.model_info().n_ctx == 128
        assert "Paris" in r.generate(CAPITAL, max_tokens=12, temperature=0).text
