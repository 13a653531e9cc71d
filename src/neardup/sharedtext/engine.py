"""The shared-text index of a corpus: build it batch by batch, then find every document's cuts.

:class:`SharedTextIndex` keeps, in a work folder, each document's token hashes (8 bytes a token)
and token offsets (character start and end, whether the token opens a segment: 9 bytes), written
sequentially to two files, and its winnowed fingerprints in hash-partitioned runs.
:meth:`SharedTextIndex.cuts` then

1. reads one fingerprint partition at a time and turns shared fingerprints into anchors against
   earlier documents (under the keeper ``rank``), spilling them to files by range of documents;
2. reads one range of documents at a time with the tokens of their sources, extends the anchors
   to maximal shared runs of at least ``min_words`` tokens, and snaps them to segment openings.
   Only the hashes of the sources are read (their offsets only at the two ends of each cut).

Memory is bounded by the largest fingerprint partition, the token budget of one range of
documents and the hashes of its sources, not by the corpus.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from neardup.sharedtext.cuts import openings, snap_kernel
from neardup.sharedtext.matches import ANCHOR, MAX_SOURCES, RUN, anchors, extend_runs
from neardup.sharedtext.runs import FingerprintRuns, partitions_for
from neardup.sharedtext.tokens import TokenBatch, code_points, fold_table, token_kernel
from neardup.sharedtext.winnow import winnow, winnow_params
from neardup.text.normalize import char_classes

META = np.dtype([("start", "<i4"), ("end", "<i4"), ("opens", "u1")])
HASH = np.dtype("<u8")
#: Tokens of the documents resolved at once (17 bytes each, plus their sources' hashes).
RANGE_TOKENS = 8 << 20
#: Fingerprints turned into anchors at once (each may give up to 32 anchors of 24 bytes): a
#: partition is cut into slices of whole hash groups of about this many.
ANCHOR_SLICE = 1 << 18
#: Anchors of one range resolved at once (24 bytes each); a range with more is split into
#: ranges of fewer documents.
RANGE_ANCHORS = 1 << 22
#: Token hashes of sources held at once while a range of documents is resolved (8 bytes each).
SOURCE_TOKENS = 16 << 20
#: Bytes read at once when gathering scattered token offsets.
BLOCK = 1 << 16


#: One cut as a record (:class:`TokenCut` field by field; ``at0``..``at3`` are its ``at``).
CUT = np.dtype(
    [
        ("doc", "<i8"),
        ("start", "<i4"),
        ("end", "<i4"),
        ("source", "<i8"),
        ("src_tok", "<i4"),
        ("src_start", "<i4"),
        ("src_end", "<i4"),
        ("at0", "<i4"),
        ("at1", "<i4"),
        ("at2", "<i4"),
        ("at3", "<i4"),
    ]
)


def token_cuts(rows: np.ndarray) -> list[TokenCut]:
    """:class:`TokenCut` objects of :data:`CUT` records."""
    return [
        TokenCut(a, b, src, st, ss, se, (x0, x1, x2, x3))
        for a, b, src, st, ss, se, x0, x1, x2, x3 in zip(
            rows["start"].tolist(),
            rows["end"].tolist(),
            rows["source"].tolist(),
            rows["src_tok"].tolist(),
            rows["src_start"].tolist(),
            rows["src_end"].tolist(),
            rows["at0"].tolist(),
            rows["at1"].tolist(),
            rows["at2"].tolist(),
            rows["at3"].tolist(),
            strict=True,
        )
    ]


def by_document(rows: np.ndarray) -> Iterator[tuple[int, np.ndarray]]:
    """``(doc, its CUT records)`` of records sorted by document."""
    if rows.size == 0:
        return
    bounds = np.flatnonzero(np.diff(rows["doc"])) + 1
    for part in np.split(rows, bounds):
        yield int(part["doc"][0]), part


@dataclass(frozen=True, slots=True)
class TokenCut:
    """A cut in token terms: tokens ``[start, end)`` of a document, found in ``source`` at
    characters ``[src_start, src_end)`` (word-exact) and tokens starting at ``src_tok``;
    ``at`` holds the document's character offsets around the cut
    (:func:`neardup.sharedtext.cuts.boundary_offsets`)."""

    start: int
    end: int
    source: int
    src_tok: int
    src_start: int
    src_end: int
    at: tuple[int, int, int, int] = (-1, -1, -1, -1)

    @property
    def words(self) -> int:
        return self.end - self.start


@dataclass(frozen=True, slots=True)
class IndexedBatch:
    """What one batch adds to the index: token hashes and offsets (``offsets`` per document)
    and winnowed fingerprints (``fp_doc`` counts from the batch's first document)."""

    hashes: np.ndarray
    meta: np.ndarray
    offsets: np.ndarray
    fp_hash: np.ndarray
    fp_pos: np.ndarray
    fp_doc: np.ndarray


def index_batch(texts: list[str], k: int, w: int) -> IndexedBatch:
    """Stage function: tokenize a batch, find where segments open, and winnow its word
    k-grams (pure; runs in worker threads, the kernels release the GIL)."""
    cps, cp_off = code_points(texts)
    h, s, e, off = token_kernel(cps, cp_off, char_classes(), fold_table())
    meta = np.empty(h.size, dtype=META)
    meta["start"], meta["end"] = s, e
    meta["opens"] = openings(cps, cp_off, TokenBatch(h, s, e, off))
    fh, fp, fd = winnow(h, off, k, w)
    return IndexedBatch(h.astype(HASH, copy=False), meta, off, fh, fp, fd)


def _split_anchors(path: Path, lo: int, hi: int, limit: int) -> list[Path]:
    """The anchor file of documents ``[lo, hi)``, or, when it holds more than ``limit``
    anchors, files of its anchors by equal sub-ranges of documents (read a chunk at a time)."""
    n = path.stat().st_size // ANCHOR.itemsize
    if n <= limit or hi - lo < 2:
        return [path]
    k = min(hi - lo, -(-n // limit))
    bounds = np.linspace(lo, hi, k + 1).astype(np.int64)
    parts = [path.with_name(f"{path.stem}-{i:04d}.bin") for i in range(k)]
    handles = [open(p, "wb") for p in parts]  # noqa: SIM115 - closed below
    try:
        with open(path, "rb") as fh:
            while True:
                chunk = np.fromfile(fh, dtype=ANCHOR, count=limit)
                if chunk.size == 0:
                    break
                which = np.searchsorted(bounds, chunk["doc"], side="right") - 1
                for i in np.unique(which).tolist():
                    chunk[which == i].tofile(handles[i])
    finally:
        for fh2 in handles:
            fh2.close()
    path.unlink()
    return parts


def _hash_slices(hashes: np.ndarray, size: int) -> list[tuple[int, int]]:
    """``[lo, hi)`` slices of about ``size`` rows of sorted ``hashes`` that never split a run
    of equal hashes."""
    out, lo, n = [], 0, hashes.size
    while lo < n:
        hi = min(n, lo + size)
        if hi < n:
            hi = int(np.searchsorted(hashes, hashes[hi - 1], side="right"))
        out.append((lo, hi))
        lo = hi
    return out


class SharedTextIndex:
    """Tokens and fingerprints of a corpus in a work folder (see the module docstring)."""

    def __init__(
        self,
        folder: str | os.PathLike[str],
        *,
        min_words: int = 50,
        k: int | None = None,
        expected_tokens: int = 0,
    ) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.min_words = min_words
        self.k, self.w = winnow_params(min_words, k)
        expected = int(expected_tokens * 2 / (self.w + 1))
        self.runs = FingerprintRuns(self.folder / "fingerprints", partitions_for(expected))
        self.hash_path = self.folder / "hashes.bin"
        self.meta_path = self.folder / "offsets.bin"
        self._hashes = open(self.hash_path, "wb")  # noqa: SIM115 - closed in finish()
        self._meta = open(self.meta_path, "wb")  # noqa: SIM115 - closed in finish()
        self.tok_off: list[np.ndarray] = [np.zeros(1, np.int64)]
        self.n_docs = 0
        self.n_tokens = 0

    def add(self, texts: list[str]) -> np.ndarray:
        """Index a batch of documents (ordinals continue from the previous batch); returns
        their token counts."""
        return self.append(index_batch(texts, self.k, self.w))

    def append(self, batch: IndexedBatch) -> np.ndarray:
        """Add a batch made by :func:`index_batch` (with this index's ``k`` and ``w``)."""
        batch.hashes.tofile(self._hashes)
        batch.meta.tofile(self._meta)
        self.runs.add(batch.fp_hash, batch.fp_doc + self.n_docs, batch.fp_pos)
        self.tok_off.append(batch.offsets[1:] + self.n_tokens)
        self.n_docs += batch.offsets.size - 1
        self.n_tokens += int(batch.hashes.size)
        return np.diff(batch.offsets)

    def finish(self) -> None:
        """Close the token files (call once every batch is added)."""
        self.close()
        self.offsets = np.concatenate(self.tok_off)

    # ---------------------------------------------------------------------------------------
    def token_counts(self) -> np.ndarray:
        return np.diff(self.offsets)

    def _read(
        self, fd: int, docs: np.ndarray, dtype: np.dtype[Any]
    ) -> tuple[np.ndarray, np.ndarray]:
        """Per-token records of ``docs`` (sorted, unique) from one of the token files, packed,
        with their offsets; neighbouring documents are read at once."""
        starts, ends = self.offsets[docs], self.offsets[docs + 1]
        sizes = ends - starts
        out = np.empty(int(sizes.sum()), dtype=dtype)
        off = np.zeros(docs.size + 1, np.int64)
        np.cumsum(sizes, out=off[1:])
        # a new read where the next document does not follow on disk
        breaks = np.flatnonzero(starts[1:] != ends[:-1]) + 1
        first = np.r_[0, breaks]
        last = np.r_[breaks, docs.size]
        size = dtype.itemsize
        for i, j in zip(first.tolist(), last.tolist(), strict=True):
            nbytes = int(ends[j - 1] - starts[i]) * size
            if nbytes:
                buf = os.pread(fd, nbytes, int(starts[i]) * size)
                out[off[i] : off[j]] = np.frombuffer(buf, dtype=dtype)
        return out, off

    def _meta_at(self, fd: int, index: np.ndarray) -> np.ndarray:
        """Offsets of the tokens at global positions ``index`` (any order), read block by
        block."""
        out = np.empty(index.size, dtype=META)
        if index.size == 0:
            return out
        order = np.argsort(index, kind="stable")
        idx = index[order]
        per = BLOCK // META.itemsize
        block = idx // per
        bounds = np.flatnonzero(np.r_[True, block[1:] != block[:-1]])
        for a, b in zip(bounds.tolist(), np.r_[bounds[1:], idx.size].tolist(), strict=True):
            lo = int(block[a]) * per
            hi = min(int(idx[b - 1]) + 1, self.n_tokens)
            buf = os.pread(fd, (hi - lo) * META.itemsize, lo * META.itemsize)
            chunk = np.frombuffer(buf, dtype=META)
            out[order[a:b]] = chunk[idx[a:b] - lo]
        return out

    def _doc_ranges(self) -> list[tuple[int, int]]:
        ranges, start = [], 0
        while start < self.n_docs:
            limit = self.offsets[start] + RANGE_TOKENS
            end = int(np.searchsorted(self.offsets, limit, side="right")) - 1
            end = min(self.n_docs, max(end, start + 1))
            ranges.append((start, end))
            start = end
        return ranges

    def _spill_anchors(self, rank: np.ndarray, ranges: list[tuple[int, int]]) -> list[Path]:
        paths = [self.folder / f"anchors-{i:05d}.bin" for i in range(len(ranges))]
        bounds = np.array([r[0] for r in ranges] + [self.n_docs], dtype=np.int64)
        handles = [open(p, "wb") for p in paths]  # noqa: SIM115 - closed below
        try:
            for p in range(self.runs.partitions):
                part = self.runs.partition(p)
                for lo, hi in _hash_slices(part["hash"], ANCHOR_SLICE):
                    anc = anchors(part[lo:hi], rank, MAX_SOURCES)
                    if anc.size == 0:
                        continue
                    which = np.searchsorted(bounds, anc["doc"], side="right") - 1
                    order = np.argsort(which, kind="stable")
                    anc, which = anc[order], which[order]
                    cuts = np.searchsorted(which, np.arange(len(ranges) + 1))
                    for r in np.flatnonzero(np.diff(cuts)).tolist():
                        anc[cuts[r] : cuts[r + 1]].tofile(handles[r])
                    del anc, which, order
        finally:
            for fh in handles:
                fh.close()
        return paths

    def cuts(self, rank: np.ndarray) -> Iterator[tuple[int, list[TokenCut]]]:
        """``(doc, cuts)`` for every document that loses text, in document order (see
        :meth:`cut_records`)."""
        for rows in self.cut_records(rank):
            for d, part in by_document(rows):
                yield d, token_cuts(part)

    def cut_records(self, rank: np.ndarray) -> Iterator[np.ndarray]:
        """The :data:`CUT` records of every document that loses text, a range of documents at a
        time, in document order: the runs of at least ``min_words`` tokens it shares with
        documents ranked before it, snapped to segment openings, each attributed to its
        earliest-ranked source."""
        ranges = self._doc_ranges()
        paths = self._spill_anchors(rank, ranges)
        fd_hash = os.open(self.hash_path, os.O_RDONLY)
        fd_meta = os.open(self.meta_path, os.O_RDONLY)
        try:
            for path, (lo, hi) in zip(paths, ranges, strict=True):
                for part in _split_anchors(path, lo, hi, RANGE_ANCHORS):
                    anc = np.fromfile(part, dtype=ANCHOR)
                    part.unlink()
                    if anc.size == 0:
                        continue
                    rows = self._range_cuts(fd_hash, fd_meta, anc, rank)
                    if rows.size:
                        yield rows
        finally:
            os.close(fd_hash)
            os.close(fd_meta)

    def _extend(self, fd_hash: int, anc: np.ndarray) -> np.ndarray:
        """The runs of a range's anchors, with the sources' token hashes read a bounded chunk
        at a time (:data:`SOURCE_TOKENS`), so memory does not grow with the number of sources."""
        counts = np.diff(self.offsets)
        srcs = np.unique(anc["src"])
        sizes = np.cumsum(counts[srcs])
        chunk = sizes // SOURCE_TOKENS
        parts = []
        for c in np.unique(chunk).tolist():
            mine = srcs[chunk == c]
            sel = anc[np.isin(anc["src"], mine)] if chunk[-1] > 0 else anc
            docs = np.unique(np.concatenate([sel["doc"], mine]))
            hashes, off = self._read(fd_hash, docs, HASH)
            doc_slot = np.full(self.n_docs, -1, dtype=np.int64)
            doc_slot[docs] = np.arange(docs.size)
            parts.append(extend_runs(sel, doc_slot, hashes, off, self.k, self.min_words))
            del hashes
        return np.concatenate(parts) if parts else np.zeros(0, dtype=RUN)

    def _range_cuts(
        self, fd_hash: int, fd_meta: int, anc: np.ndarray, rank: np.ndarray
    ) -> np.ndarray:
        found = self._extend(fd_hash, anc)
        if found.size == 0:
            return np.zeros(0, dtype=CUT)
        # earliest-ranked source first among runs that start at the same token
        order = np.lexsort((rank[found["src"]], found["start"], found["doc"]))
        found = found[order]
        mine = np.unique(found["doc"])
        meta, meta_off = self._read(fd_meta, mine, META)
        group = np.searchsorted(mine, found["doc"])
        g, cs, ce, csrc, cst = snap_kernel(
            group,
            found["start"].astype(np.int64),
            found["end"].astype(np.int64),
            found["src"].astype(np.int64),
            found["src_start"].astype(np.int64),
            meta["opens"].astype(np.bool_),
            meta_off,
        )
        if g.size == 0:
            return np.zeros(0, dtype=CUT)
        # the document's offsets around each cut, and the source's at its first and last token
        base = meta_off[g]
        n_tok = meta_off[g + 1] - base
        s_start = np.where(cs < n_tok, meta["start"][np.minimum(base + cs, meta.size - 1)], -1)
        before_s = np.where(cs > 0, meta["end"][np.maximum(base + cs - 1, 0)], -1)
        e_start = np.where(ce < n_tok, meta["start"][np.minimum(base + ce, meta.size - 1)], -1)
        before_e = np.where(ce > 0, meta["end"][np.maximum(base + ce - 1, 0)], -1)
        src_first = self.offsets[csrc] + cst
        at = self._meta_at(fd_meta, np.stack([src_first, src_first + ce - cs - 1], axis=1).ravel())
        at = at.reshape(-1, 2)
        rows = np.empty(g.size, dtype=CUT)
        rows["doc"], rows["start"], rows["end"] = mine[g], cs, ce
        rows["source"], rows["src_tok"] = csrc, cst
        rows["src_start"], rows["src_end"] = at[:, 0]["start"], at[:, 1]["end"]
        rows["at0"], rows["at1"], rows["at2"], rows["at3"] = s_start, before_s, e_start, before_e
        return rows

    def close(self) -> None:
        for fh in (self._hashes, self._meta):
            if not fh.closed:
                fh.close()
