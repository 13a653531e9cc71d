"""Verification: the true Jaccard similarity of candidate pairs.

``J(A, B) = |A ∩ B| / |A ∪ B|`` on the documents' shingle-id sets, computed by merging the two
sorted arrays (O(|A| + |B|) per pair). MinHash banding only proposes candidates; a pair counts as a
near-duplicate when this exact value reaches the threshold.
"""

from __future__ import annotations

import numba as nb
import numpy as np


@nb.njit(cache=True, nogil=True)
def jaccard_pairs(shingles: np.ndarray, offsets: np.ndarray, pairs: np.ndarray) -> np.ndarray:
    """Exact Jaccard similarity of each pair ``(i, j)`` of documents whose sorted unique shingle
    ids are ``shingles[offsets[d]:offsets[d+1]]``. Two empty sets have similarity 0."""
    out = np.empty(pairs.shape[0], dtype=np.float64)
    for p in range(pairs.shape[0]):
        i, j = pairs[p, 0], pairs[p, 1]
        a0, a1 = offsets[i], offsets[i + 1]
        b0, b1 = offsets[j], offsets[j + 1]
        inter = 0
        x, y = a0, b0
        while x < a1 and y < b1:
            u, v = shingles[x], shingles[y]
            if u == v:
                inter += 1
                x += 1
                y += 1
            elif u < v:
                x += 1
            else:
                y += 1
        union = (a1 - a0) + (b1 - b0) - inter
        out[p] = inter / union if union > 0 else 0.0
    return out


@nb.njit(cache=True, nogil=True)
def estimate_pairs(signatures: np.ndarray, pairs: np.ndarray) -> np.ndarray:
    """MinHash estimate of Jaccard similarity: the fraction of equal signature slots."""
    out = np.empty(pairs.shape[0], dtype=np.float64)
    k = signatures.shape[1]
    for p in range(pairs.shape[0]):
        i, j = pairs[p, 0], pairs[p, 1]
        eq = 0
        for s in range(k):
            if signatures[i, s] == signatures[j, s]:
                eq += 1
        out[p] = eq / k
    return out


def jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """Exact Jaccard similarity of two sorted unique shingle-id arrays."""
    sh = np.concatenate([a, b]).astype(np.uint32)
    offs = np.array([0, a.size, a.size + b.size], dtype=np.int64)
    return float(jaccard_pairs(sh, offs, np.array([[0, 1]], dtype=np.int64))[0])
