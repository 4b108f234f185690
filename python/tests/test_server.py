"""The OpenAI-compatible server (realm serve), on the loopback interface."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from typing import Any, Dict, Iterator, List, Tuple

import pytest

import realm
from realm.server import make_server

# SmolLM2's built-in default system prompt makes it answer "L'Étoile, ..."
# (llama.cpp does the same, see engine/testdata/goldens); a plain one gives Paris.
QUESTION = [
    {"role": "system", "content": "You are a helpful assistant."},
    {"role": "user", "content": "What is the capital of France?"},
]


@pytest.fixture(scope="module")
def base_url(smollm2_path: str) -> Iterator[str]:
    with realm.Registry() as reg:
        reg.load_model("smol", smollm2_path)
        server = make_server(reg, "smol", "127.0.0.1", 0)
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1})
        thread.start()
        host, port = server.server_address[:2]
        try:
            yield f"http://{host}:{port}"
        finally:
            server.shutdown()
            server.server_close()
            thread.join(10)


def post(url: str, body: Dict[str, Any]) -> Tuple[int, bytes]:
    req = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(req, timeout=120) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def test_models_and_health(base_url: str) -> None:
    with urllib.request.urlopen(base_url + "/v1/models", timeout=10) as resp:
        models = json.load(resp)
    assert [m["id"] for m in models["data"]] == ["smol"]
    with urllib.request.urlopen(base_url + "/health", timeout=10) as resp:
        assert json.load(resp) == {"status": "ok"}


def test_chat_completion(base_url: str) -> None:
    status, body = post(
        base_url + "/v1/chat/completions",
        {"model": "gpt-4o", "messages": QUESTION, "max_tokens": 24, "temperature": 0},
    )
    assert status == 200
    out = json.loads(body)
    assert out["object"] == "chat.completion" and out["model"] == "smol"
    assert "Paris" in out["choices"][0]["message"]["content"]


def test_streamed_chat_completion(base_url: str) -> None:
    req = urllib.request.Request(
        base_url + "/v1/chat/completions",
        data=json.dumps(
            {"messages": QUESTION, "max_tokens": 24, "temperature": 0, "stream": True}
        ).encode(),
        headers={"Content-Type": "application/json"},
    )
    events: List[str] = []
    with urllib.request.urlopen(req, timeout=120) as resp:
        assert resp.headers["Content-Type"] == "text/event-stream"
        for line in resp:
            if line.startswith(b"data: "):
                events.append(line[6:].decode().strip())
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks)
    assert "Paris" in text
    assert chunks[-1]["choices"][0]["finish_reason"] in ("stop", "length")


def test_completion_and_errors(base_url: str) -> None:
    status, body = post(
        base_url + "/v1/completions",
        {"prompt": "The capital of France is", "max_tokens": 12, "temperature": 0},
    )
    assert status == 200 and "Paris" in json.loads(body)["choices"][0]["text"]
    status, body = post(base_url + "/v1/completions", {"prompt": "Hi", "top_p": 2})
    assert status == 400 and "top_p" in json.loads(body)["error"]["message"]
    status, _ = post(base_url + "/v1/chat/completions", {"max_tokens": 2})
    assert status == 400
    status, _ = post(base_url + "/v1/nothing", {})
    assert status == 404


def test_serve_command(smollm2_path: str) -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "realm",
            "serve",
            "-m",
            smollm2_path,
            "--port",
            "0",
            "--model-id",
            "smol",
        ],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()
        match = re.search(r"http://([\d.]+):(\d+)/v1", line)
        assert match, line
        status, body = post(
            f"http://{match.group(1)}:{match.group(2)}/v1/completions",
            {"prompt": "The capital of France is", "max_tokens": 12, "temperature": 0},
        )
        assert status == 200 and "Paris" in json.loads(body)["choices"][0]["text"]
        os.kill(proc.pid, signal.SIGINT)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
