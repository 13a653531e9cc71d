"""Stages of containment (``--containment C``) on a distributed table of documents.

The local executor runs :func:`neardup.sharedtext.containment.contained_pairs` and
:func:`~neardup.sharedtext.containment.best_containers` once on the whole corpus: prefix
filtering over the winnowed fingerprints of every document's own shingle sequence, every
candidate verified on the exact sets, then one container per contained document. Here the same
steps run on partitions of whole groups:

1. :func:`fingerprint_rows_partition` — one ``(hash, pos, size)`` row per distinct fingerprint
   of a document; the document frequency of each hash is then a global count (a group-by);
2. :func:`prefix_partition` — whole documents: each one's fingerprints from the rarest, the
   prefix that any document containing it must share (the probes);
3. :func:`probe_pairs_partition` — whole hash groups: each probe paired with the documents
   holding its hash that are at least as large (ties: the earlier one);
4. :func:`verify_partition` — pairs with both documents' sets joined in: the exact containment
   (:func:`~neardup.sharedtext.containment.overlaps`), kept at or above the threshold;
5. :func:`best_partition` — whole groups of pairs by contained document:
   :func:`~neardup.sharedtext.containment.best_containers`.

Steps 1–3 are the steps of :func:`~neardup.sharedtext.containment.candidates`, with the same
constants and the same arithmetic, so the union of the pairs of all partitions is the local
run's set of candidates; steps 4 and 5 call the local functions.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pyarrow as pa

from neardup.sharedtext.containment import (
    Contained,
    best_containers,
    overlaps,
    probes,
    quoted_by_another,
)
from neardup.stages.arrow import column, unpack, unpack64, whole
from neardup.stages.decide import eligible

#: one distinct fingerprint of a document: its hash (uint64 bits), the document and the length
#: of its own shingle sequence
CONTAIN_FP_SCHEMA = pa.schema([("hash", pa.int64()), ("pos", pa.int64()), ("size", pa.int64())])
#: a verified pair: ``a`` is contained in ``b`` (``containment``; ``reverse``: ``b`` in ``a``);
#: ``edge``: both documents can be duplicates
CONTAINED_SCHEMA = pa.schema(
    [
        ("a", pa.int64()),
        ("b", pa.int64()),
        ("containment", pa.float64()),
        ("reverse", pa.float64()),
        ("edge", pa.bool_()),
    ]
)
CONTAIN_PAIR_SCHEMA = pa.schema([("a", pa.int64()), ("b", pa.int64())])


def fingerprint_rows_partition(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """Stage: the distinct containment fingerprints of each document (``pos``, ``contain``,
    ``own_size``) as :data:`CONTAIN_FP_SCHEMA` rows."""
    for batch in batches:
        if batch.num_rows == 0:
            continue
        values, offsets = unpack64(batch.column("contain").fill_null(b""))
        counts = np.diff(offsets)
        doc = np.repeat(np.arange(batch.num_rows, dtype=np.int64), counts)
        if doc.size == 0:
            continue
        key = np.unique(np.stack([doc.astype(np.uint64), values], axis=1), axis=0)
        row = key[:, 0].astype(np.int64)
        pos = column(batch, "pos").astype(np.int64)
        size = column(batch, "own_size").astype(np.int64)
        yield pa.RecordBatch.from_pydict(
            {
                "hash": pa.array(key[:, 1].view(np.int64)),
                "pos": pa.array(pos[row]),
                "size": pa.array(size[row]),
            },
            schema=CONTAIN_FP_SCHEMA,
        )


def prefix_partition(
    batches: Iterator[pa.RecordBatch], threshold: float, min_shingles: int
) -> Iterator[pa.RecordBatch]:
    """Stage: the probes of whole documents. Input: ``hash``, ``pos``, ``size`` and ``df`` (the
    number of documents holding the hash), every document's rows in one partition. Output
    (:data:`CONTAIN_FP_SCHEMA`): the document's rarest ``f − ⌈c·f⌉ + 1`` fingerprints (ties by
    hash) held by at most ``MAX_POSTINGS`` documents (and more than one), ``c`` the threshold
    less ``SLACK``; only documents with at least ``min_shingles`` own shingles probe."""
    table = whole(batches)
    if table is None:
        return
    h = column(table, "hash").astype(np.int64).view(np.uint64)
    doc = column(table, "pos").astype(np.int64)
    size = column(table, "size").astype(np.int64)
    df = column(table, "df").astype(np.int64)
    order = np.lexsort((h, df, doc))
    h, doc, size, df = h[order], doc[order], size[order], df[order]
    take = probes(doc, df, threshold)
    take &= size >= min_shingles
    take &= df >= 2  # a fingerprint of one document pairs it with no other
    yield pa.RecordBatch.from_pydict(
        {
            "hash": pa.array(h[take].view(np.int64)),
            "pos": pa.array(doc[take]),
            "size": pa.array(size[take]),
        },
        schema=CONTAIN_FP_SCHEMA,
    )


def probe_pairs_partition(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """Stage: candidate pairs of whole hash groups. Input, sorted by ``(hash, probe, pos)``:
    the documents holding each hash (``probe`` false: ``pos``, ``size``) and the probes of
    that hash (``probe`` true). Output (``a``, ``b``): each probe ``a`` with every holder
    ``b`` larger than it, or as large and earlier in the input."""
    table = whole(batches)
    if table is None:
        return
    h = column(table, "hash").astype(np.int64)
    probe = column(table, "probe").astype(bool)
    pos = column(table, "pos").astype(np.int64)
    size = column(table, "size").astype(np.int64)
    group = np.cumsum(np.r_[True, h[1:] != h[:-1]]) - 1
    holders = np.flatnonzero(~probe)
    n_groups = int(group[-1]) + 1
    count = np.bincount(group[holders], minlength=n_groups)
    first = np.r_[0, np.cumsum(count)][:-1]  # holders of group g: holders[first[g]:+count[g]]
    probes = np.flatnonzero(probe)
    n = count[group[probes]]
    a = np.repeat(probes, n)
    idx = np.repeat(first[group[probes]] - np.r_[0, np.cumsum(n)][:-1], n) + np.arange(int(n.sum()))
    b = holders[idx]
    sa, sb = size[a], size[b]
    ok = (sb > sa) | ((sb == sa) & (pos[b] < pos[a]))
    if ok.any():
        yield pa.RecordBatch.from_pydict(
            {"a": pa.array(pos[a][ok]), "b": pa.array(pos[b][ok])}, schema=CONTAIN_PAIR_SCHEMA
        )


class PackedSets:
    """Sorted unique sets held packed (``values``, ``offsets``), read as a shingle table: the
    ``sets`` of the documents numbered by their row (what
    :func:`neardup.verify.exact_overlap` reads)."""

    def __init__(self, values: np.ndarray, offsets: np.ndarray) -> None:
        self.values = values
        self.offsets = offsets

    def sets(self, docs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        docs = np.asarray(docs, dtype=np.int64)
        lo, hi = self.offsets[docs], self.offsets[docs + 1]
        sizes = hi - lo
        offsets = np.zeros(docs.size + 1, dtype=np.int64)
        np.cumsum(sizes, out=offsets[1:])
        idx = np.repeat(lo - offsets[:-1], sizes) + np.arange(int(offsets[-1]))
        return self.values[idx].astype(np.uint32, copy=False), offsets


def pair_sets(batch: pa.RecordBatch | pa.Table, name: str) -> PackedSets:
    """The sets of column ``{name}_a`` as rows ``0..n-1`` and of ``{name}_b`` as rows
    ``n..2n-1``."""
    va, oa = unpack(batch.column(f"{name}_a"))
    vb, ob = unpack(batch.column(f"{name}_b"))
    values = np.concatenate([va[oa[0] : oa[-1]], vb[ob[0] : ob[-1]]])
    offsets = np.concatenate([oa - oa[0], ob[1:] - ob[0] + (oa[-1] - oa[0])])
    return PackedSets(values, offsets)


def verify_partition(
    batches: Iterator[pa.RecordBatch], threshold: float, min_shingles: int, bodies: bool
) -> Iterator[pa.RecordBatch]:
    """Stage: the verified pairs. Input: ``a``, ``b``, their own sets ``own_a``, ``own_b``
    and body sets ``body_a``, ``body_b`` (packed, sorted unique) and shingle-set sizes
    ``n_set_a``, ``n_set_b``, authors ``author_a``, ``author_b`` and ``reply_a``, ``reply_b``.
    Output (:data:`CONTAINED_SCHEMA`): pairs that are not a reply by another author quoting
    (:func:`~neardup.sharedtext.containment.quoted_by_another`), whose containment
    (:func:`~neardup.sharedtext.containment.overlaps`; the bodies count when ``bodies``: some
    document of the corpus has a body apart from its text) is at or above the threshold and
    whose own set holds at least ``min_shingles`` shingles."""
    for batch in batches:
        n = batch.num_rows
        if n == 0:
            continue
        pairs = np.stack([np.arange(n), np.arange(n) + n], axis=1).astype(np.int64)
        body = pair_sets(batch, "body") if bodies else None
        c, rev, size_a = overlaps(pair_sets(batch, "own"), body, pairs)
        ok = (c >= threshold) & (size_a >= min_shingles)
        authors = np.concatenate([column(batch, "author_a"), column(batch, "author_b")]).astype(
            np.int64
        )
        replies = np.concatenate([column(batch, "reply_a"), column(batch, "reply_b")]).astype(bool)
        ok &= ~quoted_by_another(pairs, authors.view(np.uint64), replies)
        if not ok.any():
            continue
        edge = eligible(column(batch, "n_set_a")) & eligible(column(batch, "n_set_b"))
        yield pa.RecordBatch.from_pydict(
            {
                "a": pa.array(column(batch, "a").astype(np.int64)[ok]),
                "b": pa.array(column(batch, "b").astype(np.int64)[ok]),
                "containment": pa.array(c[ok]),
                "reverse": pa.array(rev[ok]),
                "edge": pa.array(edge[ok]),
            },
            schema=CONTAINED_SCHEMA,
        )


def best_partition(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """Stage: :func:`~neardup.sharedtext.containment.best_containers` of whole groups of
    verified pairs by contained document ``a``: one pair per document."""
    table = whole(batches, CONTAINED_SCHEMA)
    if table is None:
        return
    pairs = np.stack([column(table, "a"), column(table, "b")], axis=1).astype(np.int64)
    found = Contained(pairs, column(table, "containment"), column(table, "reverse"))
    best = best_containers(found).pairs  # one row per document a, sorted by a
    at = np.searchsorted(best[:, 0], pairs[:, 0])
    pick = np.flatnonzero(best[at, 1] == pairs[:, 1])  # the input's pairs are distinct
    yield from table.take(pa.array(pick)).to_batches()
