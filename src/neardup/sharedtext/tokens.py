"""Word tokens of the original text, with their character offsets.

Tokens follow :mod:`neardup.text.normalize`: maximal runs of word characters (letters, numbers,
combining marks, ``_``), except that a character of a script written without spaces (Chinese,
Japanese, Thai, …) is a token on its own. The text is read as code points (UTF-32), so a token's
``start``/``end`` are Python string offsets into the text as given: every span built from tokens
is word-aligned by construction. A token's hash is taken over its code points lower-cased one by
one (the simple case mapping of the Basic Multilingual Plane); NFKC is not applied, since it
would move offsets. Hashes are 64-bit (FNV-1a over code points, finalised by ``fmix64``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numba as nb
import numpy as np

from neardup.hashing import _FNV_OFFSET, _FNV_PRIME, fmix64
from neardup.text.normalize import NOSPACE, char_classes


@lru_cache(maxsize=1)
def fold_table() -> np.ndarray:
    """Lower-case mapping of the Basic Multilingual Plane (code points map to themselves where
    lower-casing is not one code point)."""
    table = np.arange(0x10000, dtype=np.uint32)
    for cp in range(0x10000):
        if 0xD800 <= cp < 0xE000:
            continue
        low = chr(cp).lower()
        if len(low) == 1:
            table[cp] = ord(low)
    return table


@nb.njit(cache=True, nogil=True)
def token_kernel(
    cps: np.ndarray, offsets: np.ndarray, classes: np.ndarray, fold: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per token: ``(hash, start, end)`` (offsets local to the document); per document:
    ``token_offsets`` into those arrays."""
    n_docs = offsets.size - 1
    total = offsets[-1]
    hashes = np.empty(total, dtype=np.uint64)
    starts = np.empty(total, dtype=np.int32)
    ends = np.empty(total, dtype=np.int32)
    tok_off = np.zeros(n_docs + 1, dtype=np.int64)
    t = 0
    for d in range(n_docs):
        base = offsets[d]
        in_tok = False
        h = _FNV_OFFSET
        for i in range(offsets[d], offsets[d + 1]):
            cp = cps[i]
            cls = classes[cp] if cp < 0x110000 else 0
            if cls != 0:
                f = np.uint64(fold[cp]) if cp < 0x10000 else np.uint64(cp)
                if cls & NOSPACE:
                    if in_tok:
                        hashes[t] = fmix64(h)
                        ends[t] = i - base
                        t += 1
                        in_tok = False
                    hashes[t] = fmix64((_FNV_OFFSET ^ f) * _FNV_PRIME)
                    starts[t] = i - base
                    ends[t] = i + 1 - base
                    t += 1
                    continue
                if not in_tok:
                    in_tok = True
                    h = _FNV_OFFSET
                    starts[t] = i - base
                h = (h ^ f) * _FNV_PRIME
            elif in_tok:
                hashes[t] = fmix64(h)
                ends[t] = i - base
                t += 1
                in_tok = False
        if in_tok:
            hashes[t] = fmix64(h)
            ends[t] = offsets[d + 1] - base
            t += 1
        tok_off[d + 1] = t
    return hashes[:t], starts[:t], ends[:t], tok_off


@dataclass(frozen=True, slots=True)
class TokenBatch:
    """The tokens of a batch of documents: document ``d`` owns tokens
    ``offsets[d]:offsets[d + 1]``; ``starts``/``ends`` are offsets into its text."""

    hashes: np.ndarray
    starts: np.ndarray
    ends: np.ndarray
    offsets: np.ndarray

    def __len__(self) -> int:
        return int(self.offsets.size - 1)

    def doc(self, d: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(hashes, starts, ends)`` of document ``d``."""
        a, b = int(self.offsets[d]), int(self.offsets[d + 1])
        return self.hashes[a:b], self.starts[a:b], self.ends[a:b]

    def counts(self) -> np.ndarray:
        return np.diff(self.offsets)


def code_points(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """The texts as one UTF-32 array and per-document offsets into it."""
    lengths = np.fromiter((len(t) for t in texts), dtype=np.int64, count=len(texts))
    offsets = np.zeros(len(texts) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    joined = "".join(texts).encode("utf-32-le", "surrogatepass")
    return np.frombuffer(joined, dtype=np.uint32), offsets


def tokenize(texts: list[str]) -> TokenBatch:
    """Tokens of every text, with 64-bit hashes and character offsets."""
    cps, offsets = code_points(texts)
    h, s, e, o = token_kernel(cps, offsets, char_classes(), fold_table())
    return TokenBatch(h, s, e, o)
