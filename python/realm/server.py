"""The OpenAI-compatible HTTP server (``python -m realm serve``).

The server itself is written in Go (package ``server`` of the repository,
``net/http``) and runs inside the native library; this module only starts
it through the C ABI (``realm_server_start``), waits for SIGINT or SIGTERM
and shuts it down gracefully. Python holds no request on its path: requests
run on Go's threads, in parallel, without the GIL.

Endpoints: ``POST /v1/chat/completions`` and ``POST /v1/completions``
(``"stream": true`` gives server-sent events), ``GET /v1/models``,
``GET /health`` and ``GET /metrics`` (Prometheus). See docs/deploy.md.

Example::

    with realm.server.Server({"smol": "SmolLM2-135M-Instruct.Q4_1.gguf"}, port=0) as srv:
        print(srv.address)  # "127.0.0.1:41234"
"""

from __future__ import annotations

import signal
import threading
import types
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

from . import _ffi
from ._ffi import ffi, lib
from .errors import ClosedError

__all__ = ["Server", "serve", "parse_model_spec"]

Models = Union[Mapping[str, str], Sequence[Tuple[str, str]]]


def parse_model_spec(spec: str) -> Tuple[str, str]:
    """Split ``NAME=PATH`` into ``(name, path)``; a bare ``PATH`` is named
    after its file (without ``.gguf``).

    Raises:
        ValueError: an empty name or path.
    """
    if "=" in spec:
        name, path = spec.split("=", 1)
    else:
        path = spec
        name = path.rsplit("/", 1)[-1]
        if name.endswith(".gguf"):
            name = name[: -len(".gguf")]
    if not name or not path:
        raise ValueError(f"model {spec!r}: want NAME=PATH")
    return name, path


class Server:
    """A running OpenAI-compatible server (Go, in the native library).

    The constructor loads the models, binds the address and starts serving
    in the background; :meth:`shutdown` (or leaving a ``with`` block) stops
    it gracefully.

    Args:
        models: model id → GGUF path (a mapping or ``(id, path)`` pairs).
        host: address to bind (default 127.0.0.1).
        port: port to bind; 0 picks a free one (see :attr:`address`).
        api_keys: an API key file (lines ``KEY TENANT [GUEST.wasm]``); None
            turns authentication off (the server says so on stderr).
        threads: worker threads per forward pass (default 1).
        context_length: context window of each session.
        max_body_bytes: largest request body (default 1 MiB); larger is 413.
        shutdown_timeout: seconds requests in flight may run on at shutdown
            before they are cancelled (default 10).
        log_requests: log one line per request to stderr.
        quiet: no startup messages.

    Raises:
        RealmError: a model that does not load, a bad key file, an address
            that cannot be bound (:class:`InvalidArgumentError`).
    """

    def __init__(
        self,
        models: Models,
        host: str = "127.0.0.1",
        port: int = 8000,
        *,
        api_keys: Optional[str] = None,
        threads: Optional[int] = None,
        context_length: Optional[int] = None,
        max_body_bytes: Optional[int] = None,
        shutdown_timeout: Optional[float] = None,
        log_requests: bool = False,
        quiet: bool = False,
    ) -> None:
        pairs = list(models.items()) if isinstance(models, Mapping) else list(models)
        options: Dict[str, Any] = {
            "models": [{"id": mid, "path": path} for mid, path in pairs],
            "host": host,
            "port": port,
            "log_requests": log_requests,
            "quiet": quiet,
        }
        if api_keys is not None:
            options["api_keys_file"] = api_keys
        if threads is not None:
            options["threads"] = threads
        if context_length is not None:
            options["context_length"] = context_length
        if max_body_bytes is not None:
            options["max_body_bytes"] = max_body_bytes
        if shutdown_timeout is not None:
            options["shutdown_timeout_ms"] = int(shutdown_timeout * 1000)
        out = ffi.new("realm_server_t *")
        err = _ffi.new_err()
        _ffi.check(
            lib.realm_server_start(_ffi.encode_json(options), out, err),
            err,
            "realm_server_start failed",
        )
        self._handle: Any = out[0]
        self._lock = threading.Lock()

    def _h(self) -> Any:
        if self._handle is None:
            raise ClosedError("the server was closed")
        return self._handle

    def info(self) -> Dict[str, Any]:
        """``{"address": "host:port", "auth": bool, "models": [id, ...]}``."""
        out = ffi.new("char **")
        err = _ffi.new_err()
        _ffi.check(lib.realm_server_info(self._h(), out, err), err, "realm_server_info failed")
        info: Dict[str, Any] = _ffi.take_json(out[0])
        return info

    @property
    def address(self) -> str:
        """The address the server listens on, ``"host:port"``."""
        return str(self.info()["address"])

    @property
    def models(self) -> List[str]:
        """The ids of the models served."""
        return list(self.info()["models"])

    def shutdown(self, timeout: Optional[float] = None) -> None:
        """Stop gracefully: /health turns 503, requests in flight may finish
        for up to ``timeout`` seconds (default: the configured bound), then
        are cancelled; the models are unloaded and the handle freed.
        Calling it again does nothing."""
        with self._lock:
            handle, self._handle = self._handle, None
        if handle is None:
            return
        err = _ffi.new_err()
        try:
            ms = 0 if timeout is None else max(1, int(timeout * 1000))
            _ffi.check(
                lib.realm_server_shutdown(handle, ms, err), err, "realm_server_shutdown failed"
            )
        finally:
            lib.realm_server_free(handle)

    close = shutdown

    def __enter__(self) -> "Server":
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()

    def __del__(self) -> None:
        if getattr(self, "_handle", None) is not None:
            try:
                lib.realm_server_free(self._handle)
            except Exception:  # pragma: no cover - interpreter teardown
                pass


def serve(models: Models, host: str = "127.0.0.1", port: int = 8000, **options: Any) -> None:
    """Run a :class:`Server` until SIGINT or SIGTERM, then shut it down
    gracefully. ``options`` are :class:`Server`'s keyword arguments."""
    stop = threading.Event()
    received: List[int] = []

    def on_signal(signum: int, frame: Optional[types.FrameType]) -> None:
        received.append(signum)
        stop.set()

    previous = {
        sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        with Server(models, host, port, **options):
            # A timed wait, so the signal handler runs promptly.
            while not stop.wait(0.25):
                pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
