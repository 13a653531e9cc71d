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

Bounded memory: a corpus whose embeddings are all alike (long documents mixed from one pool of
sentences average out to near one direction) can have a share of *all* pairs above the
threshold. Each document therefore keeps at most :data:`MAX_NEIGHBOURS` pairs, its closest; a
pair stays when it is among the closest of either of its documents, so memory holds about
``n · MAX_NEIGHBOURS`` pairs. A pair outside the closest of both its documents within a subset
of the pairs is outside them within all, so the search drops such pairs block by block and the
result is the rule applied to every pair at once (a block keeps every pair within
:data:`SLACK` of a row's or column's ``MAX_NEIGHBOURS``-th float32 product, so float32
rounding cannot drop a pair the exact cosine would keep). A run reports the documents that
reached the cap (``documents_at_cap``); connected components barely change (the closest links
hold a blob together), a star loses the members beyond the cap.

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
#: the most pairs a document keeps (its closest; a pair stays if either document keeps it)
MAX_NEIGHBOURS = 100
#: pairs whose exact cosine is computed at once (bounds the float64 copies of the vectors)
COSINE_CHUNK = 65_536


@dataclass(frozen=True, slots=True)
class SemanticPairs:
    """Verified pairs (``pairs[:, 0] < pairs[:, 1]``, ordinals, sorted) with their cosine, and
    how they were found: ``candidates`` proposals passed the float32 pre-filter and had their
    cosine computed, ``at_cap`` documents reached the :data:`MAX_NEIGHBOURS` cap."""

    pairs: np.ndarray
    cosine: np.ndarray
    candidates: int
    search: str
    buckets: int
    probes: int
    at_cap: int = 0


def cosine_pairs(vectors: np.ndarray, pairs: np.ndarray) -> np.ndarray:
    """Exact cosine of ``(k, 2)`` index pairs of unit rows: the float64 dot product, clipped to
    [-1, 1] (0 when a row is zero). Each pair's value depends on its two rows alone."""
    pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    out = np.zeros(pairs.shape[0], dtype=np.float64)
    for lo in range(0, pairs.shape[0], COSINE_CHUNK):
        p = pairs[lo : lo + COSINE_CHUNK]
        a = vectors[p[:, 0]].astype(np.float64)
        b = vectors[p[:, 1]].astype(np.float64)
        out[lo : lo + p.shape[0]] = np.clip((a * b).sum(axis=1), -1.0, 1.0)
    return out


def _closest(score: np.ndarray, hits: np.ndarray, k: int, axis: int) -> np.ndarray:
    """Mask of the hits along ``axis`` within :data:`SLACK` of the ``k``-th highest (all hits
    where there are at most ``k``): a superset of the ``k`` closest by exact cosine, since a
    float32 product is within 1e-6 of it."""
    many = hits.sum(axis=axis) > k
    if not many.any():
        return hits
    masked = np.where(hits, score, -np.inf)
    kth = -np.partition(-masked, k - 1, axis=axis).take(k - 1, axis=axis)
    edge = np.where(many, kth - SLACK, -np.inf)
    return hits & (score >= (edge[:, None] if axis == 1 else edge[None, :]))


def block_pairs(
    a: np.ndarray, b: np.ndarray, floor: float, same: bool, cap: int = MAX_NEIGHBOURS
) -> Iterator[np.ndarray]:
    """Local index pairs ``(i, j)`` with ``a[i] · b[j] ≥ floor`` by blocked float32 products,
    one array per block; with ``same`` (``a`` is ``b``) only ``i < j``. Within a block, a row
    or column with more than ``cap`` hits keeps its ``cap`` highest (the cap of
    :data:`MAX_NEIGHBOURS`, applied early)."""
    for i0 in range(0, a.shape[0], ROW_BLOCK):
        rows = a[i0 : i0 + ROW_BLOCK]
        j_start = i0 if same else 0
        for j0 in range(j_start, b.shape[0], COL_BLOCK):
            s = rows @ b[j0 : j0 + COL_BLOCK].T
            hits = s >= floor
            if same and j0 == i0:
                hits &= np.triu(np.ones(hits.shape, dtype=bool), k=1)
            if hits.sum() > cap:
                hits = _closest(s, hits, cap, 1) | _closest(s, hits, cap, 0)
            r, c = np.nonzero(hits)
            if r.size:
                yield np.stack([r + i0, c + j0], axis=1).astype(np.int64)


class _Collector:
    """Verified pairs of local indices, kept within the neighbour cap as they arrive."""

    def __init__(self, x: np.ndarray, threshold: float, cap: int) -> None:
        self.x, self.threshold, self.cap = x, threshold, cap
        self.pairs: list[np.ndarray] = []
        self.cos: list[np.ndarray] = []
        self.held = 0
        self.budget = max(4_000_000, 4 * cap * x.shape[0])
        self.candidates = 0

    def add(self, local: np.ndarray) -> None:
        if local.size == 0:
            return
        local = np.sort(local, axis=1)
        self.candidates += local.shape[0]
        cos = cosine_pairs(self.x, local)
        ok = cos >= self.threshold
        self.pairs.append(local[ok])
        self.cos.append(cos[ok])
        self.held += int(ok.sum())
        if self.held > self.budget:
            self._prune()

    def _prune(self) -> None:
        pairs = np.concatenate(self.pairs) if self.pairs else np.zeros((0, 2), np.int64)
        cos = np.concatenate(self.cos) if self.cos else np.zeros(0)
        if pairs.size:
            key = pairs[:, 0] * self.x.shape[0] + pairs[:, 1]
            key, first = np.unique(key, return_index=True)
            pairs, cos = pairs[first], cos[first]
            keep, _ = self._ranked(pairs, cos)
            pairs, cos = pairs[keep], cos[keep]
        self.pairs, self.cos, self.held = [pairs], [cos], pairs.shape[0]

    def _ranked(self, pairs: np.ndarray, cos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Which pairs are among the ``cap`` closest of either document (ties: the partner
        first in content order), and each document's number of pairs."""
        n = pairs.shape[0]
        doc = np.concatenate([pairs[:, 0], pairs[:, 1]])
        other = np.concatenate([pairs[:, 1], pairs[:, 0]])
        score = np.concatenate([cos, cos])
        order = np.lexsort((other, -score, doc))
        d = doc[order]
        start = np.r_[0, np.flatnonzero(d[1:] != d[:-1]) + 1]
        counts = np.diff(np.r_[start, d.size])
        rank = np.arange(d.size) - np.repeat(start, counts)
        keep = np.zeros(n, dtype=bool)
        keep[order[rank < self.cap] % n] = True
        degree = np.bincount(doc, minlength=self.x.shape[0])
        return keep, degree

    def result(self) -> tuple[np.ndarray, np.ndarray, int, int]:
        """Pairs, cosines, candidates checked, and documents at the cap (they kept ``cap``
        pairs of their own and may have had more)."""
        self._prune()
        pairs, cos = self.pairs[0], self.cos[0]
        at_cap = 0
        if pairs.size:
            at_cap = int((self._ranked(pairs, cos)[1] >= self.cap).sum())
        return pairs, cos, self.candidates, at_cap


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
            for local in block_pairs(xh, xh, floor, same=True):
                yield np.stack([home[local[:, 0]], home[local[:, 1]]], axis=1)
        guests = visitors[b]
        if guests.size:
            for local in block_pairs(vectors[guests], xh, floor, same=False):
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
    cap: int = MAX_NEIGHBOURS,
) -> SemanticPairs:
    """Verified pairs with cosine ≥ ``threshold`` among ``members`` (ordinals of unit rows of
    ``vectors``), at most ``cap`` closest per document. ``order_key`` ``(n, 2)`` (the exact
    hashes) orders the members by content.

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
    found = _Collector(x, float(threshold), cap)
    k = p = 0
    if m >= 2 and mode == "exact":
        for local in block_pairs(x, x, floor, same=True, cap=cap):
            found.add(local)
    elif m >= 2:
        k = max(1, round(float(np.sqrt(m))))
        sample = x[: min(m, SAMPLE_PER_CENTROID * k)]
        centroids = train_centroids(sample, k, seed)
        k = centroids.shape[0]
        probe = nearest_buckets(x, centroids, probes)
        p = probe.shape[1]
        for local in bucket_candidates(x, probe, floor):
            found.add(local)
    local, cos, candidates, at_cap = found.result()
    pairs = np.sort(members[local], axis=1) if local.size else np.zeros((0, 2), np.int64)
    order = np.lexsort((pairs[:, 1], pairs[:, 0])) if pairs.size else np.zeros(0, np.int64)
    return SemanticPairs(pairs[order], cos[order], candidates, mode, k, p, at_cap)
