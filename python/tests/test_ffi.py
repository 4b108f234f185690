"""The binding matches capi/realm.h, and every C status has its exception."""

from __future__ import annotations

import re

import pytest

import realm
from realm import _ffi, errors

from conftest import REPO

FUNCTION = re.compile(r"\b(realm_\w+)\s*\(")


def test_packaged_cdef_matches_source_header() -> None:
    source = REPO / "capi" / "realm.h"
    if not source.exists():
        pytest.skip("not a source checkout (capi/realm.h absent)")
    assert _ffi.CDEF == _ffi.cdef_block(source.read_text(encoding="utf-8"))


def test_every_declared_function_resolves() -> None:
    names = sorted(set(FUNCTION.findall(_ffi.CDEF)))
    assert len(names) >= 25, names
    missing = []
    for name in names:
        try:
            getattr(_ffi.lib, name)
        except AttributeError:
            missing.append(name)
    assert missing == []


def test_abi_and_library_version() -> None:
    assert _ffi.lib.realm_abi_version() == _ffi.lib.REALM_ABI_VERSION
    assert realm.library_version()
    assert isinstance(realm.__version__, str)


def test_cdef_block_requires_markers() -> None:
    with pytest.raises(ValueError):
        _ffi.cdef_block("int f(void);")


STATUS_CLASSES = {
    "REALM_ERR_NOT_LOADED": realm.ModelNotLoadedError,
    "REALM_ERR_NOT_FOUND": realm.ModelNotFoundError,
    "REALM_ERR_INVALID_MODEL": realm.ModelLoadError,
    "REALM_ERR_UNSUPPORTED_MODEL": realm.UnsupportedModelError,
    "REALM_ERR_INVALID_ARGUMENT": realm.InvalidArgumentError,
    "REALM_ERR_SANDBOX": realm.SandboxError,
    "REALM_ERR_CANCELLED": realm.CancelledError,
    "REALM_ERR_CLOSED": realm.ClosedError,
    "REALM_ERR_CONTEXT_LENGTH": realm.ContextLengthError,
    "REALM_ERR_INTERNAL": realm.InternalError,
    "REALM_ERR_MEMORY_BUDGET": realm.MemoryBudgetError,
}


def test_every_status_maps_to_exactly_one_class() -> None:
    declared = sorted(set(re.findall(r"#define (REALM_ERR_\w+)", _ffi.CDEF)))
    assert declared == sorted(STATUS_CLASSES)
    seen = set()
    for name, cls in STATUS_CLASSES.items():
        status = getattr(_ffi.lib, name)
        err = errors.error_for_status(status, "boom")
        assert type(err) is cls, name
        assert err.status == status == cls.STATUS
        assert str(err) == "boom"
        assert isinstance(err, realm.RealmError)
        seen.add(cls)
    assert len(seen) == len(STATUS_CLASSES)


def test_unknown_status_is_a_plain_realm_error() -> None:
    err = errors.error_for_status(999, "odd")
    assert type(err) is realm.RealmError and err.status == 999


def test_python_exception_families() -> None:
    assert issubclass(realm.InvalidArgumentError, ValueError)
    assert issubclass(realm.ContextLengthError, ValueError)
    assert issubclass(realm.UnsupportedModelError, realm.ModelLoadError)
