"""A tiny GGUF (version 3) writer for the tests, and tiny models built with it.

Only what the tests need: metadata of the common types, F32 tensors, the
default 32-byte alignment. Format: https://github.com/ggml-org/ggml/blob/master/docs/gguf.md
"""

from __future__ import annotations

import array
import random
import struct
import sys
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple

ALIGNMENT = 32

# GGUF metadata value types.
UINT8, INT8, UINT16, INT16, UINT32, INT32, FLOAT32, BOOL, STRING, ARRAY, UINT64, INT64, FLOAT64 = (
    range(13)
)
_SCALAR = {
    UINT8: "<B",
    INT8: "<b",
    UINT16: "<H",
    INT16: "<h",
    UINT32: "<I",
    INT32: "<i",
    FLOAT32: "<f",
    BOOL: "<?",
    UINT64: "<Q",
    INT64: "<q",
    FLOAT64: "<d",
}

# ggml tensor type of the weights we write.
GGML_F32 = 0

# llama.cpp token types (tokenizer.ggml.token_type).
TOKEN_NORMAL, TOKEN_UNKNOWN, TOKEN_CONTROL, TOKEN_USER_DEFINED, TOKEN_UNUSED, TOKEN_BYTE = range(
    1, 7
)


@dataclass
class Typed:
    """A metadata value with an explicit GGUF type (for arrays: the element type)."""

    type: int
    value: Any


def _string(s: str) -> bytes:
    data = s.encode("utf-8")
    return struct.pack("<Q", len(data)) + data


def _infer(value: Any) -> Tuple[int, Any]:
    if isinstance(value, Typed):
        return (ARRAY if isinstance(value.value, (list, tuple)) else value.type), value
    if isinstance(value, bool):
        return BOOL, value
    if isinstance(value, int):
        return (UINT32 if value >= 0 else INT32), value
    if isinstance(value, float):
        return FLOAT32, value
    if isinstance(value, str):
        return STRING, value
    if isinstance(value, (list, tuple)):
        return ARRAY, value
    raise TypeError(f"cannot write {type(value).__name__} as GGUF metadata")


def _scalar(vtype: int, value: Any) -> bytes:
    if vtype == STRING:
        return _string(value)
    return struct.pack(_SCALAR[vtype], value)


def _value(value: Any) -> Tuple[int, bytes]:
    vtype, value = _infer(value)
    if vtype != ARRAY:
        return vtype, _scalar(vtype, value.value if isinstance(value, Typed) else value)
    if isinstance(value, Typed):
        etype, items = value.type, list(value.value)
    else:
        items = list(value)
        etype = _infer(items[0])[0] if items else UINT32
        if etype == UINT32 and any(i < 0 for i in items):
            etype = INT32
    body = b"".join(_scalar(etype, i) for i in items)
    return ARRAY, struct.pack("<IQ", etype, len(items)) + body


class GGUFWriter:
    """Collects metadata and F32 tensors, then serialises a GGUF v3 file."""

    def __init__(self) -> None:
        self.kv: Dict[str, Any] = {}
        self.tensors: List[Tuple[str, List[int], bytes]] = []

    def set(self, key: str, value: Any) -> None:
        """Set a metadata key (type inferred, or given with :class:`Typed`)."""
        self.kv[key] = value

    def add_tensor(self, name: str, dims: Sequence[int], values: Sequence[float]) -> None:
        """Add an F32 tensor; ``dims`` in ggml order (dims[0] = row length)."""
        n = 1
        for d in dims:
            n *= d
        if len(values) != n:
            raise ValueError(f"tensor {name}: {len(values)} values for dims {list(dims)}")
        data = array.array("f", values)
        if sys.byteorder != "little":  # pragma: no cover
            data.byteswap()
        self.tensors.append((name, list(dims), data.tobytes()))

    def to_bytes(self) -> bytes:
        """The whole file."""
        out = bytearray(b"GGUF")
        out += struct.pack("<IQQ", 3, len(self.tensors), len(self.kv))
        for key, value in self.kv.items():
            vtype, body = _value(value)
            out += _string(key) + struct.pack("<I", vtype) + body
        offset = 0
        offsets = []
        for name, dims, data in self.tensors:
            offsets.append(offset)
            out += _string(name) + struct.pack("<I", len(dims))
            out += b"".join(struct.pack("<Q", d) for d in dims)
            out += struct.pack("<IQ", GGML_F32, offset)
            offset += len(data)
            offset += -offset % ALIGNMENT
        out += b"\0" * (-len(out) % ALIGNMENT)
        data_start = len(out)
        for (_, _, data), at in zip(self.tensors, offsets):
            out += b"\0" * (data_start + at - len(out))
            out += data
        return bytes(out)


CHATML_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)

_WORDS = (
    "the of and to in is was for on that with as by at from it his an were are which "
    "this be or has had not first one their its new after but who they two her she "
    "been other when there all during into school time may years more most only over "
    "city some world would where later up such used many can state about national out "
    "known university united then made"
).split()


def tiny_vocab() -> Tuple[List[str], List[float], List[int]]:
    """A small SentencePiece vocabulary: <unk>, <s>, </s>, two ChatML control
    tokens, the 256 byte tokens, then some words and letters."""
    tokens = ["<unk>", "<s>", "</s>", "<|im_start|>", "<|im_end|>"]
    types = [TOKEN_UNKNOWN, TOKEN_CONTROL, TOKEN_CONTROL, TOKEN_CONTROL, TOKEN_CONTROL]
    tokens += [f"<0x{b:02X}>" for b in range(256)]
    types += [TOKEN_BYTE] * 256
    pieces = ["\u2581" + w for w in _WORDS] + ["\u2581"] + list("abcdefghijklmnopqrstuvwxyz")
    tokens += pieces
    types += [TOKEN_NORMAL] * len(pieces)
    scores = [0.0] * (len(tokens) - len(pieces)) + [-float(i) for i in range(len(pieces))]
    return tokens, scores, types


def tiny_llama(
    *,
    seed: int = 0,
    n_embd: int = 16,
    n_layer: int = 1,
    n_head: int = 2,
    n_head_kv: int = 1,
    n_ff: int = 32,
    context_length: int = 128,
    architecture: str = "llama",
    name: Optional[str] = "tiny-llama",
    chat_template: Optional[str] = CHATML_TEMPLATE,
) -> bytes:
    """A tiny Llama-architecture model with random F32 weights (a few tens of
    KB): nonsense output, but every code path of a real model."""
    rng = random.Random(seed)
    tokens, scores, types = tiny_vocab()
    vocab = len(tokens)
    w = GGUFWriter()
    w.set("general.architecture", architecture)
    if name is not None:
        w.set("general.name", name)
    w.set("general.file_type", 0)
    a = architecture
    w.set(f"{a}.context_length", context_length)
    w.set(f"{a}.embedding_length", n_embd)
    w.set(f"{a}.block_count", n_layer)
    w.set(f"{a}.feed_forward_length", n_ff)
    w.set(f"{a}.attention.head_count", n_head)
    w.set(f"{a}.attention.head_count_kv", n_head_kv)
    w.set(f"{a}.attention.layer_norm_rms_epsilon", 1e-5)
    w.set(f"{a}.rope.freq_base", 10000.0)
    w.set("tokenizer.ggml.model", "llama")
    w.set("tokenizer.ggml.tokens", tokens)
    w.set("tokenizer.ggml.scores", Typed(FLOAT32, scores))
    w.set("tokenizer.ggml.token_type", Typed(INT32, types))
    w.set("tokenizer.ggml.unknown_token_id", 0)
    w.set("tokenizer.ggml.bos_token_id", 1)
    w.set("tokenizer.ggml.eos_token_id", 2)
    w.set("tokenizer.ggml.add_bos_token", True)
    w.set("tokenizer.ggml.add_eos_token", False)
    if chat_template is not None:
        w.set("tokenizer.chat_template", chat_template)

    def randn(n: int, scale: float) -> List[float]:
        return [rng.gauss(0.0, scale) for _ in range(n)]

    head_dim = n_embd // n_head
    q_dim, kv_dim = n_head * head_dim, n_head_kv * head_dim
    w.add_tensor("token_embd.weight", [n_embd, vocab], randn(n_embd * vocab, 1.0))
    for i in range(n_layer):
        p = f"blk.{i}."
        w.add_tensor(p + "attn_norm.weight", [n_embd], [1.0] * n_embd)
        w.add_tensor(p + "attn_q.weight", [n_embd, q_dim], randn(n_embd * q_dim, 0.3))
        w.add_tensor(p + "attn_k.weight", [n_embd, kv_dim], randn(n_embd * kv_dim, 0.3))
        w.add_tensor(p + "attn_v.weight", [n_embd, kv_dim], randn(n_embd * kv_dim, 0.3))
        w.add_tensor(p + "attn_output.weight", [q_dim, n_embd], randn(q_dim * n_embd, 0.3))
        w.add_tensor(p + "ffn_norm.weight", [n_embd], [1.0] * n_embd)
        w.add_tensor(p + "ffn_gate.weight", [n_embd, n_ff], randn(n_embd * n_ff, 0.3))
        w.add_tensor(p + "ffn_up.weight", [n_embd, n_ff], randn(n_embd * n_ff, 0.3))
        w.add_tensor(p + "ffn_down.weight", [n_ff, n_embd], randn(n_ff * n_embd, 0.3))
    w.add_tensor("output_norm.weight", [n_embd], [1.0] * n_embd)
    return w.to_bytes()
