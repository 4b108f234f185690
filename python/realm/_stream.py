"""Streams: the one path every generation takes.

``generate``, ``chat`` and ``stream`` all start a stream in the C library and
pull its chunks with ``realm_stream_next`` and a short timeout, so that the
Python side regains control every :data:`POLL_MS` milliseconds: Ctrl-C
(KeyboardInterrupt) is honoured within that time, and the stream is cancelled
on the way out (and freed in the background once the engine has stopped).
"""

from __future__ import annotations

import asyncio
import queue
import threading
import time
import uuid
import weakref
from typing import Any, AsyncIterator, Callable, Iterator, List, Optional, Tuple

from . import _ffi
from ._ffi import ffi, lib
from .errors import ClosedError
from .types import Chunk, Completion, Timings, Usage

__all__ = ["Stream", "AsyncStream", "POLL_MS", "start_stream", "drain"]

#: How long one realm_stream_next call may block, in milliseconds.
POLL_MS = 50


class _Reaper:
    """Frees cancelled streams on a background thread.

    ``realm_stream_free`` waits for the generation to stop, which takes up to
    a token or a prompt chunk of the engine: too long to make a Ctrl-C or a
    loop the user left wait for. The realm stays correct meanwhile: the
    library runs a realm's generations one at a time, so its next call
    simply starts once the cancelled one has stopped.
    """

    def __init__(self) -> None:
        self._queue: "queue.SimpleQueue[Tuple[Any, threading.Lock]]" = queue.SimpleQueue()
        self._thread: Optional[threading.Thread] = None
        self._start_lock = threading.Lock()

    def submit(self, handle: Any, lock: threading.Lock) -> None:
        with self._start_lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="realm-stream-reaper", daemon=True
                )
                self._thread.start()
        self._queue.put((handle, lock))

    def _run(self) -> None:
        while True:
            handle, lock = self._queue.get()
            with lock:
                lib.realm_stream_free(handle)


_reaper = _Reaper()


def _release(handle: Any, lock: threading.Lock) -> None:
    """Cancel a generation now and free its stream in the background."""
    lib.realm_stream_cancel(handle)
    _reaper.submit(handle, lock)


class _NativeStream:
    """Owns one ``realm_stream_t``; frees it on close() or when collected."""

    __slots__ = ("_handle", "_finalizer", "_lock", "__weakref__")

    def __init__(self, handle: Any) -> None:
        self._handle = handle
        # Held during realm_stream_next and realm_stream_free, so a free
        # from another thread waits for a pending wait (at most one poll)
        # instead of freeing the handle under it. Cancelling never takes it.
        self._lock = threading.Lock()
        # Cancels and frees the stream when this object is collected. Not at
        # interpreter exit: freeing the realms then cancels their streams,
        # so a thread still iterating one sees it end rather than fail.
        self._finalizer = weakref.finalize(self, _release, handle, self._lock)
        self._finalizer.atexit = False

    @property
    def open(self) -> bool:
        return self._finalizer.alive

    def next(self, timeout_ms: int) -> Optional[dict]:
        """The next chunk's JSON, None on timeout; raises StopIteration when
        the stream has ended and RealmError when the generation failed."""
        out = ffi.new("char **")
        err = _ffi.new_err()
        with self._lock:
            if not self._finalizer.alive:
                raise ClosedError("the stream is closed")
            status = lib.realm_stream_next(self._handle, timeout_ms, out, err)
        if status == lib.REALM_OK:
            return _ffi.take_json(out[0])
        if status == lib.REALM_STREAM_TIMEOUT:
            return None
        if status == lib.REALM_STREAM_DONE:
            raise StopIteration
        _ffi.check(status, err, "realm_stream_next failed")
        return None  # pragma: no cover - check() raised

    def cancel(self) -> None:
        """Ask the generation to stop (safe from any thread, at any time)."""
        if self._finalizer.alive:
            lib.realm_stream_cancel(self._handle)

    def cancel_prompt(self, index: int) -> None:
        """Ask prompt ``index`` of a batch stream to stop (the others go on)."""
        if self._finalizer.alive:
            lib.realm_stream_cancel_prompt(self._handle, index)

    def close(self, wait: bool = False) -> None:
        """Cancel the generation if it still runs and free the stream.
        Idempotent. With ``wait`` the stream is freed here, once the
        generation has stopped; otherwise in the background, at once."""
        if self._finalizer.detach() is None:
            return
        if wait:
            with self._lock:
                lib.realm_stream_free(self._handle)
        else:
            _release(self._handle, self._lock)


def start_stream(start: Callable[[Any, Any], int], context: str) -> _NativeStream:
    """Call a ``*_stream_start`` function given as ``start(out, err)``."""
    out = ffi.new("realm_stream_t *")
    err = _ffi.new_err()
    _ffi.check(start(out, err), err, context)
    return _NativeStream(out[0])


class Stream(Iterator[Chunk]):
    """A running generation, iterated chunk by chunk.

    Iterate it with ``for chunk in stream``. Leaving the loop early, dropping
    the stream, an exception or Ctrl-C cancels the generation and frees it;
    :meth:`cancel` instead asks it to stop and lets the loop receive the
    final chunk (``finish_reason == "cancelled"``). After the last chunk,
    :attr:`completion` holds the whole result.

    Also a context manager: ``with realm.stream(prompt) as s: ...`` closes it
    on exit.
    """

    def __init__(
        self,
        native: _NativeStream,
        *,
        model: str = "",
        chat: bool = False,
        index: int = 0,
    ) -> None:
        self._native = native
        self._model = model
        self._chat = chat
        self._index = index
        self._id = ("chatcmpl-" if chat else "cmpl-") + uuid.uuid4().hex[:24]
        self._created = int(time.time())
        self._texts: List[str] = []
        self._tokens: List[int] = []
        self._completion: Optional[Completion] = None
        self._first = True

    # -- iteration ---------------------------------------------------------

    def __iter__(self) -> "Stream":
        return self

    def __next__(self) -> Chunk:
        try:
            while True:
                chunk = self.poll(POLL_MS)
                if chunk is not None:
                    return chunk
        except StopIteration:
            raise
        except BaseException:
            # KeyboardInterrupt, an error from the library, GeneratorExit...:
            # stop the generation and free it before propagating.
            self.close()
            raise

    def poll(self, timeout_ms: int) -> Optional[Chunk]:
        """Wait at most ``timeout_ms`` for the next chunk: None on timeout,
        StopIteration after the last chunk. Does not close on errors (the
        iterator protocol does)."""
        if self._completion is not None or not self._native.open:
            raise StopIteration
        data = self._native.next(timeout_ms)
        if data is None:
            return None
        return self._chunk(data)

    def _chunk(self, data: dict) -> Chunk:
        text = str(data.get("text") or "")
        token = data.get("token")
        # Text the engine releases without a new token (held-back text at the
        # end of a generation) may come with a negative or no token id.
        if token is not None and (int(token) < 0 or data.get("done")):
            token = None
        if text:
            self._texts.append(text)
        if token is not None:
            self._tokens.append(int(token))
        first, self._first = self._first, False
        if not data.get("done"):
            return Chunk(
                text=text,
                token=None if token is None else int(token),
                index=self._index,
                model=self._model,
                chat=self._chat,
                id=self._id,
                created=self._created,
                first=first,
            )
        usage = Usage.from_json(data.get("usage"))
        timings = Timings.from_json(
            data.get("timings"), usage, (data.get("usage") or {}).get("cached_tokens", 0)
        )
        finish_reason = str(data.get("finish_reason") or "stop")
        self._completion = Completion(
            text="".join(self._texts),
            tokens=list(self._tokens),
            finish_reason=finish_reason,
            usage=usage,
            timings=timings,
            model=self._model,
            chat=self._chat,
            id=self._id,
            created=self._created,
        )
        # The generation is over: freeing the stream is immediate.
        self._native.close(wait=True)
        return Chunk(
            text=text,
            token=None,
            finish_reason=finish_reason,
            usage=usage,
            timings=timings,
            index=self._index,
            model=self._model,
            chat=self._chat,
            id=self._id,
            created=self._created,
            first=first,
        )

    # -- control -----------------------------------------------------------

    @property
    def completion(self) -> Optional[Completion]:
        """The whole result once the last chunk was read, else None."""
        return self._completion

    @property
    def closed(self) -> bool:
        """True once the stream ended or was closed."""
        return not self._native.open

    def cancel(self) -> None:
        """Ask the generation to stop; iteration continues to the final chunk
        (``finish_reason == "cancelled"``). Safe from any thread."""
        self._native.cancel()

    def close(self) -> None:
        """Cancel the generation if it still runs and free it. Idempotent.
        Returns at once: the stream is freed in the background once the
        generation has stopped (the realm's next call waits for that)."""
        self._native.close()

    def __enter__(self) -> "Stream":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "done" if self._completion else ("closed" if self.closed else "running")
        return f"<realm.Stream {state}, {len(self._tokens)} tokens>"


def drain(stream: Stream, on_token: Optional[Callable[[Chunk], Any]]) -> Completion:
    """Run a stream to its end and return its Completion.

    ``on_token`` is called with every chunk; if it returns False the
    generation is cancelled (the result has ``finish_reason == "cancelled"``);
    if it raises, the generation is stopped and the exception propagates.
    """
    try:
        for chunk in stream:
            if on_token is not None and on_token(chunk) is False:
                stream.cancel()
    except BaseException:
        # Also for a KeyboardInterrupt landing in on_token: the traceback
        # keeps this frame (and the stream) alive, so free it now.
        stream.close()
        raise
    completion = stream.completion
    if completion is None:  # pragma: no cover - the library ended without a final chunk
        raise ClosedError("the stream ended without a final chunk")
    return completion


_END = object()


def _poll_once(stream: Stream) -> Any:
    """One bounded wait for ``stream``'s next chunk (run in a worker thread):
    the chunk, None on timeout, or _END after the last chunk."""
    try:
        return stream.poll(POLL_MS)
    except StopIteration:
        return _END


class AsyncStream(AsyncIterator[Chunk]):
    """The asyncio twin of :class:`Stream`: ``async for chunk in ...``.

    Each wait for a chunk runs in the event loop's default executor and lasts
    at most :data:`POLL_MS`, so the loop keeps running and no worker thread is
    held for long. Cancelling the awaiting task, an error, or :meth:`aclose`
    cancels the generation and frees it.
    """

    def __init__(self, start: Callable[[], Stream]) -> None:
        self._start = start
        self._stream: Optional[Stream] = None
        self._closed = False

    @property
    def completion(self) -> Optional[Completion]:
        """The whole result once the last chunk was read, else None."""
        return self._stream.completion if self._stream is not None else None

    def __aiter__(self) -> "AsyncStream":
        return self

    async def __anext__(self) -> Chunk:
        if self._closed:
            raise StopAsyncIteration
        loop = asyncio.get_running_loop()
        try:
            if self._stream is None:
                self._stream = await loop.run_in_executor(None, self._start)
            while True:
                item = await loop.run_in_executor(None, _poll_once, self._stream)
                if item is _END:
                    self._closed = True
                    raise StopAsyncIteration
                if item is not None:
                    return item
        except StopAsyncIteration:
            raise
        except BaseException:
            # Cancelled task, error...: stop the generation now and free it
            # off the event loop (freeing waits for the generation to stop).
            self._closed = True
            if self._stream is not None:
                self._stream.close()
            raise

    def cancel(self) -> None:
        """Ask the generation to stop; iteration continues to the final chunk."""
        if self._stream is not None:
            self._stream.cancel()

    async def aclose(self) -> None:
        """Cancel the generation if it still runs and free it."""
        self._closed = True
        if self._stream is not None:
            self._stream.close()

    async def __aenter__(self) -> "AsyncStream":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.aclose()
