"""The local schedule of the corpus-level stages: exact groups → LSH candidates → verification
→ clusters → keepers.

:func:`resolve` turns the :class:`~neardup.pipeline.Fingerprints` of a corpus into one decision
per document: kept, or removed in favour of a kept document with the similarity and the reason.
Every decision is a function of :mod:`neardup.stages.decide`, called here once on the whole
corpus (the Spark executor calls the same functions once per partition of whole groups).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from neardup.candidates.lsh import VERIFIED_RECALL, LSHParams, candidate_pairs, lsh_params
from neardup.cluster import components
from neardup.config import DedupConfig
from neardup.pipeline import Fingerprints
from neardup.sharedtext.containment import (
    Contained,
    OwnSets,
    best_containers,
    contained_pairs,
    overlaps,
    quoted_by_another,
)
from neardup.stages.decide import (
    REASON_CONTAINED,
    REASON_EXACT,
    REASON_NAMES,
    REASON_NEAR,
    REASON_NONE,
    REASON_SEMANTIC,
    Decisions,
    accept_pairs,
    cluster_counts,
    contained_reasons,
    decide,
    document_counts,
    eligible,
    exact_groups,
    histogram_report,
    similarity_histogram,
    star_edges_without_chains,
)
from neardup.stages.window import search_members, window_pairs
from neardup.timewindow import parse_window
from neardup.verify import estimate_pairs, exact_similarity


@dataclass(slots=True)
class Resolution:
    """Outcome of the corpus-level stages: one decision per document."""

    lsh: LSHParams
    labels: np.ndarray  # cluster id per document, -1 when alone
    roots: np.ndarray  # first member of each cluster
    keepers: np.ndarray  # kept member of each cluster, -1 under keep=none
    similarity: np.ndarray  # similarity of each removed document to its keeper (NaN if kept)
    reason: np.ndarray  # REASON_* per document
    removed: np.ndarray  # bool per document
    counts: dict[str, int] = field(default_factory=dict)
    histogram: dict[str, Any] = field(default_factory=dict)
    # with containment on: C(removed ⊆ keeper) and C(keeper ⊆ removed), NaN elsewhere
    containment: np.ndarray | None = None
    containment_reverse: np.ndarray | None = None
    # with method semantic: how the pair search ran (stats.json's parameters.semantic)
    search: dict[str, Any] | None = None


def _near(pairs: np.ndarray, near: np.ndarray) -> np.ndarray:
    """Which of ``pairs`` (either orientation) are verified near-duplicate pairs: those stay
    Jaccard decisions, with their keeper chosen by the policy alone."""
    if near.size == 0:
        return np.zeros(pairs.shape[0], dtype=bool)
    key = np.sort(pairs, axis=1)
    known = np.sort(near, axis=1)
    k1 = key[:, 0].astype(np.int64) << 32 | key[:, 1]
    k2 = known[:, 0].astype(np.int64) << 32 | known[:, 1]
    return np.isin(k1, k2)


def _window(fp: Fingerprints, cfg: DedupConfig) -> tuple[np.ndarray | None, float | None]:
    """The documents' times and the window in seconds, with ``--window`` on."""
    if cfg.window is None:
        return None, None
    times = np.asarray(fp.times, dtype=np.float64)
    return times, parse_window(cfg.window)[1]


def remembered(
    measure: Callable[[np.ndarray], np.ndarray], known: np.ndarray, values: np.ndarray
) -> Callable[[np.ndarray], np.ndarray]:
    """``measure`` that answers the pairs of ``known`` (``a < b``, sorted and unique, as
    :func:`candidate_pairs` gives them) from ``values``, in either orientation, and measures
    only the others. Jaccard similarity and its MinHash estimate are symmetric, so each answer
    is the value ``measure`` gives."""
    keys = (known[:, 0].astype(np.uint64) << np.uint64(32)) | known[:, 1].astype(np.uint64)

    def measure_known(pairs: np.ndarray) -> np.ndarray:
        pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
        if keys.size == 0 or pairs.shape[0] == 0:
            return measure(pairs)
        lo = np.minimum(pairs[:, 0], pairs[:, 1]).astype(np.uint64)
        hi = np.maximum(pairs[:, 0], pairs[:, 1]).astype(np.uint64)
        wanted = (lo << np.uint64(32)) | hi
        at = np.minimum(np.searchsorted(keys, wanted), keys.size - 1)
        hit = keys[at] == wanted
        out = np.empty(pairs.shape[0], dtype=np.float64)
        out[hit] = values[at[hit]]
        if not hit.all():
            out[~hit] = measure(pairs[~hit])
        return out

    return measure_known


def choose_lsh(cfg: DedupConfig) -> LSHParams:
    """The banding for a config: explicit bands/rows, or :func:`lsh_params`."""
    if cfg.bands is not None and cfg.rows is not None:
        return LSHParams.of(cfg.threshold, cfg.bands, cfg.rows, cfg.num_perm)
    if cfg.verify:
        return lsh_params(cfg.threshold, cfg.num_perm, recall_at_threshold=VERIFIED_RECALL)
    return lsh_params(cfg.threshold, cfg.num_perm)


def resolve(fp: Fingerprints, cfg: DedupConfig, lsh: LSHParams | None = None) -> Resolution:
    """Exact groups → LSH candidates → verification → clusters → keepers → per-doc decisions."""
    lsh = lsh or choose_lsh(cfg)
    n = len(fp)
    ok = eligible(fp.shingles.counts)  # empty documents are never duplicates
    search_info = None
    similarity: Callable[[np.ndarray], np.ndarray]
    if cfg.method == "semantic":
        from neardup.semantic.search import cosine_pairs
        from neardup.stages.semantic import semantic_search

        vectors = fp.embeddings if fp.embeddings is not None else np.zeros((n, 1), np.float32)
        ex_edges, found, search_info = semantic_search(vectors, fp.exact, ok, cfg)
        cand, sims, accepted = found.pairs, found.cosine, found.pairs

        def cosine(pairs: np.ndarray) -> np.ndarray:
            return cosine_pairs(vectors, pairs)

        similarity = cosine

        counts_extra = {"candidate_pairs": found.candidates}
    else:
        ex_edges, reps = exact_groups(fp.exact, ok)
        reps = search_members(reps, ok, cfg.window is not None)
        cand = candidate_pairs(fp.signatures, reps, lsh.bands, lsh.rows, max_bucket=cfg.max_bucket)

        def measured(pairs: np.ndarray) -> np.ndarray:
            if cfg.verify:
                return exact_similarity(fp.shingles, pairs, cfg.effective_workers)
            return estimate_pairs(fp.signatures, pairs)

        preload = getattr(fp.shingles, "preload", None)
        if preload is not None and cfg.verify:  # every set verification and keepers need
            preload(np.concatenate([cand.ravel(), ex_edges.ravel()]))
        sims = measured(cand)
        # a removed document's keeper is mostly the other end of one of its candidate pairs
        similarity = remembered(measured, cand, sims)
        accepted = cand[accept_pairs(sims, cfg.threshold)]
        counts_extra = {"candidate_pairs": int(cand.shape[0])}
    verified, n_exact = int(accepted.shape[0]), int(ex_edges.shape[0])
    times, seconds = _window(fp, cfg)
    found_pairs = ex_edges.shape[0] + accepted.shape[0]
    ex_edges = window_pairs(ex_edges, times, seconds)
    accepted = window_pairs(accepted, times, seconds)
    window_dropped = found_pairs - ex_edges.shape[0] - accepted.shape[0]
    edges = np.concatenate([ex_edges, accepted]) if accepted.size else ex_edges
    linked = accepted  # the pairs a star may join: near, and with containment on, contained
    contained: Contained | None = None
    demote = None
    if cfg.containment is not None:
        own = OwnSets(fp.shingles, fp.own_sets)
        body = OwnSets(fp.shingles, fp.body_sets) if fp.body_sets else None
        contained = best_containers(
            contained_pairs(
                own,
                fp.contain_hash,
                fp.contain_doc,
                fp.own_sizes,
                threshold=float(cfg.containment),
                min_shingles=cfg.containment_min_shingles,
                body=body,
                authors=fp.authors,
                replies=fp.replies,
            )
        )
        c_edges = contained.pairs[ok[contained.pairs].all(axis=1)]
        c_edges = c_edges[~_near(c_edges, accepted)] if c_edges.size else c_edges
        before = c_edges.shape[0]
        c_edges = window_pairs(c_edges, times, seconds)
        window_dropped += before - c_edges.shape[0]
        edges = np.concatenate([edges, c_edges]) if c_edges.size else edges
        demote = np.zeros(n, dtype=bool)
        demote[c_edges[:, 0]] = True
        linked = np.concatenate([accepted, c_edges]) if c_edges.size else accepted

    def decisions(labels: np.ndarray, roots: np.ndarray) -> Decisions:
        return decide(
            labels,
            roots,
            policy=cfg.keep,
            clustering=cfg.clustering,
            lengths=fp.lengths,
            keep_values=fp.keep_values,
            ids=fp.ids,
            exact=fp.exact,
            exact_edges=ex_edges,
            near_edges=linked,
            similarity=similarity,
            demote=demote,
        )

    d = decisions(*components(n, edges))
    reason, c_in, c_rev = d.reason, None, None
    if contained is not None:

        def overlap(pairs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            c, rev, _ = overlaps(own, body, pairs)
            if fp.authors.size:  # a reply by another author quotes, it does not contain
                c[quoted_by_another(pairs, fp.authors, fp.replies)] = 0.0
            return c, rev

        c_threshold = float(cfg.containment or 1.0)
        reason, c_in, c_rev = contained_reasons(d, cfg.threshold, c_threshold, overlap)
        d = replace(d, reason=reason)
        star = star_edges_without_chains(d, edges, c_edges[:, 0], c_in, cfg.threshold, c_threshold)
        if star is not None:
            d = decisions(*components(n, star))
            reason, c_in, c_rev = contained_reasons(d, cfg.threshold, c_threshold, overlap)
    if search_info is not None:  # the same decisions, named for the measure that made them
        reason = np.where(reason == REASON_NEAR, REASON_SEMANTIC, reason).astype(np.uint8)
    release = getattr(fp.shingles, "release", None)
    if release is not None:  # the candidates' sets read again are not needed to write
        release()
    counts = {
        **document_counts(fp.shingles.counts, fp.modes),
        **cluster_counts(d.labels, d.removed, reason),
        **counts_extra,
        "verified_pairs": verified,
        "rejected_pairs": counts_extra["candidate_pairs"] - verified,
        "exact_pairs": n_exact,
    }
    if times is not None:
        counts["window_rejected_pairs"] = int(window_dropped)
        counts["window_undated_documents"] = int(np.isnan(times).sum())
    if search_info is not None:
        counts["removed_semantic"] = int((d.removed & (reason == REASON_SEMANTIC)).sum())
    if contained is not None:
        counts["containment_pairs"] = int(contained.pairs.shape[0])
        counts["removed_contained"] = int((d.removed & (reason == REASON_CONTAINED)).sum())
    return Resolution(
        lsh,
        d.labels,
        d.roots,
        d.keepers,
        d.similarity,
        reason,
        d.removed,
        counts,
        histogram_report(similarity_histogram(sims), cfg.verify, cfg.method),
        c_in,
        c_rev,
        search_info,
    )


__all__ = [
    "REASON_CONTAINED",
    "REASON_EXACT",
    "REASON_NAMES",
    "REASON_NEAR",
    "REASON_NONE",
    "REASON_SEMANTIC",
    "Resolution",
    "choose_lsh",
    "resolve",
]
