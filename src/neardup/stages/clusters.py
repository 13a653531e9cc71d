"""Stages from connected components to decisions and cluster lines.

:func:`decide_partition` runs :func:`neardup.stages.decide.decide` — the function the local
executor runs once on the whole corpus — on the whole components of one partition;
:func:`cluster_partition` renders clusters.jsonl lines and counts with
:func:`~neardup.stages.decide.cluster_lines` and :func:`~neardup.stages.decide.cluster_counts`.
"""

from __future__ import annotations

import pickle
from collections.abc import Iterator

import numpy as np
import orjson
import pyarrow as pa

from neardup.config import KeepPolicy
from neardup.stages.arrow import (
    CLUSTER_SCHEMA,
    COUNTS_ROW,
    DECISION_SCHEMA,
    column,
    unpack,
    whole,
)
from neardup.stages.decide import cluster_counts, cluster_lines, decide
from neardup.verify import estimate_pairs, jaccard_pairs

MEMBER, EXACT_EDGE, NEAR_EDGE = 0, 1, 2


def decide_partition(
    batches: Iterator[pa.RecordBatch],
    policy: KeepPolicy,
    clustering: str,
    measure: str,
    num_perm: int,
) -> Iterator[pa.RecordBatch]:
    """Stage: the decisions of whole components.

    Input, sorted by ``(root, kind, pos)``: member rows (``kind`` 0: ``root``, ``pos``,
    ``length``, ``keep``, ``id``, ``exact_hi``, ``exact_lo`` and ``data``, the packed shingle
    set or signature) and, for ``star``, edge rows (``kind`` 1: exact copy → representative as
    ``(pos=copy, b=rep)``; ``kind`` 2: verified near edge ``(pos=a, b)``). Output: one
    :data:`DECISION_SCHEMA` row per document still in a cluster."""
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
    if clustering == "star" and not is_member.all():
        et = table.filter(pa.array(~is_member))
        ek = column(et, "kind")
        a = local(column(et, "pos").astype(np.int64))
        b = local(column(et, "b").astype(np.int64))
        copy = ek == EXACT_EDGE
        exact_edges = np.stack([b[copy], a[copy]], axis=1)
        near_edges = np.sort(np.stack([a[~copy], b[~copy]], axis=1), axis=1)
    values, offsets = unpack(mt.column("data"))

    def similarity(pairs: np.ndarray) -> np.ndarray:
        if measure == "jaccard":
            return jaccard_pairs(values, offsets, pairs)
        return estimate_pairs(values.reshape(m, num_perm), pairs)

    id_bytes = mt.column("id").to_pylist()
    d = decide(
        labels,
        roots,
        policy=policy,
        clustering=clustering,
        lengths=column(mt, "length").astype(np.int64),
        keep_values=[pickle.loads(v) for v in mt.column("keep").to_pylist()],
        ids=[pickle.loads(v) for v in id_bytes],
        exact=np.stack([column(mt, "exact_hi"), column(mt, "exact_lo")], axis=1),
        exact_edges=exact_edges,
        near_edges=near_edges,
        similarity=similarity,
    )
    inside = np.flatnonzero(d.labels >= 0)
    lab = d.labels[inside]
    keeper = d.keepers[lab]
    yield pa.RecordBatch.from_pydict(
        {
            "pos": pa.array(pos[inside]),
            "root": pa.array(pos[d.roots[lab]]),
            "removed": pa.array(d.removed[inside]),
            "similarity": pa.array(d.similarity[inside], mask=~d.removed[inside]),
            "reason": pa.array(d.reason[inside].astype(np.int8)),
            "kept_id": pa.array(
                [id_bytes[k] if k >= 0 else None for k in keeper.tolist()], pa.binary()
            ),
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
