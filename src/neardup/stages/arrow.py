"""How stage data travels between partitions: Arrow schemas and byte packing.

Values an engine cannot hold natively travel as bytes: MinHash signatures and sorted shingle-id
sets as packed little-endian ``uint32``; ids and keeper values pickled (they may be ``str`` or
``int``, dates, ...); 64-bit hashes as ``int64`` (Spark has no unsigned type; the bits are the
same).

A document's place in the input is ``pos = source << 40 | line``: sources in the order given,
lines (or Parquet rows, or ranks of sorted ``.txt`` paths) within them, so sorting by ``pos``
gives the local executor's input order.
"""

from __future__ import annotations

import pickle
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np
import pyarrow as pa

POS_SHIFT = 40
GENERATED = "\x00neardup-generated-id"  # source name whose ``SOURCE:LINE`` ids are filled later
KIND_DOC, KIND_ERROR, KIND_SPLIT = 0, 1, 2

FINGERPRINT_SCHEMA = pa.schema(
    [
        ("kind", pa.int8()),
        ("src", pa.int32()),
        ("split", pa.int64()),
        ("row", pa.int64()),  # lines of the split (KIND_SPLIT), else the record's row in it
        ("id", pa.binary()),  # pickled; null: generate SOURCE:LINE once lines are known
        ("keep", pa.binary()),  # pickled keeper-field value
        ("length", pa.int64()),
        ("exact_hi", pa.int64()),
        ("exact_lo", pa.int64()),
        ("sig", pa.binary()),
        ("shingle_set", pa.binary()),
        ("n_set", pa.int32()),
        ("mode", pa.int8()),
        ("raw", pa.binary()),  # the JSONL line as read
        ("error", pa.binary()),  # pickled InputError (KIND_ERROR)
        ("invalid", pa.int64()),  # records repaired (invalid UTF-8) in the split (KIND_SPLIT)
        # containment (null when it is off): the winnowed fingerprints of the document's own
        # shingle sequence (packed uint64), that sequence's length, and the shingle sets of
        # its own text and of its body where they differ from the whole text's (packed uint32;
        # null: the set is ``shingle_set``)
        ("contain", pa.binary()),
        ("own_size", pa.int64()),
        ("own_set", pa.binary()),
        ("body_set", pa.binary()),
        # the message's author (hash of its From: address, 0: not a message) and whether it
        # answers or quotes another message (containment on: a reply quotes, never contains)
        ("author", pa.int64()),
        ("reply", pa.bool_()),
        # --window: the record's time in seconds (NaN: none; null when the window is off)
        ("time", pa.float64()),
        # passages (null in a dedup): the document's text, UTF-8 (lone surrogates kept)
        ("text", pa.binary()),
    ]
)
PASSTHROUGH = (
    "keep",
    "length",
    "exact_hi",
    "exact_lo",
    "sig",
    "shingle_set",
    "n_set",
    "mode",
    "raw",
    "contain",
    "own_size",
    "own_set",
    "body_set",
    "author",
    "reply",
    "time",
    "text",
)
DOCUMENT_SCHEMA = pa.schema(
    [f for f in FINGERPRINT_SCHEMA if f.name in PASSTHROUGH]
    + [
        ("kind", pa.int8()),
        ("pos", pa.int64()),
        ("line", pa.string()),  # as the local run shows it: a number, or a .txt path
        ("id", pa.binary()),
        ("id_key", pa.string()),  # str(id): ids are unique by this
        ("error", pa.string()),  # KIND_ERROR: the message's first line
        ("error_obj", pa.binary()),  # KIND_ERROR: the pickled error, with file and line
        ("invalid", pa.int64()),  # KIND_SPLIT: records repaired (invalid UTF-8) in the split
    ]
)
#: a repeated id: the record at ``pos`` is an error, not a document
REJECT_SCHEMA = pa.schema([("pos", pa.int64()), ("error", pa.string()), ("error_obj", pa.binary())])
DOC_COUNTS_SCHEMA = pa.schema(
    [
        ("documents", pa.int64()),
        ("empty_documents", pa.int64()),
        ("character_shingled_documents", pa.int64()),
    ]
)
EXACT_SCHEMA = pa.schema([("pos", pa.int64()), ("rep", pa.int64())])
BAND_SCHEMA = pa.schema([("band", pa.int32()), ("key", pa.int64()), ("pos", pa.int64())])
PAIR_SCHEMA = pa.schema([("a", pa.int64()), ("b", pa.int64())])
SIM_SCHEMA = pa.schema(
    [("a", pa.int64()), ("b", pa.int64()), ("sim", pa.float64()), ("accepted", pa.bool_())]
)
#: a partition's candidate pairs: histogram bin counts, and how many were accepted
PAIR_SUMMARY_SCHEMA = pa.schema([("bin", pa.int32()), ("n", pa.int64()), ("accepted", pa.int64())])
DECISION_SCHEMA = pa.schema(
    [
        ("pos", pa.int64()),
        ("root", pa.int64()),  # first member of the document's cluster
        ("removed", pa.bool_()),
        ("similarity", pa.float64()),  # null when kept
        ("reason", pa.int8()),  # REASON_* code
        ("kept_id", pa.binary()),  # pickled id of the cluster's kept member; null: keep=none
        # with containment on: C(removed ⊆ reference) and the reverse; null where not measured
        ("containment", pa.float64()),
        ("containment_reverse", pa.float64()),
    ]
)
#: an output line: ``which`` is kept or removed, or ``order`` for the one row each partition adds
#: (``pos`` its first position, ``value`` "LAST SORTED": its last position, and 1 when its rows
#: came in position order)
OUTPUT_SCHEMA = pa.schema([("pos", pa.int64()), ("which", pa.string()), ("value", pa.string())])
ORDER_ROW = "order"
#: a clusters.jsonl line; each partition adds one row with ``cluster_id`` -1 whose value is its
#: cluster counts as JSON
CLUSTER_SCHEMA = pa.schema([("cluster_id", pa.int64()), ("value", pa.string())])
COUNTS_ROW = -1


def spark_ddl(schema: pa.Schema) -> str:
    """The schema as a Spark DDL string (the types used here only)."""
    names = {
        pa.int8(): "tinyint",
        pa.int32(): "int",
        pa.int64(): "bigint",
        pa.binary(): "binary",
        pa.string(): "string",
        pa.float64(): "double",
        pa.bool_(): "boolean",
    }
    return ", ".join(f"{f.name} {names[f.type]}" for f in schema)


def packed(values: np.ndarray, offsets: np.ndarray) -> pa.Array:
    """A binary array whose item ``i`` is ``values[offsets[i]:offsets[i+1]]`` as uint32 bytes."""
    data = np.ascontiguousarray(values, dtype=np.uint32)
    offs = (np.asarray(offsets, dtype=np.int64) * 4).astype(np.int32)
    n = offs.size - 1
    return pa.Array.from_buffers(pa.binary(), n, [None, pa.py_buffer(offs), pa.py_buffer(data)])


def packed64(values: np.ndarray, offsets: np.ndarray) -> pa.Array:
    """:func:`packed` for ``uint64`` values (item ``i`` is ``values[offsets[i]:offsets[i+1]]``)."""
    data = np.ascontiguousarray(values, dtype=np.uint64).view(np.uint32)
    return packed(data, np.asarray(offsets, dtype=np.int64) * 2)


def unpack64(column: pa.Array | pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    """``(values, offsets)`` of a binary column of packed uint64 (the inverse of
    :func:`packed64`)."""
    data, offsets = unpack(column)
    data = np.array(data[: int(offsets[-1])], dtype=np.uint32)  # a copy: aligned, even length
    return data.view(np.uint64), offsets // 2


def unpack(column: pa.Array | pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    """``(values, offsets)`` of a binary column of packed uint32 (the inverse of packing)."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)
    if column.type == pa.large_binary():
        column = column.cast(pa.binary())
    if len(column) == 0:
        return np.zeros(0, np.uint32), np.zeros(1, np.int64)
    _, off_buf, data_buf = column.buffers()
    offs = np.frombuffer(off_buf, dtype=np.int32)[column.offset : column.offset + len(column) + 1]
    data = np.frombuffer(data_buf, dtype=np.uint32) if data_buf is not None else np.zeros(0)
    return data.astype(np.uint32, copy=False), (offs // 4).astype(np.int64)


def pickled(values: Iterable[Any]) -> pa.Array:
    """Python values as a binary column of pickles."""
    return pa.array([pickle.dumps(v, protocol=5) for v in values], type=pa.binary())


def whole(batches: Iterator[pa.RecordBatch], schema: pa.Schema | None = None) -> pa.Table | None:
    """A partition's batches as one table, or None for an empty partition (engines hand
    stages partitions with no batches, or only empty ones, whenever a shuffle partition
    receives no group)."""
    items = [b for b in batches if b.num_rows]
    if not items:
        return None
    return pa.Table.from_batches(items, schema=schema)


def column(table: pa.Table | pa.RecordBatch, name: str) -> np.ndarray:
    """A column as a numpy array (nulls allowed where the type permits)."""
    return table.column(name).to_numpy(zero_copy_only=False)
