"""Registry memory: one mapping per file, deferred unload, memory budget."""

from __future__ import annotations

import gc
import os

import pytest

import realm
from memstat import HAVE_PROC, rss, status_bytes

CAPITAL = "The capital of France is"

needs_proc = pytest.mark.skipif(not HAVE_PROC, reason="needs Linux /proc")


@needs_proc
def test_same_file_two_context_lengths_is_mapped_once(smollm2_path: str) -> None:
    size = os.path.getsize(smollm2_path)
    with realm.Registry() as reg:
        reg.load_model("short", smollm2_path, context_length=256)
        with reg.realm("short") as warm:  # touch every weight once
            want = warm.generate(CAPITAL, max_tokens=4, temperature=0)
        gc.collect()
        before = rss()
        info = reg.load_model("long", smollm2_path, context_length=1024)
        with reg.realm("long") as r:
            got = r.generate(CAPITAL, max_tokens=4, temperature=0)
            grown = rss() - before
        assert got.tokens == want.tokens
        assert info.n_ctx == 1024 and reg.models()["short"].info.n_ctx == 256
        assert grown < 0.05 * size, f"second load grew RSS by {grown} bytes (file: {size})"
        # Each id's sessions have their own limit on the shared weights.
        with pytest.raises(realm.ContextLengthError):
            reg.generate("short", "hello " * 300, max_tokens=1)
        assert reg.generate("long", "hello " * 300, max_tokens=1).usage.prompt_tokens > 256


def test_unload_in_use_is_deferred(tiny_bytes: bytes) -> None:
    with realm.Registry() as reg:
        reg.load_model("tiny", tiny_bytes)
        want = reg.generate("tiny", "the hall", max_tokens=6, temperature=0)
        with reg.realm("tiny") as tenant:
            reg.unload("tiny")  # not refused while the realm uses it
            assert "tiny" not in reg
            with pytest.raises(realm.ModelNotFoundError):
                reg.realm("tiny")
            with pytest.raises(realm.ModelNotFoundError):
                reg.generate("tiny", "the hall", max_tokens=2)
            with pytest.raises(realm.ModelNotFoundError):
                reg.unload("tiny")
            assert tenant.generate("the hall", max_tokens=6, temperature=0).tokens == want.tokens
            reg.load_model("tiny", tiny_bytes)  # the id is free again at once
            assert reg.models()["tiny"].realms == 0
        assert tenant.closed


@needs_proc
def test_weights_are_freed_when_the_last_realm_closes(smollm2_path: str) -> None:
    # The weights are resident twice over at most: packed copies on the Go
    # heap, and pages of the file mapping. Both go when the model closes.
    size = os.path.getsize(smollm2_path)
    gc.collect()
    reg = realm.Registry()
    reg.load_model("smol", smollm2_path)
    a = reg.realm("smol")
    b = reg.realm("smol")
    a.generate(CAPITAL, max_tokens=2, temperature=0)
    loaded = rss()
    reg.unload("smol")
    reg.close()
    a.close()
    assert rss() > loaded - size // 4, "b still holds the weights"
    assert b.generate(CAPITAL, max_tokens=2, temperature=0).usage.completion_tokens == 2
    b.close()
    freed = loaded - rss()
    assert freed > size // 2, f"closing the last realm freed {freed} bytes (file: {size})"


def test_registry_realm_and_models(tiny_bytes: bytes) -> None:
    with realm.Registry() as reg:
        with pytest.raises(realm.ModelNotFoundError):
            reg.realm("nope")
        reg.load_model("a", tiny_bytes)
        with pytest.raises(realm.InvalidArgumentError):
            reg.load_model("a", tiny_bytes)
        reg.load_model("a", tiny_bytes, replace=True, context_length=64)
        with reg.realm("a") as r1, reg.realm("a", guest=None) as r2:
            models = reg.models()
            assert list(models) == ["a"]
            assert models["a"].realms == 2 and models["a"].info.n_ctx == 64
            assert r1.model_info().n_ctx == 64 and r2.model_info().n_ctx == 64
        assert reg.models()["a"].realms == 0


def test_memory_budget(tiny_bytes: bytes) -> None:
    from gguf_writer import tiny_llama

    with pytest.raises(realm.InvalidArgumentError):
        realm.Registry(memory_budget=-1)
    images = [tiny_llama(seed=s) for s in (1, 2, 3, 4)]
    size = max(len(i) for i in images)
    with realm.Registry(memory_budget=2 * size + size // 2) as reg:
        assert reg.memory_budget == 2 * size + size // 2
        reg.load_model("a", images[0])
        reg.load_model("b", images[1])
        reg.generate("a", "the", max_tokens=1)  # b is now the least recently used
        reg.load_model("c", images[2])
        assert sorted(reg) == ["a", "c"]
        with reg.realm("a"), reg.realm("c"):
            with pytest.raises(realm.MemoryBudgetError) as e:
                reg.load_model("d", images[3])
            assert e.value.status == 11 and '"d"' in str(e.value)
            assert sorted(reg) == ["a", "c"], "a failed load unloads nothing"
        reg.load_model("d", images[3])
        assert len(reg) == 2 and "d" in reg
    assert realm.Registry().memory_budget is None
    with realm.Registry(memory_budget=size // 2) as small:
        with pytest.raises(realm.MemoryBudgetError):
            small.load_model("x", images[0])
