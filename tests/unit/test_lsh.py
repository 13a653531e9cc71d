"""LSH banding: parameter choice, candidate probability and candidate pairs."""

from __future__ import annotations

import math

import numpy as np
import pytest

import neardup
from neardup.candidates.lsh import _areas, candidate_pairs
from neardup.cluster import components


@pytest.mark.parametrize(
    ("threshold", "num_perm", "weights", "expected"),
    [
        # the choices datasketch's MinHashLSH makes for the same arguments
        (0.8, 128, (0.5, 0.5), (9, 13)),
        (0.5, 128, (0.5, 0.5), (25, 5)),
        (0.9, 256, (0.5, 0.5), (9, 28)),
        (0.7, 64, (0.5, 0.5), (8, 8)),
        (0.8, 128, (0.1, 0.9), (14, 9)),
        (0.8, 128, (0.9, 0.1), (6, 21)),
    ],
)
def test_lsh_params_match_datasketch(threshold, num_perm, weights, expected) -> None:
    p = neardup.lsh_params(
        threshold, num_perm, false_positive_weight=weights[0], false_negative_weight=weights[1]
    )
    assert (p.bands, p.rows) == expected
    assert p.num_perm == num_perm
    assert p.threshold == threshold


@pytest.mark.parametrize("threshold", [0.3, 0.5, 0.7, 0.8, 0.9, 0.95, 1.0])
@pytest.mark.parametrize("num_perm", [16, 128, 256])
def test_bands_times_rows_fit_in_signature(threshold: float, num_perm: int) -> None:
    for recall in (None, 0.995):
        p = neardup.lsh_params(threshold, num_perm, recall_at_threshold=recall)
        assert p.bands >= 1 and p.rows >= 1
        assert p.bands * p.rows <= num_perm


@pytest.mark.parametrize("threshold", [0.5, 0.7, 0.8, 0.9, 0.95])
def test_recall_at_threshold_is_reached(threshold: float) -> None:
    p = neardup.lsh_params(threshold, 128, recall_at_threshold=0.995)
    assert p.probability(threshold) >= 0.995
    assert neardup.candidate_probability(threshold, p.bands, p.rows) >= 0.995


def test_recall_rule_picks_smallest_false_positive_area_among_qualifying() -> None:
    threshold, k, rho = 0.7, 24, 0.99
    p = neardup.lsh_params(threshold, k, recall_at_threshold=rho)
    qualifying = [
        (_areas(threshold, b, r, steps=401)[0], b, r)
        for b in range(1, k + 1)
        for r in range(1, k // b + 1)
        if neardup.candidate_probability(threshold, b, r) >= rho
    ]
    best_fp = min(q[0] for q in qualifying)
    assert neardup.candidate_probability(threshold, p.bands, p.rows) >= rho
    assert math.isclose(_areas(threshold, p.bands, p.rows, steps=401)[0], best_fp, rel_tol=1e-9)


def test_unreachable_recall_takes_the_highest_probability() -> None:
    p = neardup.lsh_params(0.8, 4, recall_at_threshold=0.999)
    assert (p.bands, p.rows) == (4, 1)


def test_threshold_one_uses_every_slot_in_one_band() -> None:
    p = neardup.lsh_params(1.0, 128)
    assert (p.bands, p.rows) == (1, 128)
    assert p.false_negative_area == 0.0


def test_reported_areas_are_consistent() -> None:
    p = neardup.lsh_params(0.8, 128)
    assert 0 < p.false_positive_area < 0.8
    assert 0 < p.false_negative_area < 0.2
    fp, fn = _areas(0.8, p.bands, p.rows)
    assert math.isclose(p.false_positive_area, fp)
    assert math.isclose(p.false_negative_area, fn)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"threshold": 0.0, "num_perm": 128}, "threshold must be in (0, 1], got 0.0"),
        ({"threshold": 1.2, "num_perm": 128}, "threshold must be in (0, 1], got 1.2"),
        ({"threshold": -0.5, "num_perm": 128}, "threshold must be in (0, 1]"),
        ({"threshold": 0.8, "num_perm": 0}, "num_perm must be ≥ 1, got 0"),
        (
            {"threshold": 0.8, "num_perm": 128, "false_positive_weight": -1},
            "weights must be ≥ 0 and not both 0",
        ),
        (
            {
                "threshold": 0.8,
                "num_perm": 128,
                "false_positive_weight": 0,
                "false_negative_weight": 0,
            },
            "weights must be ≥ 0 and not both 0",
        ),
        (
            {"threshold": 0.8, "num_perm": 128, "recall_at_threshold": 1.0},
            "recall_at_threshold must be in (0, 1), got 1.0",
        ),
        (
            {"threshold": 0.8, "num_perm": 128, "recall_at_threshold": 0.0},
            "recall_at_threshold must be in (0, 1)",
        ),
    ],
)
def test_lsh_params_rejects_bad_arguments(kwargs, message: str) -> None:
    with pytest.raises(neardup.ConfigError) as info:
        neardup.lsh_params(**kwargs)
    assert message in str(info.value)
    assert info.value.exit_code == 2


@pytest.mark.parametrize(("s", "b", "r"), [(0.0, 9, 13), (1.0, 9, 13), (0.8, 9, 13), (0.5, 20, 5)])
def test_candidate_probability_formula(s: float, b: int, r: int) -> None:
    p = neardup.candidate_probability(s, b, r)
    assert isinstance(p, float)
    assert math.isclose(p, 1.0 - (1.0 - s**r) ** b, abs_tol=1e-15)


def test_candidate_probability_known_values_and_arrays() -> None:
    assert neardup.candidate_probability(0.0, 5, 5) == 0.0
    assert neardup.candidate_probability(1.0, 5, 5) == 1.0
    assert math.isclose(neardup.candidate_probability(0.5, 1, 1), 0.5)
    assert math.isclose(neardup.candidate_probability(0.5, 2, 1), 0.75)
    assert math.isclose(neardup.candidate_probability(0.5, 1, 2), 0.25)
    grid = np.linspace(0, 1, 11)
    probs = neardup.candidate_probability(grid, 9, 13)
    assert isinstance(probs, np.ndarray)
    assert probs.shape == (11,)
    assert np.all(np.diff(probs) >= 0)  # an S-curve: never decreasing


def test_candidate_pairs_share_a_band() -> None:
    sig = np.array(
        [[1, 2, 3, 4], [1, 2, 7, 8], [5, 6, 3, 4], [9, 9, 9, 9], [1, 2, 3, 4]], dtype=np.uint32
    )
    pairs = candidate_pairs(sig, np.arange(5, dtype=np.int64), 2, 2)
    assert pairs.dtype == np.int64
    assert pairs.tolist() == [[0, 1], [0, 2], [0, 4], [1, 4], [2, 4]]


def test_candidate_pairs_large_bucket_stays_connected() -> None:
    n = 40
    sig = np.tile(np.arange(8, dtype=np.uint32), (n, 1))
    members = np.arange(n, dtype=np.int64)
    full = candidate_pairs(sig, members, 2, 4, max_bucket=256)
    assert len(full) == n * (n - 1) // 2
    windowed = candidate_pairs(sig, members, 2, 4, max_bucket=3)
    assert len(windowed) < len(full)
    labels, roots = components(n, windowed)
    assert roots.tolist() == [0]
    assert np.all(labels == 0)


def test_candidate_pairs_of_fewer_than_two_documents() -> None:
    sig = np.zeros((1, 8), dtype=np.uint32)
    assert candidate_pairs(sig, np.array([0], dtype=np.int64), 2, 4).shape == (0, 2)
