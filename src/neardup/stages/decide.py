"""Corpus-level decisions, each one numpy function over whole groups.

The local executor calls every function here once, on the whole corpus; the Spark executor calls
the same function once per partition, after a shuffle that puts whole groups (exact-hash groups,
id groups, connected components, clusters) in one partition. Nothing here knows which of the two
called it, and no decision is written anywhere else — not in numpy elsewhere, not in SQL.

Order is the only thing a decision depends on: documents are numbered in input order within the
arrays passed in (the global position ``source << 40 | line`` sorts the same way), so the first
member of a group, a cluster's root, keeper ties and cluster numbering agree between a call on the
whole corpus and calls on any split of it into whole groups.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson

from neardup.cluster import star_groups
from neardup.config import KeepPolicy
from neardup.errors import DuplicateIdError
from neardup.keep import choose_keepers, correction_flags, first_of_each, keeper_rank

REASON_NONE, REASON_EXACT, REASON_NEAR, REASON_CONTAINED, REASON_SEMANTIC = 0, 1, 2, 3, 4
REASON_NAMES = {
    REASON_EXACT: "exact",
    REASON_NEAR: "near",
    REASON_CONTAINED: "contained",
    REASON_SEMANTIC: "semantic",
}
HISTOGRAM_BINS = 50
#: counts of :func:`cluster_counts`; all add up across groups except ``largest_cluster`` (max)
CLUSTER_COUNTS = (
    "removed",
    "removed_exact",
    "clusters",
    "largest_cluster",
    "documents_in_clusters",
)

Similarity = Callable[[np.ndarray], np.ndarray]


def eligible(n_set: np.ndarray) -> np.ndarray:
    """Documents that can be duplicates: those with at least one shingle (an empty document
    is never a duplicate of another)."""
    return np.asarray(n_set) > 0


def document_counts(n_set: np.ndarray, modes: np.ndarray) -> dict[str, int]:
    """Document counts of stats.json from the shingle-set sizes and shingling modes (2 =
    character shingles); counts of disjoint sets of documents add up."""
    return {
        "documents": int(np.asarray(n_set).size),
        "empty_documents": int((~eligible(n_set)).sum()),
        "character_shingled_documents": int((np.asarray(modes) == 2).sum()),
    }


def exact_groups(exact: np.ndarray, eligible: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Group equal exact hashes among the ``eligible`` documents (``exact``: ``(n, 2)``).

    Returns ``(edges, representatives)``: edges join each copy to its group's first member in
    input order, and the representatives (first member of each group, sorted) go on to the
    near-duplicate search."""
    idx = np.flatnonzero(eligible)
    if idx.size == 0:
        return np.zeros((0, 2), np.int64), idx.astype(np.int64)
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
    return edges, np.sort(first).astype(np.int64)


def accept_pairs(similarity: np.ndarray, threshold: float) -> np.ndarray:
    """Which candidate pairs are duplicates: similarity at or above the threshold."""
    return np.asarray(similarity, dtype=np.float64) >= threshold


def similarity_histogram(similarity: np.ndarray) -> np.ndarray:
    """Counts of candidate-pair similarities in 50 equal bins on [0, 1]; counts of disjoint
    sets of pairs add up."""
    return np.histogram(similarity, bins=HISTOGRAM_BINS, range=(0.0, 1.0))[0].astype(np.int64)


def histogram_report(counts: np.ndarray, verify: bool, method: str = "minhash") -> dict[str, Any]:
    """The ``similarity_histogram`` entry of stats.json (under method semantic: the cosines of
    the verified pairs)."""
    edges = np.linspace(0.0, 1.0, HISTOGRAM_BINS + 1)
    measure = "exact Jaccard" if verify else "MinHash estimate"
    return {
        "bin_edges": [round(float(e), 2) for e in edges],
        "candidate_pairs": [int(c) for c in counts],
        "measure": "embedding cosine" if method == "semantic" else measure,
    }


def duplicate_id_error(
    key: str, first_at: str, again_source: str, again_line: Any, id_field: str
) -> DuplicateIdError:
    """The error for an id seen a second time (``first_at``: ``SOURCE:LINE`` of the first)."""
    return DuplicateIdError(
        f"id '{key}' appears twice: first at {first_at}, again at {again_source}:{again_line}",
        path=again_source,
        line=again_line if isinstance(again_line, int) else None,
        field=id_field,
        remedy="make ids unique, drop the id field to have ids generated, or pass "
        "--on-error skip to keep only the first",
    )


@dataclass(frozen=True, slots=True)
class Decisions:
    """One decision per document of the arrays given to :func:`decide`.

    ``labels``/``roots``: clusters after the clustering rule (numbered by first member);
    ``keepers``: kept member per cluster (-1 under ``keep=none``); ``similarity`` of each
    removed document to its cluster's reference (the keeper; under ``keep=none`` the first
    member, itself compared with its closest fellow member), NaN when kept; ``reason`` a
    ``REASON_*`` code."""

    labels: np.ndarray
    roots: np.ndarray
    keepers: np.ndarray
    removed: np.ndarray
    similarity: np.ndarray
    reason: np.ndarray


def decide(
    labels: np.ndarray,
    roots: np.ndarray,
    *,
    policy: KeepPolicy,
    clustering: str,
    lengths: np.ndarray,
    keep_values: Sequence[Any],
    ids: Sequence[Any],
    exact: np.ndarray,
    exact_edges: np.ndarray,
    near_edges: np.ndarray,
    similarity: Similarity,
    demote: np.ndarray | None = None,
) -> Decisions:
    """Clusters → (star groups) → keepers → which documents go, their similarity and reason.

    ``labels``/``roots`` are connected components as :func:`neardup.cluster.components` gives
    them; ``exact`` the ``(n, 2)`` exact hashes; ``exact_edges`` join copies to their
    representative and ``near_edges`` are the verified pairs; ``similarity(pairs)`` measures
    ``(k, 2)`` index pairs (exact Jaccard of the shingle sets, or the MinHash estimate). A copy
    whose exact hash equals its reference's has similarity 1 and reason ``exact``. ``demote``
    marks documents contained in a longer one: the keeper policy chooses among the others
    (under ``corrected`` a correction is never demoted: a corrected take that is shorter than
    the original still wins)."""
    n = lengths.size
    if demote is not None and policy.kind == "corrected":
        demote = demote & ~correction_flags(keep_values)
    demoted = demote is not None and bool(demote.any()) and policy.kind != "none"
    rank = None
    if clustering == "star" or demoted:
        rank = keeper_rank(policy, lengths, keep_values, ids)
        if demoted and demote is not None:
            rank = rank + demote.astype(np.int64) * n
    if clustering == "star" and rank is not None:
        labels, roots = star_groups(n, labels, exact_edges, near_edges, rank)
    if demoted and rank is not None:
        keepers = keepers_by_rank(labels, roots, rank)
    else:
        keepers = choose_keepers(policy, labels, roots, lengths, keep_values, ids)
    in_cluster = labels >= 0
    ref = np.full(n, -1, dtype=np.int64)
    ref_of_cluster = np.where(keepers >= 0, keepers, roots)
    ref[in_cluster] = ref_of_cluster[labels[in_cluster]]
    if policy.kind == "none":
        removed = in_cluster.copy()
    else:
        removed = np.zeros(n, dtype=bool)
        removed[in_cluster] = np.flatnonzero(in_cluster) != keepers[labels[in_cluster]]
    sim_out = np.full(n, np.nan, dtype=np.float64)
    reason = np.zeros(n, dtype=np.uint8)
    sel = np.flatnonzero(removed)
    if sel.size:
        pairs = np.stack([sel, ref[sel]], axis=1).astype(np.int64)
        self_ref = pairs[:, 0] == pairs[:, 1]
        s = np.asarray(similarity(pairs), dtype=np.float64)
        same = (exact[sel] == exact[ref[sel]]).all(axis=1)
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
        sim_out[sel] = s
        reason[sel] = rsn
    return Decisions(labels, roots, keepers, removed, sim_out, reason)


def keepers_by_rank(labels: np.ndarray, roots: np.ndarray, rank: np.ndarray) -> np.ndarray:
    """The member of lowest ``rank`` of each cluster."""
    keepers = roots.astype(np.int64).copy()
    members = np.flatnonzero(labels >= 0)
    if members.size:
        order = np.lexsort((rank[members], labels[members]))
        first_of_each(members[order], labels[members][order], roots.size, keepers)
    return keepers


def contained_reasons(
    d: Decisions,
    threshold: float,
    containment: float,
    overlap: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Reasons and containments of removed documents when containment is on.

    ``overlap(pairs)`` gives ``(C(a ⊆ b), C(b ⊆ a))`` for ``(k, 2)`` pairs. A removed document
    whose Jaccard similarity to its keeper is below ``threshold`` but which is at least
    ``containment`` inside it gets reason ``contained``. Returns ``(reason, containment,
    containment_reverse)``, NaN where not measured."""
    n = d.reason.size
    c_out = np.full(n, np.nan)
    r_out = np.full(n, np.nan)
    reason = d.reason.copy()
    sel = np.flatnonzero(d.removed & (d.labels >= 0))
    if sel.size == 0:
        return reason, c_out, r_out
    ref_of_cluster = np.where(d.keepers >= 0, d.keepers, d.roots)
    ref = ref_of_cluster[d.labels[sel]]
    other = ref != sel
    sel, ref = sel[other], ref[other]
    if sel.size == 0:
        return reason, c_out, r_out
    c, rev = overlap(np.stack([sel, ref], axis=1).astype(np.int64))
    c_out[sel], r_out[sel] = c, rev
    inside = (reason[sel] == REASON_NEAR) & (d.similarity[sel] < threshold) & (c >= containment)
    reason[sel[inside]] = REASON_CONTAINED
    return reason, c_out, r_out


def star_edges_without_chains(
    d: Decisions,
    edges: np.ndarray,
    contained: np.ndarray,
    containment: np.ndarray,
    threshold: float,
    c_threshold: float,
) -> np.ndarray | None:
    """Edges that cut chains through containment, or ``None`` when no chain needs cutting.

    In a cluster joined by at least one containment edge (``contained`` lists the contained
    documents), a removed member must be a near duplicate of its keeper (Jaccard ≥
    ``threshold``), inside it (``containment`` ≥ ``c_threshold``) or an exact copy; a member
    reached only through a chain (a short note contained in a long post that is itself near
    another) is not. Such clusters are rebuilt as stars of their valid members around the
    keeper; other clusters keep their ``edges``."""
    if d.roots.size == 0 or contained.size == 0:
        return None
    has = np.zeros(d.roots.size, dtype=bool)
    in_cl = d.labels[contained]
    has[in_cl[in_cl >= 0]] = True
    member = (d.labels >= 0) & has[np.maximum(d.labels, 0)]
    ok = (
        (d.reason == REASON_EXACT)
        | (np.nan_to_num(d.similarity, nan=0.0) >= threshold)
        | (np.nan_to_num(containment, nan=0.0) >= c_threshold)
    )
    bad = member & d.removed & ~ok
    if not bad.any():
        return None
    ref_of_cluster = np.where(d.keepers >= 0, d.keepers, d.roots)
    keep_edge = ~member[edges[:, 0]] if edges.size else np.zeros(0, dtype=bool)
    x = np.flatnonzero(member & d.removed & ok)
    star = np.stack([x, ref_of_cluster[d.labels[x]]], axis=1).astype(np.int64)
    star = star[star[:, 0] != star[:, 1]]
    return np.concatenate([edges[keep_edge], star]) if star.size else edges[keep_edge]


def cluster_counts(labels: np.ndarray, removed: np.ndarray, reason: np.ndarray) -> dict[str, int]:
    """The cluster counts of stats.json for documents holding whole clusters."""
    sizes = np.unique(labels[labels >= 0], return_counts=True)[1]
    return {
        "removed": int(removed.sum()),
        "removed_exact": int((removed & (reason == REASON_EXACT)).sum()),
        "clusters": int(sizes.size),
        "largest_cluster": int(sizes.max()) if sizes.size else 0,
        "documents_in_clusters": int(sizes.sum()),
    }


def merge_counts(parts: Sequence[dict[str, int]]) -> dict[str, int]:
    """Counts of disjoint groups combined: sums, and the largest cluster's size."""
    out = dict.fromkeys(CLUSTER_COUNTS, 0)
    for part in parts:
        for key in CLUSTER_COUNTS:
            if key == "largest_cluster":
                out[key] = max(out[key], int(part[key]))
            else:
                out[key] += int(part[key])
    return out


def cluster_lines(
    cluster_ids: np.ndarray,
    ids: Sequence[Any],
    removed: np.ndarray,
    similarity: np.ndarray,
    reason: np.ndarray,
    kept_ids: Sequence[Any],
) -> list[bytes]:
    """One clusters.jsonl line per cluster, from its members sorted by ``(cluster_id, input
    order)``: size, kept id, members, min/max similarity of the removed ones and each removed
    member with its similarity and reason. ``kept_ids`` is the kept id of each member's
    cluster (None under ``keep=none``)."""
    lines: list[bytes] = []
    if cluster_ids.size == 0:
        return lines
    bounds = np.flatnonzero(np.diff(cluster_ids)) + 1
    starts = np.concatenate([[0], bounds]).tolist()
    ends = np.concatenate([bounds, [cluster_ids.size]]).tolist()
    for lo, hi in zip(starts, ends, strict=True):
        members = list(ids[lo:hi])
        gone = [k for k in range(hi - lo) if removed[lo + k]]
        sims = [round(float(similarity[lo + k]), 6) for k in gone]
        lines.append(
            orjson.dumps(
                {
                    "cluster_id": int(cluster_ids[lo]),
                    "size": hi - lo,
                    "kept_id": kept_ids[lo],
                    "members": members,
                    "min_similarity": min(sims),
                    "max_similarity": max(sims),
                    "removed": [
                        {
                            "id": members[k],
                            "similarity": s,
                            "reason": REASON_NAMES[int(reason[lo + k])],
                        }
                        for k, s in zip(gone, sims, strict=True)
                    ],
                },
                option=orjson.OPT_APPEND_NEWLINE,
            )
        )
    return lines


def stats_counts(counts: dict[str, int]) -> dict[str, int]:
    """The counts block of stats.json, in its order, from :func:`document_counts`,
    :func:`cluster_counts` and the pair counts (``candidate_pairs``, ``verified_pairs``,
    ``exact_pairs``)."""
    n, removed, exact = counts["documents"], counts["removed"], counts["removed_exact"]
    contained = counts.get("removed_contained", 0)
    semantic = counts.get("removed_semantic", 0)
    out = {
        "documents": n,
        "kept": n - removed,
        "removed": removed,
        "removed_exact": exact,
        "removed_near": removed - exact - contained - semantic,
        "clusters": counts["clusters"],
        "largest_cluster": counts["largest_cluster"],
        "documents_in_clusters": counts["documents_in_clusters"],
        "candidate_pairs": counts["candidate_pairs"],
        "verified_pairs": counts["verified_pairs"],
        "rejected_pairs": counts["candidate_pairs"] - counts["verified_pairs"],
        "exact_pairs": counts["exact_pairs"],
        "empty_documents": counts["empty_documents"],
    }
    if "removed_contained" in counts:
        out["removed_contained"] = contained
        out["containment_pairs"] = counts["containment_pairs"]
    if "removed_semantic" in counts:
        out["removed_semantic"] = semantic
    for name in ("window_rejected_pairs", "window_undated_documents"):  # --window
        if name in counts:
            out[name] = counts[name]
    return out
