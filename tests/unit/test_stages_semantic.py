"""The semantic stages without Spark or a model: vectors survive the column bytes, and the
driver's search over a table in any row order gives the local search's pairs by position."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from neardup.config import DedupConfig
from neardup.semantic.search import search
from neardup.stages.decide import exact_groups
from neardup.stages.semantic import packed_vectors, search_partition, unpacked_vectors


def _unit(rng: np.random.Generator, n: int, dim: int) -> np.ndarray:
    v = rng.normal(size=(n, dim))
    return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)


def test_vectors_round_trip_through_the_column() -> None:
    v = _unit(np.random.default_rng(1), 5, 7)
    v[2] = 0.0
    col = packed_vectors(v)
    assert len(col) == 5 and len(col[0].as_py()) == 28
    assert np.array_equal(unpacked_vectors(col), v)
    assert np.array_equal(unpacked_vectors(pa.chunked_array([col.slice(0, 2), col.slice(2)])), v)


def test_search_partition_is_the_local_search_by_position() -> None:
    rng = np.random.default_rng(7)
    base = _unit(rng, 40, 16)
    near = base[:10] + 0.05 * rng.normal(size=(10, 16)).astype(np.float32)
    v = np.concatenate([base, near / np.linalg.norm(near, axis=1, keepdims=True)]).astype(
        np.float32
    )
    v[45] = v[3]  # an exact copy: same hash, same vector
    v[47] = 0.0  # no direction: never a duplicate, not even of its exact copy
    n = v.shape[0]
    exact = rng.integers(0, 2**63, size=(n, 2), dtype=np.int64).view(np.uint64)
    exact[45] = exact[3]
    exact[48] = exact[47]
    v[48] = 0.0
    n_set = np.full(n, 9, np.int32)
    n_set[49] = 0  # empty
    pos = (np.arange(n, dtype=np.int64) * 3 + 5) | (1 << 40)
    cfg = DedupConfig(method="semantic", model="m", threshold=0.95)

    ok = (n_set > 0) & v.any(axis=1)
    ex_edges, reps = exact_groups(exact, ok)
    want = search(v, reps, exact, 0.95, mode="auto", probes=8, seed=cfg.seed)
    assert want.pairs.shape[0] >= 5

    shuffled = rng.permutation(n)
    table = pa.table(
        {
            "pos": pa.array(pos[shuffled]),
            "exact_hi": pa.array(exact[shuffled, 0].view(np.int64)),
            "exact_lo": pa.array(exact[shuffled, 1].view(np.int64)),
            "n_set": pa.array(n_set[shuffled]),
            "sig": packed_vectors(v[shuffled]),
        }
    )
    got = search_partition(table, cfg)
    assert np.array_equal(got.exact_edges, pos[ex_edges])
    assert got.exact_edges.tolist() == [[pos[3], pos[45]]]
    assert np.array_equal(got.pairs, pos[want.pairs])
    assert np.array_equal(got.cosine, want.cosine)
    assert got.candidates == want.candidates
    assert got.search["search"] == "exact"


def test_search_partition_of_no_documents() -> None:
    table = pa.table(
        {
            "pos": pa.array([], pa.int64()),
            "exact_hi": pa.array([], pa.int64()),
            "exact_lo": pa.array([], pa.int64()),
            "n_set": pa.array([], pa.int32()),
            "sig": pa.array([], pa.binary()),
        }
    )
    got = search_partition(table, DedupConfig(method="semantic", model="m"))
    assert got.exact_edges.shape == (0, 2) and got.pairs.shape == (0, 2)
    assert got.candidates == 0 and int(got.bins.sum()) == 0
