"""The shared-text index of a corpus: build it batch by batch, then find every document's cuts.

:class:`SharedTextIndex` keeps, in a work folder, each document's tokens (hash, character
offsets, whether the token opens a segment: 17 bytes a token, written sequentially) and its
winnowed fingerprints in hash-partitioned runs. :meth:`SharedTextIndex.cuts` then

1. reads one fingerprint partition at a time and turns shared fingerprints into anchors against
   earlier documents (under the keeper ``rank``), spilling them to files by range of documents;
2. reads one range of documents at a time with the tokens of their sources, extends the anchors
   to maximal shared runs of at least ``min_words`` tokens, and snaps them to segment openings.

Memory is bounded by the largest fingerprint partition and the token budget of one range of
documents, not by the corpus.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from neardup.sharedtext.cuts import opens_kernel, snap
from neardup.sharedtext.matches import ANCHOR, MAX_SOURCES, anchors, extend_runs
from neardup.sharedtext.runs import FingerprintRuns, partitions_for
from neardup.sharedtext.tokens import code_points, fold_table, token_kernel
from neardup.sharedtext.winnow import winnow, winnow_params
from neardup.text.normalize import char_classes

TOKEN = np.dtype([("hash", "<u8"), ("start", "<i4"), ("end", "<i4"), ("opens", "u1")])
#: Tokens read at once when documents are resolved range by range (17 bytes each).
RANGE_TOKENS = 8 << 20


@dataclass(frozen=True, slots=True)
class TokenCut:
    """A cut in token terms: tokens ``[start, end)`` of a document, found in ``source`` at
    characters ``[src_start, src_end)`` (word-exact) and tokens starting at ``src_tok``."""

    start: int
    end: int
    source: int
    src_tok: int
    src_start: int
    src_end: int

    @property
    def words(self) -> int:
        return self.end - self.start


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
        self.token_path = self.folder / "tokens.bin"
        self._tokens = open(self.token_path, "wb")  # noqa: SIM115 - closed in finish()
        self.tok_off: list[np.ndarray] = [np.zeros(1, np.int64)]
        self.n_docs = 0
        self.n_tokens = 0

    def add(self, texts: list[str]) -> np.ndarray:
        """Index a batch of documents (ordinals continue from the previous batch); returns
        their token counts."""
        cps, cp_off = code_points(texts)
        h, s, e, off = token_kernel(cps, cp_off, char_classes(), fold_table())
        rec = np.empty(h.size, dtype=TOKEN)
        rec["hash"], rec["start"], rec["end"] = h, s, e
        rec["opens"] = opens_kernel(cps, cp_off, s, e, off)
        rec.tofile(self._tokens)
        fh, fp, fd = winnow(h, off, self.k, self.w)
        self.runs.add(fh, fd + self.n_docs, fp)
        self.tok_off.append(off[1:] + self.n_tokens)
        self.n_docs += len(texts)
        self.n_tokens += int(h.size)
        return np.diff(off)

    def finish(self) -> None:
        """Close the token file (call once every batch is added)."""
        self._tokens.close()
        self.offsets = np.concatenate(self.tok_off)

    # ---------------------------------------------------------------------------------------
    def token_counts(self) -> np.ndarray:
        return np.diff(self.offsets)

    def _read(self, fd: int, docs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Tokens of ``docs`` (sorted, unique), packed, with their offsets."""
        starts, ends = self.offsets[docs], self.offsets[docs + 1]
        sizes = ends - starts
        out = np.empty(int(sizes.sum()), dtype=TOKEN)
        off = np.zeros(docs.size + 1, np.int64)
        np.cumsum(sizes, out=off[1:])
        # coalesce neighbouring documents into one read
        i = 0
        n = docs.size
        while i < n:
            j = i + 1
            while j < n and starts[j] == ends[j - 1] and off[j + 1] - off[i] < RANGE_TOKENS:
                j += 1
            nbytes = int(ends[j - 1] - starts[i]) * TOKEN.itemsize
            if nbytes:
                buf = os.pread(fd, nbytes, int(starts[i]) * TOKEN.itemsize)
                out[off[i] : off[j]] = np.frombuffer(buf, dtype=TOKEN)
            i = j
        return out, off

    def _doc_ranges(self) -> list[tuple[int, int]]:
        ranges, start = [], 0
        while start < self.n_docs:
            limit = self.offsets[start] + RANGE_TOKENS // 2
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
                anc = anchors(self.runs.partition(p), rank, MAX_SOURCES)
                if anc.size == 0:
                    continue
                which = np.searchsorted(bounds, anc["doc"], side="right") - 1
                order = np.argsort(which, kind="stable")
                anc, which = anc[order], which[order]
                cuts = np.searchsorted(which, np.arange(len(ranges) + 1))
                for r in np.flatnonzero(np.diff(cuts)).tolist():
                    anc[cuts[r] : cuts[r + 1]].tofile(handles[r])
        finally:
            for fh in handles:
                fh.close()
        return paths

    def cuts(self, rank: np.ndarray) -> Iterator[tuple[int, list[TokenCut]]]:
        """``(doc, cuts)`` for every document that loses text, in document order: the runs of
        at least ``min_words`` tokens it shares with documents ranked before it, snapped to
        segment openings, each attributed to its earliest-ranked source."""
        ranges = self._doc_ranges()
        paths = self._spill_anchors(rank, ranges)
        fd = os.open(self.token_path, os.O_RDONLY)
        try:
            for path in paths:
                anc = np.fromfile(path, dtype=ANCHOR)
                path.unlink()
                if anc.size == 0:
                    continue
                yield from self._range_cuts(fd, anc, rank)
        finally:
            os.close(fd)

    def _range_cuts(
        self, fd: int, anc: np.ndarray, rank: np.ndarray
    ) -> Iterator[tuple[int, list[TokenCut]]]:
        docs = np.unique(np.concatenate([anc["doc"], anc["src"]]))
        toks, off = self._read(fd, docs)
        slot = {int(d): i for i, d in enumerate(docs.tolist())}
        doc_slot = np.full(self.n_docs, -1, dtype=np.int64)
        doc_slot[docs] = np.arange(docs.size)
        found = extend_runs(anc, doc_slot, toks["hash"], off, self.k, self.min_words)
        if found.size == 0:
            return
        # earliest-ranked source first among runs that start at the same token
        order = np.lexsort((rank[found["src"]], found["start"], found["doc"]))
        found = found[order]
        bounds = np.flatnonzero(np.diff(found["doc"])) + 1
        for group in np.split(found, bounds):
            d = int(group["doc"][0])
            i = slot[d]
            t = toks[off[i] : off[i + 1]]
            out = []
            for s, e, src, src_tok in snap(group, t["opens"].astype(bool), t.size):
                j = slot[src]
                st = toks[off[j] : off[j + 1]]
                out.append(
                    TokenCut(
                        s,
                        e,
                        src,
                        src_tok,
                        int(st["start"][src_tok]),
                        int(st["end"][src_tok + e - s - 1]),
                    )
                )
            if out:
                yield d, out

    def close(self) -> None:
        if not self._tokens.closed:
            self._tokens.close()
