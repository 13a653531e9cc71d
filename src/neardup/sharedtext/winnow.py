"""Word k-gram hashes and winnowing.

Winnowing (Schleimer, Wilkerson and Aiken, *Winnowing: local algorithms for document
fingerprinting*, SIGMOD 2003) selects, in every window of ``w`` consecutive k-gram hashes, the
minimal one (the rightmost on ties), recording each selected position once. Two guarantees
follow, and neardup relies on both:

* **Density.** About ``2 / (w + 1)`` of the k-grams are selected.
* **Shared runs are found.** Any run of ``t = w + k - 1`` tokens covers a whole window, so it
  yields a selected fingerprint; the selection depends only on the window's contents, so a run of
  ``t`` or more tokens standing in two documents yields the *same* fingerprint, at the same place
  in the run, in both. Hence a text that stands whole inside another has every one of its
  fingerprints among the other's (apart from a text shorter than one window, which keeps only its
  minimum).

:func:`winnow_params` turns the user's guarantee ``t`` (``min_words``) into ``(k, w)``.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from neardup.hashing import _FOLD_PRIME, _SHINGLE_SEED, fmix64


def winnow_params(min_words: int, k: int | None = None) -> tuple[int, int]:
    """``(k, w)`` with ``w + k - 1 == min_words``: the k-gram length (``min_words // 4``
    clamped to 4..13 unless given) and the window."""
    if min_words < 2:
        raise ValueError(f"min_words must be at least 2, not {min_words}")
    if k is None:
        k = max(4, min(13, min_words // 4))
    k = min(k, min_words)
    return k, min_words - k + 1


@nb.njit(cache=True, nogil=True)
def kgram_kernel(tokens: np.ndarray, offsets: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Hashes of the k-grams of every document (a document with fewer than ``k`` tokens has
    none); returns ``(hashes, kgram_offsets)``; k-gram ``i`` of a document starts at its token
    ``i``."""
    n_docs = offsets.size - 1
    out_off = np.zeros(n_docs + 1, dtype=np.int64)
    for d in range(n_docs):
        out_off[d + 1] = out_off[d] + max(0, offsets[d + 1] - offsets[d] - k + 1)
    out = np.empty(out_off[-1], dtype=np.uint64)
    for d in range(n_docs):
        a = offsets[d]
        o = out_off[d]
        for p in range(out_off[d + 1] - o):
            g = _SHINGLE_SEED
            for q in range(k):
                g = (g ^ tokens[a + p + q]) * _FOLD_PRIME
            out[o + p] = fmix64(g)
    return out, out_off


@nb.njit(cache=True, nogil=True)
def winnow_kernel(
    hashes: np.ndarray, offsets: np.ndarray, w: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Robust winnowing of every document's hash sequence: ``(selected_hash, position, doc)``.

    A document with fewer than ``w`` hashes keeps its minimum (the rightmost on ties)."""
    n_docs = offsets.size - 1
    total = offsets[-1]
    out_h = np.empty(total, dtype=np.uint64)
    out_p = np.empty(total, dtype=np.int32)
    out_d = np.empty(total, dtype=np.int64)
    dq = np.empty(max(w, 1) + 1, dtype=np.int64)  # ring buffer of candidate positions
    s = 0
    for d in range(n_docs):
        a, b = offsets[d], offsets[d + 1]
        n = b - a
        if n == 0:
            continue
        if n <= w:
            best = 0
            for i in range(1, n):
                if np.uint64(hashes[a + i]) <= np.uint64(hashes[a + best]):
                    best = i
            out_h[s] = np.uint64(hashes[a + best])
            out_p[s] = best
            out_d[s] = d
            s += 1
            continue
        # monotonic deque: positions with strictly increasing hashes from head to tail
        head = 0
        size = 0
        cap = dq.size
        last = -1
        for i in range(n):
            hi = np.uint64(hashes[a + i])
            while size > 0:
                j = dq[(head + size - 1) % cap]
                if np.uint64(hashes[a + j]) >= hi:
                    size -= 1
                else:
                    break
            dq[(head + size) % cap] = i
            size += 1
            if dq[head] <= i - w:
                head = (head + 1) % cap
                size -= 1
            if i >= w - 1:
                m = dq[head]
                if m != last:
                    out_h[s] = np.uint64(hashes[a + m])
                    out_p[s] = m
                    out_d[s] = d
                    s += 1
                    last = m
    return out_h[:s], out_p[:s], out_d[:s]


def winnow(
    tokens: np.ndarray, offsets: np.ndarray, k: int, w: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fingerprints of every document of a batch: ``(hash, token_position, doc)``."""
    grams, gram_off = kgram_kernel(tokens, offsets, k)
    return winnow_kernel(grams, gram_off, w)
