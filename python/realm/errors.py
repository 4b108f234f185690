"""Exceptions raised by realm.

Every failure status of the C ABI maps to exactly one class here:

====================================  =========================
C status                              exception
====================================  =========================
``REALM_ERR_NOT_LOADED`` (1)          :class:`ModelNotLoadedError`
``REALM_ERR_NOT_FOUND`` (2)           :class:`ModelNotFoundError`
``REALM_ERR_INVALID_MODEL`` (3)       :class:`ModelLoadError`
``REALM_ERR_UNSUPPORTED_MODEL`` (4)   :class:`UnsupportedModelError`
``REALM_ERR_INVALID_ARGUMENT`` (5)    :class:`InvalidArgumentError`
``REALM_ERR_SANDBOX`` (6)             :class:`SandboxError`
``REALM_ERR_CANCELLED`` (7)           :class:`CancelledError`
``REALM_ERR_CLOSED`` (8)              :class:`ClosedError`
``REALM_ERR_CONTEXT_LENGTH`` (9)      :class:`ContextLengthError`
``REALM_ERR_INTERNAL`` (10)           :class:`InternalError`
``REALM_ERR_MEMORY_BUDGET`` (11)      :class:`MemoryBudgetError`
====================================  =========================

A few classes also derive from the built-in exception a Python user would
reach for: :class:`InvalidArgumentError` and :class:`ContextLengthError` are
``ValueError``\\ s, and :class:`UnsupportedModelError` is a
:class:`ModelLoadError` (the file loaded fine as GGUF, but Realm cannot run
it).

Cancelling a generation yourself (breaking out of a stream, ``Stream.cancel``,
an ``on_token`` callback returning False, Ctrl-C) is not an error: the result
ends with ``finish_reason == "cancelled"`` (or the KeyboardInterrupt
propagates). :class:`CancelledError` is raised only when something else ended
the request, e.g. the realm was closed by another thread mid-generation.
"""

from __future__ import annotations

from typing import Dict, Optional, Type

__all__ = [
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
    "error_for_status",
]


class RealmError(Exception):
    """Base class of every error realm raises.

    Attributes:
        status: the C ABI status code (``REALM_ERR_*``), or None when the error
            was detected on the Python side without a library call.
    """

    #: The C status this class stands for (None for the base class).
    STATUS: Optional[int] = None

    def __init__(self, message: str, status: Optional[int] = None) -> None:
        super().__init__(message)
        self.status = status if status is not None else self.STATUS


class ModelNotLoadedError(RealmError):
    """The realm has no model loaded (call ``load_model`` first)."""

    STATUS = 1


class ModelNotFoundError(RealmError):
    """A model file or a registry model id does not exist."""

    STATUS = 2


class ModelLoadError(RealmError):
    """A model file is malformed or corrupt."""

    STATUS = 3


class UnsupportedModelError(ModelLoadError):
    """A valid GGUF file that Realm cannot run (architecture, tensor type...)."""

    STATUS = 4


class InvalidArgumentError(RealmError, ValueError):
    """A bad argument: a sampling value out of range, malformed messages..."""

    STATUS = 5


class SandboxError(RealmError):
    """The tenant's WebAssembly guest trapped, ran out of time or memory."""

    STATUS = 6


class CancelledError(RealmError):
    """The request was cancelled by something other than its caller, e.g. the
    realm was closed from another thread while it generated."""

    STATUS = 7


class ClosedError(RealmError):
    """The Realm, Registry or stream was closed."""

    STATUS = 8


class ContextLengthError(InvalidArgumentError):
    """The prompt does not fit the model's context window."""

    STATUS = 9


class InternalError(RealmError):
    """A bug in Realm; the message says where. Please report it."""

    STATUS = 10


class MemoryBudgetError(RealmError):
    """Loading a model would exceed the Registry's ``memory_budget`` and no
    model could be unloaded to make room (every other model is in use by a
    realm or a request)."""

    STATUS = 11


_BY_STATUS: Dict[int, Type[RealmError]] = {
    cls.STATUS: cls
    for cls in (
        ModelNotLoadedError,
        ModelNotFoundError,
        ModelLoadError,
        UnsupportedModelError,
        InvalidArgumentError,
        SandboxError,
        CancelledError,
        ClosedError,
        ContextLengthError,
        InternalError,
        MemoryBudgetError,
    )
    if cls.STATUS is not None
}


def error_for_status(status: int, message: str) -> RealmError:
    """Build the exception for a C status code (an unknown code gives a plain
    :class:`RealmError` carrying the code)."""
    cls = _BY_STATUS.get(status, RealmError)
    return cls(message, status)
