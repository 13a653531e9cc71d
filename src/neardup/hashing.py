"""Seeded hashing: the mixing functions and MinHash permutations every stage shares.

Hash functions
--------------
* ``fmix64`` is the 64-bit finaliser of MurmurHash3 (Appleby): an invertible mixing of all
  input bits with avalanche behaviour, used to turn structured integers into uniform ones.
* Token hashes are 64-bit FNV-1a over the token's UTF-8 bytes, passed through ``fmix64``.
* A shingle (n consecutive tokens) is hashed by folding its token hashes,
  ``h ← (h ⊕ t_k)·P`` with an odd 64-bit constant ``P``, then ``fmix64``; the top 32 bits are the
  shingle's id. Two distinct shingles of one document collide with probability ≈ 2⁻³², so the
  Jaccard similarity of the id sets equals that of the shingle sets to within ~10⁻⁶.

MinHash
-------
For permutation ``j`` we use the multiply-add-shift family of Dietzfelbinger (1996),
``π_j(x) = (a_j·x + b_j mod 2⁶⁴) >> 32`` with random 64-bit ``a_j`` (odd) and ``b_j`` drawn from a
seeded PCG64 generator. The signature slot is ``min_{x∈S} π_j(x)``; for two sets,
``P[min π_j(A) = min π_j(B)] ≈ J(A, B)`` (Broder 1997), so the fraction of equal slots is an
unbiased estimate of Jaccard similarity with standard deviation ``sqrt(J(1−J)/k)`` for k slots.
"""

from __future__ import annotations

from functools import lru_cache

import numba as nb
import numpy as np

EMPTY_SLOT = np.uint32(0xFFFFFFFF)
_FNV_OFFSET = np.uint64(0xCBF29CE484222325)
_FNV_PRIME = np.uint64(0x100000001B3)
_FOLD_PRIME = np.uint64(0x9E3779B97F4A7C15)
_SHINGLE_SEED = np.uint64(0x6A09E667F3BCC909)


@nb.njit(inline="always", cache=True)
def fmix64(h: np.uint64) -> np.uint64:
    """MurmurHash3's 64-bit finaliser."""
    h ^= h >> np.uint64(33)
    h *= np.uint64(0xFF51AFD7ED558CCD)
    h ^= h >> np.uint64(33)
    h *= np.uint64(0xC4CEB93FE53B86D3)
    h ^= h >> np.uint64(33)
    return h


@lru_cache(maxsize=16)
def permutations(num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``(a, b)`` coefficients of ``num_perm`` seeded multiply-add-shift permutations."""
    rng = np.random.Generator(np.random.PCG64(seed))
    a = rng.integers(0, 2**64 - 1, size=num_perm, dtype=np.uint64, endpoint=True) | np.uint64(1)
    b = rng.integers(0, 2**64 - 1, size=num_perm, dtype=np.uint64, endpoint=True)
    a.setflags(write=False)
    b.setflags(write=False)
    return a, b
