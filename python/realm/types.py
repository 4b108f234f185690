"""Result types: Completion, Chunk, Usage, Timings and ModelInfo.

They are plain frozen dataclasses built from the JSON the C library returns.
Results of ``chat`` can also be read in the OpenAI shape (``to_openai()``, or
indexing like the dicts llama-cpp-python returns); results of ``generate``
read as OpenAI's legacy ``text_completion``.
"""

from __future__ import annotations

import dataclasses
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional

__all__ = ["Usage", "Timings", "Completion", "Chunk", "ModelInfo", "RegisteredModel"]


def _short(text: str, limit: int = 60) -> str:
    """repr() of text, cut to about ``limit`` characters."""
    if len(text) > limit:
        return repr(text[: limit - 3] + "...")
    return repr(text)


def _new_id(chat: bool) -> str:
    return ("chatcmpl-" if chat else "cmpl-") + uuid.uuid4().hex[:24]


@dataclass(frozen=True)
class Usage:
    """Token counts of one generation."""

    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        """Prompt plus completion tokens."""
        return self.prompt_tokens + self.completion_tokens

    @classmethod
    def from_json(cls, data: Optional[Mapping[str, Any]]) -> "Usage":
        """Build from the ABI's ``usage`` object (missing fields are 0)."""
        data = data or {}
        return cls(
            prompt_tokens=int(data.get("prompt_tokens", 0)),
            completion_tokens=int(data.get("completion_tokens", 0)),
        )

    def to_dict(self) -> Dict[str, int]:
        """The OpenAI ``usage`` object."""
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.total_tokens,
        }

    def __repr__(self) -> str:
        return f"Usage(prompt={self.prompt_tokens}, completion={self.completion_tokens})"


@dataclass(frozen=True)
class Timings:
    """Wall-clock timings of one generation, in milliseconds.

    ``prompt_ms`` covers evaluating the prompt, ``decode_ms`` generating the
    completion. A realm keeps its KV cache between calls, so the start of a
    prompt it has already seen is not evaluated again: ``cached_tokens``
    counts those, and the prompt speed is over the other prompt tokens.
    ``extra`` keeps any further fields the library reports.
    """

    prompt_ms: float = 0.0
    decode_ms: float = 0.0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    extra: Dict[str, Any] = field(default_factory=dict, compare=False)

    @classmethod
    def from_json(
        cls,
        data: Optional[Mapping[str, Any]],
        usage: Optional[Usage] = None,
        cached_tokens: int = 0,
    ) -> "Timings":
        """Build from the ABI's ``timings`` object and the matching usage."""
        data = dict(data or {})
        prompt_ms = float(data.pop("prompt_ms", 0.0) or 0.0)
        decode_ms = float(data.pop("decode_ms", 0.0) or 0.0)
        cached = int(data.pop("cached_tokens", cached_tokens) or 0)
        usage = usage or Usage()
        return cls(
            prompt_ms, decode_ms, usage.prompt_tokens, usage.completion_tokens, cached, data
        )

    @property
    def total_ms(self) -> float:
        """Prompt plus decode time."""
        return self.prompt_ms + self.decode_ms

    @property
    def prompt_tokens_per_second(self) -> float:
        """Prompt evaluation speed (0 when not measured)."""
        evaluated = self.prompt_tokens - self.cached_tokens
        return evaluated * 1000.0 / self.prompt_ms if self.prompt_ms > 0 else 0.0

    @property
    def tokens_per_second(self) -> float:
        """Generation speed (0 when not measured)."""
        return self.completion_tokens * 1000.0 / self.decode_ms if self.decode_ms > 0 else 0.0

    def to_dict(self) -> Dict[str, Any]:
        """All fields as a plain dict."""
        out: Dict[str, Any] = dict(self.extra)
        out.update(
            cached_tokens=self.cached_tokens,
            prompt_ms=self.prompt_ms,
            decode_ms=self.decode_ms,
            prompt_tokens_per_second=self.prompt_tokens_per_second,
            tokens_per_second=self.tokens_per_second,
        )
        return out

    def __repr__(self) -> str:
        return (
            f"Timings(prompt={self.prompt_ms:.1f} ms, {self.prompt_tokens_per_second:.1f} tok/s; "
            f"decode={self.decode_ms:.1f} ms, {self.tokens_per_second:.1f} tok/s)"
        )


@dataclass(frozen=True)
class Completion:
    """The result of ``generate`` or ``chat``.

    Attributes:
        text: the generated text (a stop string that ended it is not included).
        tokens: the generated token ids.
        finish_reason: ``"stop"`` (end of generation token or stop string),
            ``"length"`` (``max_tokens`` reached) or ``"cancelled"``.
        usage: prompt and completion token counts.
        timings: prompt and decode times.
        model: the model's name (or registry id).
        chat: True for a chat result (its OpenAI shape is ``chat.completion``).
        id: an id in the OpenAI style, unique per result.
        created: Unix time the generation started.
    """

    text: str
    tokens: List[int]
    finish_reason: str
    usage: Usage
    timings: Timings
    model: str = ""
    chat: bool = False
    id: str = ""
    created: int = 0

    @classmethod
    def from_json(
        cls, data: Mapping[str, Any], *, model: str = "", chat: bool = False
    ) -> "Completion":
        """Build from a result object of ``realm_generate``."""
        usage = Usage.from_json(data.get("usage"))
        return cls(
            text=str(data.get("text", "")),
            tokens=[int(t) for t in data.get("tokens") or []],
            finish_reason=str(data.get("finish_reason", "")),
            usage=usage,
            timings=Timings.from_json(
                data.get("timings"), usage, (data.get("usage") or {}).get("cached_tokens", 0)
            ),
            model=model,
            chat=chat,
            id=_new_id(chat),
            created=int(time.time()),
        )

    def to_openai(self) -> Dict[str, Any]:
        """This result as an OpenAI ``chat.completion`` (chat) or
        ``text_completion`` (generate) object."""
        choice: Dict[str, Any] = {"index": 0}
        if self.chat:
            choice["message"] = {"role": "assistant", "content": self.text}
        else:
            choice["text"] = self.text
        choice["logprobs"] = None
        choice["finish_reason"] = self.finish_reason
        return {
            "id": self.id,
            "object": "chat.completion" if self.chat else "text_completion",
            "created": self.created,
            "model": self.model,
            "choices": [choice],
            "usage": self.usage.to_dict(),
        }

    def to_dict(self) -> Dict[str, Any]:
        """Same as :meth:`to_openai` (the dict llama-cpp-python would return)."""
        return self.to_openai()

    def __getitem__(self, key: str) -> Any:
        """Dict-style access to the OpenAI shape: ``c["choices"][0]``."""
        return self.to_openai()[key]

    def __repr__(self) -> str:
        return (
            f"Completion(text={_short(self.text)}, finish_reason={self.finish_reason!r}, "
            f"usage={self.usage!r}, {self.timings.tokens_per_second:.1f} tok/s)"
        )


@dataclass(frozen=True)
class Chunk:
    """One piece of a streamed generation.

    Every chunk but the last carries one token and its text (``text`` may be
    empty while a multi-byte character is incomplete). The last chunk has
    ``finish_reason``, ``usage`` and ``timings`` set, may carry trailing text,
    and has ``token`` None.

    Attributes:
        text: the new text.
        token: the new token id, or None on the last chunk.
        finish_reason: None until the last chunk, then as in Completion.
        usage: set on the last chunk.
        timings: set on the last chunk.
        index: which prompt of a batch this chunk belongs to (0 otherwise).
        model, chat, id, created: as in Completion, shared by a stream's chunks.
        first: True for the first chunk of a stream (its OpenAI delta carries
            the assistant role).
    """

    text: str
    token: Optional[int] = None
    finish_reason: Optional[str] = None
    usage: Optional[Usage] = None
    timings: Optional[Timings] = None
    index: int = 0
    model: str = ""
    chat: bool = False
    id: str = ""
    created: int = 0
    first: bool = False

    @property
    def done(self) -> bool:
        """True for the last chunk of a stream."""
        return self.finish_reason is not None

    def to_openai(self) -> Dict[str, Any]:
        """This chunk as an OpenAI ``chat.completion.chunk`` (chat) or
        streamed ``text_completion`` (generate) object; the last chunk also
        carries ``usage``."""
        choice: Dict[str, Any] = {"index": self.index}
        if self.chat:
            delta: Dict[str, Any] = {}
            if self.first:
                delta["role"] = "assistant"
            if self.text or not self.done:
                delta["content"] = self.text
            choice["delta"] = delta
        else:
            choice["text"] = self.text
        choice["logprobs"] = None
        choice["finish_reason"] = self.finish_reason
        out: Dict[str, Any] = {
            "id": self.id,
            "object": "chat.completion.chunk" if self.chat else "text_completion",
            "created": self.created,
            "model": self.model,
            "choices": [choice],
        }
        if self.usage is not None:
            out["usage"] = self.usage.to_dict()
        return out

    def to_dict(self) -> Dict[str, Any]:
        """Same as :meth:`to_openai`."""
        return self.to_openai()

    def __getitem__(self, key: str) -> Any:
        """Dict-style access to the OpenAI shape: ``chunk["choices"][0]``."""
        return self.to_openai()[key]

    def __repr__(self) -> str:
        if self.done:
            return (
                f"Chunk(text={_short(self.text)}, finish_reason={self.finish_reason!r}, "
                f"usage={self.usage!r})"
            )
        return f"Chunk(text={_short(self.text)}, token={self.token})"


_INFO_FIELDS = (
    "architecture",
    "name",
    "n_params",
    "n_vocab",
    "n_ctx_train",
    "n_ctx",
    "n_embd",
    "n_layer",
    "n_head",
    "n_head_kv",
    "file_type",
    "file_size",
    "has_chat_template",
)


def _human(n: float, unit: str = "") -> str:
    for suffix in ("", "K", "M", "G", "T"):
        if abs(n) < 1000 or suffix == "T":
            return f"{n:.0f}{suffix}{unit}" if suffix == "" else f"{n:.1f}{suffix}{unit}"
        n /= 1000.0
    return f"{n}{unit}"  # pragma: no cover


@dataclass(frozen=True)
class ModelInfo:
    """What a loaded model is: architecture, sizes and context.

    Attributes:
        architecture: ``general.architecture``, e.g. ``"llama"``.
        name: ``general.name`` (may be empty).
        n_params: number of weights.
        n_vocab: vocabulary size.
        n_ctx_train: context length the model was trained with.
        n_ctx: context length of this realm (the most tokens prompt plus
            completion may hold).
        n_embd, n_layer, n_head, n_head_kv: transformer shape.
        file_type: the weights' dominant quantization, e.g. ``"Q4_1"``.
        file_size: bytes of the GGUF file.
        has_chat_template: whether ``chat`` can format messages.
        extra: further fields the library reports.
    """

    architecture: str = ""
    name: str = ""
    n_params: int = 0
    n_vocab: int = 0
    n_ctx_train: int = 0
    n_ctx: int = 0
    n_embd: int = 0
    n_layer: int = 0
    n_head: int = 0
    n_head_kv: int = 0
    file_type: str = ""
    file_size: int = 0
    has_chat_template: bool = False
    extra: Dict[str, Any] = field(default_factory=dict, compare=False)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "ModelInfo":
        """Build from the ABI's model info object."""
        known = {k: data[k] for k in _INFO_FIELDS if k in data and data[k] is not None}
        extra = {k: v for k, v in data.items() if k not in _INFO_FIELDS}
        if "file_type" in known:
            known["file_type"] = str(known["file_type"])
        return cls(extra=extra, **known)

    def to_dict(self) -> Dict[str, Any]:
        """All fields as a plain dict (``extra`` merged in)."""
        out = dict(self.extra)
        out.update(
            {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "extra"}
        )
        return out

    def __getitem__(self, key: str) -> Any:
        """Dict-style access to any field, including ``extra`` ones."""
        try:
            return self.to_dict()[key]
        except KeyError:
            raise KeyError(key) from None

    def __repr__(self) -> str:
        name = f" {self.name!r}" if self.name else ""
        return (
            f"ModelInfo({self.architecture}{name}, {_human(self.n_params)} params, "
            f"{self.file_type}, ctx {self.n_ctx}/{self.n_ctx_train}, vocab {self.n_vocab}, "
            f"{self.n_layer} layers, {_human(self.file_size, 'B')})"
        )


@dataclass(frozen=True)
class RegisteredModel:
    """A model held by a Registry.

    Attributes:
        id: the registry id.
        info: what the model is.
        realms: how many realms currently use its weights.
    """

    id: str
    info: ModelInfo
    realms: int = 0

    def __repr__(self) -> str:
        return f"RegisteredModel({self.id!r}, {self.info!r}, realms={self.realms})"
