"""Realm: one tenant with at most one model loaded."""

from __future__ import annotations

import os
import weakref
from typing import Any, Dict, List, Literal, Optional, Sequence, Union, overload

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
from .types import Completion, ModelInfo

__all__ = ["Realm"]


def _free_realm(handle: Any) -> None:
    lib.realm_free(handle)


def _options(**options: Any) -> Any:
    """JSON options with None values dropped (NULL when nothing is set)."""
    set_options = {k: v for k, v in options.items() if v is not None}
    return _ffi.encode_json(set_options) if set_options else ffi.NULL


class Realm(Generator):
    """One tenant: a model, its KV cache and sampler state, its sandbox.

    Use it as a context manager, or call :meth:`close` when done::

        with realm.Realm() as r:
            r.load_model("model.gguf")
            print(r.generate("The capital of France is", max_tokens=16, temperature=0).text)

    Calls on one Realm are serialised by the library; use one Realm per thread
    (they share weights when they load the same file) to run in parallel.

    Sampling keywords, accepted by every generating method (None or absent
    means the library's default):

    ``max_tokens`` (int), ``temperature`` (float; 0 is greedy and
    deterministic), ``top_k`` (int), ``top_p`` (float in (0, 1]), ``min_p``
    (float in [0, 1]), ``repeat_penalty`` (float), ``repeat_last_n`` (int),
    ``seed`` (int; a fixed seed reproduces a sampled run), ``stop`` (a str or a
    list of str that end the generation; not included in the text).

    Every token a Realm generates is chosen by its own instance of a
    WebAssembly guest (docs/guest-abi.md): the default guest gives the same
    tokens as llama.cpp's sampler; ``guest=`` runs your own.

    Args:
        model: optionally, a model to load right away (as :meth:`load_model`).
        threads: worker threads for the forward pass (default 1, see
            docs/performance.md).
        context_length: context window in tokens (default: the model's,
            capped by the library).
        guest: a WebAssembly guest module (its bytes, or the path of its
            ``.wasm`` file) choosing this realm's tokens; None for the default.
        guest_config: a string handed to the guest verbatim (its ``config``).

    Raises:
        SandboxError: ``guest`` is not a valid guest module.
    """

    def __init__(
        self,
        model: Optional[ModelSource] = None,
        *,
        threads: Optional[int] = None,
        context_length: Optional[int] = None,
        guest: Optional[GuestSource] = None,
        guest_config: Optional[str] = None,
    ) -> None:
        out = ffi.new("realm_t *")
        err = _ffi.new_err()
        options = _options(
            threads=threads,
            context_length=context_length,
            **guest_options(guest, guest_config),
        )
        _ffi.check(lib.realm_new(options, out, err), err, "realm_new failed")
        self._init_handle(out[0], "")
        if model is not None:
            try:
                self.load_model(model)
            except BaseException:
                self.close()
                raise

    @classmethod
    def _from_handle(cls, handle: Any, name: str) -> "Realm":
        """Wrap a realm_t made elsewhere (Registry.realm)."""
        self = cls.__new__(cls)
        self._init_handle(handle, name)
        return self

    def _init_handle(self, handle: Any, name: str) -> None:
        self._handle = handle
        self._name = name
        # Frees the realm when collected or at interpreter exit, whichever
        # comes first, so a forgotten Realm never outlives the library.
        self._finalizer = weakref.finalize(self, _free_realm, handle)

    # -- lifetime ----------------------------------------------------------

    def _h(self) -> Any:
        if not self._finalizer.alive:
            raise ClosedError("the Realm is closed")
        return self._handle

    @property
    def closed(self) -> bool:
        """True after :meth:`close`."""
        return not self._finalizer.alive

    def close(self) -> None:
        """Free the realm, cancelling its running generations. Idempotent;
        any later call on this Realm raises :class:`ClosedError`."""
        self._finalizer()

    def __enter__(self) -> "Realm":
        self._h()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        if self.closed:
            return "<realm.Realm closed>"
        if not self._name:
            return "<realm.Realm no model>"
        return f"<realm.Realm model={self._name!r}>"

    # -- model -------------------------------------------------------------

    def load_model(
        self,
        path_or_bytes: ModelSource,
        *,
        context_length: Optional[int] = None,
        threads: Optional[int] = None,
    ) -> ModelInfo:
        """Load a GGUF model from a file path or from its bytes, replacing any
        model loaded before. Loading a file maps it read-only and shares it
        with every Realm that loads the same file; bytes are copied.

        Returns:
            the loaded model's :class:`ModelInfo`.

        Raises:
            ModelNotFoundError: the file does not exist.
            ModelLoadError: the file is not a valid GGUF model.
            UnsupportedModelError: Realm cannot run this model.
        """
        handle = self._h()
        path, data = model_source(path_or_bytes)
        options = _options(context_length=context_length, threads=threads)
        err = _ffi.new_err()
        if path is not None:
            status = lib.realm_load_model(handle, path, options, err)
        else:
            buffer = ffi.from_buffer(data)
            status = lib.realm_load_model_bytes(handle, buffer, len(buffer), options, err)
        _ffi.check(status, err, "realm_load_model failed")
        info = self.model_info()
        if info.name:
            self._name = info.name
        elif path is not None:
            self._name = os.path.basename(os.fsdecode(path))
        else:
            self._name = info.architecture or "model"
        return info

    @property
    def is_loaded(self) -> bool:
        """True when a model is loaded."""
        out = ffi.new("int *")
        err = _ffi.new_err()
        _ffi.check(lib.realm_is_loaded(self._h(), out, err), err, "realm_is_loaded failed")
        return bool(out[0])

    def model_info(self) -> ModelInfo:
        """Describe the loaded model (raises ModelNotLoadedError without one)."""
        out = ffi.new("char **")
        err = _ffi.new_err()
        _ffi.check(lib.realm_model_info(self._h(), out, err), err, "realm_model_info failed")
        return ModelInfo.from_json(_ffi.take_json(out[0]))

    # -- text --------------------------------------------------------------

    def tokenize(
        self, text: str, *, add_special: bool = True, parse_special: bool = False
    ) -> List[int]:
        """Token ids of ``text``, as llama.cpp's ``llama_tokenize``.

        Args:
            add_special: add the model's BOS (and EOS) tokens if it uses them.
            parse_special: read special tokens written in the text
                (``<|im_start|>``) as those tokens rather than as plain text.
        """
        out = ffi.new("char **")
        err = _ffi.new_err()
        options = _ffi.encode_json({"add_special": add_special, "parse_special": parse_special})
        status = lib.realm_tokenize(self._h(), _ffi.encode(text), options, out, err)
        _ffi.check(status, err, "realm_tokenize failed")
        return [int(t) for t in _ffi.take_json(out[0])]

    def detokenize(self, tokens: Sequence[int]) -> str:
        """The text of token ids (control tokens give no text)."""
        out = ffi.new("char **")
        err = _ffi.new_err()
        ids = _ffi.encode_json([int(t) for t in tokens])
        _ffi.check(lib.realm_detokenize(self._h(), ids, out, err), err, "realm_detokenize failed")
        return _ffi.take_string(out[0]) or ""

    def apply_chat_template(
        self, messages: Messages, *, add_generation_prompt: bool = True
    ) -> str:
        """Format chat messages with the model's chat template, as ``chat``
        does before generating.

        Args:
            messages: ``[{"role": "user", "content": "Hi!"}, ...]``.
            add_generation_prompt: end with the assistant turn's opening.
        """
        out = ffi.new("char **")
        err = _ffi.new_err()
        msgs = _ffi.encode_json([dict(m) for m in messages])
        options = _ffi.encode_json({"add_generation_prompt": add_generation_prompt})
        status = lib.realm_apply_chat_template(self._h(), msgs, options, out, err)
        _ffi.check(status, err, "realm_apply_chat_template failed")
        return _ffi.take_string(out[0]) or ""

    # -- generation --------------------------------------------------------

    def _start_stream(self, request: Dict[str, Any]) -> _NativeStream:
        handle = self._h()
        body = _ffi.encode_json(request)
        return start_stream(
            lambda out, err: lib.realm_stream_start(handle, body, out, err),
            "realm_stream_start failed",
        )

    def _model_name(self) -> str:
        return self._name

    @overload
    def generate(
        self, prompt: str, *, on_token: Optional[OnToken] = None, **sampling: Any
    ) -> Completion: ...

    @overload
    def generate(
        self, prompt: Sequence[str], *, on_token: Optional[OnToken] = None, **sampling: Any
    ) -> List[Completion]: ...

    def generate(
        self, prompt: Prompt, *, on_token: Optional[OnToken] = None, **sampling: Any
    ) -> Union[Completion, List[Completion]]:
        """Complete a prompt (or each prompt of a list) and return the result.

        Args:
            prompt: the text to continue, or a list of texts (then a list of
                results comes back, in the same order). The texts of a list
                are generated at the same time, as one batch in the engine;
                each result is the one its text gets alone.
            on_token: called with every :class:`Chunk` as it is generated
                (for a list, the chunks of all texts interleave; ``chunk.index``
                tells them apart); returning False stops the generation of
                that text (``finish_reason == "cancelled"``).
            **sampling: the sampling keywords (see the class docs).

        Ctrl-C stops the generation within about 0.2 s and raises
        KeyboardInterrupt; the Realm stays usable.
        """
        return self._generate(prompt, on_token, sampling)

    def stream(self, prompt: str, **sampling: Any) -> Stream:
        """Start completing ``prompt`` and return a :class:`Stream` of chunks::

            for chunk in r.stream("Once upon a time", max_tokens=64):
                print(chunk.text, end="", flush=True)

        Leaving the loop early cancels the generation.
        """
        return self._stream(prompt, sampling)

    @overload
    def chat(
        self,
        messages: Messages,
        stream: Literal[False] = ...,
        *,
        on_token: Optional[OnToken] = None,
        **sampling: Any,
    ) -> Completion: ...

    @overload
    def chat(
        self,
        messages: Messages,
        stream: Literal[True],
        *,
        on_token: Optional[OnToken] = None,
        **sampling: Any,
    ) -> Stream: ...

    def chat(
        self,
        messages: Messages,
        stream: bool = False,
        *,
        on_token: Optional[OnToken] = None,
        **sampling: Any,
    ) -> Union[Completion, Stream]:
        """Answer a conversation using the model's chat template.

        Args:
            messages: ``[{"role": "system" | "user" | "assistant", "content": str}, ...]``.
            stream: return a :class:`Stream` of chunks instead of the result.
            on_token: as in :meth:`generate` (ignored when streaming).
            **sampling: the sampling keywords (see the class docs).

        The result's :meth:`Completion.to_openai` gives the OpenAI
        ``chat.completion`` object (``chat.completion.chunk`` for chunks).
        """
        return self._chat(messages, stream, on_token, sampling)

    async def agenerate(
        self, prompt: Prompt, *, on_token: Optional[OnToken] = None, **sampling: Any
    ) -> Union[Completion, List[Completion]]:
        """:meth:`generate` for asyncio: waits in a worker thread, so the event
        loop keeps running; cancelling the task cancels the generation.
        ``on_token`` may be a coroutine function."""
        return await self._agenerate(prompt, on_token, sampling)

    def astream(self, prompt: str, **sampling: Any) -> AsyncStream:
        """:meth:`stream` for asyncio: ``async for chunk in r.astream(prompt)``."""
        return self._astream(prompt, sampling)

    async def achat(
        self,
        messages: Messages,
        stream: bool = False,
        *,
        on_token: Optional[OnToken] = None,
        **sampling: Any,
    ) -> Union[Completion, AsyncStream]:
        """:meth:`chat` for asyncio; with ``stream=True`` it returns an
        :class:`AsyncStream` (``async for chunk in await r.achat(m, stream=True)``)."""
        return await self._achat(messages, stream, on_token, sampling)
