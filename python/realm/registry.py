"""Registry: named models shared by many realms (many models, many tenants)."""

from __future__ import annotations

import weakref
from typing import Any, Dict, Iterator, List, Literal, Optional, Sequence, Union, overload

from . import _ffi
from ._ffi import ffi, lib
from ._generation import (
    Generator,
    GuestSource,
    Messages,
    ModelSource,
    OnToken,
    Prompt,
    guest_options,
    model_source,
)
from ._stream import AsyncStream, Stream, _NativeStream, start_stream
from .errors import ClosedError
from .realm import Realm, _options
from .types import Completion, ModelInfo, RegisteredModel

__all__ = ["Registry"]


def _free_registry(handle: Any) -> None:
    lib.realm_registry_free(handle)


class _RegisteredTarget(Generator):
    """Generation on one registry model (what Registry.generate etc. use)."""

    def __init__(self, registry: "Registry", model_id: str) -> None:
        self._registry = registry
        self._id = model_id

    def _start_stream(self, request: Dict[str, Any]) -> _NativeStream:
        handle = self._registry._h()
        model_id = _ffi.encode(self._id)
        body = _ffi.encode_json(request)
        return start_stream(
            lambda out, err: lib.realm_registry_stream_start(handle, model_id, body, out, err),
            f"realm_registry_stream_start({self._id!r}) failed",
        )

    def _model_name(self) -> str:
        return self._id


class Registry:
    """Named models shared by many realms.

    Load each model once under an id; generate with it directly, or hand out
    :class:`Realm` tenants that share its weights but own their state::

        with realm.Registry() as reg:
            reg.load_model("smol", "SmolLM2-135M-Instruct.Q4_1.gguf")
            print(reg.generate("smol", "Hello", max_tokens=8).text)
            with reg.realm("smol") as tenant:
                tenant.chat([{"role": "user", "content": "Hi!"}])

    The generating methods take the model id first, then the same arguments
    and sampling keywords as :class:`Realm`'s.

    One file loaded under several ids is mapped once, whatever their
    ``context_length`` (a limit of each id's sessions, not of the weights).
    :meth:`unload` of a model that realms still use is deferred: the id goes
    at once, the weights when the last of those realms is closed.

    Args:
        threads: worker threads for the forward pass (default 1).
        context_length: default context window for the models it loads.
        memory_budget: if set, the most bytes of model files the registry's
            ids may hold (a file under several ids counts once). Loading
            past it unloads the least recently used models that no realm and
            no request uses, or raises :class:`MemoryBudgetError` (unloading
            nothing) when that cannot make room.

    Raises:
        InvalidArgumentError: a negative ``threads``, ``context_length`` or
            ``memory_budget``.
    """

    def __init__(
        self,
        *,
        threads: Optional[int] = None,
        context_length: Optional[int] = None,
        memory_budget: Optional[int] = None,
    ) -> None:
        out = ffi.new("realm_registry_t *")
        err = _ffi.new_err()
        options = _options(
            threads=threads, context_length=context_length, memory_budget=memory_budget
        )
        _ffi.check(lib.realm_registry_new(options, out, err), err, "realm_registry_new failed")
        self._memory_budget = memory_budget or None
        self._handle = out[0]
        self._finalizer = weakref.finalize(self, _free_registry, self._handle)

    # -- lifetime ----------------------------------------------------------

    def _h(self) -> Any:
        if not self._finalizer.alive:
            raise ClosedError("the Registry is closed")
        return self._handle

    @property
    def memory_budget(self) -> Optional[int]:
        """The memory budget in bytes, or None for none."""
        return self._memory_budget

    @property
    def closed(self) -> bool:
        """True after :meth:`close`."""
        return not self._finalizer.alive

    def close(self) -> None:
        """Free the registry. Realms it handed out stay valid until closed.
        Idempotent; any later call on this Registry raises ClosedError."""
        self._finalizer()

    def __enter__(self) -> "Registry":
        self._h()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        if self.closed:
            return "<realm.Registry closed>"
        return f"<realm.Registry models={sorted(self.models())!r}>"

    # -- models ------------------------------------------------------------

    def load_model(
        self,
        model_id: str,
        path_or_bytes: ModelSource,
        *,
        replace: bool = False,
        context_length: Optional[int] = None,
    ) -> ModelInfo:
        """Load a GGUF model (a path or its bytes) under ``model_id``.

        Args:
            model_id: the name to use it by.
            path_or_bytes: the file path or the model's bytes.
            replace: replace a model already loaded under this id (realms
                using the old one keep it until they are closed).
            context_length: context window for this model.

        Returns:
            the model's :class:`ModelInfo`.

        Raises:
            InvalidArgumentError: ``model_id`` is taken and ``replace`` is False.
            MemoryBudgetError: the model does not fit the ``memory_budget``
                even after unloading every model nothing uses.
            ModelNotFoundError, ModelLoadError, UnsupportedModelError: as
                :meth:`Realm.load_model`.
        """
        handle = self._h()
        mid = _ffi.encode(model_id)
        path, data = model_source(path_or_bytes)
        options = _options(replace=bool(replace), context_length=context_length)
        err = _ffi.new_err()
        if path is not None:
            status = lib.realm_registry_load_model(handle, mid, path, options, err)
        else:
            buffer = ffi.from_buffer(data)
            status = lib.realm_registry_load_model_bytes(
                handle, mid, buffer, len(buffer), options, err
            )
        _ffi.check(status, err, f"loading model {model_id!r} failed")
        return self.models()[model_id].info

    def unload(self, model_id: str) -> None:
        """Remove ``model_id`` at once, also while realms use it: those
        realms keep working, and the weights are freed when the last of them
        is closed (unloading is deferred, never refused).

        Raises:
            ModelNotFoundError: no model has this id.
        """
        err = _ffi.new_err()
        status = lib.realm_registry_unload(self._h(), _ffi.encode(model_id), err)
        _ffi.check(status, err, f"unloading model {model_id!r} failed")

    def models(self) -> Dict[str, RegisteredModel]:
        """The loaded models by id."""
        out = ffi.new("char **")
        err = _ffi.new_err()
        _ffi.check(
            lib.realm_registry_models(self._h(), out, err), err, "realm_registry_models failed"
        )
        models = {}
        for entry in _ffi.take_json(out[0]) or []:
            model = RegisteredModel(
                id=str(entry["id"]),
                info=ModelInfo.from_json(entry.get("info") or {}),
                realms=int(entry.get("realms", 0)),
            )
            models[model.id] = model
        return models

    def __contains__(self, model_id: object) -> bool:
        return isinstance(model_id, str) and model_id in self.models()

    def __iter__(self) -> Iterator[str]:
        return iter(list(self.models()))

    def __len__(self) -> int:
        return len(self.models())

    def realm(
        self,
        model_id: str,
        guest: Optional[GuestSource] = None,
        *,
        guest_config: Optional[str] = None,
    ) -> Realm:
        """A new :class:`Realm` bound to ``model_id``: it shares the model's
        weights and owns its KV cache, sampler and sandbox instance.

        Args:
            model_id: a loaded model's id.
            guest: a WebAssembly guest module (bytes or a ``.wasm`` path) that
                chooses this tenant's tokens; None for the default guest.
            guest_config: a string handed to the guest verbatim.

        Raises:
            ModelNotFoundError: no model has this id.
            SandboxError: ``guest`` is not a valid guest module.
        """
        out = ffi.new("realm_t *")
        err = _ffi.new_err()
        options = _options(**guest_options(guest, guest_config))
        status = lib.realm_registry_realm(self._h(), _ffi.encode(model_id), options, out, err)
        _ffi.check(status, err, f"creating a realm for {model_id!r} failed")
        return Realm._from_handle(out[0], model_id)

    # -- generation --------------------------------------------------------

    def _target(self, model_id: str) -> _RegisteredTarget:
        if not isinstance(model_id, str):
            raise TypeError(f"model_id must be a str, got {type(model_id).__name__}")
        self._h()
        return _RegisteredTarget(self, model_id)

    @overload
    def generate(
        self, model_id: str, prompt: str, *, on_token: Optional[OnToken] = None, **sampling: Any
    ) -> Completion: ...

    @overload
    def generate(
        self,
        model_id: str,
        prompt: Sequence[str],
        *,
        on_token: Optional[OnToken] = None,
        **sampling: Any,
    ) -> List[Completion]: ...

    def generate(
        self, model_id: str, prompt: Prompt, *, on_token: Optional[OnToken] = None, **sampling: Any
    ) -> Union[Completion, List[Completion]]:
        """:meth:`Realm.generate` with model ``model_id``."""
        return self._target(model_id)._generate(prompt, on_token, sampling)

    def stream(self, model_id: str, prompt: str, **sampling: Any) -> Stream:
        """:meth:`Realm.stream` with model ``model_id``."""
        return self._target(model_id)._stream(prompt, sampling)

    @overload
    def chat(
        self,
        model_id: str,
        messages: Messages,
        stream: Literal[False] = ...,
        *,
        on_token: Optional[OnToken] = None,
        **sampling: Any,
    ) -> Completion: ...

    @overload
    def chat(
        self,
        model_id: str,
        messages: Messages,
        stream: Literal[True],
        *,
        on_token: Optional[OnToken] = None,
        **sampling: Any,
    ) -> Stream: ...

    def chat(
        self,
        model_id: str,
        messages: Messages,
        stream: bool = False,
        *,
        on_token: Optional[OnToken] = None,
        **sampling: Any,
    ) -> Union[Completion, Stream]:
        """:meth:`Realm.chat` with model ``model_id``."""
        return self._target(model_id)._chat(messages, stream, on_token, sampling)

    async def agenerate(
        self, model_id: str, prompt: Prompt, *, on_token: Optional[OnToken] = None, **sampling: Any
    ) -> Union[Completion, List[Completion]]:
        """:meth:`Realm.agenerate` with model ``model_id``."""
        return await self._target(model_id)._agenerate(prompt, on_token, sampling)

    def astream(self, model_id: str, prompt: str, **sampling: Any) -> AsyncStream:
        """:meth:`Realm.astream` with model ``model_id``."""
        return self._target(model_id)._astream(prompt, sampling)

    async def achat(
        self,
        model_id: str,
        messages: Messages,
        stream: bool = False,
        *,
        on_token: Optional[OnToken] = None,
        **sampling: Any,
    ) -> Union[Completion, AsyncStream]:
        """:meth:`Realm.achat` with model ``model_id``."""
        return await self._target(model_id)._achat(messages, stream, on_token, sampling)
