"""Shared fingerprints → anchors → maximal shared runs of tokens.

An *anchor* ``(doc, pos, source, source_pos)`` says that the k-gram at token ``pos`` of ``doc``
has the same hash as the one at ``source_pos`` of ``source``, an *earlier* document under the
keeper order (``rank``). Every occurrence of a shared fingerprint is paired with the
occurrences (the first ``max_positions``) in each of the ``max_sources`` earliest documents
holding it, not only the first one there: the same k-gram may stand earlier in the source in
another context, off the diagonal of the run the two documents share. The work stays linear in
the number of occurrences even for a fingerprint that stands in every document.

:func:`extend_runs` grows each anchor left and right while the token hashes agree, giving the
maximal run the two documents share around it; a run shorter than ``min_words`` tokens is a
chance match of one k-gram and is dropped. The first document (by rank) holding a run is its
*source*; it keeps the run, and the others lose it.
"""

from __future__ import annotations

import numba as nb
import numpy as np

#: How many earlier documents each occurrence of a shared fingerprint is compared with.
MAX_SOURCES = 4
#: How many occurrences of a fingerprint in one of those documents it is paired with.
MAX_POSITIONS = 8

ANCHOR = np.dtype([("doc", "<i8"), ("pos", "<i4"), ("src", "<i8"), ("src_pos", "<i4")])


@nb.njit(cache=True, nogil=True)
def _anchor_kernel(
    hashes: np.ndarray,
    docs: np.ndarray,
    pos: np.ndarray,
    rank: np.ndarray,
    max_sources: int,
    max_positions: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    n = hashes.size
    a_doc = np.empty(0, np.int64)
    a_pos = np.empty(0, np.int32)
    a_src = np.empty(0, np.int64)
    a_spos = np.empty(0, np.int32)
    src_doc = np.empty(max_sources, np.int64)
    src_first = np.empty(max_sources, np.int64)  # index of the source's first occurrence
    src_rank = np.empty(max_sources, np.int64)
    m = 0
    for phase in range(2):  # 0: count the anchors, 1: write them
        if phase == 1:
            a_doc = np.empty(m, np.int64)
            a_pos = np.empty(m, np.int32)
            a_src = np.empty(m, np.int64)
            a_spos = np.empty(m, np.int32)
        m = 0
        i = 0
        while i < n:
            j = i
            while j < n and hashes[j] == hashes[i]:
                j += 1
            if j - i >= 2 and docs[j - 1] != docs[i]:
                # the max_sources earliest documents of the group (rank order)
                ns = 0
                for q in range(i, j):
                    if q > i and docs[q] == docs[q - 1]:
                        continue
                    r = rank[docs[q]]
                    if ns < max_sources or r < src_rank[ns - 1]:
                        k = ns if ns < max_sources else max_sources - 1
                        while k > 0 and src_rank[k - 1] > r:
                            src_rank[k] = src_rank[k - 1]
                            src_doc[k] = src_doc[k - 1]
                            src_first[k] = src_first[k - 1]
                            k -= 1
                        src_rank[k] = r
                        src_doc[k] = docs[q]
                        src_first[k] = q
                        if ns < max_sources:
                            ns += 1
                for q in range(i, j):
                    d = docs[q]
                    r = rank[d]
                    for s in range(ns):
                        if src_rank[s] >= r:
                            break
                        # every occurrence in the source (up to max_positions): the first one
                        # may stand in another context, off the diagonal of the shared run
                        t = src_first[s]
                        stop = min(j, t + max_positions)
                        while t < stop and docs[t] == src_doc[s]:
                            if phase == 1:
                                a_doc[m] = d
                                a_pos[m] = pos[q]
                                a_src[m] = src_doc[s]
                                a_spos[m] = pos[t]
                            m += 1
                            t += 1
            i = j
    return a_doc, a_pos, a_src, a_spos


def anchors(
    part: np.ndarray,
    rank: np.ndarray,
    max_sources: int = MAX_SOURCES,
    max_positions: int = MAX_POSITIONS,
) -> np.ndarray:
    """Anchors of one partition of fingerprints (sorted by hash, doc, pos)."""
    d, p, s, sp = _anchor_kernel(
        part["hash"], part["doc"], part["pos"], rank, max_sources, max_positions
    )
    out = np.empty(d.size, dtype=ANCHOR)
    out["doc"], out["pos"], out["src"], out["src_pos"] = d, p, s, sp
    return out


RUN = np.dtype(
    [("doc", "<i8"), ("start", "<i4"), ("end", "<i4"), ("src", "<i8"), ("src_start", "<i4")]
)


@nb.njit(cache=True, nogil=True)
def _extend_kernel(
    a_doc: np.ndarray,
    a_pos: np.ndarray,
    a_src: np.ndarray,
    a_spos: np.ndarray,
    doc_slot: np.ndarray,
    tokens: np.ndarray,
    tok_off: np.ndarray,
    k: int,
    min_words: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Anchors sorted by (doc, src, pos − src_pos, pos); ``doc_slot`` maps a document to its
    slot in ``tokens``/``tok_off``."""
    n = a_doc.size
    r_doc = np.empty(n, np.int64)
    r_start = np.empty(n, np.int32)
    r_end = np.empty(n, np.int32)
    r_src = np.empty(n, np.int64)
    r_sstart = np.empty(n, np.int32)
    m = 0
    prev_doc, prev_src, prev_diag, prev_end = -1, -1, 0, -1
    for i in range(n):
        d, s = a_doc[i], a_src[i]
        p, q = a_pos[i], a_spos[i]
        diag = p - q
        if d == prev_doc and s == prev_src and diag == prev_diag and p < prev_end:
            continue  # inside the run already found on this diagonal: the same run again
        td0, td1 = tok_off[doc_slot[d]], tok_off[doc_slot[d] + 1]
        ts0, ts1 = tok_off[doc_slot[s]], tok_off[doc_slot[s] + 1]
        nd, ns = td1 - td0, ts1 - ts0
        # grow left
        a, b = p, q
        while a > 0 and b > 0 and tokens[td0 + a - 1] == tokens[ts0 + b - 1]:
            a -= 1
            b -= 1
        # grow right from the anchor's start
        e, f = p, q
        while e < nd and f < ns and tokens[td0 + e] == tokens[ts0 + f]:
            e += 1
            f += 1
        prev_doc, prev_src, prev_diag, prev_end = d, s, diag, e
        if e - a >= min_words:
            r_doc[m] = d
            r_start[m] = a
            r_end[m] = e
            r_src[m] = s
            r_sstart[m] = b
            m += 1
    return r_doc[:m], r_start[:m], r_end[:m], r_src[:m], r_sstart[:m]


def extend_runs(
    anc: np.ndarray,
    doc_slot: np.ndarray,
    tokens: np.ndarray,
    tok_off: np.ndarray,
    k: int,
    min_words: int,
) -> np.ndarray:
    """Maximal shared runs of at least ``min_words`` tokens around the anchors ``anc``.

    ``tokens``/``tok_off`` hold the token hashes of every document the anchors name (document
    ``x`` at slot ``doc_slot[x]``). Returns ``RUN`` records sorted by (doc, start, src)."""
    if anc.size == 0:
        return np.zeros(0, dtype=RUN)
    diag = anc["pos"].astype(np.int64) - anc["src_pos"]
    if anc["doc"].max() < 1 << 31 and anc["src"].max() < 1 << 31:
        pair = anc["doc"] << 32 | anc["src"]
        order = np.lexsort((anc["pos"], diag, pair))
    else:
        order = np.lexsort((anc["pos"], diag, anc["src"], anc["doc"]))
    a = anc[order]
    d, s, e, src, ss = _extend_kernel(
        a["doc"], a["pos"], a["src"], a["src_pos"], doc_slot, tokens, tok_off, k, min_words
    )
    out = np.empty(d.size, dtype=RUN)
    out["doc"], out["start"], out["end"], out["src"], out["src_start"] = d, s, e, src, ss
    return out[np.lexsort((out["src_start"], out["src"], out["start"], out["doc"]))]
