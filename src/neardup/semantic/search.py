"""Pairs of documents whose embeddings have a cosine at or above a threshold.

Two searches, both followed by exact verification of every candidate (:func:`cosine_pairs`):

* **exact** — every pair, as blocked float32 matrix products of the unit vectors
  (``n²/2 · d`` multiply-adds; quick up to some tens of thousands of documents);
* **buckets** — an inverted-file search (Jégou, Douze & Schmid, "Product quantization for
  nearest neighbor search", TPAMI 2011, §III-A, without the quantization): spherical k-means
  (Dhillon & Modha 2001) with ``k ≈ √n`` centroids trained on a sample; each document lives in
  the bucket of its nearest centroid and is compared with the residents of its ``probes``
  nearest buckets (multi-probe; Lv et al., VLDB 2007). The work is about ``probes · n²/k · d``.
  Two vectors at cosine ≥ 0.9 lie within angle 26° of each other, so their nearest centroids
  almost always rank among each other's first few; the recall measured against the exact search
  is in ``bench/semantic/README.md``.

Determinism: the documents are put in the order of their exact hashes (the content, not the
input, decides the order), the k-means sample is a prefix of that order and its seed is fixed,
so the same documents in any input order give the same candidates. Candidates pass a float32
pre-filter with a margin of :data:`SLACK` below the threshold; the decision is the float64
cosine of the two stored vectors, which depends on the pair alone.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

#: ``auto`` searches all pairs up to this many distinct documents, k-means buckets above.
EXACT_LIMIT = 20_000
#: float32 products are compared with ``threshold - SLACK``; the float64 cosine decides.
SLACK = 1e-4
#: documents per row block and column block of the blocked products
ROW_BLOCK = 1024
COL_BLOCK = 16_384
#: k-means: Lloyd iterations, and sample size per centroid
KMEANS_ITERATIONS = 12
SAMPLE_PER_CENTROID = 48


@dataclass(frozen=True, slots=True)
class SemanticPairs:
    """Verified pairs (``pairs[:, 0] < pairs[:, 1]``, ordinals, sorted) with their cosine, and
    how they were found."""

    pairs: np.ndarray
    cosine: np.ndarray
    candidates: int
    search: str
    buckets: int
    probes: int


def cosine_pairs(vectors: np.ndarray, pairs: np.ndarray) -> np.ndarray:
    """Exact cosine of ``(k, 2)`` index pairs of unit rows: the float64 dot product, clipped to
    [-1, 1] (0 when a row is zero)."""
    pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    if pairs.shape[0] == 0:
        return np.zeros(0, dtype=np.float64)
    a = vectors[pairs[:, 0]].astype(np.float64)
    b = vectors[pairs[:, 1]].astype(np.float64)
    return np.clip((a * b).sum(axis=1), -1.0, 1.0)


def block_pairs(a: np.ndarray, b: np.ndarray, floor: float, same: bool) -> np.ndarray:
    """Local index pairs ``(i, j)`` with ``a[i] · b[j] ≥ floor`` by blocked float32 products;
    with ``same`` (``a`` is ``b``) only ``i < j``."""
    found: list[np.ndarray] = []
    for i0 in range(0, a.shape[0], ROW_BLOCK):
        rows = a[i0 : i0 + ROW_BLOCK]
        j_start = i0 if same else 0
        for j0 in range(j_start, b.shape[0], COL_BLOCK):
            s = rows @ b[j0 : j0 + COL_BLOCK].T
            r, c = np.nonzero(s >= floor)
            r = r + i0
            c = c + j0
            if same:
                keep = c > r
                r, c = r[keep], c[keep]
            if r.size:
                found.append(np.stack([r, c], axis=1))
    if not found:
        return np.zeros((0, 2), dtype=np.int64)
    return np.concatenate(found).astype(np.int64)


def train_centroids(sample: np.ndarray, k: int, seed: int) -> np.ndarray:
    """Spherical k-means on unit rows: ``k`` unit centroids, started from ``k`` sample rows
    drawn with ``seed``; a centroid left without members keeps its place."""
    rng = np.random.default_rng(seed)
    k = max(1, min(k, sample.shape[0]))
    centroids = sample[np.sort(rng.choice(sample.shape[0], size=k, replace=False))].copy()
    for _ in range(KMEANS_ITERATIONS):
        nearest = np.argmax(sample @ centroids.T, axis=1)
        sums = np.zeros_like(centroids, dtype=np.float64)
        np.add.at(sums, nearest, sample.astype(np.float64))
        norms = np.sqrt((sums * sums).sum(axis=1))
        ok = norms > 0
        centroids[ok] = (sums[ok] / norms[ok, None]).astype(np.float32)
    return centroids


def nearest_buckets(vectors: np.ndarray, centroids: np.ndarray, probes: int) -> np.ndarray:
    """``(n, p)`` the ``p = min(probes, k)`` nearest centroids of each row, nearest first (ties
    to the lower centroid number); column 0 is a row's home bucket."""
    p = min(probes, centroids.shape[0])
    out = np.empty((vectors.shape[0], p), dtype=np.int64)
    for i0 in range(0, vectors.shape[0], 8192):
        s = vectors[i0 : i0 + 8192] @ centroids.T
        order = np.argsort(-s, axis=1, kind="stable")
        out[i0 : i0 + 8192] = order[:, :p]
    return out


def _groups(keys: np.ndarray, values: np.ndarray, k: int) -> list[np.ndarray]:
    """``values`` grouped by ``keys`` in ``0..k-1``, each group sorted."""
    order = np.lexsort((values, keys))
    bounds = np.searchsorted(keys[order], np.arange(k + 1))
    v = values[order]
    return [v[bounds[b] : bounds[b + 1]] for b in range(k)]


def bucket_candidates(vectors: np.ndarray, probe: np.ndarray, floor: float) -> Iterator[np.ndarray]:
    """Per bucket: local index pairs (either order) of residents with each other and of
    visitors (rows probing the bucket as a non-home choice) with residents, ≥ ``floor``."""
    k = int(probe.max()) + 1 if probe.size else 0
    n = vectors.shape[0]
    residents = _groups(probe[:, 0], np.arange(n), k)
    if probe.shape[1] > 1:
        extra = probe[:, 1:]
        visitors = _groups(extra.reshape(-1), np.repeat(np.arange(n), extra.shape[1]), k)
    else:
        visitors = [np.zeros(0, np.int64)] * k
    for b in range(k):
        home = residents[b]
        if home.size == 0:
            continue
        xh = vectors[home]
        if home.size > 1:
            local = block_pairs(xh, xh, floor, same=True)
            yield np.stack([home[local[:, 0]], home[local[:, 1]]], axis=1)
        guests = visitors[b]
        if guests.size:
            local = block_pairs(vectors[guests], xh, floor, same=False)
            yield np.stack([guests[local[:, 0]], home[local[:, 1]]], axis=1)


def search(
    vectors: np.ndarray,
    members: np.ndarray,
    order_key: np.ndarray,
    threshold: float,
    *,
    mode: str = "auto",
    probes: int = 8,
    seed: int = 42,
) -> SemanticPairs:
    """Verified pairs with cosine ≥ ``threshold`` among ``members`` (ordinals of unit rows of
    ``vectors``). ``order_key`` ``(n, 2)`` (the exact hashes) orders the members by content.

    ``mode``: ``exact`` (all pairs), ``buckets`` (k-means, ``probes`` buckets per document) or
    ``auto`` (exact up to :data:`EXACT_LIMIT` members)."""
    members = np.asarray(members, dtype=np.int64)
    m = members.size
    if mode == "auto":
        mode = "exact" if m <= EXACT_LIMIT else "buckets"
    keys = order_key[members]
    members = members[np.lexsort((members, keys[:, 1], keys[:, 0]))]
    x = np.ascontiguousarray(vectors[members])
    floor = float(threshold) - SLACK
    k = p = 0
    if m < 2:
        local = np.zeros((0, 2), dtype=np.int64)
    elif mode == "exact":
        local = block_pairs(x, x, floor, same=True)
    else:
        k = max(1, round(float(np.sqrt(m))))
        sample = x[: min(m, SAMPLE_PER_CENTROID * k)]
        centroids = train_centroids(sample, k, seed)
        k = centroids.shape[0]
        probe = nearest_buckets(x, centroids, probes)
        p = probe.shape[1]
        parts = list(bucket_candidates(x, probe, floor))
        local = np.concatenate(parts) if parts else np.zeros((0, 2), dtype=np.int64)
    pairs = np.sort(members[local], axis=1) if local.size else np.zeros((0, 2), np.int64)
    if pairs.size:
        pairs = np.unique(pairs, axis=0)
    candidates = int(pairs.shape[0])
    cos = cosine_pairs(vectors, pairs)
    ok = cos >= threshold
    return SemanticPairs(pairs[ok], cos[ok], candidates, mode, k, p)
