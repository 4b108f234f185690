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


def settled_rss(model_path: str) -> int:
    """Resident memory after Python's and Go's garbage collections.

    Unloading a large model makes the library collect the Go heap and
    return the free memory to the system, so loading a private copy of
    ``model_path`` (a thread count nobody else uses gives a copy of its
    own) and unloading it leaves only live memory resident: garbage the Go
    heap keeps until its next collection does not count.
    """
    import realm

    gc.collect()
    with realm.Registry(threads=3) as other:
        other.load_model("copy", model_path)
    return rss()
