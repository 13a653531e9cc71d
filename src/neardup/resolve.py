"""Corpus-level stages: exact groups → LSH candidates → verification → clusters → keepers.

:func:`resolve` turns the :class:`~neardup.pipeline.Fingerprints` of a corpus into one decision
per document: kept, or removed in favour of a kept document with the similarity and the reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from neardup.candidates.lsh import VERIFIED_RECALL, LSHParams, candidate_pairs, lsh_params
from neardup.cluster import components, star_groups
from neardup.config import DedupConfig
from neardup.keep import choose_keepers, keeper_rank
from neardup.pipeline import Fingerprints
from neardup.verify import estimate_pairs, exact_similarity

REASON_NONE, REASON_EXACT, REASON_NEAR = 0, 1, 2
REASON_NAMES = {REASON_EXACT: "exact", REASON_NEAR: "near"}


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
    histogram: dict[str, list] = field(default_factory=dict)


def choose_lsh(cfg: DedupConfig) -> LSHParams:
    """The banding for a config: explicit bands/rows, or :func:`lsh_params`."""
    if cfg.bands is not None and cfg.rows is not None:
        return LSHParams.of(cfg.threshold, cfg.bands, cfg.rows, cfg.num_perm)
    if cfg.verify:
        return lsh_params(cfg.threshold, cfg.num_perm, recall_at_threshold=VERIFIED_RECALL)
    return lsh_params(cfg.threshold, cfg.num_perm)


def exact_groups(exact: np.ndarray, eligible: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For the ``eligible`` documents, group equal exact hashes.

    Returns ``(edges, representatives)``: edges join each copy to its group's first member, and
    the representatives (first member of each group, sorted) go on to near-duplicate search."""
    idx = np.flatnonzero(eligible)
    if idx.size == 0:
        return np.zeros((0, 2), np.int64), idx
    keys = exact[idx]
    order = np.lexsort((idx, keys[:, 1], keys[:, 0]))
    sk = keys[order]
    new_group = np.ones(idx.size, dtype=bool)
    new_group[1:] = (sk[1:] != sk[:-1]).any(axis=1)
    group = np.cumsum(new_group) - 1
    first = idx[order][new_group]
    rep_of = first[group]
    members = idx[order]
    copies = members != rep_of
    edges = np.stack([rep_of[copies], members[copies]], axis=1).astype(np.int64)
    return edges, np.sort(first)


def resolve(fp: Fingerprints, cfg: DedupConfig, lsh: LSHParams | None = None) -> Resolution:
    """Exact groups → LSH candidates → verification → clusters → keepers → per-doc decisions."""
    lsh = lsh or choose_lsh(cfg)
    n = len(fp)
    eligible = fp.shingles.counts > 0  # empty documents are never duplicates
    ex_edges, reps = exact_groups(fp.exact, eligible)
    cand = candidate_pairs(fp.signatures, reps, lsh.bands, lsh.rows, max_bucket=cfg.max_bucket)
    if cfg.verify:
        sims = exact_similarity(fp.shingles, cand)
    else:
        sims = estimate_pairs(fp.signatures, cand)
    accepted = cand[sims >= cfg.threshold]
    edges = np.concatenate([ex_edges, accepted]) if accepted.size else ex_edges
    labels, roots = components(n, edges)
    ids = fp.ids
    if cfg.clustering == "star":
        rank = keeper_rank(cfg.keep, fp.lengths, fp.keep_values, ids)
        labels, roots = star_groups(n, labels, ex_edges, accepted, rank)
    keepers = choose_keepers(cfg.keep, labels, roots, fp.lengths, fp.keep_values, ids)
    in_cluster = labels >= 0
    ref = np.full(n, -1, dtype=np.int64)
    ref_of_cluster = np.where(keepers >= 0, keepers, roots)
    ref[in_cluster] = ref_of_cluster[labels[in_cluster]]
    if cfg.keep.kind == "none":
        removed = in_cluster.copy()
    else:
        removed = np.zeros(n, dtype=bool)
        removed[in_cluster] = np.flatnonzero(in_cluster) != keepers[labels[in_cluster]]
    similarity = np.full(n, np.nan, dtype=np.float64)
    reason = np.zeros(n, dtype=np.uint8)
    sel = np.flatnonzero(removed)
    if sel.size:
        pairs = np.stack([sel, ref[sel]], axis=1).astype(np.int64)
        self_ref = pairs[:, 0] == pairs[:, 1]
        if cfg.verify:
            s = exact_similarity(fp.shingles, pairs)
        else:
            s = estimate_pairs(fp.signatures, pairs)
        same = (fp.exact[sel] == fp.exact[ref[sel]]).all(axis=1)
        s[same] = 1.0
        rsn = np.where(same, REASON_EXACT, REASON_NEAR).astype(np.uint8)
        if self_ref.any():
            # keep=none: the first member is compared with its closest fellow member
            cl, other = labels[sel], ~self_ref
            best = np.zeros(roots.size)
            np.maximum.at(best, cl[other], s[other])
            any_exact = np.zeros(roots.size, dtype=bool)
            np.logical_or.at(any_exact, cl[other], rsn[other] == REASON_EXACT)
            s[self_ref] = best[cl[self_ref]]
            rsn[self_ref] = np.where(any_exact[cl[self_ref]], REASON_EXACT, REASON_NEAR)
        similarity[sel] = s
        reason[sel] = rsn
    counts = {
        "candidate_pairs": int(cand.shape[0]),
        "verified_pairs": int(accepted.shape[0]),
        "rejected_pairs": int(cand.shape[0] - accepted.shape[0]),
        "exact_pairs": int(ex_edges.shape[0]),
        "empty_documents": int((~eligible).sum()),
    }
    hist, edges_ = np.histogram(sims, bins=50, range=(0.0, 1.0))
    histogram = {
        "bin_edges": [round(float(e), 2) for e in edges_],
        "candidate_pairs": hist.tolist(),
        "measure": "exact Jaccard" if cfg.verify else "MinHash estimate",
    }
    return Resolution(lsh, labels, roots, keepers, similarity, reason, removed, counts, histogram)
