"""Where the shingle ids of a corpus live between fingerprinting and verification.

MinHash needs each document's shingles once, while it is fingerprinted; verification needs them
again, but only for the documents of candidate pairs. :class:`ShingleStore` keeps the batches in
memory up to a budget and spills everything to one file in the run's work folder beyond it, so a
100k-document corpus (~260 MB of ids) never touches the disk and a 1M-document one (~2.6 GB)
costs no memory: verification reads back only the candidates' ids, one window of the file at a
time (a memory map of at most :data:`READ_WINDOW` bytes, unmapped once its
documents are read): a map of the whole file would count every page it touched as resident, and
candidates are spread over the whole file.
"""

from __future__ import annotations

import mmap
import os
import shutil
import tempfile
from pathlib import Path
from typing import IO, Any

import numpy as np

from neardup.verify import sorted_sets

DEFAULT_BUDGET = 512 << 20


READ_WINDOW = 16 << 20  # bytes per positioned read when gathering from the spill file


class ShingleTable:
    """Read access to the shingle ids of every document, held in one or more chunks.

    Chunk ``k`` holds documents ``starts[k] .. starts[k+1]-1``; ``offsets[k]`` are the local
    offsets of those documents in ``chunks[k]``. A chunk may be a :class:`SpillFile`.
    """

    # sets() only reads: in-memory chunks, or the spill file through a descriptor of its own
    thread_safe = True

    def __init__(self, chunks: list[Any], offsets: list[np.ndarray]) -> None:
        self.chunks = chunks
        self.offsets = offsets
        sizes = [o.size - 1 for o in offsets]
        self.starts = np.concatenate([[0], np.cumsum(sizes, dtype=np.int64)]).astype(np.int64)
        self.counts = (
            np.concatenate([np.diff(o) for o in offsets]) if offsets else np.zeros(0, np.int64)
        )

    def __len__(self) -> int:
        return int(self.starts[-1])

    def sets(self, docs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Sorted unique shingle-id sets of ``docs`` (sorted, unique ordinals), packed as
        ``(sets, set_offsets)`` in the order of ``docs``."""
        docs = np.asarray(docs, dtype=np.int64)
        if docs.size == 0:
            return np.zeros(0, np.uint32), np.zeros(1, np.int64)
        which = np.searchsorted(self.starts, docs, side="right") - 1
        parts, part_offsets = [], []
        shift = 0
        for k in np.unique(which).tolist():
            local = docs[which == k] - self.starts[k]
            chunk = self.chunks[k]
            if isinstance(chunk, SpillFile):
                sets, offs = chunk.sets(self.offsets[k], local)
            else:
                sets, offs = sorted_sets(chunk, self.offsets[k], local)
            parts.append(sets)
            part_offsets.append(offs[1:] + shift)
            shift += int(offs[-1])
        set_offsets = np.concatenate([[0], *part_offsets]).astype(np.int64)
        return np.concatenate(parts), set_offsets

    def document(self, d: int) -> np.ndarray:
        """Sorted unique shingle ids of document ``d``."""
        sets, _ = self.sets(np.array([d]))
        return sets


def _window_sets(
    fd: int, lo: int, hi: int, starts: np.ndarray, ends: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Sorted unique sets of the documents at ``starts``/``ends`` (ids), which lie within
    ``[lo, hi)`` of the spill file. The window is mapped, read and unmapped at once: only the
    pages of the documents asked for are read (a few of every window when the candidates are
    spread over the corpus, where a positioned read of the window copied all of it), and at
    most one window (:data:`READ_WINDOW`) is ever mapped."""
    if hi <= lo:
        return sorted_sets(np.zeros(0, np.uint32), np.zeros(1, np.int64), np.zeros(0, np.int64))
    base = (lo * 4) // mmap.ALLOCATIONGRANULARITY * mmap.ALLOCATIONGRANULARITY
    skip = (lo * 4 - base) // 4
    mapped = mmap.mmap(fd, hi * 4 - base, access=mmap.ACCESS_READ, offset=base)
    try:
        window = np.frombuffer(mapped, dtype=np.uint32)
        local_offsets = np.empty(2 * starts.size, dtype=np.int64)
        local_offsets[0::2] = starts - lo + skip
        local_offsets[1::2] = ends - lo + skip
        out = sorted_sets(window, local_offsets, np.arange(0, 2 * starts.size, 2))
        del window  # the buffer export must end before the map is closed
    finally:
        mapped.close()
    return out


class SpillFile:
    """Shingle ids on disk, read by positioned reads of up to :data:`READ_WINDOW` bytes."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def sets(self, offsets: np.ndarray, docs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Sorted unique sets of ``docs`` (sorted ordinals) whose ids sit at ``offsets``."""
        starts = offsets[docs]
        ends = offsets[docs + 1]
        parts, part_offsets = [], []
        shift = 0
        fd = os.open(self.path, os.O_RDONLY)
        try:
            i = 0
            n = docs.size
            while i < n:
                j = i + 1  # group docs while the window stays small
                while j < n and (ends[j] - starts[i]) * 4 <= READ_WINDOW:
                    j += 1
                lo, hi = int(starts[i]), int(ends[j - 1])
                sets, offs = _window_sets(fd, lo, hi, starts[i:j], ends[i:j])
                parts.append(sets)
                part_offsets.append(offs[1:] + shift)
                shift += int(offs[-1])
                i = j
        finally:
            os.close(fd)
        return np.concatenate(parts), np.concatenate([[0], *part_offsets]).astype(np.int64)


def disk_free(path: Path) -> int:
    """Bytes free on the disk that holds ``path``."""
    return shutil.disk_usage(path).free


def spill_estimate(input_bytes: int, compressed: bool) -> int:
    """Bytes of shingle ids that a corpus of ``input_bytes`` of JSONL would spill: two thirds
    of its size (a 4-byte id per word of ~6 bytes; the bench corpus: 2.6 GB of ids for 3.9 GB
    of JSONL); a compressed input counts 4 times its size."""
    return int(input_bytes * (4 if compressed else 1) * 2 / 3)


class ShingleStore:
    """Collects shingle ids batch by batch (see module docstring)."""

    def __init__(
        self,
        workdir: Path | None,
        budget: int | None = None,
        *,
        drop: bool = False,
        spill_estimate: int = 0,
    ) -> None:
        """``drop``: the caller can read the ids again (:mod:`neardup.reread`); beyond the
        budget, if the work folder's disk has less than twice ``spill_estimate`` bytes free
        (the expected size of the spill file), keep no ids at all, only the counts."""
        self.workdir = workdir
        self.budget = DEFAULT_BUDGET if budget is None else budget
        self.drop = drop
        self.spill_estimate = spill_estimate
        self.dropped = False
        self._chunks: list[np.ndarray] = []
        self._offsets: list[np.ndarray] = []
        self._bytes = 0
        self._path: Path | None = None
        self._file: IO[bytes] | None = None
        self._all_counts: list[np.ndarray] = []

    def append(self, shingles: np.ndarray, counts: np.ndarray) -> None:
        data = np.ascontiguousarray(shingles, dtype=np.uint32)
        counts = np.asarray(counts, dtype=np.int64)
        self._all_counts.append(counts)
        if self.dropped:
            return
        if (
            self.drop
            and self._file is None
            and self._bytes + data.nbytes > self.budget
            and self.workdir is not None
            and disk_free(self.workdir) < 2 * self.spill_estimate
        ):
            self.dropped = True
            self._chunks, self._offsets = [], []
            return
        if (
            self._file is None
            and self.workdir is not None
            and self._bytes + data.nbytes > self.budget
        ):
            fd, name = tempfile.mkstemp(prefix="shingles-", suffix=".u32", dir=self.workdir)
            os.close(fd)
            self._path = Path(name)
            self._file = open(self._path, "wb")  # noqa: SIM115 - closed in finish() / close()
            for chunk in self._chunks:
                chunk.tofile(self._file)
            self._chunks, self._offsets = [], []
        self._bytes += data.nbytes
        if self._file is not None:
            data.tofile(self._file)
        else:
            offs = np.zeros(counts.size + 1, dtype=np.int64)
            np.cumsum(counts, out=offs[1:])
            self._chunks.append(data)
            self._offsets.append(offs)

    def finish(self) -> ShingleTable:
        """The table of everything appended (of the counts alone once ids were dropped)."""
        if self.dropped:
            counts = np.concatenate(self._all_counts)
            offsets = np.zeros(counts.size + 1, dtype=np.int64)
            np.cumsum(counts, out=offsets[1:])
            return ShingleTable([], [offsets])
        if self._file is None or self._path is None:  # the path is set with the file
            return ShingleTable(self._chunks, self._offsets)
        self._file.close()
        self._file = None
        counts = np.concatenate(self._all_counts)
        offsets = np.zeros(counts.size + 1, dtype=np.int64)
        np.cumsum(counts, out=offsets[1:])
        return ShingleTable([SpillFile(self._path)], [offsets])

    def close(self) -> None:
        """Close the spill file without finishing (after a failed run)."""
        if self._file is not None:
            self._file.close()
            self._file = None

    @property
    def spilled(self) -> bool:
        return self._path is not None
