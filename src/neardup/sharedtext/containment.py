"""Containment: is the smaller of two documents (almost) all inside a longer one?

``C(A ⊆ B) = |S(A) ∩ S(B)| / |S(A)|`` on the documents' shingle sets (Broder, *On the
resemblance and containment of documents*, 1997). Jaccard misses a truncated copy (the first 40%
of an article has ``C = 1`` but ``J ≈ 0.4``); containment finds it. Quoted lines of e-mail and
Usenet messages (:mod:`neardup.text.quotes`) are not part of ``S`` here, so a reply that quotes
its parent does not contain the parent.

Candidates
----------
Each document's shingle sequence (in text order) is winnowed with window ``w``
(:mod:`neardup.sharedtext.winnow`; the shingles are the k-grams): a text that stands whole
inside another has all its fingerprints among the other's, and in general the fraction of A's
fingerprints found in B follows ``C(A ⊆ B)``. Pairs come from **prefix filtering** (Chaudhuri,
Ganti and Kaushik, *A primitive operator for similarity joins*, ICDE 2006): order every
document's fingerprints from the rarest to the most common; if at least a fraction ``c`` of A's
``f`` fingerprints are in B, then B holds one of A's first ``f − ⌈c·f⌉ + 1``. Probing only those
keeps the pairs few even when a fingerprint (a footer) stands in every document. ``c`` is the
containment threshold less :data:`SLACK`, which absorbs the sampling of fingerprints; every pair
is then verified on the exact shingle sets.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from neardup.verify import exact_overlap, sorted_sets

#: Window of the containment fingerprints (about 2 / (w + 1) ≈ 12% of the shingles); smaller
#: when ``containment_min_shingles`` is, so that every document that may be contained spans a
#: whole window and keeps the guarantee above.
WINDOW = 16
#: Candidate threshold on fingerprint containment below the threshold on shingle containment.
SLACK = 0.2
#: Documents holding one fingerprint beyond which it is not probed (a fingerprint in more
#: documents than this is boilerplate; a document made only of such fingerprints is left to
#: Jaccard).
MAX_POSTINGS = 512


@dataclass(frozen=True, slots=True)
class Contained:
    """Verified containment pairs: ``pairs[:, 0]`` is contained in ``pairs[:, 1]``."""

    pairs: np.ndarray
    containment: np.ndarray  # C(small ⊆ large)
    reverse: np.ndarray  # C(large ⊆ small)


class OwnSets:
    """The sets of a shingle table, with some documents' sets replaced (their own text without
    quoted lines)."""

    def __init__(self, table: Any, own: dict[int, np.ndarray]) -> None:
        self.table = table
        self.own = own

    def sets(self, docs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        base, off = self.table.sets(docs)
        if not self.own or not any(int(d) in self.own for d in docs.tolist()):
            return base, off
        parts = []
        for i, d in enumerate(docs.tolist()):
            s = self.own.get(d)
            parts.append(s if s is not None else base[off[i] : off[i + 1]])
        sizes = np.fromiter((p.size for p in parts), dtype=np.int64, count=len(parts))
        offsets = np.zeros(len(parts) + 1, dtype=np.int64)
        np.cumsum(sizes, out=offsets[1:])
        return np.concatenate(parts).astype(np.uint32), offsets


def own_set(shingles: np.ndarray) -> np.ndarray:
    """The sorted unique set of one document's shingle ids."""
    sets, _ = sorted_sets(shingles, np.array([0, shingles.size]), np.array([0]))
    return sets


def probes(doc: np.ndarray, df: np.ndarray, threshold: float) -> np.ndarray:
    """Which fingerprints a document probes with: ``doc`` and ``df`` (documents holding the
    fingerprint) per fingerprint, each document's together and ordered from the rarest (ties by
    hash). A document of ``f`` fingerprints probes with its first ``f − ⌈c·f⌉ + 1``, ``c`` the
    threshold less :data:`SLACK`, those held by at most :data:`MAX_POSTINGS` documents."""
    starts = np.flatnonzero(np.r_[True, doc[1:] != doc[:-1]])
    f = np.diff(np.r_[starts, doc.size])
    c = max(0.0, threshold - SLACK)
    prefix = f - np.ceil(c * f).astype(np.int64) + 1
    rank_in_doc = np.arange(doc.size) - np.repeat(starts, f)
    take: np.ndarray = rank_in_doc < np.repeat(prefix, f)
    return take & (df <= MAX_POSTINGS)


def candidates(
    fp_hash: np.ndarray, fp_doc: np.ndarray, sizes: np.ndarray, threshold: float
) -> np.ndarray:
    """Pairs ``(a, b)``: ``b`` is at least as large as ``a`` (``sizes``, ties: ``b`` first in
    input order) and holds one of the rarest fingerprints of ``a`` (see the module docstring)."""
    if fp_hash.size == 0:
        return np.zeros((0, 2), np.int64)
    key = np.unique(np.stack([fp_doc.astype(np.uint64), fp_hash], axis=1), axis=0)
    doc, h = key[:, 0].astype(np.int64), key[:, 1]
    _, inv, df = np.unique(h, return_inverse=True, return_counts=True)
    # each document's fingerprints from the rarest, ties by hash
    order = np.lexsort((inv, df[inv], doc))
    doc, inv = doc[order], inv[order]
    take = probes(doc, df[inv], threshold)
    probe_doc, probe_h = doc[take], inv[take]
    # postings: documents by fingerprint
    p_order = np.argsort(inv, kind="stable")
    post_doc = doc[p_order]
    post_start = np.r_[0, np.cumsum(df)][:-1]
    lo = post_start[probe_h]
    n = df[probe_h]
    a = np.repeat(probe_doc, n)
    idx = np.repeat(lo - np.r_[0, np.cumsum(n)][:-1], n) + np.arange(int(n.sum()))
    b = post_doc[idx]
    ok = (sizes[b] > sizes[a]) | ((sizes[b] == sizes[a]) & (b < a))
    pairs = np.stack([a[ok], b[ok]], axis=1)
    return np.unique(pairs, axis=0) if pairs.size else np.zeros((0, 2), np.int64)


def overlaps(own: Any, body: Any, pairs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(C(a ⊆ b), C(b ⊆ a), |S(a)|)`` of pairs: each containment is the lower of the own
    texts' and the bodies' (``own``/``body`` give the sets), ``|S(a)|`` the own set's size."""
    inter, size_a, size_b = exact_overlap(own, pairs)
    c = inter / np.maximum(size_a, 1)
    rev = inter / np.maximum(size_b, 1)
    if body is not None and pairs.size:
        b_inter, b_a, b_b = exact_overlap(body, pairs)
        c = np.minimum(c, b_inter / np.maximum(b_a, 1))
        rev = np.minimum(rev, b_inter / np.maximum(b_b, 1))
    return c, rev, size_a


def quoted_by_another(pairs: np.ndarray, authors: np.ndarray, replies: np.ndarray) -> np.ndarray:
    """Pairs ``(a, b)`` where ``b`` is a reply by another author than ``a``'s: a reply holds
    its parent's text because it quotes it, in whatever style, and the parent is the original.
    Messages are told by :func:`neardup.text.quotes.message_author`."""
    a, b = authors[pairs[:, 0]], authors[pairs[:, 1]]
    return (a != 0) & (b != 0) & (a != b) & replies[pairs[:, 1]]


def contained_pairs(
    table: Any,
    fp_hash: np.ndarray,
    fp_doc: np.ndarray,
    sizes: np.ndarray,
    *,
    threshold: float,
    min_shingles: int,
    body: Any = None,
    authors: np.ndarray | None = None,
    replies: np.ndarray | None = None,
) -> Contained:
    """Verified pairs ``(a, b)`` with ``C(a ⊆ b) ≥ threshold`` and ``|S(a)| ≥ min_shingles``
    (``table`` gives the own sets and ``body`` the bodies' sets, see :func:`overlaps`;
    ``sizes`` the lengths of the own shingle sequences)."""
    cand = candidates(fp_hash, fp_doc, sizes, threshold)
    cand = cand[sizes[cand[:, 0]] >= min_shingles] if cand.size else cand
    if cand.size and authors is not None and replies is not None and authors.size:
        cand = cand[~quoted_by_another(cand, authors, replies)]
    if cand.size == 0:
        z = np.zeros(0)
        return Contained(np.zeros((0, 2), np.int64), z, z)
    c, rev, size_a = overlaps(table, body, cand)
    ok = (c >= threshold) & (size_a >= min_shingles)
    return Contained(cand[ok], c[ok], rev[ok])


def best_containers(found: Contained) -> Contained:
    """One pair per contained document: the container holding most of it (ties: the earlier
    container in input order). A document joins that container's cluster only, so containment
    does not chain every document that shares a passage into one cluster."""
    if found.pairs.size == 0:
        return found
    a, b = found.pairs[:, 0], found.pairs[:, 1]
    order = np.lexsort((b, -found.containment, a))
    first = np.r_[True, a[order][1:] != a[order][:-1]]
    pick = order[first]
    return Contained(found.pairs[pick], found.containment[pick], found.reverse[pick])
