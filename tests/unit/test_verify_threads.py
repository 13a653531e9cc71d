"""Verification on several threads gives the values of one thread, pair for pair."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from neardup import verify
from neardup.shingle_store import ShingleStore, ShingleTable
from neardup.verify import exact_similarity, jaccard


def _table(tmp_path: Path, budget: int) -> tuple[ShingleTable, list[np.ndarray]]:
    """200 documents of random ids drawn from small ranges, so that pairs overlap."""
    rng = np.random.default_rng(7)
    docs = [rng.integers(0, 60 + d % 40, size=20 + d % 50).astype(np.uint32) for d in range(200)]
    store = ShingleStore(tmp_path, budget=budget)
    for lo in range(0, len(docs), 50):
        part = docs[lo : lo + 50]
        store.append(np.concatenate(part), np.array([p.size for p in part]))
    return store.finish(), docs


@pytest.mark.parametrize("budget", [1 << 30, 0], ids=["memory", "spill-file"])
def test_threads_give_the_values_of_one_thread(
    tmp_path: Path, budget: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    table, docs = _table(tmp_path, budget)
    monkeypatch.setattr(verify, "PAIRS_PER_CHUNK", 1_000)  # several chunks per thread
    monkeypatch.setattr(verify, "MIN_PAIRS_TO_SPLIT", 1_000)
    rng = np.random.default_rng(3)
    pairs = rng.integers(0, len(docs), size=(3_210, 2))
    one = exact_similarity(table, pairs, workers=1)
    for workers in (2, 3, 8):
        assert np.array_equal(exact_similarity(table, pairs, workers=workers), one)
    for p in (0, 1, pairs.shape[0] - 1):  # and the values are the Jaccard of the two sets
        a, b = pairs[p]
        assert one[p] == pytest.approx(jaccard(docs[a], docs[b]))


def test_a_table_that_is_not_thread_safe_is_read_from_one_thread(tmp_path: Path) -> None:
    table, docs = _table(tmp_path, 1 << 30)
    callers: set[int] = set()

    class OneThreadOnly:  # like the read-again table, whose reads fill a cache
        def sets(self, wanted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            callers.add(threading.get_ident())
            return table.sets(wanted)

    pairs = np.random.default_rng(5).integers(0, len(docs), size=(2 * verify.PAIRS_PER_CHUNK, 2))
    values = exact_similarity(OneThreadOnly(), pairs, workers=4)
    assert callers == {threading.get_ident()}
    assert np.array_equal(values, exact_similarity(table, pairs, workers=1))


def test_a_failing_chunk_raises_in_the_caller(tmp_path: Path) -> None:
    table, _ = _table(tmp_path, 1 << 30)

    class Broken(ShingleTable):
        def sets(self, wanted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            raise OSError("spill file went away")

    broken = Broken(table.chunks, table.offsets)
    pairs = np.zeros((verify.MIN_PAIRS_TO_SPLIT, 2), dtype=np.int64)  # enough to split
    with pytest.raises(OSError, match="spill file went away"):
        exact_similarity(broken, pairs, workers=2)
