"""Large arrays gathered from many batches without being held twice.

A run collects per-batch arrays (the MinHash signatures of 1M documents are 512 MB in 1,000
pieces) and joins them once the scan is done. ``np.concatenate`` holds every piece until the
whole result is written, so the rows briefly exist twice; :func:`stack` lets each piece go as
soon as it is copied. A freed piece stays in glibc's heap, counted as resident, until
``malloc_trim`` hands its pages back (:func:`release_freed_memory`).
"""

from __future__ import annotations

import ctypes
from functools import lru_cache
from typing import Any

import numpy as np


@lru_cache(maxsize=1)
def _libc() -> Any:
    try:
        return ctypes.CDLL("libc.so.6")
    except OSError:
        return None


def release_freed_memory() -> None:
    """Give the free pages inside glibc's heaps back to the system (``malloc_trim``); a no-op
    elsewhere."""
    libc = _libc()
    if libc is not None and hasattr(libc, "malloc_trim"):
        libc.malloc_trim(0)


def stack(chunks: list[np.ndarray]) -> np.ndarray:
    """``np.concatenate(chunks)``, emptying ``chunks``: the result is filled a chunk at a time
    while each chunk is let go (and the freed pages handed back every 32 MiB), so the rows are
    not held twice. The batches' signatures of 1M documents are 512 MB; concatenated at once
    they peaked at twice that."""
    total = sum(c.shape[0] for c in chunks)
    out = np.empty((total, *chunks[0].shape[1:]), dtype=np.result_type(*chunks))
    chunks.reverse()
    pos = freed = 0
    while chunks:
        c = chunks.pop()
        out[pos : pos + c.shape[0]] = c
        pos += c.shape[0]
        freed += c.nbytes
        del c
        if freed >= 32 << 20:
            release_freed_memory()
            freed = 0
    if freed:
        release_freed_memory()
    return out
