"""The semantic pair search on synthetic unit vectors (no model needed): exact and bucket
searches agree, results do not depend on input order, every pair is verified exactly."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from neardup.config import DEFAULT_THRESHOLDS, DedupConfig
from neardup.errors import ConfigError, DependencyError
from neardup.semantic.embed import load_model, unit_rows
from neardup.semantic.search import cosine_pairs, search


def planted(n_base: int = 3000, copies: int = 400, seed: int = 7) -> tuple[np.ndarray, set]:
    """Unit vectors in 64 dimensions, grouped round a few directions like real embeddings,
    with ``copies`` planted near copies (cosine ≈ 0.95–0.99) of the first base rows."""
    rng = np.random.default_rng(seed)
    topics = rng.normal(size=(12, 64))
    base = topics[rng.integers(0, 12, n_base)] + rng.normal(scale=1.2, size=(n_base, 64))
    base = unit_rows(base).astype(np.float64)
    near = base[:copies] + rng.normal(scale=0.03, size=(copies, 64))
    v = unit_rows(np.concatenate([base, near]))
    planted_pairs = {(i, n_base + i) for i in range(copies)}
    return v, planted_pairs


def keys_of(n: int, seed: int = 3) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 2**63, size=(n, 2)).astype(np.uint64)


def as_set(pairs: np.ndarray) -> set[tuple[int, int]]:
    return {(int(a), int(b)) for a, b in pairs}


def test_exact_search_finds_planted_pairs_and_only_pairs_above_the_threshold() -> None:
    v, truth = planted()
    found = search(v, np.arange(len(v)), keys_of(len(v)), 0.9, mode="exact")
    got = as_set(found.pairs)
    assert truth <= got
    assert (found.cosine >= 0.9).all()
    np.testing.assert_array_equal(found.cosine, cosine_pairs(v, found.pairs))
    assert (found.pairs[:, 0] < found.pairs[:, 1]).all()
    # all-pairs check of the verification: nothing at or above 0.9 is missing
    full = v.astype(np.float64) @ v.astype(np.float64).T
    a, b = np.nonzero(np.triu(full >= 0.9, k=1))
    assert got == {(int(x), int(y)) for x, y in zip(a, b, strict=True)}
    assert found.search == "exact"


def test_bucket_search_agrees_with_the_exact_search() -> None:
    v, _ = planted()
    members, keys = np.arange(len(v)), keys_of(len(v))
    exact = search(v, members, keys, 0.9, mode="exact")
    buckets = search(v, members, keys, 0.9, mode="buckets", probes=8)
    assert buckets.search == "buckets" and buckets.buckets == round(np.sqrt(len(v)))
    assert buckets.probes == 8
    assert as_set(buckets.pairs) == as_set(exact.pairs)
    np.testing.assert_array_equal(buckets.cosine, exact.cosine)


def test_search_is_independent_of_input_order() -> None:
    v, _ = planted(copies=300)
    keys = keys_of(len(v))
    perm = np.random.default_rng(11).permutation(len(v))
    for mode in ("exact", "buckets"):
        a = search(v, np.arange(len(v)), keys, 0.9, mode=mode, probes=2)
        b = search(v[perm], np.arange(len(v)), keys[perm], 0.9, mode=mode, probes=2)
        back = np.sort(perm[b.pairs], axis=1)
        assert as_set(back) == as_set(a.pairs)
        assert a.candidates == b.candidates


def test_only_members_are_searched_and_auto_picks_exact_for_small_corpora() -> None:
    v, _ = planted(n_base=200, copies=20)
    members = np.arange(0, len(v), 2)  # every other document
    found = search(v, members, keys_of(len(v)), 0.9)
    assert found.search == "exact"
    assert set(found.pairs.ravel().tolist()) <= set(members.tolist())


def test_a_pair_exactly_at_the_threshold_is_a_duplicate() -> None:
    v = unit_rows(np.array([[1.0, 0.0], [0.9, np.sqrt(1 - 0.81)], [0.0, 1.0]]))
    c = float(cosine_pairs(v, np.array([[0, 1]]))[0])
    found = search(v, np.arange(3), keys_of(3), c, mode="exact")
    assert as_set(found.pairs) == {(0, 1)}


def test_zero_rows_have_cosine_zero() -> None:
    v = unit_rows(np.array([[0.0, 0.0], [1.0, 0.0]]))
    assert cosine_pairs(v, np.array([[0, 1]])).tolist() == [0.0]


def test_threshold_default_follows_the_method() -> None:
    assert DedupConfig().threshold == DEFAULT_THRESHOLDS["minhash"] == 0.8
    sem = DedupConfig(method="semantic", model="m")
    assert sem.threshold == DEFAULT_THRESHOLDS["semantic"] == 0.95
    assert DedupConfig().with_(method="semantic", model="m").threshold == 0.95
    assert DedupConfig(threshold=0.7).with_(method="semantic", model="m").threshold == 0.7
    assert sem.with_(method="minhash", model=None).threshold == 0.8
    assert DedupConfig.from_dict(sem.to_dict()) == sem


def test_clustering_default_follows_the_method() -> None:
    assert DedupConfig().clustering == "components"
    sem = DedupConfig(method="semantic", model="m")
    assert sem.clustering == "star"
    assert DedupConfig().with_(method="semantic", model="m").clustering == "star"
    explicit = DedupConfig(method="semantic", model="m", clustering="components")
    assert explicit.clustering == "components"
    assert sem.with_(method="minhash", model=None).clustering == "components"
    assert DedupConfig.from_dict(sem.to_dict()).clustering == "star"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"method": "semantic"}, "method semantic needs a model"),
        ({"model": "m"}, "a model is used by method semantic only"),
        ({"method": "cosine"}, "method must be minhash or semantic"),
        ({"method": "semantic", "model": "m", "containment": 0.9}, "cannot be combined"),
        ({"method": "semantic", "model": "m", "semantic_probes": 0}, "semantic_probes"),
        ({"method": "semantic", "model": "m", "semantic_search": "ann"}, "semantic_search"),
        ({"threshold": float("nan")}, "threshold must be in (0, 1]"),
    ],
)
def test_semantic_settings_are_validated(kwargs: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        DedupConfig(**kwargs)


def test_a_missing_model2vec_says_which_extra_to_install(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "model2vec", None)
    with pytest.raises(DependencyError, match=r"pip install 'neardup\[semantic\]'"):
        load_model("some/model-not-loaded-before")


def test_a_missing_model_folder_is_a_config_error(tmp_path) -> None:
    pytest.importorskip("model2vec")
    with pytest.raises(ConfigError, match="does not exist") as info:
        load_model(str(tmp_path / "no-such-model"))
    assert "Model2Vec model" in str(info.value)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match="cannot load Model2Vec folder"):
        load_model(str(tmp_path / "empty"))
    (tmp_path / "file").write_text("x")
    with pytest.raises(ConfigError, match="is a file"):
        load_model(str(tmp_path / "file"))


def test_each_document_keeps_its_closest_pairs_when_all_are_alike() -> None:
    """A blob where every pair is above the threshold: each document keeps its ``cap`` closest
    pairs (a pair stays when either document keeps it), in both searches, in any order."""
    rng = np.random.default_rng(2)
    centre = rng.normal(size=64)
    v = unit_rows(centre + rng.normal(scale=0.05, size=(400, 64)) * np.abs(centre).mean())
    full = v.astype(np.float64) @ v.astype(np.float64).T
    assert (full >= 0.9).all()
    cap = 5
    np.fill_diagonal(full, -np.inf)
    top = np.argsort(-full, axis=1)[:, :cap]
    expected = {(min(i, int(j)), max(i, int(j))) for i in range(400) for j in top[i]}
    keys = keys_of(400)
    exact = search(v, np.arange(400), keys, 0.9, mode="exact", cap=cap)
    assert as_set(exact.pairs) == expected
    assert exact.at_cap == 400
    buckets = search(v, np.arange(400), keys, 0.9, mode="buckets", probes=20, cap=cap)
    assert as_set(buckets.pairs) == expected
    perm = rng.permutation(400)
    moved = search(v[perm], np.arange(400), keys[perm], 0.9, mode="exact", cap=cap)
    assert as_set(np.sort(perm[moved.pairs], axis=1)) == expected


def test_the_index_refuses_the_semantic_method(tmp_path) -> None:
    from neardup.index import Index

    with pytest.raises(ConfigError, match="method semantic is not indexed"):
        Index.create(tmp_path / "i.db", method="semantic", model="m")
    assert not (tmp_path / "i.db").exists()
