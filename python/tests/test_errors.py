"""Each exception class, triggered for real through the library."""

from __future__ import annotations

from pathlib import Path

import pytest

import realm
from gguf_writer import tiny_llama
from wasm_guest import greedy_guest

CAPITAL = "The capital of France is"


def test_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.gguf"
    with realm.Realm() as r:
        with pytest.raises(realm.ModelNotFoundError, match="nope.gguf") as e:
            r.load_model(missing)
        assert e.value.status == 2
        assert not r.is_loaded


def test_corrupt_file(tmp_path: Path, smollm2_path: str) -> None:
    truncated = tmp_path / "truncated.gguf"
    with open(smollm2_path, "rb") as f:
        truncated.write_bytes(f.read(1 << 20))
    garbage = tmp_path / "garbage.gguf"
    garbage.write_bytes(b"this is not a GGUF file at all" * 10)
    with realm.Realm() as r:
        for path in (truncated, garbage):
            with pytest.raises(realm.ModelLoadError) as e:
                r.load_model(path)
            assert type(e.value) is realm.ModelLoadError, e.value
        with pytest.raises(realm.ModelLoadError):
            r.load_model(b"GGUF\x03\x00\x00\x00")


def test_unsupported_architecture() -> None:
    with realm.Realm() as r:
        with pytest.raises(realm.UnsupportedModelError, match="mamba"):
            r.load_model(tiny_llama(architecture="mamba"))
        assert not r.is_loaded


def test_generate_before_load() -> None:
    with realm.Realm() as r:
        with pytest.raises(realm.ModelNotLoadedError):
            r.generate(CAPITAL)
        with pytest.raises(realm.ModelNotLoadedError):
            r.stream(CAPITAL)
        with pytest.raises(realm.ModelNotLoadedError):
            r.chat([{"role": "user", "content": "hi"}])
        with pytest.raises(realm.ModelNotLoadedError):
            r.model_info()
        with pytest.raises(realm.ModelNotLoadedError):
            r.tokenize("hi")


def test_unknown_model_id(tiny_bytes: bytes) -> None:
    with realm.Registry() as reg:
        reg.load_model("tiny", tiny_bytes)
        with pytest.raises(realm.ModelNotFoundError, match="nope"):
            reg.generate("nope", CAPITAL)
        with pytest.raises(realm.ModelNotFoundError):
            reg.stream("nope", CAPITAL)
        with pytest.raises(realm.ModelNotFoundError):
            reg.realm("nope")
        with pytest.raises(realm.ModelNotFoundError):
            reg.unload("nope")


@pytest.mark.parametrize(
    "bad",
    [dict(top_p=2), dict(top_p=0), dict(temperature=-1), dict(max_tokens=-5), dict(min_p=1.5)],
)
def test_invalid_sampling(tiny: realm.Realm, bad: dict) -> None:
    with pytest.raises(realm.InvalidArgumentError) as e:
        tiny.generate("the city", **bad)
    assert isinstance(e.value, ValueError)
    assert list(bad)[0] in str(e.value)


def test_invalid_messages(tiny: realm.Realm) -> None:
    with pytest.raises(realm.InvalidArgumentError):
        tiny.chat([{"content": "no role"}])
    with pytest.raises(TypeError):
        tiny.chat("not a list")  # type: ignore[arg-type]


def test_closed_realm(tiny_bytes: bytes) -> None:
    r = realm.Realm(tiny_bytes)
    r.close()
    for call in (
        lambda: r.generate("the"),
        lambda: r.stream("the"),
        lambda: r.chat([{"role": "user", "content": "hi"}]),
        lambda: r.load_model(tiny_bytes),
        lambda: r.tokenize("the"),
        lambda: r.detokenize([1]),
        lambda: r.model_info(),
        lambda: r.is_loaded,
    ):
        with pytest.raises(realm.ClosedError):
            call()
    with pytest.raises(realm.ClosedError):
        with r:
            pass


def test_closed_registry(tiny_bytes: bytes) -> None:
    reg = realm.Registry()
    reg.close()
    with pytest.raises(realm.ClosedError):
        reg.load_model("tiny", tiny_bytes)
    with pytest.raises(realm.ClosedError):
        reg.generate("tiny", "the")
    with pytest.raises(realm.ClosedError):
        reg.models()


def test_prompt_longer_than_context(smollm2_path: str) -> None:
    with realm.Realm(context_length=32) as r:
        r.load_model(smollm2_path)
        long_prompt = " ".join(["word"] * 100)
        with pytest.raises(realm.ContextLengthError) as e:
            r.generate(long_prompt, max_tokens=4)
        assert isinstance(e.value, realm.InvalidArgumentError)
        # The realm is still usable.
        assert r.generate("Hi", max_tokens=2).usage.completion_tokens <= 2


def test_sandbox_faults(smollm2_path: str) -> None:
    guest = greedy_guest(trap_when_top_k=1)
    with realm.Realm(smollm2_path) as native, realm.Realm(smollm2_path, guest=guest) as r:
        expected = native.generate(CAPITAL, max_tokens=6, temperature=0)
        # The guest picks the best candidate: the same tokens as greedy.
        assert r.generate(CAPITAL, max_tokens=6, top_k=40).tokens == expected.tokens
        # It traps when top_k is 1: the request fails, the realm carries on.
        with pytest.raises(realm.SandboxError, match="trap") as e:
            r.generate(CAPITAL, max_tokens=6, top_k=1)
        assert e.value.status == 6
        with pytest.raises(realm.SandboxError):
            list(r.stream(CAPITAL, max_tokens=6, top_k=1))
        assert r.generate(CAPITAL, max_tokens=6, top_k=40).tokens == expected.tokens


def test_invalid_guest_module(tiny_bytes: bytes, tmp_path: Path) -> None:
    with pytest.raises(realm.SandboxError):
        realm.Realm(guest=b"\0asm not really")
    wasm = tmp_path / "guest.wasm"
    wasm.write_bytes(greedy_guest())
    with realm.Registry() as reg:
        reg.load_model("tiny", tiny_bytes)
        with pytest.raises(realm.SandboxError):
            reg.realm("tiny", guest=b"\0asm\x01\0\0\0")
        with reg.realm("tiny", guest=wasm, guest_config="anything") as tenant:
            assert tenant.generate("the city", max_tokens=4, top_k=40).usage.completion_tokens
