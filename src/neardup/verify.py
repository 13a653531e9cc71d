"""Verification: the true Jaccard similarity of candidate pairs.

``J(A, B) = |A ∩ B| / |A ∪ B|`` on the documents' shingle-id sets, computed by merging the two
sorted arrays (O(|A| + |B|) per pair). MinHash banding only proposes candidates; a pair counts as a
near-duplicate when this exact value reaches the threshold.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numba as nb
import numpy as np

from neardup.heap import release_freed_memory


@nb.njit(inline="always", cache=True)
def _intersection(shingles: np.ndarray, x: int, x1: int, y: int, y1: int) -> int:
    """``|A ∩ B|`` of the sorted unique runs ``shingles[x:x1]`` and ``shingles[y:y1]``."""
    inter = 0
    while x < x1 and y < y1:
        u, v = shingles[x], shingles[y]
        if u == v:
            inter += 1
            x += 1
            y += 1
        elif u < v:
            x += 1
        else:
            y += 1
    return inter


@nb.njit(cache=True, nogil=True)
def jaccard_pairs(shingles: np.ndarray, offsets: np.ndarray, pairs: np.ndarray) -> np.ndarray:
    """Exact Jaccard similarity of each pair ``(i, j)`` of documents whose sorted unique shingle
    ids are ``shingles[offsets[d]:offsets[d+1]]``. Two empty sets have similarity 0."""
    out = np.empty(pairs.shape[0], dtype=np.float64)
    for p in range(pairs.shape[0]):
        i, j = pairs[p, 0], pairs[p, 1]
        a0, a1 = offsets[i], offsets[i + 1]
        b0, b1 = offsets[j], offsets[j + 1]
        inter = _intersection(shingles, a0, a1, b0, b1)
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


@nb.njit(cache=True, nogil=True)
def _radix_sort_unique(a: np.ndarray, tmp: np.ndarray, n: int) -> int:
    """Sort ``a[:n]`` (uint32) by LSD radix sort, 4 passes of 8 bits, then drop repeats in
    place; returns the number of unique values. O(n + 256) per pass, against O(n log n) for a
    comparison sort: sets of a few hundred ids sort several times faster."""
    src, dst = a, tmp
    count = np.empty(257, dtype=np.int64)
    for shift in range(0, 32, 8):
        count[:] = 0
        for i in range(n):
            count[((src[i] >> shift) & 0xFF) + 1] += 1
        for k in range(256):
            count[k + 1] += count[k]
        for i in range(n):
            key = (src[i] >> shift) & 0xFF
            dst[count[key]] = src[i]
            count[key] += 1
        src, dst = dst, src
    # four passes: the sorted data is back in ``a``
    u = 0
    for i in range(n):
        if i == 0 or a[i] != a[u - 1]:
            a[u] = a[i]
            u += 1
    return u


@nb.njit(cache=True, nogil=True)
def _sorted_sets_kernel(
    shingles: np.ndarray, offsets: np.ndarray, docs: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    total = 0
    longest = 0
    for k in range(docs.size):
        c = offsets[docs[k] + 1] - offsets[docs[k]]
        total += c
        longest = max(longest, c)
    out = np.empty(total, dtype=np.uint32)
    out_offsets = np.zeros(docs.size + 1, dtype=np.int64)
    a = np.empty(longest, dtype=np.uint32)
    tmp = np.empty(longest, dtype=np.uint32)
    w = 0
    for k in range(docs.size):
        start = offsets[docs[k]]
        n = offsets[docs[k] + 1] - start
        for i in range(n):
            a[i] = shingles[start + i]
        u = _radix_sort_unique(a, tmp, n)
        for i in range(u):
            out[w + i] = a[i]
        w += u
        out_offsets[k + 1] = w
    return out[:w], out_offsets


def sorted_sets(
    shingles: np.ndarray, offsets: np.ndarray, docs: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Sorted unique shingle-id sets of the documents ``docs``, packed into
    ``(sets, set_offsets)`` in the order of ``docs``. Only those documents are read (from memory
    or from a window read from the spill file)."""
    return _sorted_sets_kernel(
        np.asarray(shingles), offsets, np.ascontiguousarray(docs, dtype=np.int64)
    )


PAIRS_PER_CHUNK = 50_000
# below this, one thread: the time saved is a few milliseconds, and each extra thread's malloc
# arena raises the peak memory by tens of MB
MIN_PAIRS_TO_SPLIT = PAIRS_PER_CHUNK


def exact_similarity(table: Any, pairs: np.ndarray, workers: int = 1) -> np.ndarray:
    """Exact Jaccard similarity of each pair of document ordinals; ``table`` gives the sorted
    unique sets of the documents named (a :class:`neardup.shingle_store.ShingleTable`).

    Pairs are taken in chunks of at most ``PAIRS_PER_CHUNK / workers``, so the sets held at
    once stay bounded (≤ 100k documents over all threads) however many candidates there are.
    With ``workers`` > 1 and a table that says it is ``thread_safe``, the chunks are measured
    by that many threads: reading the sets (page faults on the spill file) and the merges are
    compiled code that runs without the GIL. Each pair's value does not depend on the chunk
    it falls in, so the result is the same for any ``workers``."""
    n = pairs.shape[0]
    out = np.zeros(n, dtype=np.float64)
    threads = workers if getattr(table, "thread_safe", False) and n >= MIN_PAIRS_TO_SPLIT else 1
    step = -(-PAIRS_PER_CHUNK // threads)
    if threads > 1:
        step = min(step, -(-n // threads))

    def measure(lo: int) -> None:
        chunk = pairs[lo : lo + step]
        docs, inverse = np.unique(chunk, return_inverse=True)
        sets, set_offsets = table.sets(docs)
        local = inverse.reshape(chunk.shape).astype(np.int64)
        out[lo : lo + chunk.shape[0]] = jaccard_pairs(sets, set_offsets, local)

    starts = range(0, n, step)
    if threads == 1:
        for lo in starts:
            measure(lo)
        return out
    with ThreadPoolExecutor(threads, thread_name_prefix="neardup-verify") as pool:
        list(pool.map(measure, starts))  # re-raises a chunk's error here
    release_freed_memory()  # the threads' malloc arenas keep their freed pages otherwise
    return out


def jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """Exact Jaccard similarity of two shingle-id arrays (any order, repeats allowed)."""
    sh = np.concatenate([a, b]).astype(np.uint32)
    sets, offs = sorted_sets(sh, np.array([0, a.size, a.size + b.size]), np.array([0, 1]))
    return float(jaccard_pairs(sets, offs, np.array([[0, 1]], dtype=np.int64))[0])


@nb.njit(cache=True, nogil=True)
def overlap_pairs(shingles: np.ndarray, offsets: np.ndarray, pairs: np.ndarray) -> np.ndarray:
    """``|A ∩ B|`` of each pair ``(i, j)`` of sorted unique sets (see :func:`jaccard_pairs`)."""
    out = np.empty(pairs.shape[0], dtype=np.int64)
    for p in range(pairs.shape[0]):
        i, j = pairs[p, 0], pairs[p, 1]
        out[p] = _intersection(shingles, offsets[i], offsets[i + 1], offsets[j], offsets[j + 1])
    return out


def exact_overlap(table: Any, pairs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(|A ∩ B|, |A|, |B|)`` of each pair of document ordinals, on the sets ``table`` gives
    (chunked as :func:`exact_similarity`)."""
    inter = np.zeros(pairs.shape[0], dtype=np.int64)
    size_a = np.zeros(pairs.shape[0], dtype=np.int64)
    size_b = np.zeros(pairs.shape[0], dtype=np.int64)
    for lo in range(0, pairs.shape[0], PAIRS_PER_CHUNK):
        chunk = pairs[lo : lo + PAIRS_PER_CHUNK]
        docs, inverse = np.unique(chunk, return_inverse=True)
        sets, set_offsets = table.sets(docs)
        local = inverse.reshape(chunk.shape).astype(np.int64)
        hi = lo + chunk.shape[0]
        inter[lo:hi] = overlap_pairs(sets, set_offsets, local)
        sizes = np.diff(set_offsets)
        size_a[lo:hi] = sizes[local[:, 0]]
        size_b[lo:hi] = sizes[local[:, 1]]
    return inter, size_a, size_b
