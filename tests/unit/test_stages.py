"""Arrow stage functions, without an engine: they reproduce the local kernels' results."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from neardup.candidates.lsh import candidate_pairs
from neardup.config import DedupConfig, KeepPolicy
from neardup.pipeline import StageParams
from neardup.stages import (
    BAND_SCHEMA,
    KIND_DOC,
    KIND_ERROR,
    KIND_SPLIT,
    ReadSpec,
    _packed,
    band_partition,
    bucket_partition,
    fingerprint_partition,
    keeper_partition,
    spark_ddl,
    split_offsets,
    unpack,
)


def test_packed_round_trip_and_slices():
    values = np.array([5, 1, 7, 2**32 - 1, 9], dtype=np.uint32)
    arr = _packed(values, np.array([0, 2, 2, 5]))
    assert [len(x) for x in arr.to_pylist()] == [8, 0, 12]
    data, offs = unpack(arr.slice(1, 2))
    assert offs.tolist() == [2, 2, 5]
    assert data[offs[0] : offs[-1]].tolist() == [7, 2**32 - 1, 9]


def test_split_offsets_count_lines_of_earlier_splits_per_source():
    markers = [(0, 4096, 10), (0, 0, 7), (1, 0, 3), (0, 8192, 1)]
    assert split_offsets(markers) == {(0, 0): 0, (0, 4096): 7, (0, 8192): 17, (1, 0): 0}


def test_spark_ddl_names_every_column():
    assert spark_ddl(BAND_SCHEMA) == "band int, key bigint, pos bigint"


def test_fingerprint_partition_numbers_rows_across_batches_and_splits():
    params = StageParams.from_config(DedupConfig())
    lines = [b'{"id": 1, "text": "a b c d e f"}', b"", b'{"id": 2, "text": "x"}', b"[1]"]
    splits = [0, 0, 0, 100]
    batches = [
        pa.RecordBatch.from_pydict({"value": lines[:2], "split": splits[:2]}),
        pa.RecordBatch.from_pydict({"value": lines[2:], "split": splits[2:]}),
    ]
    out = pa.Table.from_batches(
        list(fingerprint_partition(iter(batches), ReadSpec(3, "in.jsonl", "jsonl"), params))
    )
    cols = [out.column(c).to_pylist() for c in ("kind", "split", "row", "src")]
    rows = sorted(zip(*cols, strict=True))
    assert rows == [
        (KIND_DOC, 0, 0, 3),
        (KIND_DOC, 0, 2, 3),
        (KIND_ERROR, 100, 0, 3),
        (KIND_SPLIT, 0, 3, 3),  # three lines in split 0, one of them blank
        (KIND_SPLIT, 100, 1, 3),
    ]


def test_bucket_partition_gives_the_local_candidate_pairs():
    rng = np.random.default_rng(4)
    sigs = rng.integers(0, 3, size=(40, 8)).astype(np.uint32)  # few values: many collisions
    members = np.arange(40, dtype=np.int64)
    expected = candidate_pairs(sigs, members, 4, 2, max_bucket=3)
    batch = pa.RecordBatch.from_pydict(
        {"pos": pa.array(members), "sig": _packed(sigs.reshape(-1), np.arange(41) * 8)}
    )
    bands = pa.Table.from_batches(list(band_partition(iter([batch]), 4, 2, 8)))
    bands = bands.sort_by([("band", "ascending"), ("key", "ascending"), ("pos", "ascending")])
    pairs = pa.Table.from_batches(list(bucket_partition(iter(bands.to_batches()), 3)))
    got = np.unique(np.stack([pairs["a"].to_numpy(), pairs["b"].to_numpy()], axis=1), axis=0)
    assert got.tolist() == expected.tolist()


@pytest.mark.parametrize(("policy", "keeper"), [("first", 10), ("longest", 30), ("none", -1)])
def test_keeper_partition_per_component(policy, keeper):
    import pickle

    members = [10, 20, 30]
    batch = pa.RecordBatch.from_pydict(
        {
            "root": [10, 10, 10],
            "kind": [0, 0, 0],
            "pos": members,
            "b": pa.nulls(3, pa.int64()),
            "length": [5, 7, 9],
            "keep": [pickle.dumps(None)] * 3,
            "id": [pickle.dumps(f"d{m}") for m in members],
        }
    )
    out = pa.Table.from_batches(
        list(keeper_partition(iter([batch]), KeepPolicy.parse(policy), "components"))
    )
    assert out["pos"].to_pylist() == members
    assert out["root"].to_pylist() == [10, 10, 10]
    assert out["keeper"].to_pylist() == [keeper] * 3
