"""Exact Jaccard verification and union-find clustering."""

from __future__ import annotations

import numpy as np
import pytest

from neardup.cluster import components, union_find
from neardup.verify import estimate_pairs, jaccard, jaccard_pairs


def arr(*xs: int) -> np.ndarray:
    return np.array(xs, dtype=np.uint32)


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        (arr(1, 2, 3), arr(2, 3, 4), 0.5),
        (arr(1, 2, 3), arr(1, 2, 3), 1.0),
        (arr(1, 2), arr(3, 4), 0.0),
        (arr(), arr(), 0.0),
        (arr(), arr(1), 0.0),
        (arr(1, 2, 3, 4), arr(4), 0.25),
        (arr(0, 4_294_967_295), arr(4_294_967_295), 0.5),
    ],
)
def test_jaccard(a: np.ndarray, b: np.ndarray, expected: float) -> None:
    assert jaccard(a, b) == expected
    assert jaccard(b, a) == expected


def test_jaccard_pairs_over_a_batch() -> None:
    sets = [arr(1, 2, 3, 4), arr(3, 4, 5, 6), arr(1, 2, 3, 4), arr()]
    offsets = np.array([0, 4, 8, 12, 12], dtype=np.int64)
    data = np.concatenate(sets)
    pairs = np.array([[0, 1], [0, 2], [1, 2], [0, 3], [3, 3]], dtype=np.int64)
    sims = jaccard_pairs(data, offsets, pairs)
    assert sims.tolist() == [2 / 6, 1.0, 2 / 6, 0.0, 0.0]


def test_estimate_pairs_is_fraction_of_equal_slots() -> None:
    sig = np.array([[1, 2, 3, 4], [1, 2, 0, 0], [1, 2, 3, 4]], dtype=np.uint32)
    pairs = np.array([[0, 1], [0, 2], [1, 2]], dtype=np.int64)
    assert estimate_pairs(sig, pairs).tolist() == [0.5, 1.0, 0.5]


def edges(*pairs: tuple[int, int]) -> np.ndarray:
    return np.array(pairs, dtype=np.int64).reshape(-1, 2)


def test_components_chain_and_star() -> None:
    # chain 0-1-2-3 given out of order, star centred on 7 with leaves 5, 6, 9; 4 and 8 alone
    e = edges((2, 3), (0, 1), (1, 2), (7, 9), (5, 7), (7, 6))
    labels, roots = components(10, e)
    assert labels.tolist() == [0, 0, 0, 0, -1, 1, 1, 1, -1, 1]
    assert roots.tolist() == [0, 5]


def test_components_numbered_by_first_member() -> None:
    # the cluster whose first member comes first gets id 0, whatever the edge order
    e = edges((8, 9), (5, 6), (1, 3))
    labels, roots = components(10, e)
    assert roots.tolist() == [1, 5, 8]
    assert labels.tolist() == [-1, 0, -1, 0, -1, 1, 1, -1, 2, 2]
    rev_labels, rev_roots = components(10, e[::-1, ::-1])
    assert rev_labels.tolist() == labels.tolist()
    assert rev_roots.tolist() == roots.tolist()


def test_components_merge_through_a_late_edge() -> None:
    e = edges((4, 5), (2, 3), (3, 5))
    labels, roots = components(6, e)
    assert roots.tolist() == [2]
    assert labels.tolist() == [-1, -1, 0, 0, 0, 0]


def test_components_no_edges_self_loops_and_duplicates() -> None:
    labels, roots = components(4, np.zeros((0, 2), dtype=np.int64))
    assert labels.tolist() == [-1, -1, -1, -1]
    assert roots.size == 0
    labels, roots = components(4, edges((2, 2), (0, 1), (1, 0), (0, 1)))
    assert labels.tolist() == [0, 0, -1, -1]
    assert roots.tolist() == [0]


def test_components_of_nothing() -> None:
    labels, roots = components(0, np.zeros((0, 2), dtype=np.int64))
    assert labels.size == 0 and roots.size == 0


def test_union_find_root_is_smallest_member() -> None:
    root = union_find(6, edges((5, 4), (4, 3), (1, 5)))
    assert root.tolist() == [0, 1, 2, 1, 1, 1]


def test_components_random_graph_matches_reference() -> None:
    rng = np.random.default_rng(5)
    n = 60
    e = rng.integers(0, n, size=(45, 2))
    labels, roots = components(n, e)
    # reference: repeated relaxation of the minimum label over edges
    ref = np.arange(n)
    changed = True
    while changed:
        changed = False
        for a, b in e:
            m = min(ref[a], ref[b])
            if ref[a] != m or ref[b] != m:
                ref[a] = ref[b] = m
                changed = True
    sizes = np.bincount(ref, minlength=n)
    expect_roots = np.flatnonzero(sizes > 1)
    assert roots.tolist() == expect_roots.tolist()
    for x in range(n):
        if sizes[ref[x]] > 1:
            assert roots[labels[x]] == ref[x]
        else:
            assert labels[x] == -1
