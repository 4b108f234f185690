"""Generation logic shared by Realm and Registry.

Both start streams in the C library (``realm_stream_start`` and
``realm_registry_stream_start``) from the same JSON request; this module
builds those requests and turns streams into the public results, once.
"""

from __future__ import annotations

import asyncio
import base64
import os
from typing import (
    Any,
    Callable,
    Dict,
    List,
    Mapping,
    Optional,
    Sequence,
    Tuple,
    Union,
)

from ._stream import POLL_MS, AsyncStream, Stream, _NativeStream, drain
from .errors import ClosedError
from .types import Chunk, Completion

__all__ = [
    "SAMPLING_KEYS",
    "Generator",
    "Messages",
    "ModelSource",
    "OnToken",
    "Prompt",
    "GuestSource",
    "guest_options",
    "model_source",
    "sampling_request",
]

#: The sampling keywords every generating method accepts.
SAMPLING_KEYS = (
    "max_tokens",
    "temperature",
    "top_k",
    "top_p",
    "min_p",
    "repeat_penalty",
    "repeat_last_n",
    "seed",
    "stop",
)

ModelSource = Union[str, "os.PathLike[str]", bytes, bytearray, memoryview]
Prompt = Union[str, Sequence[str]]
Messages = Sequence[Mapping[str, Any]]
OnToken = Callable[[Chunk], Any]


def sampling_request(sampling: Mapping[str, Any]) -> Dict[str, Any]:
    """The request fields for sampling keywords (None values are left to the
    library's defaults). Unknown keywords raise TypeError, as Python would."""
    unknown = sorted(set(sampling) - set(SAMPLING_KEYS))
    if unknown:
        raise TypeError(
            f"unexpected keyword argument(s) {', '.join(map(repr, unknown))}; "
            f"sampling keywords are {', '.join(SAMPLING_KEYS)}"
        )
    request: Dict[str, Any] = {}
    for key, value in sampling.items():
        if value is None:
            continue
        if key == "stop" and isinstance(value, str):
            value = [value]
        elif key == "stop":
            value = list(value)
        request[key] = value
    return request


def _messages(messages: Messages) -> List[Dict[str, Any]]:
    if isinstance(messages, (str, bytes)) or not isinstance(messages, Sequence):
        raise TypeError("messages must be a list of {'role': ..., 'content': ...} dicts")
    return [dict(m) for m in messages]


GuestSource = Union[str, "os.PathLike[str]", bytes, bytearray, memoryview]


def guest_options(
    guest: Optional[GuestSource], guest_config: Optional[Union[str, bytes]]
) -> Dict[str, Any]:
    """The ``guest_wasm`` / ``guest_config`` options for a WebAssembly guest
    given as its bytes or a path to its ``.wasm`` file."""
    options: Dict[str, Any] = {}
    if guest is not None:
        if isinstance(guest, (str, os.PathLike)):
            with open(guest, "rb") as f:
                wasm = f.read()
        elif isinstance(guest, (bytes, bytearray, memoryview)):
            wasm = bytes(guest)
        else:
            raise TypeError(
                f"guest must be the module's bytes or a path, got {type(guest).__name__}"
            )
        options["guest_wasm"] = base64.b64encode(wasm).decode("ascii")
    if guest_config is not None:
        if isinstance(guest_config, bytes):
            guest_config = guest_config.decode("utf-8")
        if not isinstance(guest_config, str):
            raise TypeError("guest_config must be a str")
        options["guest_config"] = guest_config
    return options


def model_source(path_or_bytes: ModelSource) -> Tuple[Optional[bytes], Optional[Any]]:
    """Split a model argument into (encoded path, None) or (None, buffer)."""
    if isinstance(path_or_bytes, (bytes, bytearray, memoryview)):
        return None, path_or_bytes
    if isinstance(path_or_bytes, (str, os.PathLike)):
        path = os.fspath(path_or_bytes)
        if isinstance(path, bytes):
            return path, None
        return path.encode("utf-8"), None
    raise TypeError(f"expected a path or the model's bytes, got {type(path_or_bytes).__name__}")


class _PromptOfBatch:
    """What one prompt's :class:`Stream` sees of a batch stream.

    A batch stream (a request with ``"prompts"``) carries the chunks of all
    its prompts, each with its ``index``; :class:`_Batch` hands each chunk to
    its prompt's Stream, which builds that prompt's chunks and Completion.
    Closing the stream when one prompt ends does nothing: the others go on.
    """

    __slots__ = ("_native", "_index")

    def __init__(self, native: _NativeStream, index: int) -> None:
        self._native = native
        self._index = index

    @property
    def open(self) -> bool:
        return self._native.open

    def cancel(self) -> None:
        """Stop this prompt only."""
        if self._native.open:
            self._native.cancel_prompt(self._index)

    def close(self, wait: bool = False) -> None:
        """Nothing: the batch stream is closed by :class:`_Batch`."""


class _Batch:
    """A batch stream split into one :class:`Stream` per prompt."""

    def __init__(self, native: _NativeStream, count: int, model: str) -> None:
        self.native = native
        self.streams = [
            Stream(_PromptOfBatch(native, i), model=model, chat=False, index=i)  # type: ignore[arg-type]
            for i in range(count)
        ]

    def poll(self, timeout_ms: int) -> Optional[Chunk]:
        """The next chunk of any prompt: None on timeout, StopIteration at the end."""
        data = self.native.next(timeout_ms)
        if data is None:
            return None
        return self.streams[int(data.get("index") or 0)]._chunk(data)

    def completions(self) -> List[Completion]:
        """Every prompt's Completion, once the stream has ended."""
        self.native.close(wait=True)
        out = []
        for s in self.streams:
            if s.completion is None:  # pragma: no cover - the library ended a prompt without a final chunk
                raise ClosedError("the stream ended without a final chunk")
            out.append(s.completion)
        return out

    def stop(self, chunk: Chunk) -> None:
        """Stop the prompt ``chunk`` belongs to (on_token returned False)."""
        self.streams[chunk.index].cancel()


def _batch_poll(batch: _Batch) -> Any:
    """One bounded wait for a batch's next chunk (run in a worker thread):
    the chunk, None on timeout, or _BATCH_END after the last chunk."""
    try:
        return batch.poll(POLL_MS)
    except StopIteration:
        return _BATCH_END


_BATCH_END = object()


class Generator:
    """The generating methods, over an abstract way to start a stream.

    Subclasses implement :meth:`_start_stream` (start a native stream for a
    JSON request) and :meth:`_model_name` (the name results carry).
    """

    def _start_stream(self, request: Dict[str, Any]) -> _NativeStream:
        raise NotImplementedError

    def _model_name(self) -> str:
        raise NotImplementedError

    # -- building blocks ---------------------------------------------------

    def _open(self, request: Dict[str, Any], chat: bool, index: int = 0) -> Stream:
        return Stream(
            self._start_stream(request), model=self._model_name(), chat=chat, index=index
        )

    def _prompt_requests(
        self, prompt: Prompt, sampling: Mapping[str, Any]
    ) -> Tuple[List[Dict[str, Any]], bool]:
        """One request per prompt, and whether a single prompt was given."""
        base = sampling_request(sampling)
        if isinstance(prompt, str):
            return [dict(base, prompt=prompt)], True
        if isinstance(prompt, bytes) or not isinstance(prompt, Sequence):
            raise TypeError("prompt must be a str or a list of str")
        for p in prompt:
            if not isinstance(p, str):
                raise TypeError(f"prompts must be str, got {type(p).__name__}")
        return [dict(base, prompt=p) for p in prompt], False

    def _batch(self, requests: List[Dict[str, Any]]) -> _Batch:
        """Start one batch stream for the single-prompt ``requests``."""
        request = {k: v for k, v in requests[0].items() if k != "prompt"}
        request["prompts"] = [r["prompt"] for r in requests]
        return _Batch(self._start_stream(request), len(requests), self._model_name())

    def _chat_request(self, messages: Messages, sampling: Mapping[str, Any]) -> Dict[str, Any]:
        return dict(sampling_request(sampling), messages=_messages(messages))

    # -- sync --------------------------------------------------------------

    def _generate(
        self, prompt: Prompt, on_token: Optional[OnToken], sampling: Mapping[str, Any]
    ) -> Union[Completion, List[Completion]]:
        requests, single = self._prompt_requests(prompt, sampling)
        if single:
            return drain(self._open(requests[0], chat=False), on_token)
        if not requests:
            return []
        # A list of prompts is one batch stream: the engine generates the
        # prompts at the same time; on_token sees their chunks interleaved.
        batch = self._batch(requests)
        try:
            while True:
                try:
                    chunk = batch.poll(POLL_MS)
                except StopIteration:
                    break
                if chunk is not None and on_token is not None and on_token(chunk) is False:
                    batch.stop(chunk)
        except BaseException:
            # KeyboardInterrupt, an error from on_token or the library: stop
            # every prompt and free the stream before propagating.
            batch.native.close()
            raise
        return batch.completions()

    def _stream(self, prompt: str, sampling: Mapping[str, Any]) -> Stream:
        if not isinstance(prompt, str):
            raise TypeError("stream() takes one prompt (a str)")
        requests, _ = self._prompt_requests(prompt, sampling)
        return self._open(requests[0], chat=False)

    def _chat(
        self,
        messages: Messages,
        stream: bool,
        on_token: Optional[OnToken],
        sampling: Mapping[str, Any],
    ) -> Union[Completion, Stream]:
        s = self._open(self._chat_request(messages, sampling), chat=True)
        if stream:
            return s
        return drain(s, on_token)

    # -- asyncio -----------------------------------------------------------

    async def _agenerate(
        self, prompt: Prompt, on_token: Optional[OnToken], sampling: Mapping[str, Any]
    ) -> Union[Completion, List[Completion]]:
        requests, single = self._prompt_requests(prompt, sampling)
        if single:
            return await self._adrain(requests[0], False, 0, on_token)
        if not requests:
            return []
        loop = asyncio.get_running_loop()
        batch = await loop.run_in_executor(None, self._batch, requests)
        try:
            while True:
                item = await loop.run_in_executor(None, _batch_poll, batch)
                if item is _BATCH_END:
                    break
                if item is None or on_token is None:
                    continue
                result = on_token(item)
                if asyncio.iscoroutine(result):
                    result = await result
                if result is False:
                    batch.stop(item)
        except BaseException:
            batch.native.close()
            raise
        return await loop.run_in_executor(None, batch.completions)

    async def _adrain(
        self, request: Dict[str, Any], chat: bool, index: int, on_token: Optional[OnToken]
    ) -> Completion:
        stream = AsyncStream(lambda: self._open(request, chat=chat, index=index))
        try:
            async for chunk in stream:
                if on_token is not None:
                    result = on_token(chunk)
                    if asyncio.iscoroutine(result):
                        result = await result
                    if result is False:
                        stream.cancel()
        except BaseException:
            await asyncio.shield(stream.aclose())
            raise
        completion = stream.completion
        assert completion is not None
        return completion

    def _astream(self, prompt: str, sampling: Mapping[str, Any]) -> AsyncStream:
        if not isinstance(prompt, str):
            raise TypeError("astream() takes one prompt (a str)")
        requests, _ = self._prompt_requests(prompt, sampling)
        request = requests[0]
        return AsyncStream(lambda: self._open(request, chat=False))

    async def _achat(
        self,
        messages: Messages,
        stream: bool,
        on_token: Optional[OnToken],
        sampling: Mapping[str, Any],
    ) -> Union[Completion, AsyncStream]:
        request = self._chat_request(messages, sampling)
        if stream:
            return AsyncStream(lambda: self._open(request, chat=True))
        return await self._adrain(request, True, 0, on_token)
