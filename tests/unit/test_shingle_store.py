"""The shingle store gives the same sets from memory and from its spill file."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from neardup.shingle_store import ShingleStore
from neardup.text.shingle import shingle_batch

TEXTS = [
    "the tide came in over the sand bar before the fishing boats returned home",
    "",
    "market stalls opened early and the baker sold out of rye bread by nine",
    "the tide came in over the sand bar before the fishing boats returned",
    "one word",
]


def _fill(store: ShingleStore) -> None:
    for start in range(0, len(TEXTS), 2):  # three batches
        batch = shingle_batch(TEXTS[start : start + 2])
        store.append(batch.shingles, np.diff(batch.shingle_offsets))


def test_memory_and_spill_file_give_identical_sets(tmp_path: Path) -> None:
    in_memory = ShingleStore(tmp_path / "a", budget=1 << 30)
    spilled = ShingleStore(tmp_path, budget=0)
    _fill(in_memory)
    _fill(spilled)
    a, b = in_memory.finish(), spilled.finish()
    assert not in_memory.spilled
    assert spilled.spilled
    assert [p.stat().st_size > 0 for p in tmp_path.glob("shingles-*.u32")] == [True]
    docs = np.arange(len(TEXTS))
    sets_a, offs_a = a.sets(docs)
    sets_b, offs_b = b.sets(docs)
    assert np.array_equal(offs_a, offs_b)
    assert np.array_equal(sets_a, sets_b)
    assert a.counts.tolist() == b.counts.tolist()
    assert a.counts[1] == 0  # the empty document has no shingles
    for d, text in enumerate(TEXTS):
        expected = shingle_batch([text]).shingle_set(0)
        assert np.array_equal(a.document(d), expected)
        assert np.array_equal(b.document(d), expected)


def test_sets_of_a_subset_follow_the_requested_order(tmp_path: Path) -> None:
    store = ShingleStore(None)
    _fill(store)
    table = store.finish()
    sets, offs = table.sets(np.array([0, 3, 4]))
    assert offs.size == 4
    assert np.array_equal(sets[offs[2] : offs[3]], table.document(4))
    assert np.array_equal(sets[offs[0] : offs[1]], table.document(0))
