"""A small OpenAI-compatible HTTP server over a Registry (``realm serve``).

Endpoints (JSON, the OpenAI shapes):

* ``GET /v1/models``
* ``POST /v1/chat/completions`` (``"stream": true`` gives server-sent events)
* ``POST /v1/completions``
* ``GET /health``

It uses only the standard library (``http.server``), one thread per
connection; requests run in parallel on the registry's model. A client that
disconnects mid-stream cancels its generation. Meant for local use: it has no
authentication, so bind it to 127.0.0.1 (the default).
"""

from __future__ import annotations

import json
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, Iterator, Optional, Tuple

from . import errors
from ._generation import SAMPLING_KEYS
from .registry import Registry
from .types import Chunk

__all__ = ["make_server", "serve"]

_STATUS_FOR_ERROR = (
    (errors.ModelNotFoundError, HTTPStatus.NOT_FOUND),
    (errors.InvalidArgumentError, HTTPStatus.BAD_REQUEST),
    (errors.ModelNotLoadedError, HTTPStatus.SERVICE_UNAVAILABLE),
    (errors.ClosedError, HTTPStatus.SERVICE_UNAVAILABLE),
)


class _BadRequest(Exception):
    pass


def _sampling(body: Dict[str, Any]) -> Dict[str, Any]:
    """The sampling keywords of an OpenAI request (other fields are ignored,
    as OpenAI-compatible servers commonly do)."""
    sampling = {k: body[k] for k in SAMPLING_KEYS if k in body and body[k] is not None}
    if "max_completion_tokens" in body and "max_tokens" not in sampling:
        sampling["max_tokens"] = body["max_completion_tokens"]
    return sampling


class _Handler(BaseHTTPRequestHandler):
    server: "_Server"
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.verbose:
            super().log_message(format, *args)

    # -- responses -----------------------------------------------------------

    def _send_json(self, status: int, payload: Any) -> None:
        data = json.dumps(payload).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _send_error(self, status: int, message: str, kind: str) -> None:
        self._send_json(status, {"error": {"message": message, "type": kind, "code": int(status)}})

    def _send_events(self, chunks: Iterator[Chunk]) -> None:
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        for chunk in chunks:
            self.wfile.write(b"data: " + json.dumps(chunk.to_openai()).encode("utf-8") + b"\n\n")
            self.wfile.flush()
        self.wfile.write(b"data: [DONE]\n\n")
        self.wfile.flush()

    # -- routing -------------------------------------------------------------

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        if self.path == "/health":
            self._send_json(HTTPStatus.OK, {"status": "ok"})
        elif self.path == "/v1/models":
            created = int(self.server.started)
            data = [
                {"id": mid, "object": "model", "created": created, "owned_by": "realm"}
                for mid in self.server.registry.models()
            ]
            self._send_json(HTTPStatus.OK, {"object": "list", "data": data})
        else:
            self._send_error(HTTPStatus.NOT_FOUND, f"no route {self.path}", "not_found")

    def do_POST(self) -> None:  # noqa: N802
        routes = {"/v1/chat/completions": True, "/v1/completions": False}
        if self.path not in routes:
            self._send_error(HTTPStatus.NOT_FOUND, f"no route {self.path}", "not_found")
            return
        try:
            body, model_id = self._read_request()
            self._generate(body, model_id, chat=routes[self.path])
        except _BadRequest as e:
            self._send_error(HTTPStatus.BAD_REQUEST, str(e), "invalid_request_error")
        except errors.RealmError as e:
            status = next(
                (s for cls, s in _STATUS_FOR_ERROR if isinstance(e, cls)),
                HTTPStatus.INTERNAL_SERVER_ERROR,
            )
            self._send_error(status, str(e), type(e).__name__)
        except TypeError as e:
            self._send_error(HTTPStatus.BAD_REQUEST, str(e), "invalid_request_error")
        except (BrokenPipeError, ConnectionResetError):
            # The client went away; leaving the stream loop cancelled the
            # generation.
            self.close_connection = True

    def _read_request(self) -> Tuple[Dict[str, Any], str]:
        length = int(self.headers.get("Content-Length") or 0)
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
        except ValueError as e:
            raise _BadRequest(f"the body is not JSON: {e}") from None
        if not isinstance(body, dict):
            raise _BadRequest("the body must be a JSON object")
        # Clients always name a model ("gpt-4o"...): use it when the registry
        # has it, else the default one.
        requested = body.get("model")
        if isinstance(requested, str) and requested in self.server.registry:
            return body, requested
        return body, self.server.default_model

    def _generate(self, body: Dict[str, Any], model_id: str, chat: bool) -> None:
        registry = self.server.registry
        sampling = _sampling(body)
        stream = bool(body.get("stream"))
        if chat:
            if "messages" not in body:
                raise _BadRequest("missing 'messages'")
            if stream:
                self._send_streamed(
                    registry.chat(model_id, body["messages"], stream=True, **sampling)
                )
            else:
                result = registry.chat(model_id, body["messages"], **sampling)
                self._send_json(HTTPStatus.OK, result.to_openai())
            return
        prompt = body.get("prompt")
        if not isinstance(prompt, str):
            raise _BadRequest("'prompt' must be a string")
        if stream:
            self._send_streamed(registry.stream(model_id, prompt, **sampling))
        else:
            self._send_json(
                HTTPStatus.OK, registry.generate(model_id, prompt, **sampling).to_openai()
            )

    def _send_streamed(self, stream: Any) -> None:
        with stream:
            self._send_events(iter(stream))


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(
        self, address: Tuple[str, int], registry: Registry, default_model: str, verbose: bool
    ) -> None:
        super().__init__(address, _Handler)
        self.registry = registry
        self.default_model = default_model
        self.verbose = verbose
        self.started = time.time()


def make_server(
    registry: Registry,
    default_model: str,
    host: str = "127.0.0.1",
    port: int = 8000,
    *,
    verbose: bool = False,
) -> ThreadingHTTPServer:
    """An HTTP server answering OpenAI-style requests with ``registry``'s
    models; a request naming no known model uses ``default_model``. Run it
    with ``serve_forever()``; ``port=0`` picks a free port
    (``server.server_address``)."""
    return _Server((host, port), registry, default_model, verbose)


def serve(
    registry: Registry,
    default_model: str,
    host: str = "127.0.0.1",
    port: int = 8000,
    *,
    verbose: bool = False,
    ready: Optional[Any] = None,
) -> None:
    """Serve until interrupted (Ctrl-C), then shut down cleanly."""
    server = make_server(registry, default_model, host, port, verbose=verbose)
    try:
        if ready is not None:
            ready(server)
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
