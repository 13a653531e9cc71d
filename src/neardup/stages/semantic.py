"""Stages of method semantic: document vectors as column bytes, and the corpus's pair search.

Under method semantic the fingerprint stage embeds each partition's documents with
:func:`neardup.semantic.embed.embed` (the function the local executor calls; the model is loaded
once per worker process and kept in that module's cache, keyed by the model name or path). A
document's unit vector travels in the ``sig`` column, which holds no MinHash signature under this
method, as packed little-endian float32 (:func:`packed_vectors`).

:func:`search_partition` is the pair search of the local schedule
(:func:`neardup.resolve.resolve`), run once over the whole corpus gathered in one table sorted by
position: the same eligibility (a non-empty text with a direction), the same exact groups
(:func:`~neardup.stages.decide.exact_groups`), the same members
(:func:`~neardup.stages.window.search_members`) and the same search
(:func:`neardup.semantic.search.search`: its k-means sample, neighbour cap and float32
pre-filter see the documents in the order the local run sees them). Ordinals of the table sorted
by position are the local run's ordinals, so the pairs, cosines and counts are the local run's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from neardup.stages.arrow import column, unpack
from neardup.stages.decide import eligible, exact_groups, similarity_histogram
from neardup.stages.window import search_members


def packed_vectors(vectors: np.ndarray) -> pa.Array:
    """One binary value per row of ``(n, dim)`` float32 vectors: the row's little-endian
    bytes."""
    v = np.ascontiguousarray(vectors, dtype="<f4")
    dim = v.shape[1] if v.ndim == 2 else 0
    offsets = np.arange(v.shape[0] + 1, dtype=np.int32) * (4 * dim)
    return pa.Array.from_buffers(
        pa.binary(), v.shape[0], [None, pa.py_buffer(offsets.tobytes()), pa.py_buffer(v)]
    )


def unpacked_vectors(col: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """``(n, dim)`` float32 vectors of a column written by :func:`packed_vectors` (a copy)."""
    values, offsets = unpack(col)
    n = offsets.size - 1
    flat = np.array(values[int(offsets[0]) : int(offsets[-1])], dtype=np.uint32)
    dim = flat.size // n if n else 0
    return flat.view("<f4").astype(np.float32, copy=False).reshape(n, dim)


@dataclass(frozen=True, slots=True)
class SearchResult:
    """The corpus's pairs by position: exact edges ``(representative, copy)`` and verified
    semantic pairs ``(a, b)``, ``a < b`` in ordinals, with their cosines; the counts and the
    histogram stats.json reports; how the search ran (stats.json's ``parameters.semantic``)."""

    exact_edges: np.ndarray
    pairs: np.ndarray
    cosine: np.ndarray
    candidates: int
    bins: np.ndarray
    search: dict[str, Any]


def semantic_search(
    vectors: np.ndarray, exact: np.ndarray, ok: np.ndarray, cfg: Any
) -> tuple[np.ndarray, Any, dict[str, Any]]:
    """The semantic pair search over a corpus in ordinals, as both executors run it: documents
    whose vector is all zeros (no known token: no direction) are left out of ``ok`` (eligible
    documents, updated in place), exact copies are grouped, and the members to search
    (:func:`~neardup.stages.window.search_members`) are searched
    (:func:`neardup.semantic.search.search`). Returns the exact edges ``(representative,
    copy)``, the search's result and how it ran (stats.json's ``parameters.semantic``)."""
    from neardup.semantic.search import search

    ok &= vectors.any(axis=1)
    ex_edges, reps = exact_groups(exact, ok)
    reps = search_members(reps, ok, cfg.window is not None)
    found = search(
        vectors,
        reps,
        exact,
        cfg.threshold,
        mode=cfg.semantic_search,
        probes=cfg.semantic_probes,
        seed=cfg.seed,
    )
    info = {
        "search": found.search,
        "buckets": found.buckets,
        "probes": found.probes,
        "documents_at_cap": found.at_cap,
    }
    return ex_edges, found, info


def search_partition(table: pa.Table, cfg: Any) -> SearchResult:
    """Stage: the semantic pair search over the whole corpus. Input: one row per accepted
    document with ``pos``, ``exact_hi``, ``exact_lo``, ``n_set`` and ``sig`` (its vector);
    ``cfg`` the run's :class:`~neardup.config.DedupConfig`. Output positions, not ordinals."""
    order = np.argsort(column(table, "pos").astype(np.int64), kind="stable")
    table = table.take(pa.array(order))
    pos = column(table, "pos").astype(np.int64)
    n = pos.size
    # the local run's exact hashes are uint64: their order decides the search's order
    exact = np.stack(
        [column(table, "exact_hi").astype(np.int64), column(table, "exact_lo").astype(np.int64)],
        axis=1,
    ).view(np.uint64)
    vectors = unpacked_vectors(table.column("sig")) if n else np.zeros((0, 1), np.float32)
    if vectors.shape[1] == 0:
        vectors = np.zeros((n, 1), np.float32)
    ok = eligible(column(table, "n_set").astype(np.int64))
    ex_edges, found, info = semantic_search(vectors, exact, ok, cfg)
    return SearchResult(
        exact_edges=pos[ex_edges] if ex_edges.size else np.zeros((0, 2), np.int64),
        pairs=pos[found.pairs] if found.pairs.size else np.zeros((0, 2), np.int64),
        cosine=found.cosine,
        candidates=int(found.candidates),
        bins=similarity_histogram(found.cosine),
        search=info,
    )
