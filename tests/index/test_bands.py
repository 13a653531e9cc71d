"""Band runs of the index: Bloom filters, merges, lookups against a plain dictionary."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

from neardup.index.bands import (
    BLOCK,
    FANOUT,
    RUN0,
    BandRuns,
    bloom_build,
    bloom_probe,
    level_of,
)
from neardup.index.store import SCHEMA, connect


@pytest.fixture
def conn(tmp_path: Path):
    c = connect(tmp_path / "bands.db")
    c.executescript(SCHEMA)
    yield c
    c.close()


def _keys(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.integers(-(2**63), 2**63 - 1, size=n, dtype=np.int64)


def test_bloom_has_no_false_negatives_and_few_false_positives() -> None:
    rng = np.random.default_rng(3)
    members = _keys(rng, 50_000).view(np.uint64)
    bits = bloom_build(members, 16 * members.size)
    assert bloom_probe(bits, 16 * members.size, members).all()
    others = _keys(rng, 200_000).view(np.uint64)
    rate = bloom_probe(bits, 16 * members.size, others).mean()
    assert rate < 0.002  # (1 - e^{-11/16})^11 ≈ 4.6e-4


def test_levels_by_size() -> None:
    assert level_of(1) == level_of(RUN0 * FANOUT - 1) == 0
    assert level_of(RUN0 * FANOUT) == 1
    assert level_of(RUN0 * FANOUT**2 - 1) == 1
    assert level_of(RUN0 * FANOUT**3) == 3


def test_lookups_match_a_dictionary_through_merges_and_removals(conn) -> None:
    rng = np.random.default_rng(5)
    runs = BandRuns()
    truth: dict[int, set[int]] = defaultdict(set)
    pool = _keys(rng, 3_000)  # a small key space, so keys repeat across runs and blocks
    n = 1
    removed: list[int] = []
    for step in range(120):
        size = int(rng.integers(1, 40)) if step % 10 else 900  # one-document adds and batches
        docs = np.arange(n, n + size)
        n += size
        keys = np.concatenate([rng.choice(pool, size=docs.size) for _ in range(3)])
        ns = np.tile(docs, 3)
        conn.execute("BEGIN IMMEDIATE")
        runs.append(conn, keys, ns)
        if step % 17 == 16:
            gone = rng.choice(np.arange(1, n), size=20, replace=False).tolist()
            runs.forget(conn, gone)
            removed += gone
        conn.execute("COMMIT")
        for k, d in zip(keys.tolist(), ns.tolist(), strict=True):
            truth[k].add(d)
        per_level = defaultdict(int)
        for run in runs.runs(conn):
            per_level[run.level] += 1
        assert max(per_level.values()) < FANOUT  # full levels were merged
    probe = np.concatenate([pool[::7], _keys(rng, 500)])
    conn.execute("BEGIN")
    ks, ns = runs.lookup(conn, probe)
    conn.execute("COMMIT")
    found: dict[int, set[int]] = defaultdict(set)
    for k, d in zip(ks.tolist(), ns.tolist(), strict=True):
        found[k].add(d)
    gone = set(removed)
    for k in set(probe.tolist()):
        # removed documents may linger until their run is merged, never anything else
        assert truth.get(k, set()) - gone <= found.get(k, set()) <= truth.get(k, set())
    conn.execute("BEGIN")
    for key in pool[:150].tolist():  # one key at a time: no other key's block reads for it
        ks, ns = runs.lookup(conn, np.array([key]))
        assert truth[key] - gone <= set(ns.tolist()) <= truth[key]
    conn.execute("COMMIT")
    # what merges wrote has no removed document left in it
    assert sum(r.entries for r in runs.runs(conn)) < sum(len(v) for v in truth.values())
    stored = conn.execute("SELECT SUM(length(keys)) / 8, SUM(length(ns)) / 4 FROM band_blocks")
    total = sum(r.entries for r in runs.runs(conn))
    assert stored.fetchone() == (total, total)
    assert all(r.blocks == -(-r.entries // BLOCK) for r in runs.runs(conn))


def test_a_merge_of_every_run_drops_the_removal_marks(conn) -> None:
    runs = BandRuns()
    rng = np.random.default_rng(8)
    conn.execute("BEGIN IMMEDIATE")
    runs.append(conn, _keys(rng, 10), np.arange(1, 11))
    runs.forget(conn, [3, 4])
    for k in range(FANOUT - 1):  # the eighth run of level 0 merges all of them
        runs.append(conn, _keys(rng, 10), np.arange(11 + 10 * k, 21 + 10 * k))
    conn.execute("COMMIT")
    [run] = runs.runs(conn)
    assert run.entries == 10 * FANOUT - 2
    assert conn.execute("SELECT COUNT(*) FROM band_deleted").fetchone() == (0,)


def test_lookup_of_nothing(conn) -> None:
    runs = BandRuns()
    empty = np.empty(0, dtype=np.int64)
    conn.execute("BEGIN")
    assert [a.size for a in runs.lookup(conn, np.array([1, 2, 3], dtype=np.int64))] == [0, 0]
    assert [a.size for a in runs.lookup(conn, empty)] == [0, 0]
    conn.execute("COMMIT")


@pytest.mark.parametrize("span", [(250, 262), (100, 700), (256, 257), (0, 1)])
def test_a_key_whose_entries_span_blocks_is_found_whole(conn, span) -> None:
    lo, hi = span
    keys = np.arange(1, 1001, dtype=np.int64) * 10  # 1,000 entries: four blocks of 256
    keys[lo:hi] = keys[lo]
    runs = BandRuns()
    conn.execute("BEGIN IMMEDIATE")
    runs.append(conn, keys, np.arange(1, 1001))
    conn.execute("COMMIT")
    conn.execute("BEGIN")
    for key in (keys[lo], keys[-1], keys[0]):
        ks, ns = runs.lookup(conn, np.array([key]))
        assert sorted(ns.tolist()) == (np.flatnonzero(keys == key) + 1).tolist()
        assert set(ks.tolist()) == {int(key)}
    assert [a.size for a in runs.lookup(conn, np.array([5, 15, 10**9]))] == [0, 0]
    conn.execute("COMMIT")
