"""Shingle sets read again from the input, for corpora whose shingle ids outgrow memory.

Verification needs the shingle ids of the documents in candidate pairs only (a sixth of a
generated news corpus of 1M documents). When the ids of the whole corpus outgrow the shingle
budget and every input is JSONL, the scan keeps none of them (nothing is spilled: 4 bytes a
shingle, 12 GB for 5M documents) and :class:`RereadTable` reads the candidates' lines again in
one sequential pass, shingles them with the scan's own functions (so the ids are the same), and
holds their sorted sets. The pass reads large blocks and parses only the lines asked for; a
compressed input is decompressed again, never seeked in.

It offers what verification uses of :class:`neardup.shingle_store.ShingleTable`: ``counts``,
``sets(docs)`` and ``document(d)``; :meth:`RereadTable.preload` reads the documents a stage is
about to ask for in one pass.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numba as nb
import numpy as np

from neardup.heap import stack
from neardup.io.ranges import BLOCK_RECORDS, line_table
from neardup.io.sources import RawBatch, Source, input_changed, parse_batch
from neardup.text.shingle import shingle_batch
from neardup.verify import sorted_sets

if TYPE_CHECKING:
    from neardup.pipeline import StageParams


@nb.njit(cache=True, nogil=True)
def _take(sets: np.ndarray, offsets: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The packed sets ``rows`` of ``(sets, offsets)``, in that order (no index array: the
    sets of 100k documents are 250 MB, an index of them twice that)."""
    n = rows.size
    out_offsets = np.zeros(n + 1, dtype=np.int64)
    for i in range(n):
        out_offsets[i + 1] = out_offsets[i] + offsets[rows[i] + 1] - offsets[rows[i]]
    out = np.empty(out_offsets[n], dtype=sets.dtype)
    for i in range(n):
        start = offsets[rows[i]]
        base = out_offsets[i]
        for j in range(out_offsets[i + 1] - base):
            out[base + j] = sets[start + j]
    return out, out_offsets


class RereadTable:
    """Sorted shingle-id sets of documents, read from the input on demand (see module doc)."""

    def __init__(
        self,
        sources: list[Source],
        doc_source: np.ndarray,
        doc_line: np.ndarray,
        params: StageParams,
        counts: np.ndarray,
    ) -> None:
        self.sources = sources
        self.doc_source = np.asarray(doc_source, dtype=np.int64)
        self.doc_line = np.asarray(doc_line, dtype=np.int64)
        self.params = params
        self.counts = counts
        self.passes = 0  # passes over the input so far
        self._docs = np.zeros(0, dtype=np.int64)  # cached documents, sorted
        self._sets = np.zeros(0, dtype=np.uint32)
        self._offsets = np.zeros(1, dtype=np.int64)

    def __len__(self) -> int:
        return int(self.counts.size)

    @property
    def held_bytes(self) -> int:
        return int(self._sets.nbytes + self._offsets.nbytes + self._docs.nbytes)

    def preload(self, docs: np.ndarray) -> None:
        """Read the sets of ``docs`` not held yet, in one pass over the inputs."""
        docs = np.unique(np.asarray(docs, dtype=np.int64))
        missing = np.setdiff1d(docs, self._docs, assume_unique=True)
        if missing.size == 0:
            return
        new_docs, new_sets, new_offsets = self._read(missing)
        if self._docs.size == 0:  # read in ordinal order: nothing to merge
            self._docs, self._sets, self._offsets = new_docs, new_sets, new_offsets
            return
        docs_all = np.concatenate([self._docs, new_docs])
        order = np.argsort(docs_all, kind="stable")
        sets_all = np.concatenate([self._sets, new_sets])
        offsets_all = np.concatenate([self._offsets[:-1], new_offsets + self._sets.size])
        offsets_all = np.append(offsets_all, sets_all.size)
        self._sets, self._offsets = _take(sets_all, offsets_all, order)
        self._docs = docs_all[order]

    def release(self) -> None:
        """Let the held sets go (they are read again if asked for later)."""
        self._docs = np.zeros(0, dtype=np.int64)
        self._sets = np.zeros(0, dtype=np.uint32)
        self._offsets = np.zeros(1, dtype=np.int64)

    def sets(self, docs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Sorted unique shingle-id sets of ``docs`` (sorted, unique ordinals), packed as
        ``(sets, set_offsets)`` in the order of ``docs``."""
        docs = np.asarray(docs, dtype=np.int64)
        if docs.size == 0:
            return np.zeros(0, np.uint32), np.zeros(1, np.int64)
        self.preload(docs)
        return _take(self._sets, self._offsets, np.searchsorted(self._docs, docs))

    def document(self, d: int) -> np.ndarray:
        """Sorted unique shingle ids of document ``d``."""
        sets, _ = self.sets(np.array([d]))
        return sets

    def _read(self, docs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """One pass: the sets of ``docs`` (sorted ordinals), in that order."""
        self.passes += 1
        parts: list[np.ndarray] = []
        part_offsets: list[np.ndarray] = []
        shift = 0
        for k, src in enumerate(self.sources):
            mine = docs[self.doc_source[docs] == k]
            if mine.size == 0:
                continue
            for sets, offs in self._read_source(src, self.doc_line[mine]):
                parts.append(sets)
                part_offsets.append(offs[1:] + shift)
                shift += int(offs[-1])
        offsets = np.concatenate([np.zeros(1, np.int64), *part_offsets])
        sets = stack(parts) if parts else np.zeros(0, np.uint32)
        return docs, sets, offsets

    def _read_source(self, src: Source, lines: np.ndarray) -> Any:
        """Yield ``(sets, offsets)`` of the records at ``lines`` (ascending) of one JSONL
        source, a block at a time."""
        p = self.params
        found = 0
        for batch in src.batches(BLOCK_RECORDS):
            for first, block in batch.items:
                buf = np.frombuffer(block, dtype=np.uint8)
                starts, ends, _ = line_table(buf)
                # after a final newline, split() gives an empty piece: the next block's line
                count = starts.size - 1 if block.endswith(b"\n") else starts.size
                lo = np.searchsorted(lines, first)
                hi = np.searchsorted(lines, first + count)
                if hi == lo:
                    continue
                rows = lines[lo:hi] - first
                items = [(int(first + r), block[starts[r] : ends[r]]) for r in rows.tolist()]
                parsed = parse_batch(RawBatch(src.name, "jsonl", items), p.fields)
                if parsed.errors or len(parsed.texts) != rows.size:
                    raise input_changed(src)
                sb = shingle_batch(
                    parsed.texts, ngram=p.ngram, char_ngram=p.char_ngram, mode=p.shingle
                )
                found += rows.size
                yield sorted_sets(sb.shingles, sb.shingle_offsets, np.arange(rows.size))
        if found != lines.size:
            raise input_changed(src)
