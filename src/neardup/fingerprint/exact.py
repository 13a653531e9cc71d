"""Exact-duplicate fingerprints: XXH3-128 of the normalised UTF-8 text.

Two documents are exact duplicates when their normalised texts are equal; with a 128-bit hash the
chance that two different texts collide among 10⁹ documents is about 10⁻²¹ (birthday bound
n²/2¹²⁹), so equal hashes are treated as equal texts.
"""

from __future__ import annotations

import numpy as np
import xxhash


def exact_hashes(norm: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """``(n, 2)`` uint64 array: the high and low halves of XXH3-128 of each document's
    normalised bytes ``norm[offsets[d]:offsets[d+1]]``."""
    n = offsets.size - 1
    out = np.empty((n, 2), dtype=np.uint64)
    view = norm.data  # a memoryview of the bytes
    digest = xxhash.xxh3_128_intdigest
    mask = (1 << 64) - 1
    for d in range(n):
        h = digest(view[offsets[d] : offsets[d + 1]])
        out[d, 0] = h >> 64
        out[d, 1] = h & mask
    return out
