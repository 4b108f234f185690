"""The OpenAI-compatible server (``python -m realm serve``), driven with the
official ``openai`` client over the loopback interface."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Iterator, List, NamedTuple, Optional, Tuple

import pytest

openai = pytest.importorskip("openai")

import realm  # noqa: E402
from realm.server import Server, parse_model_spec  # noqa: E402

# SmolLM2's built-in default system prompt makes it answer "L'Étoile, ..."
# (llama.cpp does the same, see engine/testdata/goldens); a plain one gives Paris.
QUESTION = [
    {"role": "system", "content": "You are a helpful assistant."},
    {"role": "user", "content": "What is the capital of France?"},
]
KEY = "sk-test-acme"
OTHER_KEY = "sk-test-globex"


class Served(NamedTuple):
    """A ``realm serve`` process and its base URL."""

    proc: "subprocess.Popen[str]"
    url: str
    log: List[str]


def start_serve(args: List[str], timeout: float = 60.0) -> Served:
    """Start ``python -m realm serve ARGS --port 0`` and wait for its
    "serving ... on http://HOST:PORT/v1" line."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "realm", "serve", "--port", "0", *args],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stderr is not None
    log: List[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line:
            break
        log.append(line)
        match = re.search(r"serving .* on (http://[\d.]+:\d+)/v1", line)
        if match:
            return Served(proc, match.group(1), log)
    proc.kill()
    proc.wait()
    raise AssertionError("realm serve did not start:\n" + "".join(log))


def stop_serve(served: Served, sig: int = signal.SIGTERM, timeout: float = 30.0) -> int:
    """Signal the server and return its exit status."""
    if served.proc.poll() is None:
        served.proc.send_signal(sig)
    try:
        return served.proc.wait(timeout=timeout)
    finally:
        if served.proc.poll() is None:
            served.proc.kill()
            served.proc.wait()


def http_get(url: str, key: Optional[str] = None) -> Tuple[int, str]:
    req = urllib.request.Request(url)
    if key:
        req.add_header("Authorization", f"Bearer {key}")
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def metric(url: str, name: str) -> float:
    """The value of one sample of /metrics (0 when absent)."""
    _, text = http_get(url + "/metrics")
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    return 0.0


@pytest.fixture(scope="module")
def server(
    smollm2_path: str, tiny_path: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    keys = tmp_path_factory.mktemp("keys") / "keys.txt"
    keys.write_text(f"# key tenant\n{KEY} acme\n{OTHER_KEY} globex\n")
    served = start_serve(
        [
            "--model",
            f"smol={smollm2_path}",
            "--model",
            f"tiny={tiny_path}",
            "--api-keys",
            str(keys),
            "--max-body-bytes",
            "65536",
        ]
    )
    try:
        yield served
    finally:
        assert stop_serve(served) == 0


@pytest.fixture(scope="module")
def client(server: Served) -> "openai.OpenAI":
    return openai.OpenAI(base_url=server.url + "/v1", api_key=KEY, max_retries=0, timeout=120)


def test_startup_says_auth_is_on(server: Served) -> None:
    assert any("authentication is on: 2 tenant(s)" in line for line in server.log)


def test_models_and_health(server: Served, client: "openai.OpenAI") -> None:
    assert sorted(m.id for m in client.models.list()) == ["smol", "tiny"]
    assert client.models.retrieve("smol").id == "smol"
    status, body = http_get(server.url + "/health")
    assert status == 200 and json.loads(body) == {"status": "ok"}


def test_chat_completion(client: "openai.OpenAI") -> None:
    out = client.chat.completions.create(
        model="smol", messages=QUESTION, max_tokens=24, temperature=0  # type: ignore[arg-type]
    )
    assert out.object == "chat.completion" and out.model == "smol"
    assert out.id.startswith("chatcmpl-")
    choice = out.choices[0]
    assert choice.message.role == "assistant"
    assert "Paris" in (choice.message.content or "")
    assert choice.finish_reason in ("stop", "length")
    assert out.usage is not None
    assert out.usage.total_tokens == out.usage.prompt_tokens + out.usage.completion_tokens
    assert 0 < out.usage.completion_tokens <= 24


def test_streamed_chat_completion(client: "openai.OpenAI") -> None:
    whole = client.chat.completions.create(
        model="smol", messages=QUESTION, max_tokens=24, temperature=0  # type: ignore[arg-type]
    )
    stream = client.chat.completions.create(
        model="smol",
        messages=QUESTION,  # type: ignore[arg-type]
        max_tokens=24,
        temperature=0,
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == whole.choices[0].message.content
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices]
    assert finishes[-1] == whole.choices[0].finish_reason
    assert all(f is None for f in finishes[:-1])
    assert chunks[-1].choices == [] and chunks[-1].usage == whole.usage
    assert all(c.usage is None for c in chunks[:-1])


def test_completion(client: "openai.OpenAI") -> None:
    out = client.completions.create(
        model="smol", prompt="The capital of France is", max_tokens=12, temperature=0
    )
    assert out.object == "text_completion"
    assert "Paris" in out.choices[0].text
    stream = client.completions.create(
        model="smol", prompt="The capital of France is", max_tokens=12, temperature=0, stream=True
    )
    chunks = list(stream)
    assert "".join(c.choices[0].text for c in chunks) == out.choices[0].text
    assert chunks[-1].choices[0].finish_reason == out.choices[0].finish_reason
    assert chunks[-1].usage is None  # not asked for


def test_seeded_sampling_repeats(client: "openai.OpenAI") -> None:
    def once() -> str:
        out = client.completions.create(
            model="smol", prompt="Once upon a time", max_tokens=16, temperature=1.0, seed=42
        )
        return out.choices[0].text

    assert once() == once()


def test_errors(server: Served, client: "openai.OpenAI") -> None:
    with pytest.raises(openai.AuthenticationError) as auth:
        wrong = openai.OpenAI(base_url=server.url + "/v1", api_key="sk-wrong", max_retries=0)
        wrong.models.list()
    assert auth.value.status_code == 401 and auth.value.code == "invalid_api_key"
    status, _ = http_get(server.url + "/v1/models")  # no key at all
    assert status == 401

    with pytest.raises(openai.NotFoundError) as nf:
        client.chat.completions.create(model="gpt-4o", messages=QUESTION)  # type: ignore[arg-type]
    assert nf.value.code == "model_not_found" and "gpt-4o" in nf.value.message

    with pytest.raises(openai.BadRequestError) as bad:
        client.completions.create(model="smol", prompt="Hi", top_p=2)
    assert "top_p" in bad.value.message
    with pytest.raises(openai.BadRequestError) as bad:
        client.chat.completions.create(
            model="smol", messages=QUESTION, n=2  # type: ignore[arg-type]
        )
    assert bad.value.param == "n"
    with pytest.raises(openai.BadRequestError) as bad:
        client.completions.create(model="tiny", prompt="word " * 400, max_tokens=4)
    assert bad.value.code == "context_length_exceeded" and "context" in bad.value.message

    with pytest.raises(openai.APIStatusError) as big:
        client.completions.create(model="smol", prompt="x" * 70000, max_tokens=1)
    assert big.value.status_code == 413
    assert big.value.code == "request_too_large"

    # Malformed JSON, below the client.
    req = urllib.request.Request(
        server.url + "/v1/chat/completions",
        data=b'{"model": "smol", "messages": [',
        headers={"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"},
    )
    with pytest.raises(urllib.error.HTTPError) as http_err:
        urllib.request.urlopen(req, timeout=30)
    assert http_err.value.code == 400
    body = json.loads(http_err.value.read())
    assert set(body["error"]) == {"message", "type", "param", "code"}


def test_tenants_get_their_own_realms(server: Served) -> None:
    for key in (KEY, OTHER_KEY):
        c = openai.OpenAI(base_url=server.url + "/v1", api_key=key, max_retries=0, timeout=60)
        c.completions.create(model="tiny", prompt="Hi", max_tokens=2)
    assert metric(server.url, 'realm_active_realms{model="tiny"}') == 2


def test_disconnect_cancels_the_generation(server: Served, client: "openai.OpenAI") -> None:
    before = metric(server.url, 'realm_generations_cancelled_total{model="smol"}')
    stream = client.completions.create(
        model="smol", prompt="1, 2, 3, 4, 5, 6,", max_tokens=2000, temperature=0, stream=True
    )
    for i, _ in enumerate(stream):
        if i == 3:
            break
    stream.close()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if metric(server.url, 'realm_generations_cancelled_total{model="smol"}') == before + 1:
            return
        time.sleep(0.05)
    pytest.fail("the generation went on after the client left")


def test_serve_without_keys_and_sigint(tiny_path: str) -> None:
    served = start_serve(["--model", tiny_path])
    try:
        assert any("authentication is OFF" in line for line in served.log)
        c = openai.OpenAI(base_url=served.url + "/v1", api_key="anything", max_retries=0)
        assert [m.id for m in c.models.list()] == ["tiny"]
        out = c.completions.create(model="tiny", prompt="Hi", max_tokens=3, temperature=0)
        assert out.usage is not None and out.usage.completion_tokens == 3
    finally:
        assert stop_serve(served, signal.SIGINT) == 0


def test_sigterm_is_graceful(smollm2_path: str) -> None:
    served = start_serve(["--model", f"smol={smollm2_path}", "--shutdown-timeout", "1"])
    c = openai.OpenAI(base_url=served.url + "/v1", api_key="x", max_retries=0, timeout=60)
    stream = c.completions.create(
        model="smol", prompt="1, 2, 3, 4, 5, 6,", max_tokens=4000, temperature=0, stream=True
    )
    next(iter(stream))
    started = time.monotonic()
    served.proc.send_signal(signal.SIGTERM)
    # The generation outlives the 1 s grace: it is cancelled, and the stream
    # ends with an error event the client raises.
    with pytest.raises(openai.APIError) as err:
        for _ in stream:
            pass
    assert "shutting down" in str(err.value)
    assert stop_serve(served) == 0
    assert time.monotonic() - started < 1 + 5 + 5


def test_parse_model_spec() -> None:
    assert parse_model_spec("smol=/m/a.gguf") == ("smol", "/m/a.gguf")
    assert parse_model_spec("/m/SmolLM2.gguf") == ("SmolLM2", "/m/SmolLM2.gguf")
    with pytest.raises(ValueError):
        parse_model_spec("=x")


def test_server_class_errors(tmp_path: Path, tiny_path: str) -> None:
    with pytest.raises(realm.RealmError):
        Server({"x": str(tmp_path / "missing.gguf")}, port=0, quiet=True)
    with pytest.raises(realm.InvalidArgumentError):
        Server({}, port=0, quiet=True)
    with Server({"tiny": tiny_path}, port=0, quiet=True) as srv:
        info = srv.info()
        assert info["auth"] is False and info["models"] == ["tiny"]
        assert re.fullmatch(r"127\.0\.0\.1:\d+", srv.address)
        status, _ = http_get("http://" + srv.address + "/health")
        assert status == 200
    with pytest.raises(realm.ClosedError):
        srv.info()
    srv.shutdown()  # idempotent
