"""Arrow stage functions, without an engine: they reproduce the local kernels' results."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from neardup.candidates.lsh import candidate_pairs
from neardup.config import DedupConfig, KeepPolicy
from neardup.pipeline import StageParams
from neardup.stages import (
    ReadSpec,
    band_partition,
    bucket_partition,
    cluster_partition,
    decide_partition,
    doc_counts_partition,
    exact_partition,
    fingerprint_partition,
    jsonl_output_partition,
    pair_summary_partition,
    position_partition,
    reject_partition,
    similarity_partition,
    spark_ddl,
    split_offsets,
    unpack,
)
from neardup.stages.arrow import BAND_SCHEMA, KIND_DOC, KIND_ERROR, KIND_SPLIT, packed


def test_packed_round_trip_and_slices():
    values = np.array([5, 1, 7, 2**32 - 1, 9], dtype=np.uint32)
    arr = packed(values, np.array([0, 2, 2, 5]))
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
        {"pos": pa.array(members), "sig": packed(sigs.reshape(-1), np.arange(41) * 8)}
    )
    bands = pa.Table.from_batches(list(band_partition(iter([batch]), 4, 2, 8)))
    bands = bands.sort_by([("band", "ascending"), ("key", "ascending"), ("pos", "ascending")])
    pairs = pa.Table.from_batches(list(bucket_partition(iter(bands.to_batches()), 3)))
    got = np.unique(np.stack([pairs["a"].to_numpy(), pairs["b"].to_numpy()], axis=1), axis=0)
    assert got.tolist() == expected.tolist()


def _members(lengths, sets, exact=None):
    import pickle

    members = [10, 20, 30][: len(lengths)]
    flat = np.concatenate([np.asarray(x, np.uint32) for x in sets])
    offsets = np.concatenate([[0], np.cumsum([len(x) for x in sets])])
    exact = exact or [(1, k) for k in range(len(lengths))]
    return pa.RecordBatch.from_pydict(
        {
            "root": [10] * len(members),
            "kind": [0] * len(members),
            "pos": members,
            "b": pa.nulls(len(members), pa.int64()),
            "length": lengths,
            "keep": [pickle.dumps(None)] * len(members),
            "id": [pickle.dumps(f"d{m}") for m in members],
            "exact_hi": [e[0] for e in exact],
            "exact_lo": [e[1] for e in exact],
            "data": packed(flat, offsets),
        }
    )


@pytest.mark.parametrize(
    ("policy", "kept", "removed", "sims"),
    [
        ("first", "d10", [20, 30], [4 / 6, 4 / 6]),
        ("longest", "d30", [10, 20], [4 / 6, 3 / 7]),
        ("none", None, [10, 20, 30], [4 / 6, 4 / 6, 4 / 6]),
    ],
)
def test_decide_partition_keepers_similarity_and_reason(policy, kept, removed, sims):
    import pickle

    sets = [[1, 2, 3, 4, 5], [1, 2, 3, 4, 9], [1, 2, 3, 5, 8]]
    batch = _members([5, 7, 9], sets)
    out = pa.Table.from_batches(
        list(decide_partition(iter([batch]), KeepPolicy.parse(policy), "components", "jaccard", 0))
    )
    assert out["pos"].to_pylist() == [10, 20, 30]
    assert out["root"].to_pylist() == [10, 10, 10]
    gone = [p for p, r in zip(out["pos"].to_pylist(), out["removed"].to_pylist(), strict=True) if r]
    assert gone == removed
    got = [round(s, 4) for s in out["similarity"].to_pylist() if s is not None]
    assert got == [round(s, 4) for s in sims]
    assert {None if k is None else pickle.loads(k) for k in out["kept_id"].to_pylist()} == {kept}
    reasons = [
        r for r, g in zip(out["reason"].to_pylist(), out["removed"].to_pylist(), strict=True) if g
    ]
    assert reasons == [2] * len(removed)  # near, not exact


def test_decide_partition_exact_copies_have_similarity_one():
    batch = _members([5, 5], [[1, 2, 3], [1, 2, 3]], exact=[(7, 7), (7, 7)])
    out = pa.Table.from_batches(
        list(decide_partition(iter([batch]), KeepPolicy.parse("first"), "components", "jaccard", 0))
    )
    assert out["removed"].to_pylist() == [False, True]
    assert out["similarity"].to_pylist() == [None, 1.0]
    assert out["reason"].to_pylist() == [0, 1]


def _stage_calls():
    policy = KeepPolicy.parse("first")
    params = StageParams.from_config(DedupConfig())
    return {
        "fingerprint": lambda it: fingerprint_partition(it, ReadSpec(0, "a", "jsonl"), params),
        "position": lambda it: position_partition(it, ["a"], ["jsonl"]),
        "reject": lambda it: reject_partition(it, ["a"], "id"),
        "exact": exact_partition,
        "band": lambda it: band_partition(it, 4, 2, 8),
        "bucket": lambda it: bucket_partition(it, 3),
        "similarity": lambda it: similarity_partition(it, "jaccard", 8, 0.8),
        "decide": lambda it: decide_partition(it, policy, "star", "jaccard", 8),
        "output": lambda it: jsonl_output_partition(it, ["a"], ["jsonl"], False),
    }


@pytest.mark.parametrize("stage", sorted(_stage_calls()))
def test_every_stage_accepts_an_empty_partition(stage):
    """Engines hand a stage a partition with no batches whenever a shuffle partition gets no
    group (most of them at Spark's 200 default shuffle partitions)."""
    assert list(_stage_calls()[stage](iter([]))) == []


def test_summary_stages_give_their_zero_rows_for_an_empty_partition():
    import orjson

    (counts,) = list(doc_counts_partition(iter([])))
    assert counts.to_pylist() == [
        {"documents": 0, "empty_documents": 0, "character_shingled_documents": 0}
    ]
    (summary,) = list(pair_summary_partition(iter([])))
    assert summary.num_rows == 50 and sum(summary["n"].to_pylist()) == 0
    (clusters,) = list(cluster_partition(iter([])))
    assert clusters["cluster_id"].to_pylist() == [-1]
    assert orjson.loads(clusters["value"][0].as_py())["clusters"] == 0


def test_reject_partition_keeps_the_first_record_of_each_id():
    batch = pa.RecordBatch.from_pydict(
        {
            "id_key": ["a", "a", "a", "b"],
            "pos": [3, 5, (1 << 40) | 2, 4],
            "line": ["3", "5", "2", "4"],
        }
    )
    out = pa.Table.from_batches(list(reject_partition(iter([batch]), ["x.jsonl", "y.jsonl"], "id")))
    assert out["pos"].to_pylist() == [5, (1 << 40) | 2]
    assert out["error"].to_pylist() == [
        "x.jsonl, line 5, field 'id': id 'a' appears twice: first at x.jsonl:3, again at x.jsonl:5",
        "y.jsonl, line 2, field 'id': id 'a' appears twice: first at x.jsonl:3, again at y.jsonl:2",
    ]


def test_fingerprint_partition_drops_a_txt_byte_order_mark_from_the_raw_text():
    """The raw text a Spark run writes out equals the local reader's: no byte order mark."""
    params = StageParams.from_config(DedupConfig())
    batch = pa.RecordBatch.from_pydict(
        {"path": ["a.txt"], "content": [b"\xef\xbb\xbfhello there harbour"]}
    )
    out = pa.Table.from_batches(
        list(fingerprint_partition(iter([batch]), ReadSpec(0, "d", "txt", {"a.txt": 1}), params))
    )
    docs = out.filter(pa.compute.equal(out["kind"], KIND_DOC))
    assert docs["raw"].to_pylist() == [b"hello there harbour"]
