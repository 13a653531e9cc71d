"""Stages from connected components to decisions and cluster lines.

:func:`decide_partition` runs :func:`neardup.stages.decide.decide` — the function the local
executor runs once on the whole corpus — on the whole components of one partition;
:func:`cluster_partition` renders clusters.jsonl lines and counts with
:func:`~neardup.stages.decide.cluster_lines` and :func:`~neardup.stages.decide.cluster_counts`.
"""

from __future__ import annotations

import pickle
from collections.abc import Iterator
from dataclasses import replace

import numpy as np
import orjson
import pyarrow as pa

from neardup.cluster import components
from neardup.config import KeepPolicy
from neardup.sharedtext.containment import overlaps, quoted_by_another
from neardup.stages.arrow import (
    CLUSTER_SCHEMA,
    COUNTS_ROW,
    DECISION_SCHEMA,
    column,
    unpack,
    whole,
)
from neardup.stages.containment import PackedSets
from neardup.stages.decide import (
    REASON_CONTAINED,
    REASON_NEAR,
    REASON_SEMANTIC,
    Decisions,
    cluster_counts,
    cluster_lines,
    contained_reasons,
    decide,
    star_edges_without_chains,
)
from neardup.verify import estimate_pairs, jaccard_pairs

MEMBER, EXACT_EDGE, NEAR_EDGE, CONTAINED_EDGE = 0, 1, 2, 3


def decide_partition(
    batches: Iterator[pa.RecordBatch],
    policy: KeepPolicy,
    clustering: str,
    measure: str,
    num_perm: int,
    containment: tuple[float, float, bool] | None = None,
) -> Iterator[pa.RecordBatch]:
    """Stage: the decisions of whole components.

    Input, sorted by ``(root, kind, pos)``: member rows (``kind`` 0: ``root``, ``pos``,
    ``length``, ``keep``, ``id``, ``exact_hi``, ``exact_lo`` and ``data``, the packed shingle
    set, signature or, with ``measure`` cosine (method semantic), unit vector) and, for
    ``star`` or with containment, edge rows (``kind`` 1: exact copy →
    representative as ``(pos=copy, b=rep)``; ``kind`` 2: verified near edge ``(pos=a, b)``;
    ``kind`` 3: ``pos`` contained in ``b``). Output: one :data:`DECISION_SCHEMA` row per
    document still in a cluster.

    ``containment``: ``(threshold, containment, bodies)`` when containment is on: member rows
    then also carry ``own`` and ``body``, their packed own and body shingle sets (``bodies``:
    some document of the corpus has a body apart from its text, so bodies count), and
    ``author`` and ``reply`` (a reply by another author quotes, it does not contain); the
    component is decided as the local schedule decides the corpus
    (:func:`neardup.resolve.resolve`): contained documents demoted,
    :func:`~neardup.stages.decide.contained_reasons`, and clusters that chain through
    containment rebuilt by :func:`~neardup.stages.decide.star_edges_without_chains` and decided
    again."""
    table = whole(batches)
    if table is None:
        return
    kind = column(table, "kind")
    is_member = kind == MEMBER
    mt = table.filter(pa.array(is_member))
    pos = column(mt, "pos").astype(np.int64)
    root = column(mt, "root").astype(np.int64)
    m = pos.size
    new = np.ones(m, dtype=bool)
    new[1:] = root[1:] != root[:-1]
    labels = (np.cumsum(new) - 1).astype(np.int64)
    roots = np.flatnonzero(new).astype(np.int64)
    order = np.argsort(pos, kind="stable")

    def local(p: np.ndarray) -> np.ndarray:
        return order[np.searchsorted(pos[order], p)]

    exact_edges = np.zeros((0, 2), np.int64)
    near_edges = np.zeros((0, 2), np.int64)
    c_edges = np.zeros((0, 2), np.int64)
    if not is_member.all():
        et = table.filter(pa.array(~is_member))
        ek = column(et, "kind")
        a = local(column(et, "pos").astype(np.int64))
        b = local(column(et, "b").astype(np.int64))
        copy, near = ek == EXACT_EDGE, ek == NEAR_EDGE
        exact_edges = np.stack([b[copy], a[copy]], axis=1)
        near_edges = np.sort(np.stack([a[near], b[near]], axis=1), axis=1)
        inside = ek == CONTAINED_EDGE
        c_edges = np.stack([a[inside], b[inside]], axis=1)
    values, offsets = unpack(mt.column("data"))
    if measure == "cosine":  # method semantic: ``data`` holds the unit vectors
        from neardup.semantic.search import cosine_pairs
        from neardup.stages.semantic import unpacked_vectors

        vectors = unpacked_vectors(mt.column("data"))

    def similarity(pairs: np.ndarray) -> np.ndarray:
        if measure == "cosine":
            return cosine_pairs(vectors, pairs)
        if measure == "jaccard":
            return jaccard_pairs(values, offsets, pairs)
        return estimate_pairs(values.reshape(m, num_perm), pairs)

    id_bytes = mt.column("id").to_pylist()
    demote = None
    if containment is not None:
        demote = np.zeros(m, dtype=bool)
        demote[c_edges[:, 0]] = True

    def decided(labels: np.ndarray, roots: np.ndarray) -> Decisions:
        return decide(
            labels,
            roots,
            policy=policy,
            clustering=clustering,
            lengths=column(mt, "length").astype(np.int64),
            keep_values=[pickle.loads(v) for v in mt.column("keep").to_pylist()],
            ids=[pickle.loads(v) for v in id_bytes],
            exact=np.stack([column(mt, "exact_hi"), column(mt, "exact_lo")], axis=1),
            exact_edges=exact_edges,
            near_edges=np.concatenate([near_edges, c_edges]) if c_edges.size else near_edges,
            similarity=similarity,
            demote=demote,
        )

    d = decided(labels, roots)
    reason = d.reason
    c_in = c_rev = np.full(m, np.nan)
    if containment is not None:
        threshold, c_threshold, bodies = containment
        own = PackedSets(*unpack(mt.column("own")))
        body = PackedSets(*unpack(mt.column("body"))) if bodies else None

        authors = column(mt, "author").astype(np.int64).view(np.uint64)
        replies = column(mt, "reply").astype(bool)

        def overlap(pairs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            c, rev, _ = overlaps(own, body, pairs)
            if authors.size:  # a reply by another author quotes, it does not contain
                c[quoted_by_another(pairs, authors, replies)] = 0.0
            return c, rev

        reason, c_in, c_rev = contained_reasons(d, threshold, c_threshold, overlap)
        d = replace(d, reason=reason)
        edges = np.concatenate([exact_edges, near_edges, c_edges]).astype(np.int64)
        star = star_edges_without_chains(d, edges, c_edges[:, 0], c_in, threshold, c_threshold)
        if star is not None:
            d = decided(*components(m, star))
            reason, c_in, c_rev = contained_reasons(d, threshold, c_threshold, overlap)
    if measure == "cosine":  # the same decisions, named for the measure that made them
        reason = np.where(reason == REASON_NEAR, REASON_SEMANTIC, reason).astype(np.uint8)
    inside = np.flatnonzero(d.labels >= 0)
    lab = d.labels[inside]
    keeper = d.keepers[lab]
    yield pa.RecordBatch.from_pydict(
        {
            "pos": pa.array(pos[inside]),
            "root": pa.array(pos[d.roots[lab]]),
            "removed": pa.array(d.removed[inside]),
            "similarity": pa.array(d.similarity[inside], mask=~d.removed[inside]),
            "reason": pa.array(reason[inside].astype(np.int8)),
            "kept_id": pa.array(
                [id_bytes[k] if k >= 0 else None for k in keeper.tolist()], pa.binary()
            ),
            "containment": pa.array(c_in[inside], mask=np.isnan(c_in[inside])),
            "containment_reverse": pa.array(c_rev[inside], mask=np.isnan(c_rev[inside])),
        },
        schema=DECISION_SCHEMA,
    )


def index_partition(
    batches: Iterator[pa.RecordBatch], offsets: dict[int, int], column: str
) -> Iterator[pa.RecordBatch]:
    """Stage: dense index of a column sorted across partitions: ``offsets[p]`` rows precede
    partition ``p`` (given in the ``pid`` column)."""
    seen: dict[int, int] = {}
    for batch in batches:
        if batch.num_rows == 0:
            continue
        pid = int(batch.column("pid")[0].as_py())
        start = offsets[pid] + seen.get(pid, 0)
        seen[pid] = seen.get(pid, 0) + batch.num_rows
        yield pa.RecordBatch.from_pydict(
            {
                column: batch.column(column),
                "index": pa.array(np.arange(start, start + batch.num_rows, dtype=np.int64)),
            }
        )


def cluster_partition(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """Stage: one clusters.jsonl line per cluster (the local writer's bytes), from members
    sorted by ``(cluster_id, pos)`` with whole clusters in one partition, and one row
    (``cluster_id`` = :data:`COUNTS_ROW`) with the partition's :func:`cluster_counts`."""
    table = whole(batches)
    if table is None:
        counts = cluster_counts(np.zeros(0, np.int64), np.zeros(0, bool), np.zeros(0, np.uint8))
        yield pa.RecordBatch.from_pydict(
            {
                "cluster_id": pa.array([COUNTS_ROW], pa.int64()),
                "value": pa.array([orjson.dumps(counts).decode()], pa.string()),
            },
            schema=CLUSTER_SCHEMA,
        )
        return
    cid = column(table, "cluster_id").astype(np.int64)
    removed = column(table, "removed").astype(bool)
    reason = column(table, "reason").astype(np.uint8)
    similarity = table.column("similarity").fill_null(np.nan).to_numpy()
    ids = [pickle.loads(v) for v in table.column("id").to_pylist()]
    kept = [pickle.loads(v) if v is not None else None for v in table.column("kept_id").to_pylist()]
    lines = cluster_lines(cid, ids, removed, similarity, reason, kept)
    firsts = cid[np.concatenate([[0], np.flatnonzero(np.diff(cid)) + 1])]
    counts = cluster_counts(cid, removed, reason)
    counts["removed_contained"] = int((removed & (reason == REASON_CONTAINED)).sum())
    yield pa.RecordBatch.from_pydict(
        {
            "cluster_id": pa.array([*firsts.tolist(), COUNTS_ROW], pa.int64()),
            "value": pa.array(
                [line[:-1].decode() for line in lines] + [orjson.dumps(counts).decode()],
                pa.string(),
            ),
        },
        schema=CLUSTER_SCHEMA,
    )
