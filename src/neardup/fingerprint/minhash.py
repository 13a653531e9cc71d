"""MinHash signatures of shingle sets (see :mod:`neardup.hashing` for the permutation family).

The kernel is compiled with numba and runs over a whole batch: for every shingle id ``x`` of a
document and every permutation ``j`` it keeps ``min((a_j·x + b_j) >> 32)``; the inner loop over
``j`` vectorises.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from neardup.hashing import permutations


@nb.njit(cache=True, nogil=True)
def minhash_kernel(
    shingles: np.ndarray, offsets: np.ndarray, a: np.ndarray, b: np.ndarray
) -> np.ndarray:
    """MinHash signatures (uint32, one row per document) of documents whose shingle ids are
    ``shingles[offsets[d]:offsets[d+1]]``. A document without shingles gets all slots
    ``EMPTY_SLOT``."""
    n_docs = offsets.size - 1
    k = a.size
    out = np.empty((n_docs, k), dtype=np.uint32)
    for d in range(n_docs):
        sig = out[d]
        for j in range(k):
            sig[j] = np.uint32(0xFFFFFFFF)
        for i in range(offsets[d], offsets[d + 1]):
            x = np.uint64(shingles[i])
            for j in range(k):
                v = np.uint32((a[j] * x + b[j]) >> np.uint64(32))
                if v < sig[j]:
                    sig[j] = v
    return out


def signatures(shingles: np.ndarray, offsets: np.ndarray, num_perm: int, seed: int) -> np.ndarray:
    """``(n, num_perm)`` uint32 MinHash signatures for a batch of shingle-id sets."""
    a, b = permutations(num_perm, seed)
    return minhash_kernel(
        np.ascontiguousarray(shingles, dtype=np.uint32),
        np.ascontiguousarray(offsets, dtype=np.int64),
        a,
        b,
    )
