"""Keeper-centred (star) clustering: a removed document is always within the threshold of the
document kept for it; connected components may chain past it."""

from __future__ import annotations

import zlib

import numpy as np
import pytest

import neardup
from neardup.cluster import components, star_groups
from neardup.text.shingle import shingle_set
from neardup.verify import jaccard


def _para(tag: str) -> str:
    rng = np.random.default_rng(zlib.crc32(tag.encode()))
    return " ".join(f"{tag}{int(k)}" for k in rng.integers(0, 10**6, size=40)) + "."


BASE = [_para(f"p{i}x") for i in range(12)]
A = "\n\n".join(BASE)
B = "\n\n".join([*BASE[:11], _para("q11x")])  # one paragraph replaced
C = "\n\n".join([*BASE[:10], _para("q10x"), _para("q11x")])  # and another
D = "\n\n".join(_para(f"other{i}x") for i in range(12))


def test_the_chain_is_what_the_test_says() -> None:
    ja_b = jaccard(shingle_set(A), shingle_set(B))
    jb_c = jaccard(shingle_set(B), shingle_set(C))
    ja_c = jaccard(shingle_set(A), shingle_set(C))
    assert ja_b >= 0.8
    assert jb_c >= 0.8
    assert ja_c < 0.8


def test_components_chain_and_star_does_not() -> None:
    docs = [("a", A), ("b", B), ("c", C), ("d", D)]
    chained = neardup.find_duplicates(docs)
    assert [c.members for c in chained] == [("a", "b", "c")]
    assert chained[0].similarities["c"] < 0.8
    star = neardup.find_duplicates(docs, clustering="star")
    assert [c.members for c in star] == [("a", "b")]
    assert star[0].kept_id == "a"
    assert star[0].min_similarity >= 0.8


def test_star_follows_the_keeper_policy() -> None:
    # b is made the longest, so it is the centre, and both a and c are within reach of it
    docs = [("a", A), ("b", B + "\n\nA closing line that makes b the longest."), ("c", C)]
    star = neardup.find_duplicates(docs, clustering="star", keep="longest")
    assert len(star) == 1
    assert star[0].kept_id == "b"
    assert set(star[0].members) == {"a", "b", "c"}  # both are within the threshold of b


def test_star_groups_with_exact_copies() -> None:
    # 0~1 near, 2 is an exact copy of 1, 3 is near 1 only; 4 stands alone
    n = 5
    exact = np.array([[1, 2]])
    near = np.array([[0, 1], [1, 3]])
    labels, _ = components(n, np.concatenate([exact, near]))
    out, roots = star_groups(n, labels, exact, near, np.arange(n))
    # centre 0 takes its neighbour 1 and 1's exact copy 2; 3 is left alone
    assert out.tolist() == [0, 0, 0, -1, -1]
    assert roots.tolist() == [0]


def test_bad_clustering_value() -> None:
    with pytest.raises(neardup.ConfigError):
        neardup.DedupConfig(clustering="single-link")
