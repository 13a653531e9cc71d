"""Shingling: normalised text → sets of 32-bit shingle ids, for whole batches at once.

A *word shingle* is ``n`` consecutive tokens of the normalised text (default n = 5). A document
with fewer than ``n`` tokens still gets one shingle made of all its tokens, so short documents can
match. A *character shingle* is ``n`` consecutive word characters (separators skipped), used for
scripts written without spaces — Chinese, Japanese, Thai and others in
:data:`neardup.text.normalize.NOSPACE_RANGES`. In ``auto`` mode a document is shingled by
characters when at least a third of its word characters belong to those scripts.

The kernel reads the UTF-8 bytes of NFKC + case-folded text (see :mod:`neardup.text.normalize`)
and emits, per document, the normalised text (for the exact-duplicate hash) and the shingle ids
(for MinHash and verification).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

import numba as nb
import numpy as np

from neardup.hashing import _FNV_OFFSET, _FNV_PRIME, _FOLD_PRIME, _SHINGLE_SEED, fmix64
from neardup.text.fold import fold_table
from neardup.text.normalize import char_classes, prepare


def _nfkc(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


MODE_CODES = {"auto": 0, "word": 1, "char": 2}
#: the most bytes (FOLD_BYTES) and code points (FOLD_UNITS) the fold of a character can take
#: per byte of the character: U+FDFA, 3 bytes, folds to 18 code points in 33 bytes
FOLD_BYTES, FOLD_UNITS = 11, 6
WORD_MODE, CHAR_MODE = 1, 2


@nb.njit(cache=True)
def _decode(buf: np.ndarray, i: int, end: int) -> tuple[int, int]:
    """Decode one UTF-8 code point at ``buf[i]``; invalid bytes decode as U+FFFD, length 1."""
    c0 = int(buf[i])
    if c0 < 0x80:
        return c0, 1
    if c0 >= 0xC2 and c0 < 0xE0 and i + 1 < end:
        return ((c0 & 0x1F) << 6) | (int(buf[i + 1]) & 0x3F), 2
    if c0 >= 0xE0 and c0 < 0xF0 and i + 2 < end:
        return ((c0 & 0x0F) << 12) | ((int(buf[i + 1]) & 0x3F) << 6) | (int(buf[i + 2]) & 0x3F), 3
    if c0 >= 0xF0 and c0 < 0xF5 and i + 3 < end:
        cp = (
            ((c0 & 0x07) << 18)
            | ((int(buf[i + 1]) & 0x3F) << 12)
            | ((int(buf[i + 2]) & 0x3F) << 6)
            | (int(buf[i + 3]) & 0x3F)
        )
        if cp < 0x110000:
            return cp, 4
    return 0xFFFD, 1


@nb.njit(cache=True)
def _emit_shingles(th: np.ndarray, nt: int, n: int, shingles: np.ndarray, s: int) -> int:
    """Write the ids of the n-gram shingles over unit hashes ``th[:nt]`` at ``shingles[s:]``."""
    if nt == 0:
        return s
    width = min(n, nt)
    for p in range(nt - width + 1):
        g = _SHINGLE_SEED
        for q in range(width):
            g = (g ^ th[p + q]) * _FOLD_PRIME
        shingles[s] = np.uint32(fmix64(g) >> np.uint64(32))
        s += 1
    return s


@nb.njit(cache=True)
def put_utf8(cp: int, out: np.ndarray, o: int) -> int:
    """Write code point ``cp`` as UTF-8 at ``out[o:]``; returns the position after it."""
    if cp < 0x80:
        out[o] = cp
        return o + 1
    if cp < 0x800:
        out[o] = 0xC0 | (cp >> 6)
        out[o + 1] = 0x80 | (cp & 0x3F)
        return o + 2
    if cp < 0x10000:
        out[o] = 0xE0 | (cp >> 12)
        out[o + 1] = 0x80 | ((cp >> 6) & 0x3F)
        out[o + 2] = 0x80 | (cp & 0x3F)
        return o + 3
    out[o] = 0xF0 | (cp >> 18)
    out[o + 1] = 0x80 | ((cp >> 12) & 0x3F)
    out[o + 2] = 0x80 | ((cp >> 6) & 0x3F)
    out[o + 3] = 0x80 | (cp & 0x3F)
    return o + 4


@nb.njit(cache=True)
def _mapped(fkeys: np.ndarray, foffs: np.ndarray, cp: int) -> tuple[int, int]:
    """Where the fold of MAPPED code point ``cp`` lies in the fold table's values."""
    k = np.searchsorted(fkeys, cp)
    return foffs[k], foffs[k + 1]


@nb.njit(cache=True)
def _room(a: np.ndarray, used: int, need: int) -> np.ndarray:
    """``a``, or a copy of its first ``used`` items in an array of at least ``need`` (doubling)."""
    if need <= a.size:
        return a
    grown = np.empty(max(need, 2 * a.size), dtype=a.dtype)
    grown[:used] = a[:used]
    return grown


@nb.njit(cache=True, nogil=True)
def shingle_kernel(
    buf: np.ndarray,
    offsets: np.ndarray,
    classes: np.ndarray,
    mode: int,
    n_word: int,
    n_char: int,
    fold: np.ndarray,
    fkind: np.ndarray,
    fkeys: np.ndarray,
    foffs: np.ndarray,
    fvals: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Normalise and shingle every document of a batch in one pass over its bytes.

    Document ``d`` is prepared text (NFKC and case-folded) where ``fold[d]`` is 0, and raw text
    made of foldable characters (:mod:`neardup.text.fold`) where it is 1: each MAPPED
    character is replaced by its fold (``fkind``, ``fkeys``, ``foffs``, ``fvals``, the arrays
    of a :class:`~neardup.text.fold.FoldTable`) as it is read. ASCII A–Z is lowered in both.

    Returns ``(norm, norm_offsets, shingles, shingle_offsets, doc_modes, n_tokens)``. Shingle ids
    come in text order and may repeat; :func:`neardup.verify.sorted_sets` makes sets of them
    when (and only for the documents where) verification needs sets. MinHash is indifferent to
    order and repeats.
    """
    n_docs = offsets.size - 1
    total = offsets[-1]
    max_units = 0
    for d in range(n_docs):
        max_units = max(max_units, (offsets[d + 1] - offsets[d]) * (FOLD_UNITS if fold[d] else 1))
    norm = np.empty(total + 1, dtype=np.uint8)  # + 1: the ASCII run writes one byte ahead
    norm_offsets = np.zeros(n_docs + 1, dtype=np.int64)
    shingles = np.empty(total, dtype=np.uint32)
    shingle_offsets = np.zeros(n_docs + 1, dtype=np.int64)
    doc_modes = np.zeros(n_docs, dtype=np.uint8)
    n_tokens = np.zeros(n_docs, dtype=np.int64)
    th = np.empty(max_units + 1, dtype=np.uint64)
    enc = np.empty(4, dtype=np.uint8)
    w = 0  # write position in norm
    s = 0  # write position in shingles
    for d in range(n_docs):
        start, end = offsets[d], offsets[d + 1]
        folding = fold[d] != 0
        # Room for this document's output, checked for every document: a fold can be longer
        # than its character, so a folded document may use up the room of the documents after
        # it (which need at most one byte and one shingle per input byte, + 1 byte written ahead)
        norm = _room(norm, w, w + (end - start) * (FOLD_BYTES if folding else 1) + 1)
        shingles = _room(shingles, s, s + (end - start) * (FOLD_UNITS if folding else 1) + 1)
        w0 = w
        nt = 0
        n_wordch = 0
        n_nosp = 0
        in_tok = False
        h = _FNV_OFFSET
        i = start
        while i < end:
            c0 = buf[i]
            if c0 < 128:
                # A run of ASCII, most of most text, the steps below without a branch per
                # byte: where prose puts its word boundaries is too irregular for the branch
                # predictor, and a mispredicted branch costs more than the few instructions
                # that compute both outcomes. A-Z lowered (see encode_batch); a token's hash
                # is stored at every byte and kept (nt advanced) where the token ends.
                tk = 1 if in_tok else 0
                while True:
                    c = int(c0)
                    c += int(np.uint64(c - 65) < np.uint64(26)) << 5
                    wd = int(classes[c] != 0)
                    st = wd & (1 - tk)
                    th[nt] = h
                    nt += tk & (1 - wd)
                    norm[w] = 32
                    w += st & int(w > w0)
                    norm[w] = c
                    w += wd
                    hs = _FNV_OFFSET if st else h
                    hm = (hs ^ np.uint64(c)) * _FNV_PRIME
                    h = hm if wd else h
                    tk = wd
                    n_wordch += wd
                    i += 1
                    if i >= end:
                        break
                    c0 = buf[i]
                    if c0 >= 128:
                        break
                in_tok = tk != 0
                continue
            cp, ln = _decode(buf, i, end)
            if folding and fkind[cp] == 1:  # replaced by its fold, character by character
                lo, hi = _mapped(fkeys, foffs, cp)
            else:
                lo, hi = -1, 0
            v = lo
            while True:
                if lo < 0:  # the character itself
                    ucp = cp
                    uln = ln
                else:
                    if v >= hi:
                        break
                    ucp = fvals[v]
                    uln = put_utf8(ucp, enc, 0)
                    v += 1
                cls = classes[ucp]
                if cls != 0:
                    n_wordch += 1
                    if cls & 2:
                        n_nosp += 1
                    if not in_tok:
                        if w > w0:
                            norm[w] = 32
                            w += 1
                        in_tok = True
                        h = _FNV_OFFSET
                    if lo >= 0:
                        for q in range(uln):
                            norm[w] = enc[q]
                            w += 1
                            h = (h ^ np.uint64(enc[q])) * _FNV_PRIME
                    else:
                        for q in range(uln):
                            norm[w] = buf[i + q]
                            w += 1
                            h = (h ^ np.uint64(buf[i + q])) * _FNV_PRIME
                elif in_tok:
                    in_tok = False
                    th[nt] = h
                    nt += 1
                if lo < 0:
                    break
            i += ln
        if in_tok:
            th[nt] = h
            nt += 1
        for t in range(nt):  # token hashes: FNV-1a, then fmix64
            th[t] = fmix64(th[t])
        norm_offsets[d + 1] = w
        n_tokens[d] = nt
        char_mode = mode == 2 or (mode == 0 and n_wordch > 0 and 3 * n_nosp >= n_wordch)
        if char_mode:
            doc_modes[d] = 2
            nt = 0
            i = start
            while i < end:
                cp, ln = _decode(buf, i, end)
                if cp >= 65 and cp <= 90:
                    cp += 32
                if folding and fkind[cp] == 1:
                    lo, hi = _mapped(fkeys, foffs, cp)
                    for v in range(lo, hi):
                        if classes[fvals[v]] != 0:
                            th[nt] = fmix64(np.uint64(fvals[v]) ^ _FNV_OFFSET)
                            nt += 1
                elif classes[cp] != 0:
                    th[nt] = fmix64(np.uint64(cp) ^ _FNV_OFFSET)
                    nt += 1
                i += ln
            s = _emit_shingles(th, nt, n_char, shingles, s)
        else:
            doc_modes[d] = 1
            s = _emit_shingles(th, nt, n_word, shingles, s)
        shingle_offsets[d + 1] = s
    return norm[:w], norm_offsets, shingles[:s], shingle_offsets, doc_modes, n_tokens


@dataclass(frozen=True, slots=True)
class ShingleBatch:
    """Shingled documents of one batch.

    ``shingles[shingle_offsets[d]:shingle_offsets[d+1]]`` are document ``d``'s shingle ids in
    text order (:meth:`shingle_set` gives the set); ``norm[norm_offsets[d]:norm_offsets[d+1]]``
    is its normalised UTF-8 text.
    ``modes[d]`` is 1 (word shingles) or 2 (character shingles).
    """

    norm: np.ndarray
    norm_offsets: np.ndarray
    shingles: np.ndarray
    shingle_offsets: np.ndarray
    modes: np.ndarray
    n_tokens: np.ndarray

    def __len__(self) -> int:
        return self.modes.size

    def normalized(self, d: int) -> str:
        return bytes(self.norm[self.norm_offsets[d] : self.norm_offsets[d + 1]]).decode("utf-8")

    def shingle_set(self, d: int) -> np.ndarray:
        """Sorted unique shingle ids of document ``d``."""
        return np.unique(self.shingles[self.shingle_offsets[d] : self.shingle_offsets[d + 1]])


def encode_batch(texts: list[str], *, casefold: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """NFKC (+ case-fold) each text and pack the UTF-8 bytes into one buffer with offsets.

    Pure-ASCII text is already NFKC and its case folding is A-Z → a-z, which the kernels do
    on the fly, so it is encoded as is (``str.isascii`` is O(1) in CPython)."""
    fold = prepare if casefold else _nfkc
    parts = [
        t.encode("ascii") if t.isascii() else fold(t).encode("utf-8", "replace") for t in texts
    ]
    lengths = np.fromiter((len(p) for p in parts), dtype=np.int64, count=len(parts))
    offsets = np.zeros(len(parts) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    buf = np.frombuffer(b"".join(parts), dtype=np.uint8)
    return buf, offsets


def shingle_batch(
    texts: list[str], *, ngram: int = 5, char_ngram: int = 5, mode: str = "auto"
) -> ShingleBatch:
    """Normalise and shingle a batch of texts (see module docstring)."""
    buf, offsets = encode_batch(texts)
    prepared = np.zeros(len(texts), dtype=np.uint8)
    return shingle_buffer(buf, offsets, prepared, ngram=ngram, char_ngram=char_ngram, mode=mode)


def shingle_buffer(
    buf: np.ndarray,
    offsets: np.ndarray,
    fold: np.ndarray,
    *,
    ngram: int = 5,
    char_ngram: int = 5,
    mode: str = "auto",
) -> ShingleBatch:
    """Shingle documents given as UTF-8 bytes ``buf[offsets[d]:offsets[d+1]]``: prepared text
    where ``fold[d]`` is 0, raw text of foldable characters (:mod:`neardup.text.fold`) that the
    kernel folds as it reads where it is 1."""
    if buf.size == 0:
        buf = np.zeros(1, dtype=np.uint8)[:0]
    ft = fold_table()
    out = shingle_kernel(
        buf,
        offsets,
        char_classes(),
        MODE_CODES[mode],
        ngram,
        char_ngram,
        fold,
        ft.kind,
        ft.keys,
        ft.offsets,
        ft.values,
    )
    return ShingleBatch(*out)


def shingle_set(
    text: str, *, ngram: int = 5, char_ngram: int = 5, mode: str = "auto"
) -> np.ndarray:
    """Sorted unique shingle ids of one text."""
    batch = shingle_batch([text], ngram=ngram, char_ngram=char_ngram, mode=mode)
    return batch.shingle_set(0)
