"""Locality-sensitive hashing over MinHash signatures (banding).

A signature of ``k`` slots is cut into ``b`` bands of ``r`` rows (``b·r ≤ k``). Two documents
become a candidate pair when all ``r`` slots of at least one band agree. If their Jaccard
similarity is ``s``, one band agrees with probability ``s^r``, so (Leskovec, Rajaraman & Ullman,
*Mining of Massive Datasets*, ch. 3.4)::

    P(candidate | s) = 1 − (1 − s^r)^b

an S-curve whose steepest point is near ``(1/b)^(1/r)``. :func:`lsh_params` picks ``(b, r)`` by
minimising a weighted sum of the false-positive area (the curve below the threshold) and the
false-negative area (one minus the curve above it), as datasketch does. Because neardup verifies
every candidate against the true Jaccard similarity, false positives only cost verification
time; with ``recall_at_threshold`` set, :func:`lsh_params` instead picks the banding with the
smallest false-positive area among those that make a pair *at* the threshold a candidate with at
least that probability (pairs above the threshold are then even more likely to be found).
"""

from __future__ import annotations

from dataclasses import dataclass

import numba as nb
import numpy as np

from neardup.errors import ConfigError
from neardup.hashing import fmix64

#: P(candidate | s = threshold) required by default when candidates are verified.
VERIFIED_RECALL = 0.995


@dataclass(frozen=True, slots=True)
class LSHParams:
    """Chosen banding: ``bands`` × ``rows`` slots of a ``num_perm``-slot signature."""

    bands: int
    rows: int
    num_perm: int
    threshold: float
    false_positive_area: float
    false_negative_area: float

    @classmethod
    def of(cls, threshold: float, bands: int, rows: int, num_perm: int) -> LSHParams:
        """Explicit banding, with its false-positive and false-negative areas."""
        fp, fn = _areas(threshold, bands, rows)
        return cls(bands, rows, num_perm, threshold, fp, fn)

    def probability(self, similarity: float | np.ndarray) -> float | np.ndarray:
        """P(candidate | similarity) under this banding."""
        return candidate_probability(similarity, self.bands, self.rows)


def candidate_probability(
    similarity: float | np.ndarray, bands: int, rows: int
) -> float | np.ndarray:
    """``1 − (1 − s^r)^b``: the probability that a pair of similarity ``s`` shares a band."""
    s = np.asarray(similarity, dtype=np.float64)
    p = 1.0 - (1.0 - s**rows) ** bands
    return float(p) if p.ndim == 0 else p


def _areas(threshold: float, bands: int, rows: int, steps: int = 2001) -> tuple[float, float]:
    lo = np.linspace(0.0, threshold, steps)
    hi = np.linspace(threshold, 1.0, steps)
    fp = np.trapezoid(candidate_probability(lo, bands, rows), lo)
    fn = np.trapezoid(1.0 - candidate_probability(hi, bands, rows), hi)
    return float(fp), float(fn)


def lsh_params(
    threshold: float,
    num_perm: int,
    *,
    false_positive_weight: float = 0.5,
    false_negative_weight: float = 0.5,
    recall_at_threshold: float | None = None,
) -> LSHParams:
    """Choose bands and rows for a Jaccard ``threshold`` and ``num_perm`` MinHash slots.

    Without ``recall_at_threshold``: minimises
    ``w_fp · ∫₀ᵗ P(s) ds + w_fn · ∫ₜ¹ (1 − P(s)) ds`` over every ``b·r ≤ num_perm``
    (the weighted false-positive and false-negative areas under the S-curve).

    With ``recall_at_threshold = ρ``: among the bandings with ``P(t) ≥ ρ``, the one with the
    smallest false-positive area ``∫₀ᵗ P(s) ds`` (the fewest wasted verifications); if none
    reaches ρ, the one with the largest ``P(t)``. This is the right rule when every candidate is
    verified, which is neardup's default (ρ = 0.995).

    Ties are broken towards more slots used, then fewer bands.

    >>> p = lsh_params(0.8, 128)
    >>> p.bands * p.rows <= 128
    True
    """
    if not (0.0 < threshold <= 1.0):
        raise ConfigError(f"threshold must be in (0, 1], got {threshold}", remedy="pass e.g. 0.8")
    if num_perm < 1:
        raise ConfigError(f"num_perm must be ≥ 1, got {num_perm}", remedy="pass e.g. 128")
    total = false_positive_weight + false_negative_weight
    if false_positive_weight < 0 or false_negative_weight < 0 or total <= 0:
        raise ConfigError(
            "false-positive and false-negative weights must be ≥ 0 and not both 0",
            remedy="pass e.g. 0.5 and 0.5",
        )
    if recall_at_threshold is not None and not (0.0 < recall_at_threshold < 1.0):
        raise ConfigError(
            f"recall_at_threshold must be in (0, 1), got {recall_at_threshold}",
            remedy="pass e.g. 0.995",
        )
    wfp, wfn = false_positive_weight / total, false_negative_weight / total
    best_key: tuple[float, ...] | None = None
    bands = rows = 1
    for b in range(1, num_perm + 1):
        for r in range(1, num_perm // b + 1):
            fp, fn = _areas(threshold, b, r, steps=401)
            if recall_at_threshold is None:
                key: tuple[float, ...] = (round(wfp * fp + wfn * fn, 12), -(b * r), b)
            else:
                p_t = float(candidate_probability(threshold, b, r))
                reach = p_t >= recall_at_threshold
                key = (0.0 if reach else 1.0, round(fp if reach else -p_t, 12), -(b * r), b)
            if best_key is None or key < best_key:
                best_key, bands, rows = key, b, r
    return LSHParams.of(threshold, bands, rows, num_perm)


@nb.njit(cache=True, nogil=True)
def band_keys(signatures: np.ndarray, members: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """One 64-bit key per (band, member): a hash of the band's ``rows`` slots of
    ``signatures[members[m]]``. The band number is hashed in, so equal slot values in different
    bands give different keys."""
    n = members.size
    out = np.empty((bands, n), dtype=np.uint64)
    for m in range(n):
        d = members[m]
        for bnd in range(bands):
            h = fmix64(np.uint64(bnd) + np.uint64(0x9E3779B97F4A7C15))
            for r in range(rows):
                h = fmix64(h ^ np.uint64(signatures[d, bnd * rows + r]))
            out[bnd, m] = h
    return out


@nb.njit(cache=True)
def bucket_pairs(
    keys: np.ndarray, order: np.ndarray, members: np.ndarray, window: int
) -> tuple[np.ndarray, np.ndarray]:
    """Pairs ``(a, b)``, ``a < b``, of ``members`` whose keys agree, visiting them in ``order``
    (equal keys adjacent, in any order within a bucket). Within a bucket of size ≤ ``window``
    every pair is emitted; a larger bucket is put in increasing ``order`` value (input order when
    ``members`` are increasing) and pairs each member with the next ``window`` members, which
    bounds the work at ``len·window`` while keeping it connected. Returns two int64 arrays."""
    n = order.size
    # first pass: count
    count = 0
    i = 0
    while i < n:
        j = i + 1
        while j < n and keys[order[j]] == keys[order[i]]:
            j += 1
        size = j - i
        if size > 1:
            if size <= window:
                count += size * (size - 1) // 2
            else:
                for p in range(size):
                    count += min(window, size - 1 - p)
        i = j
    out_a = np.empty(count, dtype=np.int64)
    out_b = np.empty(count, dtype=np.int64)
    c = 0
    i = 0
    while i < n:
        j = i + 1
        while j < n and keys[order[j]] == keys[order[i]]:
            j += 1
        size = j - i
        if size > 1:
            span = size - 1 if size <= window else window
            if size > window:
                order[i:j] = np.sort(order[i:j])
            for p in range(i, j):
                for q in range(p + 1, min(j, p + 1 + span)):
                    a = members[order[p]]
                    b = members[order[q]]
                    if a > b:
                        a, b = b, a
                    out_a[c] = a
                    out_b[c] = b
                    c += 1
        i = j
    return out_a[:c], out_b[:c]


def candidate_pairs(
    signatures: np.ndarray,
    members: np.ndarray,
    bands: int,
    rows: int,
    *,
    max_bucket: int = 256,
) -> np.ndarray:
    """Candidate pairs among the documents ``members`` (ordinals, rows of ``signatures``) that
    share at least one band. Returns an ``(m, 2)`` int64 array of ``a < b``, sorted, unique.
    """
    if members.size < 2:
        return np.empty((0, 2), dtype=np.int64)
    if int(members.max(initial=0)) >= 2**32:
        raise ConfigError(
            "more than 2^32 documents in one candidate stage",
            remedy="split the corpus or use the Spark executor",
        )
    members = np.ascontiguousarray(members, dtype=np.int64)
    keys = band_keys(np.ascontiguousarray(signatures), members, bands, rows)
    found = []
    for bnd in range(bands):
        # an unstable sort (numpy's SIMD quicksort, ~20× the stable one on 10⁶ keys): the pairs
        # of a bucket do not depend on its order, and bucket_pairs sorts a large one itself
        order = np.argsort(keys[bnd])
        a, b = bucket_pairs(keys[bnd], order, members, max_bucket)
        found.append((a.astype(np.uint64) << np.uint64(32)) | b.astype(np.uint64))
    packed = np.unique(np.concatenate(found)) if found else np.empty(0, np.uint64)
    pairs = np.empty((packed.size, 2), dtype=np.int64)
    pairs[:, 0] = (packed >> np.uint64(32)).astype(np.int64)
    pairs[:, 1] = (packed & np.uint64(0xFFFFFFFF)).astype(np.int64)
    return pairs
