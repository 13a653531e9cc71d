"""Deciding a batch against an index, with array operations instead of one query per document.

:func:`prepare` fingerprints a batch (no database access, so it can run in another thread while
the previous batch is written). Each document gets ``bands + 1`` lookup keys: one per LSH band
and one for its exact hash, so exact copies are found through the same band runs as near ones.
:func:`candidate_pairs` turns the stored entries that share a key with the batch into
``(document, stored n)`` pairs; :func:`plan_add` verifies every pair of the batch, stored and
within the batch, with one call of the Jaccard kernel and walks the documents in order to decide
each one. Empty documents (no shingles) are never duplicates, as in ``dedup``, so they get no
keys at all.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np

from neardup.candidates.lsh import LSHParams, band_keys, bucket_pairs
from neardup.index.bands import ranges, unique
from neardup.pipeline import StageParams, fingerprint_texts
from neardup.verify import jaccard_pairs, sorted_sets

#: Mixed into the exact hash to make its lookup key (band keys hash the band number in).
EXACT_SALT = 0x5BD1E9955BD1E995


@dataclass(frozen=True, slots=True)
class Prepared:
    """A batch fingerprinted for the index, with everything that needs no database: exact
    hashes and MinHash signatures (as bytes); the lookup keys of the documents that have
    shingles (one per band and one for the exact hash, int64 as SQLite stores them), sorted,
    with the document of each, and the distinct keys; sorted shingle-id sets (flat + offsets);
    the verified near-duplicate pairs within the batch (``earlier[b] = [(a, J), …]``, ``a <
    b``); and what else the rows store (metadata as JSON, shingle sets as bytes)."""

    items: list[tuple[str, str, dict[str, Any]]]
    exact: list[bytes]
    signatures: list[bytes]
    keys: np.ndarray
    key_docs: np.ndarray
    distinct_keys: np.ndarray
    sets: np.ndarray
    offsets: np.ndarray
    earlier: dict[int, list[tuple[int, float]]]
    meta_json: list[str]
    set_bytes: list[bytes]


@dataclass(frozen=True, slots=True)
class Decision:
    """The best verified match of one document: stored number, id, similarity, reason."""

    n: int
    id: str
    similarity: float
    reason: str


def prepare(
    items: list[tuple[str, str, dict[str, Any]]],
    params: StageParams,
    lsh: LSHParams,
    threshold: float | None,
) -> Prepared:
    """Normalise, shingle and fingerprint the texts of a batch; its lookup keys; the near
    duplicates within it and what its rows store (unless ``threshold`` is ``None``: a query
    stores nothing and needs neither)."""
    m = len(items)
    stores = threshold is not None
    exact, sigs, shingles, counts, _, _ = fingerprint_texts([t for _, t, _ in items], params)
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    sets, set_offs = sorted_sets(shingles, offsets, np.arange(m))
    sets = np.ascontiguousarray(sets, dtype=np.uint32)
    set_offs = np.asarray(set_offs, dtype=np.int64)
    keys = np.empty((lsh.bands + 1, m), dtype=np.uint64)
    keys[:-1] = band_keys(np.ascontiguousarray(sigs), np.arange(m), lsh.bands, lsh.rows)
    keys[-1] = exact_keys(exact)
    live = np.flatnonzero(np.diff(set_offs) > 0)  # empty documents never match: no keys
    flat = keys[:, live].view(np.int64).ravel()
    docs = np.tile(live, keys.shape[0])
    order = np.argsort(flat, kind="stable")
    flat, docs = flat[order], docs[order]
    return Prepared(
        items,
        [exact[k].tobytes() for k in range(m)],
        [sigs[k].tobytes() for k in range(m)] if stores else [],
        flat,
        docs,
        unique(flat),
        sets,
        set_offs,
        _earlier(flat, docs, sets, set_offs, m, threshold) if threshold is not None else {},
        [json.dumps(meta, ensure_ascii=False) for _, _, meta in items] if stores else [],
        [sets[set_offs[k] : set_offs[k + 1]].tobytes() for k in range(m)] if stores else [],
    )


def _earlier(
    flat: np.ndarray,
    docs: np.ndarray,
    sets: np.ndarray,
    offsets: np.ndarray,
    m: int,
    threshold: float,
) -> dict[int, list[tuple[int, float]]]:
    """Pairs ``(a, b)``, ``a < b``, of batch documents that share a key and whose Jaccard
    similarity reaches ``threshold``, as ``{b: [(a, J), …]}``."""
    if flat.size == 0:
        return {}
    a, b = bucket_pairs(flat, np.arange(flat.size), docs, max(m, 2))
    keep = a != b
    code = unique(a[keep] * m + b[keep])
    a, b = code // m, code % m
    sims = jaccard_pairs(sets, offsets, np.stack([a, b], axis=1))
    ok = sims >= threshold
    out: dict[int, list[tuple[int, float]]] = {}
    for x, y, s in zip(a[ok].tolist(), b[ok].tolist(), sims[ok].tolist(), strict=True):
        out.setdefault(y, []).append((x, s))
    return out


def exact_keys(exact: np.ndarray) -> np.ndarray:
    """The lookup key of each 128-bit exact hash (rows of two uint64): its first half, salted."""
    return np.ascontiguousarray(exact).view(np.uint64).reshape(len(exact), -1)[:, 0] ^ np.uint64(
        EXACT_SALT
    )


def candidate_pairs(
    flat: np.ndarray, members: np.ndarray, entry_keys: np.ndarray, entry_ns: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Unique pairs ``(k, n)``: batch document ``k = members[i]`` has the key ``flat[i]`` of
    the stored entry ``(key, n)``."""
    if entry_keys.size == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    order = np.argsort(entry_keys, kind="stable")
    ek, en = entry_keys[order], entry_ns[order]
    lo = np.searchsorted(ek, flat, side="left")
    cnt = np.searchsorted(ek, flat, side="right") - lo
    pk = np.repeat(members, cnt)
    pn = en[ranges(lo, cnt)]
    code = unique((pk << 32) | pn)
    return code >> 32, code & 0xFFFFFFFF


def verify(
    prep: Prepared,
    pairs: tuple[np.ndarray, np.ndarray],
    stored: dict[int, tuple[str, np.ndarray]],
) -> np.ndarray:
    """Exact Jaccard similarity of every pair ``(k, n)`` of a batch document and a stored one
    (``n`` in ``stored``), in one kernel call."""
    pk, pn = pairs
    ns = sorted(stored)
    slot = {n: j for j, n in enumerate(ns)}
    m = len(prep.items)
    arrays = [prep.sets] + [stored[n][1] for n in ns]
    sizes = np.array([a.size for a in arrays[1:]], dtype=np.int64)
    offs = np.concatenate([prep.offsets, prep.offsets[-1] + np.cumsum(sizes)]).astype(np.int64)
    cols = np.fromiter((m + slot[n] for n in pn.tolist()), dtype=np.int64, count=pn.size)
    return jaccard_pairs(
        np.concatenate(arrays).astype(np.uint32), offs, np.stack([pk, cols], axis=1)
    )


def plan_add(
    prep: Prepared,
    stored_exact: dict[bytes, tuple[int, str]],
    stored_pairs: tuple[np.ndarray, np.ndarray],
    stored: dict[int, tuple[str, np.ndarray]],
    threshold: float,
    add_duplicates: bool,
    next_n: int,
) -> tuple[list[Decision | None], list[tuple[int, int]]]:
    """Decide each document in order: an exact duplicate of a stored document (or of one stored
    earlier in this batch), else the verified match of highest Jaccard similarity ≥
    ``threshold`` (ties to the lower number, i.e. the earlier document), else new. Returns the
    decisions and ``(n, k)`` for every document to store (new ones, or all with
    ``add_duplicates``), numbered from ``next_n``. Empty documents are never duplicates, as in
    ``dedup``."""
    m = len(prep.items)
    pk, pn = stored_pairs
    s_sims = verify(prep, (pk, pn), stored)
    best_stored: dict[int, tuple[float, int]] = {}
    ok = s_sims >= threshold
    for k, n, s in zip(pk[ok].tolist(), pn[ok].tolist(), s_sims[ok].tolist(), strict=True):
        cur = best_stored.get(k)
        if cur is None or (-s, n) < (-cur[0], cur[1]):
            best_stored[k] = (s, n)
    earlier = prep.earlier
    sizes = np.diff(prep.offsets)
    exact = dict(stored_exact)
    numbered: dict[int, int] = {}  # batch document -> its number, once stored
    decisions: list[Decision | None] = []
    rows: list[tuple[int, int]] = []
    for k in range(m):
        rid = prep.items[k][0]
        decision: Decision | None = None
        if sizes[k]:
            hit = exact.get(prep.exact[k])
            if hit is not None:
                decision = Decision(hit[0], hit[1], 1.0, "exact")
            else:
                best = best_stored.get(k)
                cand = (-best[0], best[1], stored[best[1]][0]) if best else None
                for a, s in earlier.get(k, ()):
                    if a in numbered and (cand is None or (-s, numbered[a]) < cand[:2]):
                        cand = (-s, numbered[a], prep.items[a][0])
                if cand is not None:
                    decision = Decision(cand[1], cand[2], round(-cand[0], 6), "near")
        decisions.append(decision)
        if decision is None or add_duplicates:
            n, next_n = next_n, next_n + 1
            numbered[k] = n
            rows.append((n, k))
            exact.setdefault(prep.exact[k], (n, rid))
    return decisions, rows
