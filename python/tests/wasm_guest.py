"""Tiny WebAssembly guests for the tests, assembled byte by byte.

The guest ABI is docs/guest-abi.md; the binary format is the WebAssembly core
spec (https://webassembly.github.io/spec/core/binary/). No toolchain needed.
"""

from __future__ import annotations

from typing import List

I32 = 0x7F
FUNC, MEMORY = 0x00, 0x02


def uleb(n: int) -> bytes:
    """Unsigned LEB128."""
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def sleb(n: int) -> bytes:
    """Signed LEB128."""
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        done = (n == 0 and not byte & 0x40) or (n == -1 and byte & 0x40)
        out.append(byte if done else byte | 0x80)
        if done:
            return bytes(out)


def vec(items: List[bytes]) -> bytes:
    return uleb(len(items)) + b"".join(items)


def section(section_id: int, body: bytes) -> bytes:
    return bytes([section_id]) + uleb(len(body)) + body


def name(text: str) -> bytes:
    data = text.encode()
    return uleb(len(data)) + data


def func_body(code: bytes) -> bytes:
    body = b"\x00" + code + b"\x0b"  # no locals; code; end
    return uleb(len(body)) + body


def i32_const(n: int) -> bytes:
    return b"\x41" + sleb(n)


LOCAL_GET = b"\x20"
GLOBAL_GET, GLOBAL_SET = b"\x23", b"\x24"
I32_LOAD = b"\x28\x02"  # align 4, then the offset follows
I32_EQ = b"\x46"
IF_I32, IF_VOID, ELSE, END = b"\x04\x7f", b"\x04\x40", b"\x05", b"\x0b"
UNREACHABLE = b"\x00"


def greedy_guest(trap_when_top_k: int = 1) -> bytes:
    """A guest that picks the best candidate (greedy: the same tokens as
    temperature 0) and traps (``unreachable``) in every step of a request
    whose top_k equals ``trap_when_top_k``.

    Memory: 2 pages; the candidate buffer at 1024, request blocks at 4096.
    """
    types = vec(
        [
            b"\x60" + vec([]) + vec([bytes([I32])]),  # 0: () -> i32
            b"\x60" + vec([bytes([I32])] * 2) + vec([bytes([I32])]),  # 1: (i32, i32) -> i32
        ]
    )
    functions = vec([uleb(0), uleb(1), uleb(1), uleb(1)])
    memory = vec([b"\x00" + uleb(2)])  # min 2 pages, no max
    globals_ = vec([bytes([I32, 0x01]) + i32_const(0) + END])  # mutable i32 top_k = 0
    exports = vec(
        [
            name("memory") + bytes([MEMORY]) + uleb(0),
            name("realm_abi_version") + bytes([FUNC]) + uleb(0),
            name("realm_alloc") + bytes([FUNC]) + uleb(1),
            name("realm_begin") + bytes([FUNC]) + uleb(2),
            name("realm_step") + bytes([FUNC]) + uleb(3),
        ]
    )
    abi_version = i32_const(1)
    # realm_alloc(kind, size): kind 0 (candidates) -> 1024, else -> 4096.
    alloc = LOCAL_GET + uleb(0) + IF_I32 + i32_const(4096) + ELSE + i32_const(1024) + END
    # realm_begin(ptr, len): top_k = *(i32 *)(ptr + 12); return 0.
    begin = LOCAL_GET + uleb(0) + I32_LOAD + uleb(12) + GLOBAL_SET + uleb(0) + i32_const(0)
    # realm_step(ptr, n): trap if top_k == trap_when_top_k, else the first id.
    step = (
        GLOBAL_GET
        + uleb(0)
        + i32_const(trap_when_top_k)
        + I32_EQ
        + IF_VOID
        + UNREACHABLE
        + END
        + LOCAL_GET
        + uleb(0)
        + I32_LOAD
        + uleb(0)
    )
    code = vec([func_body(abi_version), func_body(alloc), func_body(begin), func_body(step)])
    return (
        b"\x00asm\x01\x00\x00\x00"
        + section(1, types)
        + section(3, functions)
        + section(5, memory)
        + section(6, globals_)
        + section(7, exports)
        + section(10, code)
    )
