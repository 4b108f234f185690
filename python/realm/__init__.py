"""Realm: local LLM inference with llama.cpp-exact output and per-tenant
WebAssembly sandboxes.

Quick start::

    import realm

    with realm.Realm() as r:
        r.load_model("SmolLM2-135M-Instruct.Q4_1.gguf")
        print(r.generate("The capital of France is", max_tokens=16, temperature=0).text)
        for chunk in r.chat([{"role": "user", "content": "Hi!"}], stream=True):
            print(chunk.text, end="", flush=True)

See docs/python-api.md for the whole API.
"""

from __future__ import annotations

__version__ = "0.1.0"

from ._stream import AsyncStream, Stream
from .errors import (
    CancelledError,
    ClosedError,
    ContextLengthError,
    InternalError,
    InvalidArgumentError,
    MemoryBudgetError,
    ModelLoadError,
    ModelNotFoundError,
    ModelNotLoadedError,
    RealmError,
    SandboxError,
    UnsupportedModelError,
)
from .realm import Realm
from .registry import Registry
from .types import Chunk, Completion, ModelInfo, RegisteredModel, Timings, Usage


def library_version() -> str:
    """The version string of the loaded native library."""
    from ._ffi import ffi, lib

    return ffi.string(lib.realm_version()).decode("utf-8")


def release_memory() -> None:
    """Collect the native library's garbage and return its free memory to
    the operating system (unloading a model does this by itself). Useful
    before reading the process's resident memory."""
    from ._ffi import lib

    lib.realm_release_memory()


__all__ = [
    "__version__",
    "library_version",
    "release_memory",
    "Realm",
    "Registry",
    "Stream",
    "AsyncStream",
    "Completion",
    "Chunk",
    "Usage",
    "Timings",
    "ModelInfo",
    "RegisteredModel",
    "RealmError",
    "ModelNotLoadedError",
    "ModelNotFoundError",
    "ModelLoadError",
    "UnsupportedModelError",
    "InvalidArgumentError",
    "SandboxError",
    "CancelledError",
    "ClosedError",
    "ContextLengthError",
    "InternalError",
    "MemoryBudgetError",
]
