"""The cffi binding to librealm, the C ABI of Realm (ABI mode, no compiler).

The declarations are not copied here: they are read from the block between
``/* BEGIN CDEF */`` and ``/* END CDEF */`` of the ``realm.h`` packaged beside
the library, so the header stays the single source of truth. This module also
holds the small helpers every wrapper needs: JSON in, JSON out, and turning a
status code into an exception.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any, Optional

import cffi

from .errors import error_for_status

__all__ = [
    "ffi",
    "lib",
    "CDEF",
    "HEADER_PATH",
    "LIBRARY_PATH",
    "cdef_block",
    "check",
    "new_err",
    "take_string",
    "take_json",
    "encode",
    "encode_json",
]

_HERE = os.path.dirname(os.path.abspath(__file__))
HEADER_PATH = os.path.join(_HERE, "realm.h")
LIBRARY_PATH = os.path.join(_HERE, "librealm.dylib" if sys.platform == "darwin" else "librealm.so")

_BEGIN = "/* BEGIN CDEF */"
_END = "/* END CDEF */"


def cdef_block(header_text: str) -> str:
    """Return the text between the CDEF markers of a realm.h.

    Raises:
        ValueError: the markers are missing or out of order.
    """
    start = header_text.find(_BEGIN)
    end = header_text.find(_END)
    if start < 0 or end < start:
        raise ValueError("realm.h has no /* BEGIN CDEF */ ... /* END CDEF */ block")
    return header_text[start + len(_BEGIN) : end]


def _load() -> tuple[cffi.FFI, Any, str]:
    missing = [p for p in (HEADER_PATH, LIBRARY_PATH) if not os.path.exists(p)]
    if missing:
        raise ImportError(
            "realm: the native library is not built (missing "
            + ", ".join(missing)
            + "). Install the package with `pip install .` (needs Go), or in a "
            "source checkout run `make lib`."
        )
    with open(HEADER_PATH, encoding="utf-8") as f:
        cdef = cdef_block(f.read())
    ffi = cffi.FFI()
    ffi.cdef(cdef)
    lib = ffi.dlopen(LIBRARY_PATH)
    expected = lib.REALM_ABI_VERSION
    actual = lib.realm_abi_version()
    if actual != expected:
        raise ImportError(
            f"realm: {LIBRARY_PATH} implements ABI version {actual}, but its header "
            f"declares {expected}; rebuild the package"
        )
    return ffi, lib, cdef


ffi, lib, CDEF = _load()


def new_err() -> Any:
    """A fresh ``char **err`` out-parameter (initialised to NULL)."""
    return ffi.new("char **")


def take_string(ptr: Any) -> Optional[str]:
    """Decode a library-owned ``char *`` and free it; NULL gives None."""
    if ptr == ffi.NULL:
        return None
    try:
        return ffi.string(ptr).decode("utf-8", errors="replace")
    finally:
        lib.realm_string_free(ptr)


def take_json(ptr: Any) -> Any:
    """Decode and free a library-owned JSON string."""
    text = take_string(ptr)
    if text is None:
        raise error_for_status(lib.REALM_ERR_INTERNAL, "the library returned NULL JSON")
    return json.loads(text)


def check(status: int, err: Any = None, context: str = "") -> None:
    """Raise the RealmError subclass for ``status`` unless it is REALM_OK.

    ``err`` is the ``char **`` out-parameter of the call; its message is
    freed here. ``context`` prefixes the message when the library gave none.
    """
    if status == lib.REALM_OK:
        return
    message = take_string(err[0]) if err is not None else None
    if not message:
        message = context or f"realm call failed with status {status}"
    raise error_for_status(status, message)


def encode(text: str) -> bytes:
    """UTF-8 encode a string argument, rejecting embedded NULs."""
    if not isinstance(text, str):
        raise TypeError(f"expected str, got {type(text).__name__}")
    data = text.encode("utf-8")
    if b"\0" in data:
        raise error_for_status(lib.REALM_ERR_INVALID_ARGUMENT, "string contains a NUL character")
    return data


def encode_json(value: Any) -> bytes:
    """Encode a JSON argument (None gives the NULL the ABI accepts)."""
    if value is None:
        return ffi.NULL
    return json.dumps(value, ensure_ascii=False).encode("utf-8")
