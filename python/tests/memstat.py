"""Resident memory of this process, read from Linux's /proc/self/status."""

from __future__ import annotations

import gc
import os

HAVE_PROC = os.path.exists("/proc/self/status")


def status_bytes(field: str) -> int:
    """A ``kB`` field of /proc/self/status (``VmRSS``, ``RssAnon``,
    ``RssFile``...) in bytes; 0 if the field is absent."""
    with open("/proc/self/status") as f:
        for line in f:
            name, _, value = line.partition(":")
            if name == field:
                return int(value.split()[0]) * 1024
    return 0


def rss() -> int:
    """Resident set size in bytes (anonymous + file-backed + shared memory)."""
    return status_bytes("VmRSS")


def settled_rss(model_path: str = "") -> int:
    """Resident memory after Python's and the library's garbage collections
    (``realm.release_memory``): garbage the Go heap keeps until its next
    collection does not count. ``model_path`` is unused (kept for callers)."""
    import realm

    gc.collect()
    realm.release_memory()
    return rss()
