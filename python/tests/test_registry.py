"""The Registry API: named models shared by many realms."""

from __future__ import annotations

import pytest

import realm
from gguf_writer import tiny_llama

CAPITAL = "The capital of France is"


def test_registry_end_to_end(smollm2_path: str, tiny_bytes: bytes) -> None:
    with realm.Registry() as reg:
        info = reg.load_model("smol", smollm2_path)
        assert info.n_vocab == 49152
        reg.load_model("tiny", tiny_bytes)
        assert "smol" in reg and "tiny" in reg and "nope" not in reg
        assert sorted(reg) == ["smol", "tiny"] and len(reg) == 2
        models = reg.models()
        assert isinstance(models["smol"], realm.RegisteredModel)
        assert models["smol"].info.architecture == "llama"
        assert models["tiny"].info.n_vocab < 1000
        assert "smol" in repr(reg)

        c = reg.generate("smol", CAPITAL, max_tokens=12, temperature=0)
        assert "Paris" in c.text and c.model == "smol"
        chunks = list(reg.stream("smol", CAPITAL, max_tokens=12, temperature=0))
        assert "".join(ch.text for ch in chunks) == c.text
        chat = reg.chat(
            "smol",
            [
                {"role": "system", "content": "You are a helpful assistant."},
                {"role": "user", "content": "What is the capital of France?"},
            ],
            max_tokens=24,
            temperature=0,
        )
        assert "Paris" in chat.text and chat.to_openai()["model"] == "smol"
        many = reg.generate("smol", [CAPITAL, CAPITAL], max_tokens=12, temperature=0)
        assert [m.text for m in many] == [c.text, c.text]

        reg.unload("tiny")
        assert "tiny" not in reg


def test_registry_realms_share_weights(smollm2_path: str) -> None:
    with realm.Registry() as reg:
        reg.load_model("smol", smollm2_path)
        with reg.realm("smol") as a, reg.realm("smol") as b:
            assert reg.models()["smol"].realms >= 2
            assert "smol" in repr(a)
            ta = a.generate(CAPITAL, max_tokens=12, temperature=0)
            tb = b.generate(CAPITAL, max_tokens=12, temperature=0)
            assert ta.tokens == tb.tokens and "Paris" in ta.text
            assert a.model_info().n_vocab == 49152
        assert reg.models()["smol"].realms == 0


def test_realm_outlives_unload_and_registry(tiny_bytes: bytes) -> None:
    reg = realm.Registry()
    reg.load_model("tiny", tiny_bytes)
    tenant = reg.realm("tiny")
    expected = tenant.generate("the city", max_tokens=6, temperature=0).tokens
    reg.unload("tiny")
    reg.close()
    assert tenant.generate("the city", max_tokens=6, temperature=0).tokens == expected
    tenant.close()


def test_duplicate_id_needs_replace(tiny_bytes: bytes) -> None:
    other = tiny_llama(seed=1, name="other")
    with realm.Registry() as reg:
        reg.load_model("m", tiny_bytes)
        with pytest.raises(realm.InvalidArgumentError, match="m"):
            reg.load_model("m", other)
        assert reg.models()["m"].info.name == "tiny-llama"
        reg.load_model("m", other, replace=True)
        assert reg.models()["m"].info.name == "other"
