"""Exact all-pairs word-n-gram Jaccard ground truth (the physical reference for accuracy).

Shingles (this must match neardup's definition):

* text -> ``unicodedata.normalize("NFKC")`` -> ``.casefold()``;
* tokens = ``re.findall(r"\\w+", s)`` (maximal runs of ``c.isalnum() or c == "_"``);
* shingles = tuples of ``n`` consecutive tokens; a document with 1..n-1 tokens has exactly one
  shingle (all of its tokens); a document without tokens has no shingles and is never paired.

Every distinct shingle gets an exact integer id: token strings are numbered with a dict, n-grams of
token ids are sorted by a 64-bit hash and equal-hash neighbours are compared token by token, so a
collision can never merge two shingles (if one occurs, ids are rebuilt collision-free by numbering
distinct ``(k-1-gram id, next token id)`` pairs n-1 times).  Each document is a sorted unique id
array, and all pairs with Jaccard >= t are found exactly by an all-pairs
similarity join: ids are ordered by global document frequency (rarest first), only the prefix of
length ``|x| - ceil(t|x|) + 1`` of each document is indexed, the length filter ``t|x| <= |y|``
prunes, and every candidate is verified by an exact sorted-array intersection.  Thresholds are
compared as exact fractions (``4/5`` for 0.8), so ``|x∩y| / |x∪y| == t`` counts as a pair.

Results are cached under ``bench/data/cache`` keyed by corpus path, size, mtime and parameters,
so re-runs are instant.

Usage::

    python bench/ground_truth.py CORPUS.jsonl --threshold 0.8 --ngram 5 --out PAIRS.jsonl
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction
from multiprocessing import get_context
from pathlib import Path

import numpy as np
from numba import njit
from shingles import iter_line_batches, loads, tokenize

GT_VERSION = 1
DEFAULT_CACHE_DIR = Path(__file__).resolve().parent / "data" / "cache"


# ---------------------------------------------------------------------------------------------
# Corpus -> token id arrays (parallel over batches, vocabularies merged in the parent)
# ---------------------------------------------------------------------------------------------


def _tokenize_batch(lines: list[str]) -> tuple[list[str], list[str], np.ndarray, np.ndarray]:
    """Worker: return (doc ids, local vocabulary, local token ids, tokens per doc)."""
    vocab: dict[str, int] = {}
    ids: list[str] = []
    flat: list[int] = []
    lengths: list[int] = []
    setdefault = vocab.setdefault
    for line in lines:
        rec = loads(line)
        ids.append(str(rec["id"]))
        toks = tokenize(rec.get("text") or "")
        flat.extend([setdefault(t, len(vocab)) for t in toks])
        lengths.append(len(toks))
    return ids, list(vocab), np.asarray(flat, dtype=np.uint32), np.asarray(lengths, np.int64)


@dataclass
class TokenizedCorpus:
    """All documents' token ids, concatenated, with per-document offsets."""

    ids: list[str]
    tokens: np.ndarray  # uint32, global token ids
    offsets: np.ndarray  # int64[n_docs + 1]
    vocab_size: int


def tokenize_corpus(path: Path, workers: int) -> TokenizedCorpus:
    """Tokenise every document of ``path`` into global token ids."""
    vocab: dict[str, int] = {}
    ids: list[str] = []
    parts: list[np.ndarray] = []
    lengths: list[np.ndarray] = []

    def merge(result: tuple[list[str], list[str], np.ndarray, np.ndarray]) -> None:
        doc_ids, local_vocab, local, lens = result
        remap = np.fromiter(
            (vocab.setdefault(w, len(vocab)) for w in local_vocab), np.uint32, len(local_vocab)
        )
        ids.extend(doc_ids)
        parts.append(remap[local] if len(local) else local)
        lengths.append(lens)

    batches = iter_line_batches(path)
    if workers > 1:
        with get_context("fork").Pool(workers) as pool:
            for res in pool.imap(_tokenize_batch, batches, chunksize=1):
                merge(res)
    else:
        for batch in batches:
            merge(_tokenize_batch(batch))
    tokens = np.concatenate(parts) if parts else np.zeros(0, np.uint32)
    lens = np.concatenate(lengths) if lengths else np.zeros(0, np.int64)
    offsets = np.zeros(len(lens) + 1, np.int64)
    np.cumsum(lens, out=offsets[1:])
    return TokenizedCorpus(ids, tokens, offsets, len(vocab))


# ---------------------------------------------------------------------------------------------
# Exact shingle ids and per-document sets
# ---------------------------------------------------------------------------------------------


_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_MULT = np.uint64(0x9E3779B97F4A7C15)


def _dense_from_sorted(sorted_keys: np.ndarray, order: np.ndarray) -> np.ndarray:
    """Given keys sorted by ``order``, number equal keys 0..k-1 in sorted order."""
    new_run = np.empty(len(sorted_keys), np.bool_)
    if len(sorted_keys):
        new_run[0] = True
        np.not_equal(sorted_keys[1:], sorted_keys[:-1], out=new_run[1:])
    ids = np.empty(len(sorted_keys), np.int64)
    ids[order] = np.cumsum(new_run) - 1
    return ids


def sorted_unique(values: np.ndarray) -> np.ndarray:
    """``np.unique`` via a plain sort (numpy 2's ``np.unique`` is much slower on uint64)."""
    s = np.sort(values)
    if len(s) < 2:
        return s
    keep = np.empty(len(s), np.bool_)
    keep[0] = True
    np.not_equal(s[1:], s[:-1], out=keep[1:])
    return s[keep]


def _ngram_ids_iterative(toks: np.ndarray, pos: np.ndarray, n: int) -> np.ndarray:
    """Exact n-gram ids by numbering distinct ``(k-1-gram id, next token)`` pairs n-1 times."""
    gram = toks[pos].astype(np.int64)
    for k in range(1, n):
        key = (gram.astype(np.uint64) << np.uint64(32)) | toks[pos + k].astype(np.uint64)
        order = np.argsort(key)
        gram = _dense_from_sorted(key[order], order)
    return gram


def ngram_ids(toks: np.ndarray, pos: np.ndarray, n: int) -> np.ndarray:
    """Exact ids of the n-grams of ``toks`` starting at ``pos`` (equal ids <=> equal n-grams).

    A 64-bit rolling hash is sorted once; equal-hash neighbours are then compared token by
    token, so a hash collision is detected (never silently merged) and triggers the slower,
    collision-free iterative numbering instead.
    """
    h = np.zeros(len(pos), np.uint64)
    for k in range(n):
        h ^= toks[pos + k].astype(np.uint64) + np.uint64(k + 1)
        h *= _MULT
        h ^= h >> np.uint64(31)
    h ^= h >> np.uint64(30)
    h *= _MIX1
    h ^= h >> np.uint64(27)
    h *= _MIX2
    h ^= h >> np.uint64(31)
    order = np.argsort(h)
    hs = h[order]
    del h
    same = np.flatnonzero(hs[1:] == hs[:-1])
    if len(same):
        pa, pb = pos[order[same]], pos[order[same + 1]]
        for k in range(n):
            if np.any(toks[pa + k] != toks[pb + k]):
                print("ground truth: 64-bit hash collision, using exact ids", file=sys.stderr)
                return _ngram_ids_iterative(toks, pos, n)
    return _dense_from_sorted(hs, order)


@dataclass
class ShingleSets:
    """CSR layout of per-document sorted unique shingle ids (ids ordered rarest first)."""

    indptr: np.ndarray  # int64[n_docs + 1]
    indices: np.ndarray  # int64, shingle ranks: 0 = rarest
    df: np.ndarray  # int64[n_shingles], document frequency by rank
    n_shingles: int


def build_shingle_sets(corpus: TokenizedCorpus, n: int) -> ShingleSets:
    """Map every distinct shingle to an exact id and build rarest-first per-doc sets."""
    offsets = corpus.offsets
    lens = np.diff(offsets)
    n_docs = len(lens)
    long_docs = np.flatnonzero(lens >= n)
    # Start positions of all n-grams of docs with >= n tokens, grouped by doc.
    counts = lens[long_docs] - n + 1
    starts = np.repeat(offsets[long_docs], counts)
    within = np.arange(len(starts), dtype=np.int64) - np.repeat(np.cumsum(counts) - counts, counts)
    pos = starts + within
    doc_of = np.repeat(long_docs, counts)
    del starts, within

    toks = corpus.tokens
    gram = ngram_ids(toks, pos, n)
    del pos
    n_ngrams = int(gram.max()) + 1 if len(gram) else 0

    # Docs with 1..n-1 tokens: one shingle each, numbered after the n-grams (exact, via a dict).
    short_docs = np.flatnonzero((lens > 0) & (lens < n))
    short_ids: dict[tuple[int, ...], int] = {}
    short_gram = np.fromiter(
        (
            n_ngrams
            + short_ids.setdefault(
                tuple(toks[offsets[d] : offsets[d + 1]].tolist()), len(short_ids)
            )
            for d in short_docs
        ),
        np.int64,
        len(short_docs),
    )
    n_shingles = n_ngrams + len(short_ids)
    doc_of = np.concatenate([doc_of, short_docs])
    gram = np.concatenate([gram, short_gram])

    # Unique (doc, shingle) entries, then document frequencies and rarest-first ranks.
    packed = sorted_unique((doc_of.astype(np.uint64) << np.uint64(32)) | gram.astype(np.uint64))
    del doc_of, gram
    doc_of = (packed >> np.uint64(32)).astype(np.int64)
    gram = (packed & np.uint64(0xFFFFFFFF)).astype(np.int64)
    del packed
    df_by_id = np.bincount(gram, minlength=n_shingles)
    order = np.lexsort((np.arange(n_shingles), df_by_id))
    rank = np.empty(n_shingles, np.int64)
    rank[order] = np.arange(n_shingles, dtype=np.int64)
    df = df_by_id[order]
    gram = rank[gram]
    packed = np.sort((doc_of.astype(np.uint64) << np.uint64(32)) | gram.astype(np.uint64))
    indices = (packed & np.uint64(0xFFFFFFFF)).astype(np.int64)
    indptr = np.zeros(n_docs + 1, np.int64)
    np.cumsum(np.bincount(doc_of, minlength=n_docs), out=indptr[1:])
    return ShingleSets(indptr, indices, df, n_shingles)


# ---------------------------------------------------------------------------------------------
# Prefix-filtered all-pairs join
# ---------------------------------------------------------------------------------------------


@njit(cache=True)
def _emit_pairs(
    group_bounds: np.ndarray, docs: np.ndarray, sizes: np.ndarray, p: int, q: int, out: np.ndarray
) -> int:
    """Emit (packed) doc pairs sharing a prefix token that pass the length filter.

    ``docs`` is grouped by token and sorted by size within a group.  A pair (x, y) with
    ``|x| <= |y|`` passes when ``q|x| >= p|y|`` (i.e. ``|x| >= t|y|``).  With ``len(out) == 0``
    only counts are returned.
    """
    count = 0
    write = len(out) > 0
    for g in range(len(group_bounds) - 1):
        lo = group_bounds[g]
        hi = group_bounds[g + 1]
        for i in range(lo, hi):
            a = docs[i]
            sa = sizes[a]
            for j in range(i + 1, hi):
                b = docs[j]
                if sa * q < p * sizes[b]:
                    break
                if write:
                    x, y = (a, b) if a < b else (b, a)
                    out[count] = (np.uint64(x) << np.uint64(32)) | np.uint64(y)
                count += 1
    return count


@njit(cache=True)
def _verify(
    left: np.ndarray,
    right: np.ndarray,
    indptr: np.ndarray,
    indices: np.ndarray,
    p: int,
    q: int,
    inter_out: np.ndarray,
) -> np.ndarray:
    """Exact intersection sizes of candidate pairs; returns a mask of pairs with J >= p/q."""
    keep = np.zeros(len(left), np.bool_)
    for k in range(len(left)):
        a0, a1 = indptr[left[k]], indptr[left[k] + 1]
        b0, b1 = indptr[right[k]], indptr[right[k] + 1]
        i, j, inter = a0, b0, 0
        while i < a1 and j < b1:
            va, vb = indices[i], indices[j]
            if va == vb:
                inter += 1
                i += 1
                j += 1
            elif va < vb:
                i += 1
            else:
                j += 1
        union = (a1 - a0) + (b1 - b0) - inter
        inter_out[k] = inter
        keep[k] = inter * q >= p * union
    return keep


def threshold_fraction(threshold: float) -> Fraction:
    """The threshold as an exact decimal fraction (0.8 -> 4/5)."""
    if not 0.0 < threshold <= 1.0:
        raise ValueError("threshold must be in (0, 1]")
    return Fraction(repr(float(threshold)))


def all_pairs(sets: ShingleSets, threshold: float) -> tuple[np.ndarray, np.ndarray, dict]:
    """Find all doc pairs with Jaccard >= threshold; return (left, right, jaccard), stats."""
    frac = threshold_fraction(threshold)
    p, q = frac.numerator, frac.denominator
    sizes = np.diff(sets.indptr)
    # Prefix length |x| - ceil(t|x|) + 1 (exact integer arithmetic).
    prefix = sizes - (p * sizes + q - 1) // q + 1
    prefix = np.minimum(prefix, sizes)
    prefix[sizes == 0] = 0
    # Prefix entries: positions indptr[d] .. indptr[d] + prefix[d].
    pdocs = np.repeat(np.arange(len(sizes), dtype=np.int64), prefix)
    offs = np.arange(len(pdocs), dtype=np.int64) - np.repeat(np.cumsum(prefix) - prefix, prefix)
    ptoks = sets.indices[sets.indptr[pdocs] + offs]
    del offs
    # Tokens that occur in one document only cannot produce candidates.
    shared = sets.df[ptoks] >= 2
    pdocs, ptoks = pdocs[shared], ptoks[shared]
    order = np.lexsort((pdocs, sizes[pdocs], ptoks))
    pdocs, ptoks = pdocs[order], ptoks[order]
    bounds = np.flatnonzero(np.r_[True, ptoks[1:] != ptoks[:-1], True]) if len(ptoks) else None
    if bounds is None:
        empty = np.zeros(0, np.int64)
        return empty, empty, np.zeros(0), {"candidates": 0, "prefix_entries": 0}
    n_cand = _emit_pairs(bounds, pdocs, sizes, p, q, np.zeros(0, np.uint64))
    cand = np.empty(n_cand, np.uint64)
    _emit_pairs(bounds, pdocs, sizes, p, q, cand)
    cand = sorted_unique(cand)
    left = (cand >> np.uint64(32)).astype(np.int64)
    right = (cand & np.uint64(0xFFFFFFFF)).astype(np.int64)
    inter = np.zeros(len(cand), np.int64)
    keep = _verify(left, right, sets.indptr, sets.indices, p, q, inter)
    left, right, inter = left[keep], right[keep], inter[keep]
    union = sizes[left] + sizes[right] - inter
    stats = {
        "prefix_entries": len(pdocs),
        "candidates_raw": int(n_cand),
        "candidates": len(cand),
    }
    return left, right, inter / union, stats


# ---------------------------------------------------------------------------------------------
# Driver, caching and I/O
# ---------------------------------------------------------------------------------------------


def cache_key(corpus: Path, threshold: float, ngram: int) -> str:
    """Cache key from the corpus path, size, mtime and the join parameters."""
    st = corpus.stat()
    src = f"v{GT_VERSION}|{corpus.resolve()}|{st.st_size}|{st.st_mtime_ns}|{threshold!r}|{ngram}"
    return hashlib.sha256(src.encode()).hexdigest()[:20]


def compute(corpus: Path, threshold: float, ngram: int, workers: int, out: Path) -> dict:
    """Compute the exact pairs of ``corpus`` and write them to ``out``; return statistics."""
    t0 = time.perf_counter()
    tok = tokenize_corpus(corpus, workers)
    t1 = time.perf_counter()
    sets = build_shingle_sets(tok, ngram)
    t2 = time.perf_counter()
    left, right, jac, join_stats = all_pairs(sets, threshold)
    t3 = time.perf_counter()
    ids = tok.ids
    rows = []
    for a, b, j in zip(left.tolist(), right.tolist(), jac.tolist(), strict=True):
        ia, ib = ids[a], ids[b]
        rows.append((ia, ib, j) if ia < ib else (ib, ia, j))
    rows.sort()
    tmp = out.with_name(out.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        for ia, ib, j in rows:
            fh.write(json.dumps({"a": ia, "b": ib, "jaccard": round(j, 6)}) + "\n")
    tmp.replace(out)
    return {
        "corpus": str(corpus),
        "threshold": threshold,
        "ngram": ngram,
        "docs": len(ids),
        "docs_with_shingles": int((np.diff(sets.indptr) > 0).sum()),
        "tokens": len(tok.tokens),
        "vocab": tok.vocab_size,
        "distinct_shingles": sets.n_shingles,
        "shingle_entries": len(sets.indices),
        "pairs": len(rows),
        "pairs_exact_1": sum(1 for r in rows if r[2] >= 1.0),
        **join_stats,
        "seconds": {
            "tokenize": round(t1 - t0, 2),
            "shingle_ids": round(t2 - t1, 2),
            "join": round(t3 - t2, 2),
            "total": round(time.perf_counter() - t0, 2),
        },
    }


def ensure_pairs(
    corpus: Path,
    threshold: float = 0.8,
    ngram: int = 5,
    workers: int | None = None,
    cache_dir: Path = DEFAULT_CACHE_DIR,
    verbose: bool = True,
) -> tuple[Path, dict]:
    """Return the cached pairs file of ``corpus`` (computing it if needed) and its stats."""
    key = cache_key(corpus, threshold, ngram)
    cached = cache_dir / f"gt-{key}.jsonl"
    meta_path = cache_dir / f"gt-{key}.meta.json"
    if cached.exists() and meta_path.exists():
        return cached, json.loads(meta_path.read_text())
    cache_dir.mkdir(parents=True, exist_ok=True)
    if verbose:
        print(f"ground truth: computing exact pairs for {corpus} ...", file=sys.stderr)
    stats = compute(corpus, threshold, ngram, workers or os.cpu_count() or 1, cached)
    meta_path.write_text(json.dumps(stats, indent=1))
    return cached, stats


def read_pairs(path: Path) -> Iterable[tuple[str, str, float]]:
    """Yield ``(a, b, jaccard)`` from a pairs JSONL file."""
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                rec = loads(line)
                yield rec["a"], rec["b"], rec["jaccard"]


def main(argv: list[str] | None = None) -> int:
    """CLI entry point."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("corpus", type=Path)
    ap.add_argument("--threshold", type=float, default=0.8)
    ap.add_argument("--ngram", type=int, default=5)
    ap.add_argument("--out", type=Path, help="pairs JSONL (default: CORPUS stem + .pairs.jsonl)")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE_DIR)
    ap.add_argument("--no-cache", action="store_true", help="recompute even if cached")
    args = ap.parse_args(argv)

    if args.no_cache:
        key = cache_key(args.corpus, args.threshold, args.ngram)
        for suffix in (".jsonl", ".meta.json"):
            (args.cache_dir / f"gt-{key}{suffix}").unlink(missing_ok=True)
    t0 = time.perf_counter()
    cached, stats = ensure_pairs(
        args.corpus, args.threshold, args.ngram, args.workers, args.cache_dir
    )
    out = args.out or args.corpus.with_name(
        args.corpus.name.split(".jsonl")[0] + f".pairs-t{args.threshold}-n{args.ngram}.jsonl"
    )
    if out.resolve() != cached.resolve():
        shutil.copyfile(cached, out)
    stats = {**stats, "out": str(out), "wall_seconds": round(time.perf_counter() - t0, 2)}
    print(json.dumps(stats))
    return 0


if __name__ == "__main__":
    sys.exit(main())
