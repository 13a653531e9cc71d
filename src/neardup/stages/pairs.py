"""Stages from documents to verified pairs: exact groups, LSH bands, buckets, similarities.

Each wraps the kernel the local path runs on the whole corpus — :func:`exact_groups`,
:func:`band_keys`, :func:`bucket_pairs`, :func:`jaccard_pairs` / :func:`estimate_pairs`,
:func:`accept_pairs`, :func:`similarity_histogram` — and runs it on one partition of whole groups.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pyarrow as pa

from neardup.candidates.lsh import band_keys, bucket_pairs
from neardup.stages.arrow import (
    BAND_SCHEMA,
    EXACT_SCHEMA,
    PAIR_SCHEMA,
    PAIR_SUMMARY_SCHEMA,
    SIM_SCHEMA,
    column,
    unpack,
    whole,
)
from neardup.stages.decide import (
    HISTOGRAM_BINS,
    accept_pairs,
    eligible,
    exact_groups,
    similarity_histogram,
)
from neardup.verify import estimate_pairs, jaccard_pairs


def exact_partition(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """Stage: every eligible document with its exact group's representative (itself for the
    first member). Input: ``pos``, ``exact_hi``, ``exact_lo``, ``n_set``, whole hash groups per
    partition, sorted by ``(exact_hi, exact_lo, pos)``. Output: :data:`EXACT_SCHEMA`."""
    table = whole(batches)
    if table is None:
        return
    pos = column(table, "pos").astype(np.int64)
    exact = np.stack([column(table, "exact_hi"), column(table, "exact_lo")], axis=1)
    ok = eligible(column(table, "n_set"))
    edges, _ = exact_groups(exact, ok)
    rep = np.arange(pos.size, dtype=np.int64)
    rep[edges[:, 1]] = edges[:, 0]
    keep = np.flatnonzero(ok)
    yield pa.RecordBatch.from_pydict(
        {"pos": pa.array(pos[keep]), "rep": pa.array(pos[rep[keep]])}, schema=EXACT_SCHEMA
    )


def band_partition(
    batches: Iterator[pa.RecordBatch], bands: int, rows: int, num_perm: int
) -> Iterator[pa.RecordBatch]:
    """Stage: one ``(band, key, pos)`` row per band of each document's signature."""
    for batch in batches:
        n = batch.num_rows
        if n == 0:
            continue
        data, _ = unpack(batch.column("sig"))
        sigs = data.reshape(n, num_perm)
        keys = band_keys(sigs, np.arange(n, dtype=np.int64), bands, rows)  # (bands, n)
        pos = column(batch, "pos")
        yield pa.RecordBatch.from_pydict(
            {
                "band": pa.array(np.repeat(np.arange(bands, dtype=np.int32), n)),
                "key": pa.array(keys.reshape(-1).view(np.int64)),
                "pos": pa.array(np.tile(pos, bands).astype(np.int64)),
            },
            schema=BAND_SCHEMA,
        )


def bucket_partition(batches: Iterator[pa.RecordBatch], window: int) -> Iterator[pa.RecordBatch]:
    """Stage: candidate pairs within each ``(band, key)`` bucket. Input sorted by
    ``(band, key, pos)`` with every bucket whole in one partition."""
    table = whole(batches, BAND_SCHEMA)
    if table is None or table.num_rows < 2:
        return
    band = column(table, "band")
    key = column(table, "key")
    pos = column(table, "pos")
    new = np.ones(band.size, dtype=bool)
    new[1:] = (band[1:] != band[:-1]) | (key[1:] != key[:-1])
    group = np.cumsum(new)
    a, b = bucket_pairs(group, np.arange(group.size, dtype=np.int64), pos, window)
    yield pa.RecordBatch.from_pydict({"a": pa.array(a), "b": pa.array(b)}, schema=PAIR_SCHEMA)


def pair_similarity(
    va: np.ndarray, oa: np.ndarray, vb: np.ndarray, ob: np.ndarray, measure: str, num_perm: int
) -> np.ndarray:
    """Similarity of item ``i`` of ``(va, oa)`` with item ``i`` of ``(vb, ob)`` (packed shingle
    sets or signatures): exact Jaccard or the MinHash estimate."""
    n = oa.size - 1
    if n == 0:
        return np.zeros(0, np.float64)
    values = np.concatenate([va, vb])
    offsets = np.concatenate([oa, ob[1:] + oa[-1]])
    pairs = np.stack([np.arange(n), np.arange(n) + n], axis=1).astype(np.int64)
    if measure == "jaccard":
        return jaccard_pairs(values, offsets, pairs)
    return estimate_pairs(values.reshape(2 * n, num_perm), pairs)


def similarity_partition(
    batches: Iterator[pa.RecordBatch], measure: str, num_perm: int, threshold: float
) -> Iterator[pa.RecordBatch]:
    """Stage: similarity of pairs with both documents' shingle sets (``set_a``, ``set_b``) or
    signatures (``sig_a``, ``sig_b``) joined in — exact Jaccard or the MinHash estimate — and
    whether the pair is accepted as duplicates."""
    col = "set" if measure == "jaccard" else "sig"
    for batch in batches:
        if batch.num_rows == 0:
            continue
        va, oa = unpack(batch.column(f"{col}_a"))
        vb, ob = unpack(batch.column(f"{col}_b"))
        sims = pair_similarity(va, oa, vb, ob, measure, num_perm)
        yield pa.RecordBatch.from_pydict(
            {
                "a": batch.column("a"),
                "b": batch.column("b"),
                "sim": pa.array(sims),
                "accepted": pa.array(accept_pairs(sims, threshold)),
            },
            schema=SIM_SCHEMA,
        )


def pair_summary_partition(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """Stage: the partition's similarity histogram (:func:`similarity_histogram`) and its
    number of accepted pairs (in the first row); summaries of partitions add up."""
    counts = np.zeros(HISTOGRAM_BINS, dtype=np.int64)
    accepted = 0
    for batch in batches:
        counts += similarity_histogram(column(batch, "sim"))
        accepted += int(np.count_nonzero(column(batch, "accepted")))
    yield pa.RecordBatch.from_pydict(
        {
            "bin": pa.array(np.arange(HISTOGRAM_BINS, dtype=np.int32)),
            "n": pa.array(counts),
            "accepted": pa.array([accepted] + [0] * (HISTOGRAM_BINS - 1), pa.int64()),
        },
        schema=PAIR_SUMMARY_SCHEMA,
    )
