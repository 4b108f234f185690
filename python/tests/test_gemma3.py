"""A second architecture and tokenizer through Python: Gemma 3 270M (SentencePiece)."""

from __future__ import annotations

import json
import os
from typing import Iterator

import pytest

import realm
from conftest import REPO

GOLDEN = REPO / "engine" / "testdata" / "goldens" / "gemma-3-270m-q4_k_m.json"


@pytest.fixture(scope="module")
def gemma() -> Iterator[realm.Realm]:
    """Gemma 3 270M from $REALM_TEST_GEMMA3 (set by the Makefile, which
    installs it); skipped when the variable is unset, a failure when it names
    a missing file."""
    path = os.environ.get("REALM_TEST_GEMMA3")
    if not path:
        pytest.skip("REALM_TEST_GEMMA3 is not set")
    assert os.path.exists(path), f"REALM_TEST_GEMMA3={path} does not exist"
    with realm.Realm(path, context_length=512) as r:
        yield r


def test_gemma3_matches_llama_cpp(gemma: realm.Realm) -> None:
    if not GOLDEN.exists():
        pytest.skip("not a source checkout (llama.cpp goldens absent)")
    golden = json.loads(GOLDEN.read_text(encoding="utf-8"))
    info = gemma.model_info()
    assert info.architecture == "gemma3" and info.n_ctx == 512
    greedy = golden["greedy"][0]
    assert gemma.tokenize(greedy["prompt"]) == greedy["ids"]
    c = gemma.generate(greedy["prompt"], max_tokens=6, temperature=0)
    assert c.tokens == greedy["generated"][:6]
    chat = golden["chat"]
    assert gemma.apply_chat_template(chat["messages"]) == chat["prompt"]
    c = gemma.chat(chat["messages"], max_tokens=6, temperature=0)
    assert c.tokens == chat["generated"][:6]
