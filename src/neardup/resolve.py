"""The local schedule of the corpus-level stages: exact groups → LSH candidates → verification
→ clusters → keepers.

:func:`resolve` turns the :class:`~neardup.pipeline.Fingerprints` of a corpus into one decision
per document: kept, or removed in favour of a kept document with the similarity and the reason.
Every decision is a function of :mod:`neardup.stages.decide`, called here once on the whole
corpus (the Spark executor calls the same functions once per partition of whole groups).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from neardup.candidates.lsh import VERIFIED_RECALL, LSHParams, candidate_pairs, lsh_params
from neardup.cluster import components
from neardup.config import DedupConfig
from neardup.pipeline import Fingerprints
from neardup.stages.decide import (
    REASON_EXACT,
    REASON_NAMES,
    REASON_NEAR,
    REASON_NONE,
    accept_pairs,
    cluster_counts,
    decide,
    document_counts,
    eligible,
    exact_groups,
    histogram_report,
    similarity_histogram,
)
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
    ex_edges, reps = exact_groups(fp.exact, ok)
    cand = candidate_pairs(fp.signatures, reps, lsh.bands, lsh.rows, max_bucket=cfg.max_bucket)

    def similarity(pairs: np.ndarray) -> np.ndarray:
        if cfg.verify:
            return exact_similarity(fp.shingles, pairs)
        return estimate_pairs(fp.signatures, pairs)

    sims = similarity(cand)
    accepted = cand[accept_pairs(sims, cfg.threshold)]
    edges = np.concatenate([ex_edges, accepted]) if accepted.size else ex_edges
    labels, roots = components(n, edges)
    d = decide(
        labels,
        roots,
        policy=cfg.keep,
        clustering=cfg.clustering,
        lengths=fp.lengths,
        keep_values=fp.keep_values,
        ids=fp.ids,
        exact=fp.exact,
        exact_edges=ex_edges,
        near_edges=accepted,
        similarity=similarity,
    )
    counts = {
        **document_counts(fp.shingles.counts, fp.modes),
        **cluster_counts(d.labels, d.removed, d.reason),
        "candidate_pairs": int(cand.shape[0]),
        "verified_pairs": int(accepted.shape[0]),
        "rejected_pairs": int(cand.shape[0] - accepted.shape[0]),
        "exact_pairs": int(ex_edges.shape[0]),
    }
    return Resolution(
        lsh,
        d.labels,
        d.roots,
        d.keepers,
        d.similarity,
        d.reason,
        d.removed,
        counts,
        histogram_report(similarity_histogram(sims), cfg.verify),
    )


__all__ = [
    "REASON_EXACT",
    "REASON_NAMES",
    "REASON_NEAR",
    "REASON_NONE",
    "Resolution",
    "choose_lsh",
    "resolve",
]
