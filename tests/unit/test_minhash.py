"""MinHash signatures estimate Jaccard similarity; they are deterministic for a seed."""

from __future__ import annotations

import math

import numpy as np

from neardup.fingerprint.minhash import signatures
from neardup.hashing import EMPTY_SLOT, permutations
from neardup.text.shingle import shingle_batch
from neardup.verify import jaccard


def _pack(sets: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    offsets = np.zeros(len(sets) + 1, dtype=np.int64)
    np.cumsum([s.size for s in sets], out=offsets[1:])
    data = np.concatenate(sets).astype(np.uint32) if sets else np.zeros(0, np.uint32)
    return data, offsets


def _pair_with_jaccard(
    rng: np.random.Generator, common: int, only_a: int, only_b: int
) -> tuple[np.ndarray, np.ndarray]:
    ids = rng.choice(2**32 - 1, size=common + only_a + only_b, replace=False).astype(np.uint32)
    a = np.sort(ids[: common + only_a])
    b = np.sort(np.concatenate([ids[:common], ids[common + only_a :]]))
    return a, b


def test_estimate_tracks_exact_jaccard_over_many_pairs() -> None:
    rng = np.random.default_rng(20240611)
    k = 128
    sets, truth = [], []
    for _ in range(240):
        union = int(rng.integers(20, 400))
        common = int(rng.integers(0, union + 1))
        only_a = int(rng.integers(0, union - common + 1))
        only_b = union - common - only_a
        if common + only_a == 0 or common + only_b == 0:
            common, only_a, only_b = 1, union - 1, 0
        a, b = _pair_with_jaccard(rng, common, only_a, only_b)
        j = common / (common + only_a + only_b)
        assert math.isclose(jaccard(a, b), j)
        sets += [a, b]
        truth.append(j)
    data, offsets = _pack(sets)
    sig = signatures(data, offsets, k, 7)
    assert sig.shape == (len(sets), k)
    est = (sig[0::2] == sig[1::2]).mean(axis=1)
    truth_arr = np.array(truth)
    err = np.abs(est - truth_arr)
    assert err.mean() <= 0.035
    bound = 5 * np.sqrt(truth_arr * (1 - truth_arr) / k) + 0.01
    worst = int(np.argmax(err - bound))
    assert np.all(err <= bound), (truth_arr[worst], est[worst])
    # identical sets always agree in every slot
    assert np.all(est[truth_arr == 1.0] == 1.0)


def test_identical_sets_have_identical_signatures_and_disjoint_sets_rarely_agree() -> None:
    rng = np.random.default_rng(3)
    a, b = _pair_with_jaccard(rng, 0, 300, 300)
    data, offsets = _pack([a, a.copy(), b])
    sig = signatures(data, offsets, 128, 42)
    assert np.array_equal(sig[0], sig[1])
    assert (sig[0] == sig[2]).mean() < 0.05


def test_signature_slot_is_min_of_the_permutation() -> None:
    s = np.array([5, 77, 1_000_000, 4_000_000_000], dtype=np.uint32)
    data, offsets = _pack([s])
    sig = signatures(data, offsets, 16, 11)
    a, b = permutations(16, 11)
    for j in range(16):
        vals = [((int(a[j]) * int(x) + int(b[j])) % 2**64) >> 32 for x in s]
        assert sig[0, j] == min(vals)


def test_empty_set_gets_empty_slots() -> None:
    data, offsets = _pack([np.zeros(0, np.uint32), np.array([1, 2], np.uint32)])
    sig = signatures(data, offsets, 32, 1)
    assert np.all(sig[0] == EMPTY_SLOT)
    assert not np.all(sig[1] == EMPTY_SLOT)


def test_same_seed_same_signatures_other_seed_different() -> None:
    batch = shingle_batch(["a quick test of seeded minhash signatures for one text"], ngram=2)
    one = signatures(batch.shingles, batch.shingle_offsets, 64, 42)
    again = signatures(batch.shingles.copy(), batch.shingle_offsets.copy(), 64, 42)
    other = signatures(batch.shingles, batch.shingle_offsets, 64, 43)
    assert one.dtype == np.uint32
    assert np.array_equal(one, again)
    assert (one != other).mean() > 0.9


def test_permutations_are_seeded_and_odd_multipliers() -> None:
    a1, b1 = permutations(64, 5)
    a2, b2 = permutations(64, 5)
    a3, _ = permutations(64, 6)
    assert np.array_equal(a1, a2) and np.array_equal(b1, b2)
    assert not np.array_equal(a1, a3)
    assert np.all(a1 & np.uint64(1) == 1)
    assert len(set(a1.tolist())) == 64
